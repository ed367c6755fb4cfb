# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fleet benchmarks over real SSH (tests/integration/fleet.py), as ratios of medians.

For fleets of 8, 32 and 100 hosts, side by side in one run, alternating, BENCH_FLEET_PAIRS
(default 5) rounds: ansible.builtin.ping, the fact module and ansible.builtin.setup as ad-hoc
commands; gather_facts with FACTS_MODULES = setup + the fact module against setup alone; the
role's first and second run (tuning only); setup with the role's local fact script against
setup alone.  Then the burst: ListenOverflows of a real Redis
under the stock limit and after the role, for the same burst.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from fleet import Fleet  # noqa: E402  pylint: disable=wrong-import-position
from bench_facts import alternate, timed  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE_BIN = os.path.dirname(sys.executable)
SIZES = [int(size) for size in os.environ.get('BENCH_FLEET_SIZES', '8,32,100').split(',')]
PAIRS = int(os.environ.get('BENCH_FLEET_PAIRS', '5'))
FORKS = os.environ.get('BENCH_FLEET_FORKS', '25')
FACT = 'netstack.backlog.listener_backlog_facts'
PARALLEL_UP_TO = 8


def environment(work):
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, 'build', 'collections'))
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PIPELINING='True',
                ANSIBLE_FORKS=FORKS, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_HOME=os.path.join(work, 'home'),
                ANSIBLE_NOCOLOR='1')


def fleet_rows(size, work):
    rows = []
    env = environment(work)
    with Fleet([1000 + index for index in range(size)], label='bench') as fleet:
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-%d.json' % size), sys.executable)
        adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'all', '-i', inventory, '-m']
        # One warm-up round opens the SSH control masters for every command alike.
        timed(adhoc + ['ansible.builtin.ping'], env)
        ping, fact, setup = alternate([adhoc + ['ansible.builtin.ping'], adhoc + [FACT],
                                       adhoc + ['ansible.builtin.setup']], PAIRS, env)
        rows.append(('%d hosts: fact module / ping' % size, fact, ping))
        rows.append(('%d hosts: setup / ping' % size, setup, ping))
        gather = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory, os.path.join(HERE, 'gather.yml')]
        serial = gather + ['-e', 'ansible_facts_parallel=false']
        setup_only = dict(env, ANSIBLE_FACTS_MODULES='ansible.builtin.setup')
        both_modules = dict(env, ANSIBLE_FACTS_MODULES='ansible.builtin.setup,%s' % FACT)
        alone, both_serial = alternate([gather, serial], PAIRS, None, envs=[setup_only, both_modules])
        rows.append(('%d hosts: gather_facts setup + fact module, serial (ansible_facts_parallel=false) / setup alone'
                     % size, both_serial, alone))
        if size <= PARALLEL_UP_TO:
            # ansible-core's default for two fact modules: async jobs, polled.  On 32 hosts and
            # more this 2-core machine made setup miss its async timeout ("Timeout exceeded"),
            # so the variant is measured on the smallest fleet only.
            alone, both_parallel = alternate([gather, gather], PAIRS, None, envs=[setup_only, both_modules])
            rows.append(('%d hosts: gather_facts setup + fact module, ansible-core default (parallel async jobs)'
                         ' / setup alone' % size, both_parallel, alone))
        role = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory,
                os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml'),
                '-e', json.dumps({'listener_backlog_somaxconn': 4096})]
        first = timed(role, env)
        second = timed(role, env)
        rows.append(('%d hosts: role second run / first run (tuning)' % size, second, first))
        # The local fact: setup runs the script the role installs; the baseline points setup's
        # fact_path at a directory that does not exist, so both runs differ by the script only.
        timed(role + ['-e', 'listener_backlog_local_fact=present'], env)
        no_script = gather + ['-e', 'bench_fact_path=/nonexistent']
        alone, with_script = alternate([no_script, gather], PAIRS, None, envs=[setup_only, setup_only])
        rows.append(('%d hosts: gather_facts setup with the local fact script (listener_backlog_local_fact) / setup alone'
                     % size, with_script, alone))
    return rows


ROLE_PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml')
SYSCTL_PLAYBOOK = os.path.join(HERE, 'sysctl.yml')
ROUND_TRIPS = os.path.join(HERE, 'callback_plugins')


def converged_rows(work, size=8):
    """The role's converged run (tuning only) against the one-task ansible.posix.sysctl playbook."""
    env = environment(work)
    variables = ['-e', json.dumps({'listener_backlog_somaxconn': 4096})]
    with Fleet([128] * size, label='bench') as fleet:
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-converged.json'), sys.executable)
        playbook = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory]
        timed(playbook + [ROLE_PLAYBOOK] + variables, env)  # the first run tunes; the rest are converged
        role, plain = alternate([playbook + [ROLE_PLAYBOOK] + variables, playbook + [SYSCTL_PLAYBOOK] + variables],
                                PAIRS, env)
        return [('%d hosts: role converged run (tuning) / one ansible.posix.sysctl task' % size, role, plain)]


def round_trips(work):
    """Module round trips per host the role makes: first, converged and check-mode runs, with nginx and Redis."""
    counts = []
    env = dict(environment(work), ANSIBLE_CALLBACK_PLUGINS=ROUND_TRIPS, ANSIBLE_CALLBACKS_ENABLED='round_trips',
               NETSTACK_BACKLOG_ROUND_TRIPS=os.path.join(work, 'round-trips.json'))
    with Fleet([128], label='bench') as fleet:
        host = fleet.hosts['host000']
        for service in ('nginx', 'redis-server'):
            host.run('service', service, 'start')
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-trips.json'), sys.executable)
        services = [{'name': 'nginx'}, {'name': 'redis'}]
        cases = [('tuning only', {'listener_backlog_somaxconn': 4096}),
                 ('tuning, nginx and Redis', {'listener_backlog_somaxconn': 8192, 'listener_backlog_services': services})]
        for label, variables in cases:
            argv = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory, ROLE_PLAYBOOK,
                    '-e', json.dumps(variables)]
            for run, extra in (('first run', []), ('converged run', []), ('check mode, nothing to change', ['--check'])):
                subprocess.run(argv + extra, env=env, check=True, stdout=subprocess.DEVNULL)
                with open(env['NETSTACK_BACKLOG_ROUND_TRIPS']) as handle:
                    counts.append(('%s: %s' % (label, run), json.load(handle).get('host000', 0)))
    return counts


def main():
    work = tempfile.mkdtemp(prefix='nb-bench-fleet-')
    rows = []
    for size in SIZES:
        started = time.monotonic()
        rows.extend(fleet_rows(size, work))
        print('fleet of %d measured in %.0f s' % (size, time.monotonic() - started), file=sys.stderr)
    return rows


if __name__ == '__main__':
    if sys.argv[1:] == ['converged']:
        # python tests/bench/bench_fleet.py converged: only the role's converged run and its round trips.
        directory = tempfile.mkdtemp(prefix='nb-bench-fleet-')
        for row in converged_rows(directory):
            print('%s: %.3f s / %.3f s = %.2f' % (row[0], row[1], row[2], row[1] / row[2]))
        for label, count in round_trips(directory):
            print('round trips per host, %s: %d' % (label, count))
    else:
        for row in main():
            print(row)
