# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service manager the role predicts, and its refusal of a systemd that does not run the services here.

The prediction follows ansible-core's service_mgr fact (module_utils/facts/system/service_mgr.py)
on Linux; the hosts these cases describe are run for real in
tests/integration/test_role_service_manager.py (a shell as PID 1, a shared /run/systemd, systemd in
another network namespace).
"""

from __future__ import annotations

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.plugin_utils import _plan

BOOTED = {'pid1': 'systemd', 'pid1_same_network': True, 'systemd_booted': True, 'sbin_init': 'systemd',
          'systemctl': True, 'upstart': False, 'openrc': False, 'init_d': True}
SERVICES = {'services': [{'name': 'redis'}]}


def facts(service_mgr=None, **init):
    found = {'listener_backlog_tuning': {'init': dict(BOOTED, **init)}}
    if service_mgr:
        found['service_mgr'] = service_mgr
    return found


@pytest.mark.parametrize('init, expected', [
    ({}, 'systemd'),
    ({'pid1': 'tini', 'systemd_booted': False}, 'tini'),         # a container's own init, named
    ({'pid1': 'runit-init'}, 'runit'),
    ({'pid1': 'bash', 'systemd_booted': False}, 'systemd'),      # a shell is distrusted: /sbin/init decides
    ({'pid1': 'sh', 'systemd_booted': False, 'sbin_init': None}, 'sysvinit'),
    ({'pid1': 'init', 'systemd_booted': False, 'sbin_init': 'upstart', 'upstart': True}, 'upstart'),
    ({'pid1': 'bash', 'systemd_booted': False, 'sbin_init': None, 'init_d': False}, 'service'),
    ({'pid1': 'bash', 'systemctl': False, 'systemd_booted': True, 'sbin_init': None}, 'sysvinit'),
])
def test_the_manager_is_predicted_as_ansible_core_decides(init, expected):
    assert _plan.service_manager(facts(**init)) == expected


def test_a_gathered_service_mgr_wins():
    assert _plan.service_manager(facts(service_mgr='openrc', pid1='bash')) == 'openrc'


@pytest.mark.parametrize('init', [{}, {'pid1': 'python3'}, {'pid1': 'tini', 'pid1_same_network': False}])
def test_a_manager_that_runs_here_passes(init):
    _plan.check_service_manager(SERVICES, facts(**init))


def test_nothing_to_restart_needs_no_manager():
    _plan.check_service_manager({'services': []}, facts(pid1='bash', systemd_booted=False))


@pytest.mark.parametrize('init, reason', [
    ({'pid1': 'bash', 'systemd_booted': False}, 'systemd is not running here: PID 1 is "bash"'),
    ({'pid1': 'bash'}, 'systemd is not the init of this host: PID 1 is "bash"'),
    ({'pid1_same_network': False}, 'systemd (PID 1) is in another network namespace than this run'),
])
def test_a_systemd_that_does_not_run_the_services_here_is_refused_naming_why(init, reason):
    with pytest.raises(_plan.PlanError) as caught:
        _plan.check_service_manager({'services': [{'name': 'redis'}],
                                     'templates': [{'src': 'a.j2', 'dest': '/etc/a', 'service': 'app'}]}, facts(**init))
    message = str(caught.value)
    assert message.startswith('listener_backlog_services: the service manager does not match this host. '
                              'ansible.builtin.service would restart redis, app with systemd')
    assert reason in message and 'Nothing was changed.' in message


def test_init_state_reads_what_the_decision_needs():
    files = {'/proc/1/comm': 'bash\n'}
    links = {'/proc/1/ns/net': 'net:[4026531840]', '/proc/self/ns/net': 'net:[4026532000]',
             '/sbin/init': '/lib/systemd/systemd'}
    present = {'/etc/init.d/', '/usr/bin/systemctl'}

    def read_file(path):
        if path not in files:
            raise IOError(2, 'No such file')
        return files[path]

    state = _tuning.init_state(read_file, exists=present.__contains__, readlink=links.get)
    assert state == {'pid1': 'bash', 'pid1_same_network': False, 'systemd_booted': False, 'sbin_init': 'systemd',
                     'systemctl': True, 'upstart': False, 'openrc': False, 'init_d': True}
