# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: warn
short_description: Show one or more Ansible warnings
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Adds its messages to the task result as warnings, which Ansible shows as C([WARNING]) lines and
    callbacks record as warnings, not as ordinary output.
  - The role C(netstack.backlog.listener_backlog) uses it for backlogs clamped to the kernel limit and for
    sysctl files that would override the persisted limit at boot.
  - This is an action plugin that runs on the controller; nothing runs on the host.
options:
  msg:
    description: The warning, or a list of them. Empty strings are dropped.
    type: raw
    required: true
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
'''

EXAMPLES = r'''
- name: Say that a backlog will be clamped
  netstack.backlog.warn:
    msg: "nginx asks for 8192 but the kernel limit is {{ ansible_facts.listener_backlog }}"
  when: ansible_facts.listener_backlog < 8192
'''

RETURN = r'''
msg:
  description: How many warnings were shown.
  returned: always
  type: str
  sample: 1 warning(s)
'''
