# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
name: backlog_mismatches
short_description: Listeners whose granted backlog differs from what their service should have
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Compares the listeners reported by M(netstack.backlog.listener_backlog_facts) (with O(netstack.backlog.listener_backlog_facts#module:listeners=true))
    with what each service should have, and returns one line per problem, naming the service, the address, the port,
    the expected and the granted backlog. An empty list means every expected listener is there with its backlog.
  - A service with no listener at all is a problem too (it is not running, or listens elsewhere).
  - The role C(netstack.backlog.listener_backlog) uses it to decide which services to restart and to verify them.
options:
  _input:
    description:
      - The listeners, C(ansible_facts.listener_backlog_listeners), and where wanted the unix-domain ones,
        C(ansible_facts.listener_backlog_unix_listeners) (shown by their path).
    type: list
    elements: dict
    required: true
  expected:
    description:
      - What each service should have, as dicts with C(name) (shown in messages), C(process) (a regular expression
        matched at the start of the listener's process name) and C(backlog) (an integer).
      - C(unix) (default V(true)) says whether the service's unix-domain listeners are held to C(backlog) too; a
        service whose unix socket is an admin socket with a backlog of its own (HAProxy's stats socket) sets V(false).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Fail unless Redis listens with a backlog of 4096
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ ansible_facts.listener_backlog_listeners
         | netstack.backlog.backlog_mismatches([{'name': 'redis', 'process': 'redis-server', 'backlog': 4096}]) }}
'''

RETURN = r'''
_value:
  description: One message per listener whose backlog differs, and per service with no listener.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.netstack.backlog.plugins.module_utils import _listeners


def backlog_mismatches(listeners, expected):
    try:
        return _listeners.backlog_mismatches(listeners, expected)
    except _listeners.ListenerError as exc:
        raise AnsibleFilterError('netstack.backlog.backlog_mismatches: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'backlog_mismatches': backlog_mismatches}
