#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: namespace_somaxconn
short_description: Set net.core.somaxconn live inside other network namespaces (running containers, pods)
version_added: 1.1.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Writes C(net.core.somaxconn) inside each network namespace named by its inode (the C(id) that
    M(netstack.backlog.listener_backlog_facts) reports with O(netstack.backlog.listener_backlog_facts#module:namespaces=true)),
    entering it with C(setns) in the module's own process and coming back after each one.
  - This is immediate relief, not a fix. The value lasts as long as the namespace - until the container or pod is
    recreated, when the runtime makes a new namespace at the kernel's default. Set it where the container is defined
    (C(docker run --sysctl), compose C(sysctls), Kubernetes C(securityContext.sysctls)); the role
    C(netstack.backlog.listener_backlog) says how for each runtime.
  - A listener keeps the backlog it got until its service listens again (a restart, or for some services a reload).
  - A namespace that is gone, or that cannot be entered, is reported in RV(namespaces) with its reason and a warning;
    the others are still set.
  - The machine's own network namespace (the kernel's first, where PID 1 and the kernel's threads run) is never
    changed, even when the module runs in another namespace and it is named; it is reported with its reason. Where
    the module cannot tell which namespace is the machine's (it runs in a PID namespace of its own, on a kernel before
    6.18), it changes none.
  - Linux only.
options:
  value:
    description: The value to set, 0 to 2147483647.
    type: int
    required: true
  namespaces:
    description: The inodes of the network namespaces to set it in.
    type: list
    elements: int
    required: true
  only_raise:
    description: Leave a namespace alone whose value is already higher than O(value).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads each namespace's value and reports what would change, writing nothing.
  diff_mode:
    support: full
    description: Shows each namespace's value before and after.
  platform:
    platforms: posix
    support: full
    description: Linux.
seealso:
  - module: netstack.backlog.listener_backlog_facts
'''

EXAMPLES = r'''
- name: Read every network namespace
  netstack.backlog.listener_backlog_facts:
    namespaces: true

- name: Raise the limit live in every container below 4096 (until each container restarts)
  netstack.backlog.namespace_somaxconn:
    value: 4096
    namespaces: >-
      {{ ansible_facts.listener_backlog_namespaces | rejectattr('current') | rejectattr('initial') | selectattr('container')
         | rejectattr('listener_backlog', 'none') | selectattr('listener_backlog', 'lt', 4096)
         | map(attribute='id') | list }}
'''

RETURN = r'''
namespaces:
  description: One entry per namespace asked for, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The namespace's inode.
      type: int
      sample: 4026532281
    before:
      description: Its value before; null when it could not be read.
      type: int
      sample: 128
    after:
      description: Its value after (in check mode, what it would be); null when it could not be read.
      type: int
      sample: 4096
    changed:
      description: Whether the value was (or in check mode would be) changed.
      type: bool
      sample: true
    error:
      description: Null, or why the namespace could not be set.
      type: str
      sample: null
'''

import functools
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netstack.backlog.plugins.module_utils._backlog import (
    INT_MAX,
    LINUX_SOMAXCONN_PATH,
    ReadFailure,
    parse_int,
    parse_kernel_release,
)


def set_inside(value, only_raise, check_mode):
    """Read, and unless told otherwise write, net.core.somaxconn of the namespace entered."""
    with open(LINUX_SOMAXCONN_PATH) as handle:
        before = parse_int(handle.read(), 0, INT_MAX)
    after = before if (only_raise and before >= value) else value
    if after != before and not check_mode:
        with open(LINUX_SOMAXCONN_PATH, 'w') as handle:
            handle.write('%d\n' % after)
        with open(LINUX_SOMAXCONN_PATH) as handle:
            after = parse_int(handle.read(), 0, INT_MAX)
    return before, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            value=dict(type='int', required=True),
            namespaces=dict(type='list', elements='int', required=True),
            only_raise=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    value = module.params['value']
    if not 0 <= value <= INT_MAX:
        module.fail_json(msg='value must be 0 to %d (net.core.somaxconn), got %d' % (INT_MAX, value))
    system = os.uname()[0]
    if system != 'Linux':
        module.fail_json(msg='namespace_somaxconn is supported on Linux only, not on %s' % system)

    from ansible_collections.netstack.backlog.plugins.module_utils import _netns as netns
    wanted = module.params['namespaces']
    discovery = netns.Discovery().scan(parse_kernel_release(os.uname()[2]))
    visitor = netns.Visitor()
    results = []
    try:
        for inode in wanted:
            entry = {'id': inode, 'before': None, 'after': None, 'changed': False, 'error': None}
            results.append(entry)
            if inode == visitor.own_inode:
                entry['error'] = "the module's own network namespace: set it with ansible.posix.sysctl"
                continue
            if inode == discovery.initial:
                entry['error'] = ("the machine's own network namespace, which this module never changes: set it with "
                                  "ansible.posix.sysctl run in that namespace")
                continue
            if discovery.initial is None:
                entry['error'] = ("cannot tell whether it is the machine's own network namespace (the module runs in a "
                                  "PID namespace of its own, where neither PID 1 nor the kernel's threads are the "
                                  "machine's, on a kernel before 6.18), so it is left alone")
                continue
            found = discovery.namespaces.get(inode)
            if found is None:
                entry['error'] = 'gone (no process or pinned file holds it now)'
                continue
            sources = ['/proc/%d/ns/net' % pid for pid in found['pids']] + found['paths']
            try:
                read, error = visitor.visit(inode, sources, functools.partial(
                    set_inside, value, module.params['only_raise'], module.check_mode))
            except (IOError, OSError, ReadFailure) as exc:
                reason = getattr(exc, 'reason', None) or exc
                read, error = None, 'cannot set %s there: %s' % (LINUX_SOMAXCONN_PATH, reason)
            if error:
                entry['error'] = error
                continue
            entry['before'], entry['after'] = read
            entry['changed'] = entry['before'] != entry['after']
    except netns.ReturnFailed as exc:
        module.fail_json(msg=str(exc), namespaces=results)
    finally:
        visitor.close()

    for entry in results:
        if entry['error']:
            module.warn('network namespace %d: %s' % (entry['id'], entry['error']))
    changed = any(entry['changed'] for entry in results)
    result = {'changed': changed, 'namespaces': results}
    if module._diff:
        result['diff'] = {
            'before': ''.join('%d net.core.somaxconn = %s\n' % (entry['id'], entry['before'])
                              for entry in results if not entry['error']),
            'after': ''.join('%d net.core.somaxconn = %s\n' % (entry['id'], entry['after'])
                             for entry in results if not entry['error']),
        }
    module.exit_json(**result)


if __name__ == '__main__':
    main()
