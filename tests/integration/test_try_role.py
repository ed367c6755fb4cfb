# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make try`: the role on this machine's own Redis config, in a sandbox, and the machine as it was.

The script runs as `make try SERVICE=redis SOMAXCONN=N` runs it.  It must show the listeners'
backlogs before and after with what each number is, the change in check and diff mode first, and
the config's diff; and leave this machine's config, its net.core.somaxconn, its sysctl.d and its
network namespaces exactly as they were.  A service the role does not manage is refused by name.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tests', 'utils', 'try_role.py')
CONFIG = '/etc/redis/redis.conf'


def machine_state():
    with open(CONFIG, 'rb') as handle:
        config = hashlib.sha256(handle.read()).hexdigest()
    with open('/proc/sys/net/core/somaxconn') as handle:
        somaxconn = int(handle.read())
    namespaces = sorted(name for name in os.listdir('/run/netns') if 'try' in name) if os.path.isdir('/run/netns') else []
    return config, somaxconn, os.path.exists('/etc/sysctl.d/90-listener-backlog.conf'), namespaces


def run(**environ):
    return subprocess.run([sys.executable, SCRIPT], env=dict(os.environ, **environ), capture_output=True, text=True,
                          timeout=600, check=False)


def test_make_try_tunes_a_sandbox_from_the_machines_own_config_and_leaves_the_machine_as_it_was():
    before = machine_state()
    wanted = 8192 if before[1] != 8192 else 16384
    process = run(SERVICE='redis', SOMAXCONN=str(wanted))
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-5000:]
    assert "sandbox whose limit is this machine's (%d); the role asks for %d" % (before[1], wanted) in output
    assert re.search(r"^before: net.core.somaxconn \(the sandbox's limit\) = %d$" % before[1], output, re.M), output
    # Redis asks for 511: the kernel grants min(511, the sandbox's limit).
    assert re.search(r'^before:   listener 127\.0\.0\.1:6379: backlog the kernel granted = %d$' % min(511, before[1]),
                     output, re.M), output
    check_part = output.split('what the role would change (check and diff mode):', 1)[1].split('for real', 1)[0]
    assert '+net.core.somaxconn = %d' % wanted in check_part and '+tcp-backlog %d' % wanted in check_part, check_part
    assert re.search(r"^after: net.core.somaxconn \(the sandbox's limit\) = %d$" % wanted, output, re.M), output
    assert re.search(r'^after:   listener 127\.0\.0\.1:6379: backlog the kernel granted = %d$' % wanted, output, re.M)
    assert '--- %s (this machine)' % CONFIG in output and '+tcp-backlog %d' % wanted in output
    assert machine_state() == before


def test_make_try_refuses_a_service_it_does_not_manage_by_name():
    before = machine_state()
    process = run(SERVICE='squid')
    assert process.returncode != 0
    assert process.stderr.strip() == (
        'make try: SERVICE=squid is not a service the role manages; accepted: apache, gunicorn, haproxy, mariadb, '
        'memcached, nginx, php_fpm, redis, uwsgi, valkey; nothing was changed.')
    assert machine_state() == before
