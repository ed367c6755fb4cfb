# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make try SERVICE=NAME [CONFIG=FILE] [SOMAXCONN=N]`: the role on this machine's own service config, in a sandbox.

A throwaway host: a network namespace (its net.core.somaxconn set to the machine's current value,
so the service is clamped as it is here), a PID namespace with its own init, and /etc, /var,
/usr/local and /run as copy-on-write layers over the machine's (what the role writes lands in the
layer, never in the machine's files).  The machine's config of SERVICE (the catalogue's file for
Debian, or CONFIG under /etc, /var or /usr/local) is therefore the one the role edits.  The service
is started there with its init script; the role runs first in check and diff mode (what it would
change), then for real; the listeners' backlogs are shown before and after, as the kernel reports
them, with the config's diff.  The sandbox goes away at the end, also on failure; the machine's
sysctls, files and running services are never touched.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

from nshost import PRIVATE_TREES, NamespaceHost  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE  # noqa: E402  pylint: disable=wrong-import-position

PLAY = '''- name: Try the listener_backlog role in a sandbox
  hosts: all
  gather_facts: false
  roles:
    - role: netstack.backlog.listener_backlog
'''


def fail(message):
    sys.exit('make try: %s; nothing was changed.' % message)


def arguments(environ):
    """(service, config, somaxconn) from SERVICE, CONFIG and SOMAXCONN, each checked."""
    service = environ.get('SERVICE', '')
    if service not in CATALOGUE:
        fail('SERVICE=%s is not a service the role manages; accepted: %s' % (service, ', '.join(sorted(CATALOGUE))))
    entry = CATALOGUE[service]
    config = environ.get('CONFIG') or entry['config'].get('Debian')
    if not config:
        fail('%s has no config file of its own on Debian; give CONFIG=FILE (the file your deployment runs it with)'
             % service)
    config = os.path.abspath(config)
    if not any(config.startswith(tree + '/') for tree in PRIVATE_TREES):
        fail('CONFIG=%s is outside %s, which the sandbox layers over the machine\'s; copy it there'
             % (config, ', '.join(PRIVATE_TREES)))
    if not os.path.isfile(config):
        fail('CONFIG=%s does not exist on this machine (is %s installed?)' % (config, service))
    somaxconn = environ.get('SOMAXCONN', '4096')
    if not somaxconn.isdigit() or int(somaxconn) > 2147483647:
        fail('SOMAXCONN=%s is not a limit the role accepts on Linux: an integer from 0 to 2147483647' % somaxconn)
    return service, config, int(somaxconn)


def service_name(service):
    return CATALOGUE[service]['service'].get('Debian') or CATALOGUE[service]['service']['default']


def show(host, label, pids):
    """Each listener of the service's processes with its backlog, and the namespace's limit."""
    lines = ['%s: net.core.somaxconn (the sandbox\'s limit) = %d' % (label, host.sysctl('net/core/somaxconn'))]
    output = host.run('ss', '-ltnpH', check=False).stdout
    for line in output.splitlines():
        fields = line.split()
        if any('pid=%d,' % pid in line for pid in pids):
            lines.append('%s:   listener %s: backlog the kernel granted = %s' % (label, fields[3], fields[2]))
    if len(lines) == 1:
        lines.append('%s:   no TCP listener of the service' % label)
    print('\n'.join(lines))


def service_pids(host, service):
    pattern = CATALOGUE[service]['process']['default']
    found = host.run('pgrep', pattern, check=False).stdout.split()
    return [int(pid) for pid in found]


def run_role(host, ansible_bin, directory, variables, *extra):
    with open(os.path.join(directory, 'vars.json'), 'w') as handle:
        json.dump(variables, handle)
    return subprocess.run(host.command([
        os.path.join(ansible_bin, 'ansible-playbook'), '-i', 'sandbox,', '-c', 'local',
        '-e', 'ansible_python_interpreter=%s' % os.path.join(ansible_bin, 'python'),
        '-e', '@%s' % os.path.join(directory, 'vars.json'), os.path.join(directory, 'play.yml')] + list(extra)),
        check=False).returncode


def main():
    if os.geteuid() != 0:
        fail('the sandbox is a network namespace: run it as root')
    service, config, somaxconn = arguments(os.environ)
    with open('/proc/sys/net/core/somaxconn') as handle:
        machine = int(handle.read())
    ansible_bin = os.path.dirname(sys.executable)
    directory = tempfile.mkdtemp(prefix='nb-try-')
    with open(os.path.join(directory, 'play.yml'), 'w') as handle:
        handle.write(PLAY)
    variables = {'listener_backlog_somaxconn': somaxconn,
                 'listener_backlog_services': [{'name': service, 'config': config}]}
    print('make try: %s with %s, in a sandbox whose limit is this machine\'s (%d); the role asks for %d'
          % (service, config, machine, somaxconn))
    host = NamespaceHost('try', machine)
    try:
        before_text = host.read(config)
        started = host.run('service', service_name(service), 'start', check=False)
        if started.returncode != 0:
            fail('%s did not start in the sandbox with %s: %s' % (
                service, config, (started.stdout + started.stderr).strip()))
        host.run('sh', '-c', 'sleep 1')
        show(host, 'before', service_pids(host, service))
        print('\nmake try: what the role would change (check and diff mode):')
        if run_role(host, ansible_bin, directory, variables, '--check', '--diff') != 0:
            fail('the role refused in check mode (above)')
        print('\nmake try: the role, for real, in the sandbox:')
        if run_role(host, ansible_bin, directory, variables, '--diff') != 0:
            fail('the role failed in the sandbox (above)')
        show(host, 'after', service_pids(host, service))
        after_text = host.read(config)
        diff = list(difflib.unified_diff(before_text.splitlines(True), after_text.splitlines(True),
                                         config + ' (this machine)', config + ' (the sandbox, after the role)'))
        print('\nmake try: %s' % ('the config the role wrote:\n' + ''.join(diff) if diff else 'the config is unchanged'))
        print('make try: the sandbox is removed; on this machine %s and net.core.somaxconn (%d) are as they were.'
              % (config, machine))
    finally:
        host.remove()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
    main()
