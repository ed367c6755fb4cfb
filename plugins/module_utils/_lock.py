# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's run lock on the host: a lease with an owner in a file held under flock.

Shared by listener_backlog_lock (take, release) and listener_backlog_apply (takes it with its
first change, releases it with its last) and listener_backlog_read (releases it with the
verification's read). Module code: runs on target Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import json
import os
import stat
import time

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.module_utils._files import matching_lines

POLL = 0.5

# The options of every module that takes the lock (listener_backlog_lock, listener_backlog_apply).
LOCK_OPTIONS = dict(
    wait=dict(type='int', default=120),
    lease=dict(type='int', default=3600),
    unchanged=dict(type='dict'),
    owner=dict(type='dict', required=True),
    take_over=dict(type='str'),
)


def owner_of(module):
    """The run that asks, as the action plugin named it (its id, controller and pid)."""
    owner = dict((key, module.params['owner'].get(key)) for key in ('id', 'controller', 'pid'))
    if not owner['id']:
        module.fail_json(msg='owner.id is required (the action plugin sets it)')
    return owner


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


class Refused(Exception):
    """The lock could not be had, or what the plan was made on changed: ``msg`` says which, ``result`` what was found."""

    def __init__(self, msg, result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def take(path, owner, wait, lease, take_over, unchanged, check_mode, live_value, warn):
    """Take the lock at ``path`` for ``owner`` (waiting up to ``wait`` s), then check ``unchanged``.

    Returns the result's lock fields (holder, taken_over, changed_since_read, path); raises
    Refused with the error to fail with (another run holds it, the plan went stale, the file is
    not safe), after releasing the lock where this run took it.
    """
    result = dict(holder=None, taken_over=None, changed_since_read=[], path=path)
    deadline = time.time() + max(wait, 0)
    try:
        while True:
            with LockFile(path) as lock:
                held, holder, taken_over = try_take(lock, owner, lease, take_over, time.time(), check_mode)
                if held and unchanged:
                    result['changed_since_read'] = changes(unchanged, live_value)
                    if result['changed_since_read'] and not check_mode:
                        lock.remove()
            if held or time.time() >= deadline:
                break
            time.sleep(POLL)
    except (LockError, IOError, OSError) as exc:
        raise Refused('the run lock %s: %s' % (path, exc), result)
    result.update(holder=holder, taken_over=taken_over)
    if not held:
        raise Refused('another run of the role holds this host (%s), after waiting %d s for it. If that run is '
                      'dead, remove %s and run again.' % (describe(holder), wait, path), result)
    if result['changed_since_read']:
        result['holder'] = None
        raise Refused('since this run read the host, another run or someone else changed what it planned on: '
                      '%s. This run changed nothing; run it again to plan on what is there now.'
                      % '; '.join(result['changed_since_read']), result)
    if taken_over:
        warn('took over the run lock of %s: that run ended without releasing it; what it left undone is '
             'planned again by this run' % describe(taken_over))
    return result


def release(path, owner, check_mode):
    """(released, other): release the lock at ``path`` if ``owner`` holds it, returning what it held (its holder,
    whose ``until`` tells one take of the lock from another); another run's is left alone (returned as ``other``).
    Raises LockError, IOError or OSError when the file cannot be handled."""
    if not os.path.lexists(path):
        return None, None
    with LockFile(path) as lock:
        holder = lock.read()
        if holder and holder.get('id') != owner['id']:
            return None, holder
        if not check_mode:
            lock.remove()
    return holder, None
