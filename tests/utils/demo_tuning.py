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


def show(host, when):
    listeners = host.listeners().get(6379, [])
    print('%-7s net.core.somaxconn = %-5d  redis-server listeners on port 6379: backlog %s'
          % (when, host.sysctl('net/core/somaxconn'), ', '.join(str(entry[0]) for entry in listeners) or 'none'))


def main():
    if os.geteuid() != 0:
        sys.exit('the tuning demo makes a network namespace: run it as root')
    if shutil.which('redis-server') is None:
        sys.exit('redis-server is not installed: apt-get install redis-server')
    # The controller's bin directory: this Python's, or the one given (make install-check runs
    # the installed collection under a clean virtualenv's ansible-core).
    ansible_bin = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(sys.executable)
    host = NamespaceHost('demo', 128)
    try:
        host.run('service', 'redis-server', 'start')
        host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done')
        show(host, 'before')
        process = subprocess.run(host.command([
            os.path.join(ansible_bin, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % os.path.join(ansible_bin, 'python'),
            'netstack.backlog.demo_tuning']),
            check=False)
        if process.returncode != 0:
            sys.exit('the role failed (exit %d)' % process.returncode)
        show(host, 'after')
        print('persisted in the namespace host: %s' % host.read('/etc/sysctl.d/90-listener-backlog.conf').strip())
    finally:
        host.remove()


if __name__ == '__main__':
    main()
