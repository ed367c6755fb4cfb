# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fleet of simulated hosts over real SSH (fleet.Fleet): facts and the role, host by host.

Eight hosts keep CI in time; each has its own net.core.somaxconn, its own /etc, /var and
/run, and is reached through a real SSH session.  Truth is read from each host's kernel.
"""

from __future__ import annotations

import os

import pytest

from fleet import Fleet
from netns import controller_bin, dependencies_path, run_playbook

SIZE = 8
START_VALUES = [128 * (index + 1) for index in range(SIZE)]


@pytest.fixture
def fleet():
    with Fleet(START_VALUES) as made:
        yield made


def run(fleet, playbook, tmp_path, collections_root, extra_vars=None, label='run'):
    ansible_bin = controller_bin('latest')
    directory = tmp_path / label
    directory.mkdir()
    hosts = fleet.inventory(os.path.join(ansible_bin, 'python'), extra_vars)
    return run_playbook(ansible_bin, '%s:%s' % (collections_root, dependencies_path()), playbook, hosts,
                        str(directory), env={'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_FORKS': str(SIZE)})


def test_every_host_reports_its_own_value(fleet, tmp_path, collections_root):
    process, results = run(fleet, 'facts.yml', tmp_path, collections_root)
    assert process.returncode == 0, process.stdout + process.stderr
    for name, host in fleet.hosts.items():
        gathered = [entry for entry in results[name] if entry['task'] == 'Gather the facts']
        assert len(gathered) == 1, results[name]
        facts = gathered[0]['result']['ansible_facts']
        assert facts['ansible_listener_backlog'] == host.namespace.kernel_grant(), name
        assert facts['ansible_listener_backlog_info']['source'] == 'procfs'
    assert sorted(host.sysctl('net/core/somaxconn') for host in fleet.hosts.values()) == START_VALUES


def test_role_tunes_each_host_to_its_own_value_and_one_bad_host_spoils_nothing(fleet, tmp_path, collections_root):
    names = sorted(fleet.hosts)
    unreachable, readonly = names[0], names[1]
    wanted = {name: 1000 + 37 * index for index, name in enumerate(names)}
    # One host cannot be reached (its namespace is gone), one cannot be tuned (read-only /proc/sys).
    fleet.hosts[unreachable].namespace.remove()
    fleet.hosts[readonly].run('sh', '-c', 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys')
    extra = {name: {'listener_backlog_somaxconn': value} for name, value in wanted.items()}

    process, results = run(fleet, 'role.yml', tmp_path, collections_root, extra_vars=extra)
    assert process.returncode != 0
    assert any(entry['status'] == 'unreachable' for entry in results.get(unreachable, [])), results.get(unreachable)
    failed = [entry for entry in results[readonly] if entry['status'] == 'failed']
    assert failed and 'is read-only on this host' in failed[0]['result']['msg']
    assert fleet.hosts[readonly].sysctl('net/core/somaxconn') == START_VALUES[1]
    for name in names[2:]:
        host = fleet.hosts[name]
        assert host.sysctl('net/core/somaxconn') == wanted[name], name
        assert host.namespace.kernel_grant() == wanted[name], name
        assert host.read('/etc/sysctl.d/90-listener-backlog.conf') == 'net.core.somaxconn = %d\n' % wanted[name]
        assert not [entry for entry in results[name] if entry['status'] != 'ok'], name
    # Each host's /etc is its own: nothing reached the machine's.
    assert not os.path.exists('/etc/sysctl.d/90-listener-backlog.conf')
