# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role run from a network namespace that is not the machine's never takes the machine's for a container.

Ansible runs in a namespace of its own and sees the machine's processes (MachineViewHost: as
``ip netns exec NS ansible-playbook -c local`` does, or an agent in a pod that shares the
machine's PIDs).  Asked for twice the machine's limit with listener_backlog_namespaces=set, the
role tunes the namespace it runs in, raises a container made at 128, and names the machine's
own network namespace as the machine's: no container recipe, no nsenter advice, and never
set, in check mode or not.  namespace_somaxconn asked for it by inode refuses it.  The
machine's own net.core.somaxconn is read before and after: unchanged.
"""

from __future__ import annotations

import json
import os

import pytest

from containers import Container
from netns import controller_bin, dependencies_path, run_playbook
from nshost import MachineViewHost
from test_role_namespaces import warnings_in

INT_MAX = 2147483647


def machine_somaxconn():
    """The machine's own value, read by this test's process (which runs in the machine's namespace)."""
    with open('/proc/sys/net/core/somaxconn') as handle:
        return int(handle.read())


@pytest.fixture
def host():
    made = MachineViewHost('rfn')
    yield made
    made.remove()


def test_role_run_from_a_namespace_leaves_the_machines_own_alone_and_says_whose_it_is(
        host, tmp_path, collections_root):
    ansible_bin = controller_bin('latest')
    collections = '%s:%s' % (collections_root, dependencies_path())
    machine = os.stat('/proc/self/ns/net').st_ino
    before = machine_somaxconn()
    if before >= INT_MAX // 2:
        pytest.fail('the machine\'s net.core.somaxconn is %d: this test needs a value the role can go above' % before)
    wanted = before * 2
    home = os.stat('/run/netns/' + host.name).st_ino
    runs = [0]

    def play(playbook, variables, *extra_args):
        runs[0] += 1
        directory = tmp_path / ('run%d' % runs[0])
        directory.mkdir()
        (directory / 'vars.json').write_text(json.dumps(variables))
        process, results = run_playbook(
            ansible_bin, collections, playbook,
            {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}, str(directory),
            extra_args=['-e', '@%s' % (directory / 'vars.json')] + list(extra_args), prefix=host.command([]))
        assert process.returncode == 0, process.stdout + process.stderr
        return dict((task['task'].split(' : ', 1)[-1], task['result']) for task in results['localhost']), \
            warnings_in(results['localhost'])

    container = Container(host, str(tmp_path), 'docker')
    try:
        assert container.somaxconn() == 128
        variables = {'listener_backlog_somaxconn': wanted, 'listener_backlog_namespaces': 'set'}

        # Check mode: what `set` would do.  It would raise only the container; anything else it would raise
        # on this machine was not made by this test, and the real run below would change it.
        tasks, warnings = play('role.yml', variables, '--check')
        would = [entry['id'] for entry in
                 tasks['Raise the limit live inside them (until each container is recreated)']['namespaces']]
        container_inode = os.stat('/proc/%d/ns/net' % container.pid).st_ino
        if set(would) - {container_inode}:
            pytest.fail('the role would raise network namespaces this test did not make (%s): run it where no other '
                        'namespace is below %d' % (sorted(set(would) - {container_inode}), wanted))
        assert would == [container_inode]
        facts = tasks['Read the host once, check every input and plan every change']['ansible_facts']
        entries = dict((entry['id'], entry) for entry in facts['ansible_listener_backlog_namespaces'])
        assert entries[machine]['initial'] is True and entries[machine]['current'] is False
        assert entries[machine]['container'] is None and entries[machine]['listener_backlog'] == before
        assert entries[home]['current'] is True and entries[home]['initial'] is False
        assert entries[container_inode]['initial'] is False
        assert entries[container_inode]['container']['id'] == container.id
        said = ("the machine's own network namespace (%d) has net.core.somaxconn %d, below the %d set here, in "
                "network namespace %d where this run works: the machine keeps its own value. To tune the machine, "
                "run the role in its own network namespace." % (machine, before, wanted, home))
        assert said in warnings, warnings
        about_machine = [text for text in warnings if str(machine) in text]
        assert about_machine == [said], about_machine
        assert machine_somaxconn() == before and container.somaxconn() == 128

        # For real: the namespace Ansible runs in is tuned, the container raised, the machine's own untouched.
        tasks, warnings = play('role.yml', variables)
        assert said in warnings, warnings
        assert machine_somaxconn() == before
        assert host.sysctl('net/core/somaxconn') == wanted
        assert container.somaxconn() == wanted
        assert host.read('/etc/sysctl.d/90-listener-backlog.conf').count('net.core.somaxconn = %d' % wanted) == 1
        assert not os.path.exists('/etc/sysctl.d/90-listener-backlog.conf')

        # namespace_somaxconn asked for the machine's namespace by name refuses it, and still sets the others.
        container.run('sh', '-c', 'echo 128 > /proc/sys/net/core/somaxconn')
        tasks, warnings = play('namespace_somaxconn.yml', {'value': wanted, 'namespaces': [machine, container_inode]})
        result = tasks['Set it in the namespaces named']
        assert result['namespaces'][0] == {
            'id': machine, 'before': None, 'after': None, 'changed': False,
            'error': "the machine's own network namespace, which this module never changes: set it with "
                     "ansible.posix.sysctl run in that namespace"}
        assert result['namespaces'][1]['changed'] is True and container.somaxconn() == wanted
        assert any(text.startswith('network namespace %d: the machine\'s own' % machine) for text in warnings)
        assert machine_somaxconn() == before
    finally:
        container.remove()
