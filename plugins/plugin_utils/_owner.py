# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run lock's owner, named on the controller, where a dead owner can be told from a live one.

The owner is the ansible-playbook (or ansible) process whose worker runs this task: its host name,
PID, the PID's start time and the kernel it runs under (boot id and PID namespace). Each module
run on the host is a process of its own, so the lock cannot be a process's flock held for the
run; it is a lease with an owner, and a lease held by a process of this controller that no longer
runs (or whose PID now belongs to a later process) is taken over at once, not when the lease ends.
"""

from __future__ import annotations

import os
import socket

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def start_time(pid):
    """The process's start, in clock ticks after boot (proc(5) field 22); None where it does not run: gone,
    a zombie its parent has not reaped yet (a killed run's ansible-playbook), or no /proc."""
    text = _read('/proc/%d/stat' % pid)
    if text is None:
        return None
    fields = text.rsplit(')', 1)[1].split()
    if fields[0] in ('Z', 'X'):
        return None
    return fields[19]


def kernel():
    """What makes PIDs comparable: the same boot and the same PID namespace (None where not known)."""
    boot = _read('/proc/sys/kernel/random/boot_id')
    try:
        namespace = os.readlink('/proc/self/ns/pid')
    except OSError:
        namespace = None
    return '%s/%s' % (boot, namespace) if boot and namespace else None


def owner(pid=None):
    """This run: task workers are children of the ansible-playbook process, which lives as long as the run."""
    pid = os.getppid() if pid is None else pid
    identity = {'controller': socket.gethostname(), 'pid': pid, 'started': start_time(pid), 'kernel': kernel()}
    identity['id'] = ' '.join(str(identity[key]) for key in ('controller', 'pid', 'started', 'kernel'))
    return identity


def dead(holder, here=None):
    """Whether ``holder`` (as the module returns it) is a run of this controller that no longer runs."""
    here = here or owner()
    parts = str(holder.get('id') or '').split(' ')
    if len(parts) != 4 or parts[0] != here['controller'] or parts[3] != str(here['kernel']) or parts[3] == 'None':
        return False  # another controller, or one whose processes cannot be compared: its lease decides
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    return str(start_time(pid)) != parts[2]  # gone (None), or the PID reused by a later process


def take_lock(execute, args, refused):
    """The result of the module that takes the lock, run by ``execute(args)`` with ``args['owner']`` set.

    Asked without waiting first: a lock left by a dead run of this controller is taken over at
    once, a live run's waited for (``args['wait']``). ``refused(result)``: whether a failed result
    is the lock kept by another run (the module changed nothing, so it may be asked again).
    """
    found = execute(dict(args, wait=0))
    holder = found.get('holder') or {}
    if found.get('failed') and holder and refused(found):
        if dead(holder, args['owner']):
            found = execute(dict(args, wait=0, take_over=holder['id']))
        elif args['wait'] > 0:
            found = execute(args)
    return found


class LockingAction(ActionBase):
    """An action plugin whose module (``MODULE``) takes the run lock: the owner named here, and a lock left by a dead
    run of this controller taken over (take_lock). Subclasses set ``ARGUMENT_SPEC`` from their module's documentation
    (plugin_utils/_spec.py, less ``owner`` and ``take_over``)."""

    MODULE = None
    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = {}

    def refused(self, failed):
        """Whether a failed result is the lock kept by another run (the module changed nothing: ask again)."""
        return not failed.get('changed_since_read')

    def call(self, task_vars, args):
        return take_lock(lambda asked: self._execute_module(module_name=self.MODULE, module_args=asked,
                                                            task_vars=task_vars), args, self.refused)

    def run(self, tmp=None, task_vars=None):
        result = super(LockingAction, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        args = dict((key, value) for key, value in args.items() if value is not None)
        args['owner'] = owner()
        try:
            found = self.call(task_vars, args)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return merge_hash(result, found)
