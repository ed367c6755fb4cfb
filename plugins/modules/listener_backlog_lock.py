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
  - The run lock of the role C(netstack.backlog.listener_backlog), which takes it after its plan and before its first
    change and releases it when the run ends, failed or not. Two runs at once on one host then give one run's result
    or the other's, never a mix.
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
  wait:
    description: How long to wait for another run's lock, in seconds, before failing.
    type: int
    default: 120
  lease:
    description:
      - How long the lock stays this run's without a renewal, in seconds. After it, another run takes the lock over.
        Longer than any run, as the role renews nothing.
    type: int
    default: 3600
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

import fcntl
import json
import os
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.module_utils._files import matching_lines

POLL = 0.5


def default_path():
    return '/run/netstack-backlog.lock' if os.path.isdir('/run') else '/var/run/netstack-backlog.lock'


def iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


class LockError(Exception):
    pass


class LockFile(object):
    """The lock file, held under flock while open: read, then replaced or removed."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        directory = os.path.dirname(self.path) or '.'
        status = os.stat(directory)
        if status.st_uid != os.geteuid() or status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise LockError('%s: the run lock needs a directory only its user can write, and %s is not (mode %o, owner '
                            'uid %d)' % (self.path, directory, stat.S_IMODE(status.st_mode), status.st_uid))
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            opened = os.fstat(fd)
            try:
                named = os.lstat(self.path)
            except OSError:
                named = None
            # The holder before us may have removed the file while we waited for its flock.
            if named is not None and (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino):
                break
            os.close(fd)
        if not stat.S_ISREG(opened.st_mode) or opened.st_uid != os.geteuid():
            os.close(fd)
            raise LockError('%s is not a regular file of this user (uid %d): refusing it as the run lock'
                            % (self.path, os.geteuid()))
        self.fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # releases the flock

    def read(self):
        os.lseek(self.fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        try:
            return json.loads(b''.join(chunks).decode('utf-8')) or None
        except ValueError:
            return None  # empty, or torn by a crash mid-write: nobody holds it

    def write(self, state):
        data = json.dumps(state, sort_keys=True).encode('utf-8')
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, data)

    def remove(self):
        os.unlink(self.path)


def describe(holder):
    return 'a run from controller %s (process %s) since %s, its lease ending %s' % (
        holder.get('controller'), holder.get('pid'), holder.get('since'), holder.get('expires'))


def try_take(lock, owner, lease, take_over, now, check_mode):
    """(held, holder, taken_over): whether this run holds the lock now, who does, and whom it replaced."""
    holder = lock.read()
    taken_over = None
    if holder and holder.get('id') != owner['id']:
        if holder.get('id') != take_over and holder.get('until', 0) > now:
            return False, holder, None
        taken_over = holder
    ours = dict(owner, since=holder['since'] if holder and taken_over is None else iso(now),
                until=now + lease, expires=iso(now + lease))
    if not check_mode:
        lock.write(ours)
    return True, ours, taken_over


def sysctl_reader(module):
    if os.uname()[0] == 'Linux':
        def read(path):
            with open(path, 'rb') as handle:
                return handle.read().decode('utf-8', 'replace')
        return _tuning.linux_live_value(read)

    def live(key):
        rc, out, dummy = module.run_command(['sysctl', '-n', key], environ_update={'LC_ALL': 'C'})
        return out.strip() if rc == 0 else None
    return live


def shown(lines):
    return ' '.join(line.strip() for line in lines) if lines else '(none)'


def changes(unchanged, live_value):
    """One line per thing that differs from what the run read."""
    found = []
    for entry in unchanged.get('files') or []:
        now = matching_lines(entry['path'], entry.get('patterns') or [])
        if now['exists'] != entry.get('exists'):
            found.append('%s: %s' % (entry['path'], 'it was created' if now['exists'] else 'it was removed'))
        elif (now['lines'] or []) != (entry.get('lines') or []):
            found.append('%s: its lines %s are now %s' % (entry['path'], shown(entry.get('lines')), shown(now['lines'])))
    sysctl_file = unchanged.get('sysctl_file')
    if sysctl_file:
        try:
            with open(sysctl_file['path'], 'rb') as handle:
                text = handle.read().decode('utf-8', 'replace')
        except (IOError, OSError):
            text = None
        lines = _tuning.setting_lines(text, sysctl_file.get('keys') or [])
        if lines != (sysctl_file.get('lines') or {}):
            found.append('%s: its lines %s are now %s' % (sysctl_file['path'], shown(sorted((sysctl_file.get('lines') or {}).values())),
                                                          shown(sorted(lines.values()))))
    for key, value in sorted((unchanged.get('sysctls') or {}).items()):
        now = live_value(key)
        if now != value:
            found.append('%s: was %s, is now %s' % (key, value, now))
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            path=dict(type='path'),
            wait=dict(type='int', default=120),
            lease=dict(type='int', default=3600),
            unchanged=dict(type='dict'),
            owner=dict(type='dict', required=True),
            take_over=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params['path'] or default_path()
    owner = dict((key, params['owner'].get(key)) for key in ('id', 'controller', 'pid'))
    if not owner['id']:
        module.fail_json(msg='owner.id is required (the action plugin sets it)')
    result = dict(changed=False, holder=None, taken_over=None, changed_since_read=[], path=path)
    try:
        if params['state'] == 'absent':
            if not os.path.lexists(path):
                module.exit_json(**result)
            with LockFile(path) as lock:
                holder = lock.read()
                if holder and holder.get('id') != owner['id']:
                    result['holder'] = holder
                    module.exit_json(**result)
                if not module.check_mode:
                    lock.remove()
            result['changed'] = holder is not None
            module.exit_json(**result)

        deadline = time.time() + max(params['wait'], 0)
        while True:
            with LockFile(path) as lock:
                held, holder, taken_over = try_take(lock, owner, params['lease'], params['take_over'], time.time(),
                                                    module.check_mode)
                if held and params['unchanged']:
                    result['changed_since_read'] = changes(params['unchanged'], sysctl_reader(module))
                    if result['changed_since_read'] and not module.check_mode:
                        lock.remove()
            if held or time.time() >= deadline:
                break
            time.sleep(POLL)
    except (LockError, IOError, OSError) as exc:
        module.fail_json(msg='the run lock %s: %s' % (path, exc), **result)
    result.update(holder=holder, taken_over=taken_over)
    if not held:
        module.fail_json(msg='another run of the role holds this host (%s), after waiting %d s for it. If that run is '
                             'dead, remove %s and run again.' % (describe(holder), params['wait'], path), **result)
    if result['changed_since_read']:
        result['holder'] = None
        module.fail_json(msg='since this run read the host, another run or someone else changed what it planned on: '
                             '%s. This run changed nothing; run it again to plan on what is there now.'
                             % '; '.join(result['changed_since_read']), **result)
    if taken_over:
        module.warn('took over the run lock of %s: that run ended without releasing it; what it left undone is '
                    'planned again by this run' % describe(taken_over))
    result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
