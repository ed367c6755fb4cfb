# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_plan
short_description: Plan the listener_backlog role's changes from one read of the host
version_added: 1.1.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - The planner of the role C(netstack.backlog.listener_backlog); the role calls it, and it is not meant to be
    called on its own (its options follow the role's needs and may change in a minor release).
  - It checks the role's variables against what M(netstack.backlog.listener_backlog_facts) reported (with
    O(netstack.backlog.listener_backlog_facts#module:tuning)) and decides every change - which sysctl lines to
    write, which live values to set, which service gets which backlog in which file and how it is applied - so the
    role runs a module on the host only where something may change.
  - A bad variable fails here, naming the variable, its value and what is accepted, before anything changes.
  - This is an action plugin that runs on the controller; nothing runs on the host.
options:
  stage:
    description:
      - C(files) says which config files (with the lines to look for) the fact module should read, before anything
        is known of the host; C(check) checks every variable against the facts and plans the tuning; C(services)
        plans each service with the kernel limit after tuning, and whether its edit may change its file;
        C(actions) decides how each service takes its backlog (restart, reload, start) from the edits' results;
        C(expected) says what each service should have under the host's current limit (the audit playbook).
    type: str
    required: true
    choices: [files, check, services, actions, expected]
  variables:
    description: The role's variables, without their C(listener_backlog_) prefix.
    type: dict
    required: true
  template_paths:
    description: Where the role's template task looks for a template's C(src) (stage C(check) checks each is there).
    type: list
    elements: str
  limit:
    description: The kernel limit the services are planned with (stage C(services)).
    type: int
  services:
    description: The services' plan, as stage C(services) returned it (stage C(actions)).
    type: list
    elements: dict
  changed_configs:
    description: The config files the edits changed (stage C(actions)).
    type: list
    elements: str
  changed_templates:
    description: The C(listener_backlog_templates) entries whose file changed (stage C(actions)).
    type: list
    elements: dict
attributes:
  check_mode:
    support: full
    description: Plans the same in check mode, with the limit the run would set.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
seealso:
  - module: netstack.backlog.listener_backlog_facts
'''

EXAMPLES = r'''
# The role's own use; see roles/listener_backlog/tasks/main.yml.
- name: Check every input and plan the tuning
  netstack.backlog.listener_backlog_plan:
    stage: check
    variables:
      somaxconn: 4096
      services: []
  register: plan
'''

RETURN = r'''
tuning:
  description:
    - Stage C(check) - whether to tune (C(tune)), whether the knob is read-only (C(readonly)), the sysctl C(file),
      the C(limit) the services are planned with in check mode, and per knob (C(sysctls)) its C(key), C(value),
      C(line), and whether the file (C(write_file)) and the running kernel (C(set_live)) need it.
  returned: stage check
  type: dict
work:
  description:
    - Stage C(check) - which parts of the role have anything to do (C(local_fact), C(tune), C(namespaces),
      C(services)) and whether any has (C(any)); the role runs nothing more on a host where none has.
  returned: stage check
  type: dict
files:
  description: Stage C(files) - the files, each with C(path) and C(patterns), for the fact module's C(files) option.
  returned: stage files
  type: list
  elements: dict
services:
  description: Stage C(services) - per service its config, edit, validator, backlog, service name and how to apply it.
  returned: stage services
  type: list
  elements: dict
apply:
  description: Stage C(actions) - per init service the C(state) to put it in, the catalogue C(names), the C(reason).
  returned: stage actions
  type: list
  elements: dict
pending:
  description: Stage C(actions) - the same, for services that wait because C(listener_backlog_restart) is false.
  returned: stage actions
  type: list
  elements: dict
expected:
  description: Stage C(expected) - per service its C(name), C(process), C(unix) and the C(backlog) it should have.
  returned: stage expected
  type: list
  elements: dict
ansible_facts:
  description: Stage C(actions) - C(listener_backlog_restart_required), the services that wait for a restart.
  returned: stage actions
  type: dict
'''
