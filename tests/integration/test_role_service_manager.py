# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A service manager that does not run the host's services is refused by name, before any change.

Hosts built by hand, as a user trying the role might build one: a network and PID namespace with
its own /etc, /var and /run, Redis installed (this machine's /sbin/init is systemd's and systemctl
is there, as on any Debian), and a PID 1 that is not systemd.  ansible-core's service_mgr fact then
says systemd (a shell as PID 1 is not trusted, /sbin/init decides), and a restart would fail with
"Service is in unknown state" after the config and the limit were written; with /run/systemd
reachable it would drive a systemd that runs another system's services; with systemd as PID 1 in
another network namespace (ip netns exec on a systemd machine) it would start Redis there.  Each
time the role must fail in its check, naming the manager, where the choice came from and why it
cannot work here, with the limit, the config and the sysctl.d file untouched.
"""

from __future__ import annotations

import json
import os

import pytest

from netns import controller_bin, dependencies_path, run_playbook
from nshost import NamespaceHost

REDIS_CONFIG = '/etc/redis/redis.conf'
VARIABLES = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'redis', 'backlog': 300}]}


def run_role(host, tmp_path, collections_root, name, prefix=()):
    ansible_bin = controller_bin('latest')
    directory = tmp_path / name
    directory.mkdir()
    (directory / 'vars.json').write_text(json.dumps(VARIABLES))
    process, results = run_playbook(
        ansible_bin, '%s:%s' % (collections_root, dependencies_path()), 'role.yml',
        {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}, str(directory),
        extra_args=['-e', '@%s' % (directory / 'vars.json')], prefix=host.command(list(prefix)))
    failed = [task['result'].get('msg', '') for task in results.get('localhost', []) if task['status'] == 'failed']
    changed = [task['task'] for task in results.get('localhost', []) if task['result'].get('changed')]
    return process, ' '.join(failed), changed


@pytest.fixture
def shell_init_host():
    made = NamespaceHost('svcmgr', 128, init_name='bash')
    yield made
    made.remove()


def untouched(host, config):
    return (host.sysctl('net/core/somaxconn') == 128 and host.read(REDIS_CONFIG) == config
            and not host.exists('/etc/sysctl.d/90-listener-backlog.conf'))


def test_systemd_chosen_where_it_does_not_run_is_refused_before_any_change(shell_init_host, tmp_path, collections_root):
    host = shell_init_host
    assert host.read('/proc/1/comm').strip() == 'bash'
    config = host.read(REDIS_CONFIG)

    # 1. PID 1 a shell, no /run/systemd/system: ansible-core goes by /sbin/init.
    process, message, changed = run_role(host, tmp_path, collections_root, 'offline')
    assert process.returncode != 0, process.stdout
    assert 'the service manager does not match this host' in message, message
    assert 'would restart redis with systemd' in message and "/sbin/init is systemd's" in message, message
    assert 'systemd is not running here: PID 1 is "bash"' in message, message
    assert 'Nothing was changed' in message and changed == [], changed
    assert untouched(host, config)

    # 2. The same with a /run/systemd/system, as a host that shares a systemd machine's /run has.
    host.run('mkdir', '-p', '/run/systemd/system')
    process, message, changed = run_role(host, tmp_path, collections_root, 'shared-run')
    assert process.returncode != 0, process.stdout
    assert '/run/systemd/system exists' in message, message
    assert "systemd is not the init of this host: PID 1 is \"bash\"; the systemd that /run/systemd leads to is " \
           "another system's" in message, message
    assert changed == [] and untouched(host, config)


@pytest.fixture
def systemd_named_host():
    made = NamespaceHost('svcmgr', 128, init_name='systemd')
    yield made
    made.remove()


def test_systemd_in_another_network_namespace_is_refused_before_any_change(systemd_named_host, tmp_path,
                                                                           collections_root):
    """ip netns exec on a systemd machine: PID 1 is systemd, the run is in a network namespace of its own."""
    host = systemd_named_host
    host.run('mkdir', '-p', '/run/systemd/system')
    config = host.read(REDIS_CONFIG)
    # The controller in a network namespace of its own inside the host; PID 1 stays in the host's.
    process, message, changed = run_role(host, tmp_path, collections_root, 'other-netns', prefix=['unshare', '--net'])
    assert process.returncode != 0, process.stdout
    assert 'systemd (PID 1) is in another network namespace than this run' in message, message
    assert changed == []
    # The host's own limit and files: the run's namespace was a fresh one, the files are the host's.
    assert untouched(host, config)
