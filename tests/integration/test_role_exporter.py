# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role installs and removes the textfile collector (listener_backlog_exporter), under systemd and under cron.

A host booted with systemd (nshost.SystemdHost: systemd as PID 1 of its PID namespace) gets a
service and a timer, enabled and started, that systemd runs at once and again after the
interval; absent stops, disables and removes them.  A simulated host with no systemd
(nshost.NamespaceHost) and a cron that reads /etc/cron.d: check
mode changes nothing and says what it would; the install writes the collector (checked by its
own --validate), a cron entry, and the metrics file at once (the handler runs it), which
promtool accepts; a second run changes nothing; a new interval shows as a diff; bad values fail
before any change, naming the variable; Debian's cron, started on the host, runs the entry for
real; absent removes all of it.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from nshost import NamespaceHost, SystemdHost
from test_role_services import role_runner, run_role  # pylint: disable=unused-import

DIRECTORY = '/var/lib/prometheus/node-exporter'
PROM = DIRECTORY + '/netstack_backlog.prom'
SCRIPT = '/usr/local/sbin/netstack-backlog-textfile'
CRON = '/etc/cron.d/netstack-backlog-textfile'
PREFIX = 'netstack.backlog.listener_backlog : '


@pytest.fixture
def host():
    made = NamespaceHost('exp', 128)
    yield made
    made.remove()


def names(changed):
    return [name[len(PREFIX):] if name.startswith(PREFIX) else name for name in changed]


def cron_line(interval_field):
    return ('%s root %s --directory %s --max-listeners 300' % (interval_field, SCRIPT, DIRECTORY))


def test_role_installs_the_collector_under_cron_idempotently_and_removes_it(host, run_role, promtool):
    role = run_role
    # A host with cron's directory and no textfile directory yet (node_exporter not installed).
    host.run('mkdir', '-p', '/etc/cron.d')
    host.run('rm', '-rf', '/var/lib/prometheus')

    process, tasks, changed = role({'listener_backlog_exporter': 'textfile'}, '--check', '--diff')
    assert process.returncode == 0, process.stdout + process.stderr
    assert names(changed) == ["Create node_exporter's textfile directory",
                              'Write the collector', 'Write the cron entry that runs it'], changed
    for path in (DIRECTORY, SCRIPT, CRON):
        assert not host.exists(path), path

    process, tasks, changed = role({'listener_backlog_exporter': 'textfile'})
    assert process.returncode == 0, process.stdout + process.stderr
    assert names(changed) == ["Create node_exporter's textfile directory",
                              'Write the collector', 'Write the cron entry that runs it',
                              'Run the textfile collector'], changed
    assert host.run('stat', '-c', '%a %U %G', SCRIPT, CRON, DIRECTORY).stdout.split() == \
        ['755', 'root', 'root', '644', 'root', 'root', '755', 'root', 'root']
    assert cron_line('* * * * *') in host.read(CRON).splitlines()
    text = host.read(PROM)
    check = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert check.returncode == 0 and check.stdout + check.stderr == '', check.stdout + check.stderr
    assert 'netstack_backlog_collector_success 1\n' in text
    assert 'netstack_backlog_host_limit 128\n' in text

    # Idempotent: nothing changes, the collector does not run again.
    process, tasks, changed = role({'listener_backlog_exporter': 'textfile'})
    assert process.returncode == 0 and changed == [], changed

    # Another interval: the diff says it, the entry changes, the collector runs once.
    process, tasks, changed = role({'listener_backlog_exporter': 'textfile', 'listener_backlog_exporter_interval': 300},
                                   '--diff')
    assert names(changed) == ['Write the cron entry that runs it', 'Run the textfile collector'], changed
    [entry] = [task for task in tasks if task['task'].endswith('Write the cron entry that runs it')]
    diff = entry['result']['diff'][0]
    assert cron_line('* * * * *') in diff['before'] and cron_line('*/5 * * * *') in diff['after']

    # Bad values: refused before any change, naming the variable, the value and what is accepted.
    before = host.read(CRON)
    for variables, says in (
            ({'listener_backlog_exporter_interval': 90},
             'listener_backlog_exporter_interval is 90: this host runs the collector from cron, which runs jobs every N '
             'minutes where N divides an hour, or every N hours where N divides a day'),
            ({'listener_backlog_exporter_interval': 5},
             'listener_backlog_exporter_interval is 5: a number of seconds from 10 to 86400 is accepted.'),
            ({'listener_backlog_exporter_dir': '/srv/node exporter; touch /tmp/probe'},
             "listener_backlog_exporter_dir is '/srv/node exporter; touch /tmp/probe': an absolute path of letters, "
             'digits and . _ / @ + - is accepted'),
            ({'listener_backlog_exporter_max_listeners': -1},
             'listener_backlog_exporter_max_listeners is -1: an integer of 0 or more is accepted.'),
            ({'listener_backlog_exporter': 'prometheus'}, 'listener_backlog_exporter')):
        process, tasks, changed = role(dict({'listener_backlog_exporter': 'textfile'}, **variables))
        assert process.returncode != 0
        assert says in process.stdout, process.stdout
        assert changed == [], changed
        assert host.read(CRON) == before
    assert not host.exists('/tmp/probe')

    # Debian's cron, started on the host, runs the entry: the file is written anew within a minute.
    role({'listener_backlog_exporter': 'textfile'})
    host.run('rm', '-f', PROM)
    cron = subprocess.Popen(host.command(['cron', '-f']), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 75
        while not host.exists(PROM) and time.monotonic() < deadline:
            time.sleep(1)
        assert host.exists(PROM), 'cron did not run the collector within 75 s'
        assert 'netstack_backlog_collector_success 1\n' in host.read(PROM)
    finally:
        host.run('pkill', '-x', 'cron', check=False)
        cron.wait()

    # absent: the collector, its cron entry, the file and its lock go; the directory stays.
    process, tasks, changed = role({'listener_backlog_exporter': 'absent'})
    assert process.returncode == 0, process.stdout + process.stderr
    assert names(changed) == ['Remove the collector, what runs it and the file it writes'], changed
    for path in (SCRIPT, CRON, PROM, DIRECTORY + '/.netstack_backlog.lock'):
        assert not host.exists(path), path
    assert host.exists(DIRECTORY)
    process, tasks, changed = role({'listener_backlog_exporter': 'absent'})
    assert process.returncode == 0 and changed == [], changed


def test_a_host_with_neither_systemd_nor_cron_is_refused_before_any_change(host, run_role):
    role = run_role
    host.run('rm', '-rf', '/etc/cron.d', '/var/lib/prometheus')
    process, tasks, changed = role({'listener_backlog_exporter': 'textfile'})
    assert process.returncode != 0
    assert ('listener_backlog_exporter is textfile, but neither systemd runs this host (no /run/systemd/system) nor '
            'a cron that reads /etc/cron.d is installed') in process.stdout, process.stdout
    assert changed == [] and not host.exists(SCRIPT) and not host.exists('/var/lib/prometheus')


UNITS = '/etc/systemd/system/netstack-backlog-textfile'


@pytest.fixture
def systemd_host():
    made = SystemdHost('exs', 128)
    yield made
    made.remove()


def systemctl_show(host, unit, *properties):
    out = host.run('systemctl', 'show', unit, '--property=' + ','.join(properties)).stdout
    return dict(line.split('=', 1) for line in out.splitlines())


def test_role_installs_the_collector_as_a_systemd_timer_that_systemd_runs(systemd_host, tmp_path, collections_root,
                                                                          promtool):
    host = systemd_host
    role = role_runner(host, tmp_path, collections_root)
    host.run('rm', '-rf', '/var/lib/prometheus')
    variables = {'listener_backlog_exporter': 'textfile', 'listener_backlog_exporter_interval': 20}

    process, tasks, changed = role(variables, '--check')
    assert process.returncode == 0, process.stdout + process.stderr
    assert not host.exists(UNITS + '.timer') and not host.exists(SCRIPT)

    process, tasks, changed = role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert names(changed) == ["Create node_exporter's textfile directory",
                              'Write the collector', 'Write the systemd service and timer that run it',
                              'Enable and start the timer', 'Run the textfile collector'], changed
    assert not host.exists(CRON)
    verify = host.run('systemd-analyze', 'verify', UNITS + '.service', UNITS + '.timer', check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    timer = systemctl_show(host, 'netstack-backlog-textfile.timer', 'ActiveState', 'UnitFileState')
    assert timer == {'ActiveState': 'active', 'UnitFileState': 'enabled'}, timer
    assert 'netstack_backlog_collector_success 1\n' in host.read(PROM)

    # systemd runs it: the service ran to success, and runs again after the interval.
    first = systemctl_show(host, 'netstack-backlog-textfile.service', 'Result', 'ExecMainStatus',
                           'ExecMainExitTimestampMonotonic')
    assert (first['Result'], first['ExecMainStatus']) == ('success', '0'), first
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        again = systemctl_show(host, 'netstack-backlog-textfile.service', 'ExecMainExitTimestampMonotonic')
        if again['ExecMainExitTimestampMonotonic'] != first['ExecMainExitTimestampMonotonic']:
            break
        time.sleep(1)
    assert again['ExecMainExitTimestampMonotonic'] != first['ExecMainExitTimestampMonotonic'], 'no second run'
    text = host.read(PROM)
    check = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert check.returncode == 0 and check.stdout + check.stderr == '', check.stdout + check.stderr

    process, tasks, changed = role(variables)
    assert process.returncode == 0 and changed == [], changed

    process, tasks, changed = role({'listener_backlog_exporter': 'absent'})
    assert process.returncode == 0, process.stdout + process.stderr
    # The daemon-reload that follows reports no change of its own (ansible.builtin.systemd_service).
    assert names(changed) == ['Stop and disable the timer', 'Remove the collector, what runs it and the file it writes'], \
        changed
    for path in (SCRIPT, UNITS + '.service', UNITS + '.timer', PROM):
        assert not host.exists(path), path
    assert systemctl_show(host, 'netstack-backlog-textfile.timer', 'LoadState') == {'LoadState': 'not-found'}
    process, tasks, changed = role({'listener_backlog_exporter': 'absent'})
    assert process.returncode == 0 and changed == [], changed
