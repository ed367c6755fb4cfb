# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
name: effective_backlog
short_description: The backlog a listen() really gets under a kernel limit
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Computes what a C(listen) call asking for the input gets when the kernel's limit is O(limit), that is the smaller of the two.
  - A negative request gets the limit, because Linux and the BSDs compare the request as unsigned.
  - With O(minimum) (OpenBSD's C(kern.sominconn), reported as C(listener_backlog_info.minimum)), the result
    is raised to at least that value, as the OpenBSD kernel function C(solisten) does.
  - Integers written as decimal strings (as INI inventories give them) are accepted; anything else,
    booleans included, is an error that names the value.
options:
  _input:
    description: The backlog the service asks for.
    type: int
    required: true
  limit:
    description: The kernel's limit, usually C(ansible_facts.listener_backlog).
    type: int
    required: true
  minimum:
    description: A floor the platform applies to every C(listen) call; omit it where there is none.
    type: int
seealso:
  - module: netstack.backlog.listener_backlog_facts
'''

EXAMPLES = r'''
- name: What nginx's default backlog really is on this host
  ansible.builtin.debug:
    msg: "{{ 511 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog) }}"

- name: In a template, on any platform (minimum is null except on OpenBSD)
  ansible.builtin.debug:
    msg: >-
      {{ 1024 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog,
                                                   minimum=ansible_facts.listener_backlog_info.minimum) }}
'''

RETURN = r'''
_value:
  description: The backlog the kernel grants.
  type: int
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.module_utils._backlog import effective_backlog as _effective_backlog


def effective_backlog(requested, limit, minimum=None):
    try:
        return _effective_backlog(requested, limit, minimum)
    except ValueError as exc:
        raise AnsibleFilterError('netstack.backlog.effective_backlog: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'effective_backlog': effective_backlog}
