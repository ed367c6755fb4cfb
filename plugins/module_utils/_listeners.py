# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A service's listeners and whether they have their backlog: one definition for the planner, the
verify action, the filter netstack.backlog.backlog_mismatches (a thin wrapper of it) and the
verification's read on the host, which ends the run's lock once every listener has its backlog
(module_utils, so it runs on the host's Python, 2.7 included)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean


class ListenerError(ValueError):
    """An expected entry or a listener list the rules cannot read; the message says which."""


def address_of(listener):
    if listener.get('path'):  # a unix-domain listener
        return listener['path']
    address = listener.get('address', '?')
    if ':' in address:
        address = '[%s]' % address
    return '%s:%s' % (address, listener.get('port', '?'))


def listeners_of(entry, listeners):
    """The listeners of a service: its process's (``process``, a regular expression matched at the start
    of the process name), unix-domain ones too unless ``unix`` is false (HAProxy's stats socket has a
    backlog of its own)."""
    pattern = re.compile(entry['process'])
    with_unix = boolean(entry.get('unix', True), strict=False)
    return [listener for listener in listeners
            if pattern.match(listener.get('process') or '') and (with_unix or not listener.get('path'))]


def backlog_mismatches(listeners, expected):
    """One line per listener of an ``expected`` service whose backlog differs, and per service with none."""
    if not isinstance(listeners, list):
        raise ListenerError('the input must be the list ansible_facts.listener_backlog_listeners, got %r'
                            % (listeners,))
    problems = []
    for entry in expected:
        try:
            name, backlog = entry['name'], int(entry['backlog'])
            mine = listeners_of(entry, listeners)
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise ListenerError('each expected entry needs name, process (a regular expression) and backlog (an '
                                'integer); %r: %s' % (entry, exc))
        if not mine:
            problems.append('%s: no listener of a process matching %s' % (name, entry['process']))
            continue
        for listener in mine:
            if listener.get('backlog') != backlog:
                problems.append('%s on %s: expected backlog %d, the kernel granted %s'
                                % (name, address_of(listener), backlog, listener.get('backlog')))
    return problems
