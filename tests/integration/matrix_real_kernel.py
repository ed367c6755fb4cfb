# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The real-kernel subset of the compatibility matrix, run by tests/utils/matrix.py (make matrix).

Not collected by a plain `pytest tests/integration` (its name does not start with test_): it
needs the plan the matrix writes (NETSTACK_BACKLOG_MATRIX: each controller's bin directory and
the target Pythons it runs).  Per controller:
- the fact module on every target Python, each host a network namespace of its own with its own
  net.core.somaxconn, run by that controller in one playbook; each answer is checked against
  the backlog the kernel grants a listen() there, in normal and in check mode;
- the role on a simulated host: the kernel limit raised, Redis (Debian's) configured, restarted
  and verified, `ss` showing the new backlog; a second run changes nothing.
"""

from __future__ import annotations

import json
import os

import pytest

from netns import Namespace, dependencies_path, interpreter, run_playbook, target_python
from nshost import NamespaceHost

PLAN_FILE = os.environ.get('NETSTACK_BACKLOG_MATRIX')
PLAN = json.load(open(PLAN_FILE)) if PLAN_FILE else {}
CASES = [(core, target) for core in sorted(PLAN) for target in PLAN[core]['targets']]


@pytest.fixture(scope='module', autouse=True)
def require_plan():
    if not PLAN:
        pytest.fail('no matrix plan: run this through tests/utils/matrix.py (make matrix)')


@pytest.fixture(scope='module')
def gathered(collections_root, tmp_path_factory):
    """run(core) -> (namespaces by target, results by host), one playbook per controller, cached."""
    runs, made = {}, []

    def run(core):
        if core not in runs:
            directory = str(tmp_path_factory.mktemp('matrix-%s' % core))
            namespaces, hosts = {}, {}
            for index, target in enumerate(PLAN[core]['targets']):
                namespace = Namespace('m%s' % target.replace('.', ''), 1000 + 37 * index)
                made.append(namespace)
                namespaces[target] = namespace
                hosts['py' + target] = {'ansible_python_interpreter': interpreter(namespace, target_python(target),
                                                                                  directory)}
            process, results = run_playbook(PLAN[core]['bin'], collections_root, 'facts.yml', hosts, directory)
            runs[core] = (namespaces, results, process)
        return runs[core]

    yield run
    for namespace in made:
        namespace.remove()


@pytest.mark.parametrize('core,target', CASES, ids=['%s-py%s' % case for case in CASES])
def test_module_reports_the_kernel_grant(gathered, core, target):
    namespaces, results, process = gathered(core)
    tasks = {entry['task']: entry for entry in results.get('py' + target, [])}
    assert 'Gather the facts' in tasks, process.stdout + process.stderr
    grant = namespaces[target].kernel_grant()
    for task in ('Gather the facts', 'Gather the facts in check mode'):
        assert tasks[task]['status'] == 'ok', tasks[task]
        facts = tasks[task]['result']['ansible_facts']
        assert facts['ansible_listener_backlog'] == grant, (task, facts)
        assert facts['ansible_listener_backlog_info']['source'] == 'procfs'
    # ansible-core before 2.19 renders the values inside a dict as text.
    assert int(tasks['Show the fact through both names']['result']['msg']['facts']) == grant


@pytest.mark.parametrize('core', sorted(PLAN), ids=sorted(PLAN))
def test_role_tunes_and_restarts_redis_then_changes_nothing(core, collections_root, tmp_path):
    host = NamespaceHost('mrole', 128)
    try:
        variables = tmp_path / 'vars.json'
        variables.write_text(json.dumps({'listener_backlog_somaxconn': 2048,
                                         'listener_backlog_services': [{'name': 'redis'}]}))
        bin_dir = PLAN[core]['bin']
        inventory_host = {'localhost': {'ansible_python_interpreter': os.path.join(bin_dir, 'python')}}
        for attempt in ('first', 'second'):
            directory = tmp_path / attempt
            directory.mkdir()
            process, results = run_playbook(bin_dir, '%s:%s' % (collections_root, dependencies_path()), 'role.yml',
                                            inventory_host, str(directory), extra_args=['-e', '@%s' % variables],
                                            prefix=host.command([]))
            assert process.returncode == 0, process.stdout + process.stderr
            assert host.sysctl('net/core/somaxconn') == 2048
            assert sorted(entry[0] for entry in host.listeners().get(6379, [])) == [2048, 2048]
        changed = [entry['task'] for entry in results['localhost'] if entry['result'].get('changed')]
        assert changed == [], changed
    finally:
        host.remove()
