# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role and the containers on a host: named after tuning, and set live when asked.

A host at the old kernel default (128) runs two containers (containers.Container): one
shaped as Docker makes it, running a real Redis that asks for 511 and gets 128 (its own
warning says so), one shaped as a Kubernetes pod's container.  Tuning the host to 4096
leaves both at 128; the role says so, naming each container and its runtime's fix.  With
listener_backlog_namespaces=set it raises both live (check mode first, changing nothing),
after which a restarted Redis no longer warns and gets 511; a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from containers import Container
from netns import controller_bin, dependencies_path, run_playbook
from nshost import NamespaceHost

REDIS_WARNING = ('The TCP backlog setting of 511 cannot be enforced because /proc/sys/net/core/somaxconn '
                 'is set to the lower value of 128')


@pytest.fixture
def host():
    made = NamespaceHost('rns', 128)
    yield made
    made.remove()


def warnings_in(tasks):
    """Every warning the run gave, once: a loop's are on its items, and on the task too from ansible-core 2.21."""
    said = []
    for task in tasks:
        for result in [task['result']] + list(task['result'].get('results') or []):
            for warning in result.get('warnings') or []:
                text = warning['msg'] if isinstance(warning, dict) else warning
                if text not in said:
                    said.append(text)
    return said


def test_role_names_each_container_below_the_limit_and_sets_it_live_when_asked(host, tmp_path, collections_root):
    ansible_bin = controller_bin('latest')
    collections = '%s:%s' % (collections_root, dependencies_path())
    runs = [0]

    def role(variables, *extra_args):
        runs[0] += 1
        directory = tmp_path / ('run%d' % runs[0])
        directory.mkdir()
        (directory / 'vars.json').write_text(json.dumps(variables))
        process, results = run_playbook(
            ansible_bin, collections, 'role.yml',
            {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}, str(directory),
            extra_args=['-e', '@%s' % (directory / 'vars.json')] + list(extra_args), prefix=host.command([]))
        assert process.returncode == 0, process.stdout + process.stderr
        tasks = results['localhost']
        changed = [task['task'].split(' : ', 1)[-1] for task in tasks if task['result'].get('changed')]
        return tasks, changed, warnings_in(tasks)

    docker = Container(host, str(tmp_path), 'docker')
    pod = Container(host, str(tmp_path), 'kubernetes')
    try:
        log = str(tmp_path / 'redis.log')
        redis = docker.start_redis(log)
        with open(log) as handle:
            assert REDIS_WARNING in handle.read()

        # warn (the default): both named with their runtime's fix; nothing set inside them.
        tasks, changed, warnings = role({'listener_backlog_somaxconn': 4096})
        assert host.sysctl('net/core/somaxconn') == 4096
        assert (docker.somaxconn(), pod.somaxconn()) == (128, 128)
        about = dict((container, [w for w in warnings if container.short_id in w]) for container in (docker, pod))
        [said] = about[docker]
        assert said.startswith('docker container %s (network namespace ' % docker.short_id), said
        assert ('has net.core.somaxconn 128, below the 4096 set on this host: a container keeps the value its network '
                'namespace was made with, so its listeners get at most 128. Set it where the container is defined: '
                'docker run --sysctl net.core.somaxconn=4096, or sysctls: {net.core.somaxconn: 4096} for the service '
                'in compose.') in said
        assert 'listener_backlog_namespaces=set would raise it live to 4096 now' in said
        [said] = about[pod]
        assert said.startswith('containerd container %s (pod %s)' % (pod.short_id, pod.pod)), said
        assert 'securityContext: {sysctls: [{name: net.core.somaxconn, value: "4096"}]}' in said
        assert 'allowedUnsafeSysctls: ["net.core.somaxconn"]' in said
        assert changed == ['Take the run lock and make the planned changes to the kernel and the configs'], changed
        [read] = [task['result']['ansible_facts'] for task in tasks if task['task'].endswith('plan every change')]
        assert sorted(entry['listener_backlog'] for entry in read['ansible_listener_backlog_namespaces']) == \
            [128, 128, 128]  # this host before tuning, and both containers

        # ignore: no other namespace is read or named.
        tasks, changed, warnings = role({'listener_backlog_somaxconn': 4096, 'listener_backlog_namespaces': 'ignore'})
        assert not [w for w in warnings if 'network namespace' in w], warnings
        assert changed == []

        # set, in check mode: reported, nothing written.
        tasks, changed, warnings = role({'listener_backlog_somaxconn': 4096, 'listener_backlog_namespaces': 'set'},
                                        '--check', '--diff')
        assert changed == ['Raise the limit live inside them (until each container is recreated)'], changed
        assert (docker.somaxconn(), pod.somaxconn()) == (128, 128)
        [said] = [w for w in warnings if docker.short_id in w]
        assert 'listener_backlog_namespaces=set would raise it live to 4096 (check mode: nothing was changed).' in said

        # set: both raised live; the warning says how long it lasts.
        tasks, changed, warnings = role({'listener_backlog_somaxconn': 4096, 'listener_backlog_namespaces': 'set'})
        assert changed == ['Raise the limit live inside them (until each container is recreated)'], changed
        assert (docker.somaxconn(), pod.somaxconn()) == (4096, 4096)
        [said] = [w for w in warnings if docker.short_id in w]
        assert ('listener_backlog_namespaces=set raised it live to 4096; that lasts until the container is recreated, '
                'and a listener gets it when its service listens again (a restart).') in said
        [entry] = [task for task in tasks if 'Raise the limit live' in task['task']]
        assert sorted((item['before'], item['after'], item['changed']) for item in entry['result']['namespaces']) == \
            [(128, 4096, True), (128, 4096, True)]

        # Redis restarted in the container gets its 511 and no longer warns.
        docker.stop(redis)
        docker.start_redis(log)
        with open(log) as handle:
            assert REDIS_WARNING not in handle.read()
        listening = docker.run('ss', '-ltnH', 'sport = :6379').stdout.split()
        assert listening[2] == '511', listening

        # A second run finds nothing below the limit: no change, no warning about them.
        tasks, changed, warnings = role({'listener_backlog_somaxconn': 4096, 'listener_backlog_namespaces': 'set'})
        assert changed == [], changed
        assert not [w for w in warnings if 'network namespace' in w], warnings
        # The host was read with only the namespaces below the limit (none now), not all three: a fact stays in
        # every later task's variables, copied for each task.
        [read] = [task['result']['ansible_facts'] for task in tasks if task['task'].endswith('plan every change')]
        assert read['ansible_listener_backlog_namespaces'] == []
        assert read['ansible_listener_backlog_namespaces_total'] == 3
    finally:
        docker.remove()
        pod.remove()


def test_plain_namespace_recipes_work_as_the_role_words_them(host, tmp_path, collections_root):
    """An ip netns namespace and one held by a process, at this kernel's default: the commands the
    warnings give, run as given, leave nothing to warn about."""
    ansible_bin = controller_bin('latest')
    collections = '%s:%s' % (collections_root, dependencies_path())
    host.run('ip', 'netns', 'add', 'blue')
    holder = subprocess.Popen(host.command(['unshare', '-n', 'sleep', 'infinity']))
    default = int(host.run('unshare', '-n', 'cat', '/proc/sys/net/core/somaxconn').stdout)
    target = default * 2  # above the kernel's default, which every new namespace gets

    def warnings_of_a_run(label):
        directory = tmp_path / label
        directory.mkdir()
        process, results = run_playbook(
            ansible_bin, collections, 'role.yml',
            {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}, str(directory),
            extra_args=['-e', 'listener_backlog_somaxconn=%d' % target], prefix=host.command([]))
        assert process.returncode == 0, process.stdout + process.stderr
        return [w for w in warnings_in(results['localhost']) if 'network namespace' in w]

    try:
        warnings = warnings_of_a_run('first')
        assert len(warnings) == 2, warnings
        commands = [re.search(r'((?:ip netns exec|nsenter) [^:]*sysctl -w net\.core\.somaxconn=%d)\.' % target,
                              warning).group(1) for warning in warnings]
        assert sorted(command.split()[0] for command in commands) == ['ip', 'nsenter'], commands
        for command in commands:
            host.run('sh', '-c', command)
        assert warnings_of_a_run('second') == []
    finally:
        holder.kill()
        holder.wait()
