# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_verify
short_description: Wait until every managed listener has the backlog it should, or fail saying why
version_added: 1.1.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Reads the host's listeners (TCP, and unix-domain on Linux) with M(netstack.backlog.listener_backlog_facts), once a
    second, until each expected service's listeners have their backlog or O(timeout) passes.
  - On failure it says, once, every listener that is off (service, address, port, expected and granted backlog) and
    the end of each such service's log.
  - A service with no listener at all whose process runs (C(ps -A -o stat= -o comm=), zombies left out), such as
    HAProxy with a configuration that defines no frontend, is a warning naming it, not a failure; one that is not
    running stays a failure.
  - The role C(netstack.backlog.listener_backlog) runs it after its restarts.
  - An action plugin that runs the fact module on the host; its facts are those of the last read.
options:
  expected:
    description:
      - What each service should have, as the filter P(netstack.backlog.backlog_mismatches#filter) takes it
        (C(name), C(process), C(backlog), C(unix)), and optionally C(log), a file whose end is shown on failure.
      - Give this or O(failed).
    type: list
    elements: dict
    default: []
  pending:
    description:
      - Services that wait for a restart (C(names) lists their entries in O(expected)); their listeners are reported
        in RV(pending) and as a warning, not as a failure.
    type: list
    elements: dict
    default: []
  timeout:
    description: How long to wait for the listeners, in seconds.
    type: int
    default: 10
  failed:
    description:
      - Instead of verifying, say why services failed to restart, reload or start - the results of the
        M(ansible.builtin.service) loop that failed, each with its C(item) (C(service), C(state), C(log), C(check)).
      - For each, the service manager's words, then what the service's test of its whole configuration (C(check))
        says when it fails, then the end of its C(log); the task fails with all of it.
    type: list
    elements: dict
    version_added: 1.2.0
  release:
    description:
      - Release the role's run lock (M(netstack.backlog.listener_backlog_lock)), when this run holds it, with the
        read that finds every listener of O(expected) (less O(pending)) with its backlog - in the common case the
        first. Verification changes nothing, so the role's lock ends with its last change without a module run of its
        own, and a restarted service still coming back keeps the host this run's. A verification that fails, or finds
        a service running with no listener of its own (passed with a warning), keeps the lock (the role's last task
        releases it); RV(released) says whether it was released.
    type: bool
    default: false
    version_added: 1.2.0
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: posix
    description: Where M(netstack.backlog.listener_backlog_facts) reads listeners.
seealso:
  - module: netstack.backlog.listener_backlog_facts
  - plugin: netstack.backlog.backlog_mismatches
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Wait for Redis to listen with a backlog of 4096
  netstack.backlog.listener_backlog_verify:
    expected:
      - name: redis
        process: ^redis-server
        backlog: 4096
        log: /var/log/redis/redis-server.log
'''

RETURN = r'''
released:
  description:
    - With O(release), the run lock this run released, as M(netstack.backlog.listener_backlog_read) returns it (its
      holder, C(until) telling one take of the lock from another), or null where this run held none or the
      listeners never all had their backlog.
  returned: when listeners were read
  type: dict
  version_added: 1.2.0
problems:
  description: One line per listener off its backlog, and per service with no listener.
  returned: on failure
  type: list
  elements: str
  sample: ['redis: no listener of a process matching ^redis-server']
pending:
  description: The same, for the listeners of services that wait for a restart.
  returned: always
  type: list
  elements: str
'''
