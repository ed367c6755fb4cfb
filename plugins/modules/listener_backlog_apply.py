#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_apply
short_description: The listener_backlog role's changes to a host, in one module run
version_added: 1.2.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Carries out what the role C(netstack.backlog.listener_backlog) planned for a host, in one module run - takes the
    run lock, checks that what the plan was made on is unchanged, writes the sysctl file, sets the kernel values, edits
    the services' configs and reads the limit the kernel grants after the change.
  - Every edited config is checked with its service's own validator (O(edits[].validate)) before anything on the host
    changes, so one that fails stops the run with the host as it was. Each file is replaced whole (a new file in its
    directory, renamed over the old one), never left half-written; a file that cannot be written (a full or read-only
    filesystem) fails the run naming it and the kernel's reason.
  - The role's planner M(netstack.backlog.listener_backlog_plan) makes its arguments; it is not meant to be called on
    its own (its options follow the role's needs and may change in a minor release). To set a kernel value, use
    M(ansible.posix.sysctl); to edit a file, M(ansible.builtin.lineinfile) or M(ansible.builtin.replace), whose rules
    O(edits[].edit) follows.
  - An action plugin adds O(owner) and takes over the lock of a run of this controller that died holding it, as
    M(netstack.backlog.listener_backlog_lock) does; set neither O(owner) nor O(take_over).
extends_documentation_fragment:
  - netstack.backlog.lock
options:
  lock_path:
    description: The run lock file; default as M(netstack.backlog.listener_backlog_lock)'s.
    type: path
  unchanged:
    description:
      - What the run's plan was made on, checked once the lock is held, as
        M(netstack.backlog.listener_backlog_lock)'s O(netstack.backlog.listener_backlog_lock#module:unchanged).
    type: dict
  release:
    description:
      - Release the lock at the end, when nothing after this task changes the host. Otherwise the role releases it
        with its verification's read or its last task.
    type: bool
    default: false
  owner:
    description: Who asks; set by the action plugin (C(id), C(controller), C(pid)).
    type: dict
    required: true
  take_over:
    description: The C(id) of an owner known to be dead; set by the action plugin.
    type: str
  sysctl_file:
    description: The file the kernel values are written to (a line C(key = value) each), created with mode C(0644).
    type: path
  sysctls:
    description: The kernel values to write and to set, as the planner found them.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: The knob, for example C(net.core.somaxconn).
        type: str
        required: true
      value:
        description: Its value.
        type: int
        required: true
      line:
        description: Its line in O(sysctl_file).
        type: str
        required: true
      write_file:
        description: Whether O(sysctl_file) lacks the line.
        type: bool
        default: true
      set_live:
        description: Whether the running kernel has another value.
        type: bool
        default: true
  edits:
    description: The services' configs to edit, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The service, as the role's C(listener_backlog_services) names it.
        type: str
        required: true
      config:
        description: The file; where it is a symbolic link, the file it points to is edited.
        type: path
        required: true
      edit:
        description:
          - The catalogue's edit. C(kind=line) - C(regexp), C(line) and C(insertafter), as
            M(ansible.builtin.lineinfile) takes them. C(kind=replace) - C(edits), a list of C(regexp) and C(replace),
            each applied in order as M(ansible.builtin.replace) applies it. C({backlog}) stands for O(edits[].backlog).
        type: dict
        required: true
      backlog:
        description: The number written.
        type: int
        required: true
      validate:
        description: The command that checks the edited file, C(%s) standing for it, run before any change.
        type: str
attributes:
  check_mode:
    support: full
    description: Says what would change, with the differences; takes no lock and writes nothing.
  diff_mode:
    support: full
    description: The sysctl file's and each config's text before and after.
  platform:
    support: full
    platforms: posix
    description: Where the role tunes the kernel limit (Linux, FreeBSD, macOS, OpenBSD); configs on any POSIX host.
seealso:
  - module: netstack.backlog.listener_backlog_plan
  - module: netstack.backlog.listener_backlog_lock
'''

EXAMPLES = r'''
- name: Write and set net.core.somaxconn, and Redis's tcp-backlog, in one step (as the role does)
  netstack.backlog.listener_backlog_apply:
    sysctl_file: /etc/sysctl.d/90-listener-backlog.conf
    sysctls:
      - key: net.core.somaxconn
        value: 4096
        line: net.core.somaxconn = 4096
    edits:
      - name: redis
        config: /etc/redis/redis.conf
        backlog: 4096
        edit:
          kind: line
          regexp: '^#?[ \t]*tcp-backlog[ \t]'
          line: tcp-backlog {backlog}
          insertafter: EOF
    release: true
'''

RETURN = r'''
sysctls:
  description: Each of O(sysctls) with C(file) and C(live), whether the file and the running kernel were changed.
  returned: always
  type: list
  elements: dict
edits:
  description: Each of O(edits) with C(changed), whether its file was changed, and C(path), the file written.
  returned: always
  type: list
  elements: dict
lock_path:
  description: The run lock file.
  returned: always
  type: str
released:
  description: Whether the lock was released at the end (O(release)).
  returned: always
  type: bool
holder:
  description: The run that holds the lock after this task, or that kept it from this run.
  returned: always
  type: dict
taken_over:
  description: The holder whose lock this run took over; null otherwise.
  returned: always
  type: dict
changed_since_read:
  description: What differed from O(unchanged), one line each (then the task failed and changed nothing).
  returned: always
  type: list
  elements: str
locked:
  description: Whether this run held the lock (false where another run kept it, or in check mode).
  returned: always
  type: bool
ansible_facts:
  description:
    - After a kernel value was set, the facts of M(netstack.backlog.listener_backlog_facts) read again (with
      O(netstack.backlog.listener_backlog_facts#module:skip_unsupported=true)), so that templates and later plays see
      the limit the kernel grants now.
  returned: when a kernel value was set
  type: dict
'''

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible_collections.netstack.backlog.plugins.module_utils._edits import apply_edit, set_sysctls
from ansible_collections.netstack.backlog.plugins.module_utils._facts import collect
from ansible_collections.netstack.backlog.plugins.module_utils._gather import GatherError
from ansible_collections.netstack.backlog.plugins.module_utils._lock import (
    LOCK_OPTIONS, LockError, Refused, default_path, owner_of, release, sysctl_reader, take)
from ansible_collections.netstack.backlog.plugins.module_utils._tuning import TUNING


class ApplyError(Exception):
    pass


def read_text(path):
    """A file's text, or None where it does not exist. Bytes that are not UTF-8 are kept as they are (surrogate
    escapes, as ansible's own file modules do) where Python 3 runs; Python 2 refuses them, naming the file."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise ApplyError('%s: cannot read it: %s' % (path, cause(exc)))
    try:
        return to_text(data, errors='surrogate_or_strict')
    except UnicodeDecodeError:
        raise ApplyError('%s: it is not UTF-8 text; the role edits text files only' % path)


def cause(exc):
    return to_text(getattr(exc, 'strerror', None) or to_native(exc))


def make_directories(path):
    """``path``'s missing parent directories, mode 0755 whatever the umask (as lineinfile's create makes them, but never
    writable by others)."""
    missing = []
    directory = os.path.dirname(path)
    while directory and not os.path.exists(directory):
        missing.insert(0, directory)
        directory = os.path.dirname(directory)
    for each in missing:
        os.mkdir(each)
        os.chmod(each, 0o755)


def write_file(module, path, text, mode, force_mode=False):
    """Replace ``path`` with ``text`` whole: a new file in its directory, renamed over it, with the old file's owner,
    mode and SELinux context; a new file (and, with ``force_mode``, any) gets ``mode`` whatever the umask."""
    existing = None if not os.path.exists(path) else os.stat(path)
    try:
        if existing is None:
            make_directories(path)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path),
                                             suffix='.new')
    except (IOError, OSError) as exc:
        raise ApplyError('%s: cannot write it: %s' % (path, cause(exc)))
    try:
        try:
            data = to_bytes(text, errors='surrogate_or_strict')
            while data:
                data = data[os.write(handle, data):]
            os.fsync(handle)
        finally:
            os.close(handle)
        if existing is not None:
            os.chown(temporary, existing.st_uid, existing.st_gid)
        os.chmod(temporary, mode if existing is None or force_mode else stat.S_IMODE(existing.st_mode))
        context = module.selinux_context(path) if existing is not None else module.selinux_default_context(path)
        module.set_context_if_different(temporary, context, False)
        os.rename(temporary, path)
    except (IOError, OSError) as exc:
        os.unlink(temporary)
        raise ApplyError('%s: cannot write it: %s' % (path, cause(exc)))


def validate(module, command, path, text):
    """Run the service's validator on the edited text, in a file of the module's own temporary directory."""
    handle, candidate = tempfile.mkstemp(dir=module.tmpdir, prefix='candidate-', suffix='-' + os.path.basename(path))
    try:
        os.write(handle, to_bytes(text, errors='surrogate_or_strict'))
        os.close(handle)
        rc, out, err = module.run_command(command % candidate)
    finally:
        os.unlink(candidate)
    if rc != 0:
        said = to_text(err).strip() + '\n' + to_text(out).strip()
        said = ' | '.join(line for line in said.strip().splitlines() if line.strip())
        raise ApplyError('%s: the edited file failed to validate with `%s` (rc %d): %s. Nothing was changed.'
                         % (path, command, rc, said or 'it said nothing'))


def set_live(module, system, key, value):
    """The running kernel's ``key`` set to ``value``: under /proc/sys on Linux, else with the platform's sysctl."""
    argv = (TUNING.get(system) or {}).get('set_argv')
    if argv is None:
        path = '/proc/sys/' + key.replace('.', '/')
        try:
            with open(path, 'w') as handle:
                handle.write('%d\n' % value)
        except (IOError, OSError) as exc:
            raise ApplyError('%s: cannot set it to %d in the running kernel (%s): %s' % (key, value, path, cause(exc)))
        return
    words = [word.format(key=key, value=value) for word in argv]
    program = module.get_bin_path(words[0], opt_dirs=['/sbin', '/usr/sbin'])
    rc, out, err = module.run_command([program or words[0]] + words[1:], environ_update={'LC_ALL': 'C'})
    if rc != 0:
        raise ApplyError('%s: cannot set it to %d in the running kernel (%s): %s'
                         % (key, value, ' '.join(words), to_text(err or out).strip() or 'rc %d' % rc))


def plan_files(params):
    """(the sysctl file's change or None, the configs' changes, the sysctls, the edits' results), a change being
    {path, before, after, validate}: each file's new text, every edit of one file applied in order."""
    sysctl_change = None
    sysctls = [dict(entry) for entry in params['sysctls']]
    written = [entry for entry in sysctls if entry['write_file']]
    if written:
        if not params['sysctl_file']:
            raise ApplyError('sysctl_file is required to write %s' % ', '.join(entry['key'] for entry in written))
        # Written where a link points, as lineinfile and ansible.posix.sysctl write (the planner refused a link
        # out of the file's directory before any change).
        path = os.path.realpath(params['sysctl_file'])
        before = read_text(path)
        sysctl_change = {'path': path, 'before': before, 'after': set_sysctls(before, written), 'validate': []}
        if sysctl_change['after'] == before:
            sysctl_change = None
    for entry in sysctls:
        entry.update(file=bool(entry['write_file'] and sysctl_change), live=entry['set_live'])
    configs, edits = [], []
    by_path = {}
    for entry in params['edits']:
        path = os.path.realpath(entry['config'])
        if path not in by_path:
            before = read_text(path)
            if before is None:
                raise ApplyError('%s (%s): the config file does not exist' % (entry['config'], entry['name']))
            by_path[path] = {'path': path, 'before': before, 'after': before, 'validate': []}
            configs.append(by_path[path])
        target = by_path[path]
        edited = apply_edit(target['after'], entry['edit'], entry['backlog'])
        edits.append(dict(entry, path=path, changed=edited != target['after']))
        target['after'] = edited
        if entry.get('validate') and entry['validate'] not in target['validate']:
            target['validate'].append(entry['validate'])
    return sysctl_change, [each for each in configs if each['after'] != each['before']], sysctls, edits


def diffs(sysctl_change, configs):
    """Each changed file's text before and after (diff mode: these texts may hold a service's secrets)."""
    return [{'before_header': each['path'], 'after_header': each['path'], 'before': each['before'] or '',
             'after': each['after']} for each in ([sysctl_change] if sysctl_change else []) + configs]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            lock_path=dict(type='path'),
            release=dict(type='bool', default=False),
            sysctl_file=dict(type='path'),
            sysctls=dict(type='list', elements='dict', default=[], options=dict(
                key=dict(type='str', required=True, no_log=False),
                value=dict(type='int', required=True),
                line=dict(type='str', required=True),
                write_file=dict(type='bool', default=True),
                set_live=dict(type='bool', default=True),
            )),
            edits=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                config=dict(type='path', required=True),
                edit=dict(type='dict', required=True),
                backlog=dict(type='int', required=True),
                validate=dict(type='str'),
            )),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params['lock_path'] or default_path()
    owner = owner_of(module)
    system = os.uname()[0]
    # lock_path, not path: a result with a path gets that file's stat added by AnsibleModule.
    result = dict(changed=False, locked=False, released=False, holder=None, taken_over=None, changed_since_read=[],
                  lock_path=path, sysctls=[], edits=[])
    try:
        if module.check_mode:
            # What would change, without the lock: nothing is written.
            sysctl_change, configs, sysctls, edits = plan_files(params)
            would = bool(sysctl_change or configs or any(entry['live'] for entry in sysctls))
            result.update(sysctls=sysctls, edits=edits, changed=would)
            if module._diff:
                result['diff'] = diffs(sysctl_change, configs)
            module.exit_json(**result)
        taken = take(path, owner, params['wait'], params['lease'], params['take_over'], params['unchanged'], False,
                     sysctl_reader(module), module.warn)
        taken['lock_path'] = taken.pop('path')
        result.update(taken, locked=True)
        # Every file's new text, read once the lock is held (a change made while this run waited for it is kept),
        # and every validator's verdict, before anything changes.
        sysctl_change, configs, sysctls, edits = plan_files(params)
        live = [entry for entry in sysctls if entry['live']]
        result.update(sysctls=sysctls, edits=edits)
        if module._diff:
            result['diff'] = diffs(sysctl_change, configs)
        for each in configs:
            for command in each['validate']:
                validate(module, command, each['path'], each['after'])
        # The sysctl file first (a host that cannot keep the value gets no live change), then the kernel, then the
        # configs: a service's default backlog is what the kernel grants after tuning. changed once anything is: a
        # failure after a first change says the host changed.
        if sysctl_change:
            write_file(module, sysctl_change['path'], sysctl_change['after'], 0o644, force_mode=True)
            result['changed'] = True
        for entry in live:
            set_live(module, system, entry['key'], entry['value'])
            result['changed'] = True
        for each in configs:
            write_file(module, each['path'], each['after'], 0o644)
            result['changed'] = True
        if live:
            facts, warnings = collect(module, {'skip_unsupported': True})
            result['ansible_facts'] = facts
            for warning in warnings:
                module.warn(warning)
        if params['release']:
            released, dummy = release(path, owner, False)
            result['released'] = released is not None
    except Refused as exc:
        result.update(exc.result)
        result['lock_path'] = result.pop('path', path)
        module.fail_json(msg=exc.msg, **result)
    except ApplyError as exc:
        module.fail_json(msg=to_native(exc), **result)
    except (LockError, IOError, OSError, GatherError) as exc:
        module.fail_json(msg=('the run lock %s: %s' % (path, to_native(exc)) if isinstance(exc, LockError)
                              else to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
