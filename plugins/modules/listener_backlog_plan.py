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
  - Stage C(plan) reads the host once - it runs M(netstack.backlog.listener_backlog_read), the facts with the
    services' config files and what tuning involves - and decides every change from that read - which sysctl lines
    to write, which live values to set, the limit the kernel grants after tuning, which service gets which backlog
    in which file, and whether anything is to do at all - so the role runs a module on the host only where something
    may change.
  - A bad variable fails in stage C(plan), naming the variable, its value and what is accepted, before anything
    changes.
  - This is an action plugin that runs on the controller; in stage C(plan) it runs the fact module on the host, in
    the others nothing runs there.
options:
  stage:
    description:
      - C(plan) reads the host and plans the run; C(actions) decides, after the edits, how each service takes its
        backlog (restart, reload, start) from what the edits changed; C(expected) says what each service should have
        under the host's current limit (the audit playbook, after the facts are gathered).
    type: str
    required: true
    choices: [plan, actions, expected]
  variables:
    description: The role's variables, without their C(listener_backlog_) prefix.
    type: dict
    required: true
  template_paths:
    description: Where the role's template task looks for a template's C(src) (stage C(plan) checks each is there).
    type: list
    elements: str
  services:
    description: The services' plan, as stage C(plan) returned it (stage C(actions)).
    type: list
    elements: dict
  edits:
    description:
      - The edits M(netstack.backlog.listener_backlog_apply) made, its
        RV(netstack.backlog.listener_backlog_apply#module:edits) (stage C(actions)); a changed one names its config.
    type: list
    elements: dict
  templates:
    description: The registered result of the role's template task (stage C(actions)).
    type: dict
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
- name: Read the host once, check every input and plan every change
  netstack.backlog.listener_backlog_plan:
    stage: plan
    variables:
      somaxconn: 4096
      services: []
  register: plan
'''

RETURN = r'''
tuning:
  description:
    - Stage C(plan) - whether to tune (C(tune)), whether the knob is read-only (C(readonly)), the sysctl C(file),
      the C(limit) the kernel grants after tuning (the services are planned with it), and per knob (C(sysctls)) its
      C(key), C(value), C(line), and whether the file (C(write_file)) and the running kernel (C(set_live)) need it.
  returned: stage plan
  type: dict
services:
  description: Stage C(plan) - per service its config, edit, validator, backlog, service name and how to apply it.
  returned: stage plan
  type: list
  elements: dict
namespaces:
  description: Stage C(plan) - the network namespaces below the limit set, each with how its runtime sets it.
  returned: stage plan
  type: list
  elements: dict
exporter:
  description: Stage C(plan) - the textfile collector's plan, or null when the role leaves it alone.
  returned: stage plan
  type: dict
unchanged:
  description: Stage C(plan) - what the plan was made on, for M(netstack.backlog.listener_backlog_apply) to read again once it holds the run lock.
  returned: stage plan
  type: dict
changes:
  description:
    - Stage C(plan) - the arguments of M(netstack.backlog.listener_backlog_apply) - C(sysctl_file), the C(sysctls) to
      write or set, the services' C(edits) - and C(release), whether nothing after them changes the host (the lock
      then ends with them).
  returned: stage plan
  type: dict
work:
  description:
    - Stage C(plan) - which parts of the role have anything to do (C(local_fact), C(tune), C(namespaces),
      C(services), C(exporter)) and whether any has (C(any)); the role runs nothing more on a host where none has.
  returned: stage plan
  type: dict
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
  description:
    - Stage C(plan) - the facts of M(netstack.backlog.listener_backlog_facts) as read (the config lines and the tuning
      state, read for the plan, are not returned as facts), and
      C(listener_backlog_restart_required) (empty) when the services have nothing to do.
    - Stage C(actions) - C(listener_backlog_restart_required), the services that wait for a restart.
  returned: stages plan and actions
  type: dict
'''
