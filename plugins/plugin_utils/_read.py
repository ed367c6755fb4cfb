# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's actions read the host with the fact module itself: one module run, no extra task."""

from __future__ import annotations

# The facts' module, and the role's read: the same facts, with config lines and what tuning involves.
FACTS_MODULE = 'netstack.backlog.listener_backlog_facts'
ROLE_READ_MODULE = 'netstack.backlog.listener_backlog_read'
PREFIX = 'ansible_'


def without_prefix(facts):
    """The facts as ``ansible_facts`` holds them: the ``ansible_`` prefix that Ansible strips, stripped."""
    return dict((key[len(PREFIX):] if key.startswith(PREFIX) else key, value) for key, value in facts.items())


def read_host(action, task_vars, arguments, module=FACTS_MODULE):
    """(the module's result, its facts without the prefix), run by ``action`` on its host.

    The caller removes the connection's temporary directory once it has run all it runs there.
    """
    result = action._execute_module(module_name=module, module_args=arguments, task_vars=task_vars)
    return result, without_prefix(result.get('ansible_facts') or {})
