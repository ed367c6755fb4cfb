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


def read(module):
    """Read what ``module.params`` asks for and exit with it as facts (ansible_ prefix); fail with the reason."""
    system, release = os.uname()[0], os.uname()[2]
    params = module.params
    run_command = command_runner(module)
    try:
        found, warnings = gather(system, release, run_command, listeners=params['listeners'],
                                 unix_listeners=params['unix_listeners'], namespaces=params['namespaces'],
                                 namespace_listeners=params['namespace_listeners'],
                                 namespaces_below=params['namespaces_below'],
                                 skip_unsupported=params['skip_unsupported'], read=read_file)
    except GatherError as exc:
        module.fail_json(msg=str(exc))
    facts = dict(('ansible_' + key, value) for key, value in found.items())
    if params.get('files') is not None:
        try:
            facts['ansible_listener_backlog_files'] = [match for entry in params['files']
                                                       for match in read_files(entry['path'], entry['patterns'])]
        except re.error as exc:
            module.fail_json(msg='files: a pattern is not a regular expression: %s' % exc)
    if params.get('tuning') is not None:
        facts['ansible_listener_backlog_tuning'] = read_tuning(params['tuning'], system, release, run_command)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts=facts)
