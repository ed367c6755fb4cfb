#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_lock
short_description: One run at a time on a host, on what that run read
version_added: 1.2.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - The run lock of the role C(netstack.backlog.listener_backlog), which holds it from its first change to its last,
    failed or not. Two runs at once on one host then give one run's result or the other's, never a mix. The role
    takes it with M(netstack.backlog.listener_backlog_apply), in the module run that makes its changes, and releases
    it with its verification's read; this module takes and releases it on its own (the role's last task releases it
    with this module when neither did).
  - The lock is a file (O(path)) naming its owner and when its lease ends, read and changed only under C(flock), so
    two runs that ask at once cannot both get it. It lives under C(/run), a tmpfs, so a reboot releases it.
  - A run that dies holding it, its controller killed, is found out by the next run from the same controller (the
    owner's process no longer runs; the action plugin looks on the controller), which takes the lock over and warns.
    From another controller, the lease (O(lease)) must end first; the error of a run that gave up waiting names the
    holder, its controller and process, and the file to remove when that run is known to be dead.
  - With O(unchanged), once the lock is held it reads again the config lines, the sysctl file's lines and the kernel
    values the run planned on. If any differs, changed by another run or by hand, it releases the lock and fails
    naming each, before the run changes anything.
  - An action plugin adds O(owner) and looks for dead owners on the controller; set neither O(owner) nor O(take_over).
extends_documentation_fragment:
  - netstack.backlog.lock
options:
  state:
    description: C(present) takes the lock (or renews it, when this run holds it); C(absent) releases it when this run
      holds it, and leaves another run's alone.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The lock file. Its directory must be root's alone, not world-writable as C(/run/lock) is. Default
        C(/run/netstack-backlog.lock), or under C(/var/run) on systems without C(/run).
    type: path
  unchanged:
    description:
      - What the run's plan was made on, checked once the lock is held (the role passes what its read returned).
      - C(files), a list of C(path), C(patterns), C(exists) and C(lines) (the lines matching a pattern), as
        M(netstack.backlog.listener_backlog_facts) reads them.
      - C(sysctl_file), a dict of C(path), C(keys) and C(lines) (each key's line in the file).
      - C(sysctls), a dict of each kernel value read (null where it could not be read).
    type: dict
  owner:
    description:
      - Who asks; set by the action plugin (C(id), C(controller), C(pid)).
    type: dict
    required: true
  take_over:
    description: The C(id) of an owner known to be dead; set by the action plugin.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads the lock and reports whether it could be had, writing nothing.
  diff_mode:
    support: none
    description: Nothing to show.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host; the lock is a file under C(flock), in a directory only root writes.
seealso:
  - module: netstack.backlog.listener_backlog_facts
'''

EXAMPLES = r'''
- name: Take the run lock, or wait up to a minute for it
  netstack.backlog.listener_backlog_lock:
    wait: 60

- name: Release it
  netstack.backlog.listener_backlog_lock:
    state: absent
'''

RETURN = r'''
holder:
  description: The run that holds the lock after this task (null when nobody does), or that kept it from this run.
  returned: always
  type: dict
  sample: {id: 'ctl 4242 77031 8f0c...', controller: ctl, pid: 4242, since: '2026-12-04T04:10:02Z',
           expires: '2026-12-04T05:10:02Z'}
taken_over:
  description: The holder whose lock this run took over (its lease over, or its run dead); null otherwise.
  returned: always
  type: dict
changed_since_read:
  description: What differed from O(unchanged), one line each (then the task failed and the lock is released).
  returned: always
  type: list
  elements: str
  sample: ['/etc/redis/redis.conf: its lines tcp-backlog 511 are now tcp-backlog 200']
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netstack.backlog.plugins.module_utils._lock import (
    LOCK_OPTIONS, LockError, Refused, default_path, owner_of, release, sysctl_reader, take)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params['path'] or default_path()
    owner = owner_of(module)
    result = dict(changed=False, holder=None, taken_over=None, changed_since_read=[], path=path)
    try:
        if params['state'] == 'absent':
            released, result['holder'] = release(path, owner, module.check_mode)
            result['changed'] = released is not None
            module.exit_json(**result)
        result.update(take(path, owner, params['wait'], params['lease'], params['take_over'], params['unchanged'],
                           module.check_mode, sysctl_reader(module), module.warn))
    except Refused as exc:
        result.update(exc.result)
        module.fail_json(msg=exc.msg, **result)
    except (LockError, IOError, OSError) as exc:
        module.fail_json(msg='the run lock %s: %s' % (path, exc), **result)
    result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
