# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Faults after the role's writes: a service that does not come back, a daemon that refuses what its
validator passed, and a reboot.

On simulated hosts (nshost.NamespaceHost) with real daemons from Debian's packages. Each fault:
the run fails in the service's own words (or, for the reboot, the host's boot path applies what
the role persisted and every service starts with its backlog), and the next run, once the cause is
gone, converges. Two runs at once, killed runs and stale plans: test_role_concurrent.py; full and
read-only filesystems: test_role_disk_faults.py.
"""

from __future__ import annotations

import pytest

from test_role_services import (SERVICES, STOCK_SOMAXCONN, failure_message, granted, haproxy_listener, make_host,
                                pid_of, port_held, role_runner)


@pytest.fixture
def host():
    made = make_host('faults', STOCK_SOMAXCONN)
    yield made
    made.remove()


@pytest.fixture
def run_role(host, tmp_path, collections_root):
    return role_runner(host, tmp_path, collections_root)


def test_a_service_that_does_not_come_back_fails_the_run_in_its_words_and_the_next_run_converges(host, run_role):
    variables = {'listener_backlog_somaxconn': 2048, 'listener_backlog_services': [{'name': 'redis', 'backlog': 1000}]}
    with port_held(host, 6379):  # another program on Redis's port
        process, tasks, changed = run_role(dict(variables, listener_backlog_verify_timeout=2))
    assert process.returncode != 0
    message = failure_message(tasks)
    # Redis forks before it binds, so its init script said it started: the run waited, found no
    # listener, and shows why in Redis's own words, from its log.
    assert message.startswith('Verification failed after 2 s: redis: no listener of a process matching'), message
    assert 'Address already in use' in message, message
    assert 'tcp-backlog 1000' in host.read(SERVICES['redis'].config)  # validated, and kept for the next run
    process, tasks, changed = run_role(variables)  # the port is free again
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 6379) == [1000, 1000]
    assert any(name.endswith('Apply the backlog to each service the way it needs') for name in changed), changed


def test_a_daemon_refusing_what_its_validator_passed_fails_the_run_in_its_words_and_the_next_run_converges(
        host, run_role):
    """nginx validates the edited file alone (inside a minimal main config); a second site that gives
    0.0.0.0:80 its own listen options passes that check and fails the daemon's whole config."""
    other = '/etc/nginx/sites-enabled/other'
    host.write(other, 'server {\n\tlisten 80 backlog=100;\n\tserver_name other.example;\n}\n')
    host.run('service', 'nginx', 'start')
    assert granted(host, 80) == [100, 128]  # 0.0.0.0:80 from the other site, [::]:80 nginx's 511 under 128
    master = pid_of(host, SERVICES['nginx'].pid_file)
    variables = {'listener_backlog_somaxconn': 2048, 'listener_backlog_services': [{'name': 'nginx'}]}
    process, tasks, changed = run_role(variables)
    assert process.returncode != 0
    [report] = [task['result']['msg'] for task in tasks if task['task'].endswith('in their own words')]
    # Debian's init script says only "nginx failed!"; nginx's own test of its whole config says why.
    assert report.startswith('nginx failed to reload: Reloading nginx configuration: nginx failed!'), report
    assert '(nginx -t says: ' in report and '[emerg] ' in report, report
    assert 'duplicate listen options for 0.0.0.0:80 in /etc/nginx/sites-enabled/' in report, report
    # nginx refused the reload and kept running on its old config.
    assert pid_of(host, SERVICES['nginx'].pid_file) == master
    assert granted(host, 80) == [100, 128]
    # The cause removed, the next run converges: the config is already written, the listeners are
    # not right, so nginx is restarted.
    host.write(other, 'server {\n\tlisten 80;\n\tserver_name other.example;\n}\n')
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 80) == [2048, 2048]


def test_after_a_reboot_the_boot_path_applies_the_limit_and_every_service_starts_with_its_backlog(host, run_role):
    haproxy_listener(host)
    for service in ('nginx', 'redis-server', 'haproxy'):
        host.run('service', service, 'start')
    variables = {'listener_backlog_somaxconn': 2048,
                 'listener_backlog_services': [{'name': 'nginx'}, {'name': 'redis', 'backlog': 1500},
                                               {'name': 'haproxy', 'backlog': 700}]}
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    before = dict((port, granted(host, port)) for port in (80, 6379, 8080))
    assert before == {80: [2048, 2048], 6379: [1500, 1500], 8080: [700]}

    host.reboot()
    default = host.sysctl('net/core/somaxconn')
    assert default != 2048, 'the kernel default must differ from the role\'s value, or the boot path proves nothing'
    assert not host.listeners() and not host.exists('/run/netstack-backlog.lock')
    booted = host.boot_sysctl()
    assert '* Applying /etc/sysctl.d/90-listener-backlog.conf ...' in booted.stdout, booted.stdout
    assert host.sysctl('net/core/somaxconn') == 2048
    for service in ('nginx', 'redis-server', 'haproxy'):
        host.run('service', service, 'start')
    host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done')
    assert dict((port, granted(host, port)) for port in (80, 6379, 8080)) == before
    # And the role finds nothing to do.
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert changed == []
