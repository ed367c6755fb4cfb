# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read of listener_backlog_facts and listener_backlog_read: their options and their one run.

Both modules take the facts' options (``FACT_OPTIONS``; documented once in the doc fragment
netstack.backlog.listener_backlog_facts); listener_backlog_read adds what the role plans from
(``ROLE_READ_OPTIONS``: config lines and what tuning involves). Module code: runs on target
Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.module_utils._files import read_files
from ansible_collections.netstack.backlog.plugins.module_utils._gather import GatherError, gather
from ansible_collections.netstack.backlog.plugins.module_utils._listeners import ListenerError, backlog_mismatches
from ansible_collections.netstack.backlog.plugins.module_utils._lock import LockError, default_path, describe
from ansible_collections.netstack.backlog.plugins.module_utils._lock import release as release_lock

# Where the system tools live on the platforms we read, in case PATH is minimal.
SYSTEM_DIRS = ['/sbin', '/usr/sbin', '/usr/bin', '/bin']

FACT_OPTIONS = dict(
    listeners=dict(type='bool', default=False),
    unix_listeners=dict(type='bool', default=False),
    namespaces=dict(type='bool', default=False),
    namespace_listeners=dict(type='bool', default=False),
    namespaces_below=dict(type='int'),
    skip_unsupported=dict(type='bool', default=False),
)

ROLE_READ_OPTIONS = dict(
    files=dict(type='list', elements='dict', options=dict(
        path=dict(type='path', required=True),
        patterns=dict(type='list', elements='str', default=[]),
    )),
    tuning=dict(type='dict', options=dict(
        sysctl_file=dict(type='path'),
        persist=dict(type='bool', default=True),
    )),
)

# listener_backlog_read alone: the verification's read ends the run's lock (not an option of the facts module),
# once every listener of when_matching's services has its backlog (module_utils/_listeners.py's rule).
RELEASE_OPTIONS = dict(
    release=dict(type='dict', options=dict(
        id=dict(type='str', required=True),
        controller=dict(type='str'),
        pid=dict(type='int'),
        path=dict(type='path'),
        when_matching=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            process=dict(type='str', required=True),
            backlog=dict(type='int', required=True),
            unix=dict(type='bool', default=True),
        )),
    )),
)


def read_file(path):
    # Bytes, then text, as _gather reads: no text layer per file.
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


def command_runner(module):
    def run(argv):
        program = module.get_bin_path(argv[0], opt_dirs=SYSTEM_DIRS)
        if program is None:
            return 127, '', '%s: program not found' % argv[0]
        return module.run_command([program] + argv[1:], environ_update={'LC_ALL': 'C'})
    return run


def read_tuning(options, system, release, run_command):
    """What tuning the kernel limit involves on this host (``listener_backlog_tuning``)."""
    if system == 'Linux':
        live = _tuning.linux_live_value(read_file)
    else:
        def live(key):
            rc, out, dummy = run_command(['sysctl', '-n', key])
            return out.strip() if rc == 0 else None
    state = _tuning.tuning_state(system, release, options['sysctl_file'], options['persist'], read_file, live)
    result = dict(state or {}, tunable=state is not None)
    result['distribution'] = _tuning.distribution(system, read_file)
    if system == 'Linux':
        result['init'] = _tuning.init_state(read_file)
    return result


def collect(module, params):
    """(facts with the ansible_ prefix, warnings) for the options ``params`` (FACT_OPTIONS and
    ROLE_READ_OPTIONS); raises GatherError or re.error (a pattern of ``files``) with the reason."""
    system, release = os.uname()[0], os.uname()[2]
    run_command = command_runner(module)
    options = dict((key, spec.get('default')) for key, spec in FACT_OPTIONS.items())
    options.update((key, value) for key, value in params.items() if value is not None)
    found, warnings = gather(system, release, run_command, listeners=options['listeners'],
                             unix_listeners=options['unix_listeners'], namespaces=options['namespaces'],
                             namespace_listeners=options['namespace_listeners'],
                             namespaces_below=options['namespaces_below'],
                             skip_unsupported=options['skip_unsupported'], read=read_file)
    facts = dict(('ansible_' + key, value) for key, value in found.items())
    if options.get('files') is not None:
        facts['ansible_listener_backlog_files'] = [match for entry in options['files']
                                                   for match in read_files(entry['path'], entry['patterns'])]
    if options.get('tuning') is not None:
        facts['ansible_listener_backlog_tuning'] = read_tuning(options['tuning'], system, release, run_command)
    return facts, warnings


def read(module):
    """Read what ``module.params`` asks for and exit with it as facts (ansible_ prefix); fail with the reason.

    With ``release`` (listener_backlog_read: the verification's read), the role's run lock is
    released after the read when this run holds it: verification changes nothing, so the lock
    ends with the run's last change without a round trip of its own. With ``release.when_matching``
    only once the read finds every listener of those services with its backlog: a restarted
    service still coming back keeps the host this run's (``mismatches`` says what is off).
    """
    params = module.params
    try:
        facts, warnings = collect(module, params)
    except GatherError as exc:
        module.fail_json(msg=str(exc))
    except re.error as exc:
        module.fail_json(msg='files: a pattern is not a regular expression: %s' % exc)
    result = dict(changed=False, ansible_facts=facts)
    owner = params.get('release')
    if owner and owner.get('when_matching') is not None:
        listeners = facts.get('ansible_listener_backlog_listeners')
        if listeners is None:
            result['mismatches'] = ['listeners were not read (listeners=true and a system that shows them are needed)']
        else:
            try:
                result['mismatches'] = backlog_mismatches(
                    listeners + (facts.get('ansible_listener_backlog_unix_listeners') or []), owner['when_matching'])
            except ListenerError as exc:
                module.fail_json(msg='release.when_matching: %s' % exc)
        if result['mismatches']:
            result['released'], owner = None, None
    if owner:
        path = owner.get('path') or default_path()
        try:
            result['released'], holder = release_lock(path, owner, module.check_mode)
        except (LockError, IOError, OSError) as exc:
            module.fail_json(msg='the run lock %s could not be released: %s' % (path, exc), **result)
        if holder:
            warnings.append('the run lock %s is not this run\'s (%s): left as it is' % (path, describe(holder)))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)
