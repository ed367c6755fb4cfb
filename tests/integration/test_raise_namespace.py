# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""netstack.backlog.raise_namespace, the playbook the Event-Driven Ansible rulebook runs for an alert.

On a simulated host at 4096 with a container made as Docker makes one at 128: check mode
changes nothing and says what it would; the run raises that namespace, and no other, to the
host's limit and says the runtime's lasting fix; a second run changes nothing and says why; a
namespace that is gone and a value that is no inode fail with the reason and change nothing.
"""

from __future__ import annotations

import json
import os

import pytest

from containers import Container
from netns import controller_bin, dependencies_path, run_playbook
from nshost import NamespaceHost
from test_role_namespaces import warnings_in


@pytest.fixture
def host():
    made = NamespaceHost('rns', 4096)
    yield made
    made.remove()


def test_the_playbook_raises_one_namespace_to_the_hosts_limit_and_says_what_lasts(host, tmp_path, collections_root):
    ansible_bin = controller_bin('latest')
    collections = '%s:%s' % (collections_root, dependencies_path())
    runs = [0]

    def play(netns, *extra):
        runs[0] += 1
        directory = tmp_path / ('run%d' % runs[0])
        directory.mkdir()
        (directory / 'vars.json').write_text(json.dumps({'netstack_backlog_host': 'localhost',
                                                         'netstack_backlog_netns': netns}))
        process, results = run_playbook(
            ansible_bin, collections, 'netstack.backlog.raise_namespace',
            {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}, str(directory),
            extra_args=['-e', '@%s' % (directory / 'vars.json')] + list(extra), prefix=host.command([]))
        tasks = results.get('localhost', [])
        return process, [task['task'] for task in tasks if task['result'].get('changed')], warnings_in(tasks)

    container = Container(host, str(tmp_path), 'docker')
    other = Container(host, str(tmp_path), 'docker')
    try:
        inode = int(container.run('stat', '-L', '-c', '%i', '/proc/self/ns/net').stdout)

        process, changed, warnings = play(inode, '--check')
        assert process.returncode == 0, process.stdout + process.stderr
        assert changed == ["Raise it live to the host's limit (until the container is recreated)"], changed
        assert container.somaxconn() == 128
        [said] = warnings
        assert said.startswith('docker container %s (network namespace %d) has net.core.somaxconn 128, below the '
                               '4096 set on this host' % (container.short_id, inode)), said
        assert said.endswith('Would raise it live to 4096 (check mode: nothing was changed).'), said

        process, changed, warnings = play(inode)
        assert process.returncode == 0, process.stdout + process.stderr
        assert (container.somaxconn(), other.somaxconn(), host.sysctl('net/core/somaxconn')) == (4096, 128, 4096)
        [said] = warnings
        assert 'docker run --sysctl net.core.somaxconn=4096' in said
        assert said.endswith('Raised live to 4096; a listener gets it when its service listens again (a restart).')

        process, changed, warnings = play(inode)
        assert process.returncode == 0 and changed == [], changed
        assert warnings == ["Nothing raised: it already has 4096, the host's limit being 4096; overflows there come "
                            'from the backlog its service asks for or from accepting too slowly.'], warnings

        process, changed, warnings = play(4026599999)
        assert process.returncode != 0 and changed == []
        assert ('network namespace 4026599999 is gone from localhost (no process or pinned file holds it now); '
                'nothing was changed.') in process.stdout, process.stdout
        process, changed, warnings = play('4026532242; touch /tmp/nbt-probe')
        assert process.returncode != 0 and changed == []
        assert 'netstack_backlog_netns must be a network namespace\'s inode (digits), got ' in process.stdout
        assert not os.path.exists('/tmp/nbt-probe') and other.somaxconn() == 128
    finally:
        container.remove()
        other.remove()
