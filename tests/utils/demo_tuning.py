# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tuning half of `make demo`, in a throwaway network namespace.

Makes a simulated host (its own net.core.somaxconn at the old default 128, its own /etc,
/var and /run), starts Debian's Redis there with its stock config (it asks for 511 and the
kernel gives it 128), runs netstack.backlog.demo_tuning on it, and shows the listener's
backlog before and after, as the kernel reports it (ss).  The host and everything in it
go away at the end, also on failure.  The machine's own sysctls are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from nshost import NamespaceHost  # noqa: E402  pylint: disable=wrong-import-position


REDIS_CONFIG = '/etc/redis/redis.conf'
# The name the namespace host has in the demo's inventory: every task line says where it acts.
INVENTORY_NAME = 'demo-namespace'


def requested(host):
    """The tcp-backlog Redis's config asks for (511, Redis's default, where none is set)."""
    asked = [line.split()[1] for line in host.read(REDIS_CONFIG).splitlines()
             if line.startswith('tcp-backlog') and len(line.split()) > 1]
    return asked[-1] if asked else '511 (Redis\'s default)'


def show(host, when):
    listeners = host.listeners().get(6379, [])
    granted = ', '.join(str(entry[0]) for entry in listeners) or 'none'
    print('%-6s %s: net.core.somaxconn (the namespace\'s limit) = %d; redis-server asks for %s (tcp-backlog in %s); '
          'the kernel granted its listeners on port 6379 (IPv4, IPv6): %s'
          % (when, INVENTORY_NAME, host.sysctl('net/core/somaxconn'), requested(host), REDIS_CONFIG, granted))


def main():
    if os.geteuid() != 0:
        sys.exit('the tuning demo makes a network namespace: run it as root')
    if shutil.which('redis-server') is None:
        sys.exit('redis-server is not installed: apt-get install redis-server')
    # The controller's bin directory: this Python's, or the one given (make install-check runs
    # the installed collection under a clean virtualenv's ansible-core).
    ansible_bin = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(sys.executable)
    host = NamespaceHost('demo', 128)
    print('%s: a throwaway network namespace with its own /etc, /var and /run and the old kernel default of 128; '
          'Redis runs there with its stock config, and the role tunes it (netstack.backlog.demo_tuning)'
          % INVENTORY_NAME)
    try:
        host.run('service', 'redis-server', 'start')
        host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done')
        show(host, 'before')
        process = subprocess.run(host.command([
            os.path.join(ansible_bin, 'ansible-playbook'), '-i', INVENTORY_NAME + ',', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % os.path.join(ansible_bin, 'python'),
            'netstack.backlog.demo_tuning']),
            # The role's tasks that do not apply here (the exporter, namespaces, templates) stay quiet.
            env=dict(os.environ, ANSIBLE_DISPLAY_SKIPPED_HOSTS='false'), check=False)
        if process.returncode != 0:
            sys.exit('the role failed (exit %d)' % process.returncode)
        show(host, 'after')
        print('%s: persisted in its /etc/sysctl.d/90-listener-backlog.conf: %s'
              % (INVENTORY_NAME, host.read('/etc/sysctl.d/90-listener-backlog.conf').strip()))
        print('%s is removed now; this machine\'s own limit and files were never touched.' % INVENTORY_NAME)
    finally:
        host.remove()


if __name__ == '__main__':
    main()
