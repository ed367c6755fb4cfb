#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_read
short_description: The listener_backlog role's one read of a host
version_added: 1.2.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Reads what M(netstack.backlog.listener_backlog_facts) reads, and what the role C(netstack.backlog.listener_backlog)
    plans from besides - the lines of its services' config files that it edits, and what tuning the kernel limit
    involves - in one module run.
  - The role's planner M(netstack.backlog.listener_backlog_plan) runs it; it is not meant to be called on its own (its
    options follow the role's needs and may change in a minor release). For the facts, use
    M(netstack.backlog.listener_backlog_facts).
extends_documentation_fragment:
  - netstack.backlog.listener_backlog_facts
  - netstack.backlog.listener_backlog_facts.role_read
options:
  release:
    description:
      - After the read, release the role's run lock (M(netstack.backlog.listener_backlog_lock)) if this run holds it;
        another run's lock is left alone, with a warning. The role's verification passes it with its reads, so that
        the lock ends with the run's last change without a module run of its own.
      - C(id), C(controller) and C(pid) name the run as the lock's action plugin does; C(path) is the lock file
        (default as M(netstack.backlog.listener_backlog_lock)'s).
    type: dict
    suboptions:
      id:
        description: The run's owner id.
        type: str
        required: true
      controller:
        description: The controller's host name.
        type: str
      pid:
        description: The controller process.
        type: int
      path:
        description: The lock file.
        type: path
      when_matching:
        description:
          - Release only when every listener of these services has its backlog, and each has one (the rule of
            M(netstack.backlog.listener_backlog_verify) and the filter P(netstack.backlog.backlog_mismatches#filter));
            otherwise keep the lock and say why in RV(mismatches). The verification passes its services, so that a
            restarted service still coming back keeps the host this run's until it listens with its backlog.
          - Needs O(listeners=true); unix-domain listeners count with O(unix_listeners=true).
        type: list
        elements: dict
        suboptions:
          name:
            description: The service's name, as the lines of RV(mismatches) say it.
            type: str
            required: true
          process:
            description: A regular expression matched at the start of its listeners' process name.
            type: str
            required: true
          backlog:
            description: The backlog each of its listeners should have.
            type: int
            required: true
          unix:
            description: Whether its unix-domain listeners count too.
            type: bool
            default: true
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing.
  facts:
    support: full
    description: Returns the facts of M(netstack.backlog.listener_backlog_facts) with the same options.
  platform:
    platforms: posix
    support: full
    description: Where M(netstack.backlog.listener_backlog_facts) runs in Python.
seealso:
  - module: netstack.backlog.listener_backlog_facts
  - module: netstack.backlog.listener_backlog_plan
'''

EXAMPLES = r'''
- name: Read the limit, Redis's backlog line and what tuning involves
  netstack.backlog.listener_backlog_read:
    listeners: true
    files:
      - path: /etc/redis/redis.conf
        patterns: ['^\s*tcp-backlog\b']
    tuning: {}
'''

RETURN = r'''
released:
  description:
    - With O(release), the lock this run released - its holder as the lock file had it (C(id), C(controller),
      C(pid), C(since), C(until), C(expires)), C(until) telling one take of the lock from another - or null where
      there was none, or it was another run's.
  returned: when O(release) is given
  type: dict
mismatches:
  description:
    - With O(release.when_matching), what kept the lock this run's - one line per listener whose backlog differs and
      per service with no listener, as M(netstack.backlog.listener_backlog_verify) says them; empty when it was
      released.
  returned: when O(release.when_matching) is given
  type: list
  elements: str
  sample: ['redis on 127.0.0.1:6379: expected backlog 4096, the kernel granted 511']
ansible_facts:
  description:
    - What M(netstack.backlog.listener_backlog_facts) returns for the same options, including
      RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_files) with O(files) and
      RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_tuning) with O(tuning).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netstack.backlog.plugins.module_utils._facts import (
    FACT_OPTIONS, RELEASE_OPTIONS, ROLE_READ_OPTIONS, read)


def main():
    read(AnsibleModule(argument_spec=dict(FACT_OPTIONS, **dict(ROLE_READ_OPTIONS, **RELEASE_OPTIONS)),
                       supports_check_mode=True))


if __name__ == '__main__':
    main()
