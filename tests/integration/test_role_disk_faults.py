# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A config on a full or read-only filesystem: a clear error naming the file and the cause, the service untouched.

Redis runs on a simulated host with its config directory on a filesystem of its own: a tmpfs of
a few KB filled to the last byte, then the same remounted read-only.  The role must fail naming
/etc/redis/redis.conf and the kernel's reason, leave the file byte for byte as it was, and leave
Redis running, not restarted (same pid); once the space is back, the next run converges and
verifies.
"""

from __future__ import annotations

import pytest

from test_role_services import SERVICES, failure_message, granted, host, pid_of, run_role  # pylint: disable=unused-import

REDIS = SERVICES['redis']
VARIABLES = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'redis', 'backlog': 300}]}


def start_redis(host):
    host.run('service', 'redis-server', 'start')
    host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done')


def small_filesystem(host, fill):
    """/etc/redis on a 512 KB tmpfs holding its files, filled to the last byte if ``fill``."""
    host.run('sh', '-ec', 'cp -a /etc/redis /tmp/nbt-redis-$$ && mount -t tmpfs -o size=512k nbt-full /etc/redis '
                          '&& cp -a /tmp/nbt-redis-$$/. /etc/redis/ && rm -rf /tmp/nbt-redis-$$')
    if fill:
        host.run('sh', '-c', 'dd if=/dev/zero of=/etc/redis/.filler bs=1k 2>/dev/null; true')


@pytest.mark.parametrize('fault, cause', [('full', 'No space left on device'), ('read-only', 'Read-only file system')])
def test_a_config_that_cannot_be_written_fails_naming_it_and_leaves_the_service_alone(host, run_role, fault, cause):
    small_filesystem(host, fill=fault == 'full')
    if fault == 'read-only':
        host.run('mount', '-o', 'remount,ro', '/etc/redis')
    start_redis(host)
    before, pid = host.read(REDIS.config), pid_of(host, REDIS.pid_file)

    process, tasks, changed = run_role(VARIABLES)
    message = failure_message(tasks) + process.stdout
    assert process.returncode != 0
    assert REDIS.config in message and cause in message, message[-3000:]
    assert host.read(REDIS.config) == before
    assert pid_of(host, REDIS.pid_file) == pid and granted(host, 6379) != []  # not restarted, still listening
    assert not any('Apply the backlog' in name for name in changed), changed

    # The cause gone, the next run converges and verifies.
    if fault == 'read-only':
        host.run('mount', '-o', 'remount,rw', '/etc/redis')
    host.run('rm', '-f', '/etc/redis/.filler')
    process, tasks, changed = run_role(VARIABLES)
    assert process.returncode == 0, process.stdout[-3000:]
    assert granted(host, 6379) == [300, 300]
    assert 'tcp-backlog 300' in host.read(REDIS.config)


def test_a_sysctl_directory_that_cannot_be_written_fails_naming_the_file_before_any_other_change(host, run_role):
    host.run('sh', '-ec', 'mount -t tmpfs -o size=64k nbt-ro /etc/sysctl.d && mount -o remount,ro /etc/sysctl.d')
    start_redis(host)
    before, pid = host.read(REDIS.config), pid_of(host, REDIS.pid_file)
    process, tasks, changed = run_role(VARIABLES)
    message = failure_message(tasks) + process.stdout
    assert process.returncode != 0
    assert '/etc/sysctl.d/90-listener-backlog.conf' in message and 'Read-only file system' in message, message[-3000:]
    # Nothing after it happened: the live limit, the config and the running Redis are as they were.
    assert host.sysctl('net/core/somaxconn') == 128 and changed == [], changed
    assert host.read(REDIS.config) == before and pid_of(host, REDIS.pid_file) == pid
