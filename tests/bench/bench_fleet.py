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
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from fleet import Fleet  # noqa: E402  pylint: disable=wrong-import-position
from bench_facts import alternate, exit_on_sigterm, timed, work_directory  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE_BIN = os.path.dirname(sys.executable)
SIZES = [int(size) for size in os.environ.get('BENCH_FLEET_SIZES', '8,32,100').split(',')]
PAIRS = int(os.environ.get('BENCH_FLEET_PAIRS', '5'))
FORKS = os.environ.get('BENCH_FLEET_FORKS', '25')
FACT = 'netstack.backlog.listener_backlog_facts'


def environment(work):
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, 'build', 'collections'))
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PIPELINING='True',
                ANSIBLE_FORKS=FORKS, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_HOME=os.path.join(work, 'home'),
                ANSIBLE_NOCOLOR='1')


# The rows' labels, declared here and used by the functions that measure them (report.declared_rows).
def fleet_labels(size):
    """The labels of fleet_rows(size), in order."""
    labels = ['%d hosts: fact module / ping' % size, '%d hosts: setup / ping' % size,
              '%d hosts: gather_facts setup + fact module, serial (ansible_facts_parallel=false) / setup alone' % size]
    return labels + ['%d hosts: role second run / first run (tuning)' % size,
                     '%d hosts: gather_facts setup with the local fact script (listener_backlog_local_fact) / setup alone'
                     % size]


CONVERGED_SIZE = 8


def converged_labels(size=CONVERGED_SIZE):
    return ['%d hosts: role converged run (tuning) / one ansible.posix.sysctl task' % size,
            '%d hosts: role converged run (tuning) / that task with a role\'s two task rounds (argument spec, skipped '
            'include)' % size,
            '%d hosts: that task with the two rounds / the task alone' % size]


def first_run_labels(size=CONVERGED_SIZE):
    return ['%d hosts: role first run (tuning, nginx and Redis, configs validated, listeners verified) / the playbook '
            'written by hand (sysctl, replace, lineinfile, two handlers)' % size]


ROUND_TRIP_CASES = [('tuning only', {'listener_backlog_somaxconn': 4096}),
                    ('tuning, nginx and Redis', {'listener_backlog_somaxconn': 8192,
                                                 'listener_backlog_services': [{'name': 'nginx'}, {'name': 'redis'}]})]
ROUND_TRIP_RUNS = [('first run', []), ('converged run', []), ('check mode, nothing to change', ['--check'])]
HANDWRITTEN_TRIPS = 'the playbook written by hand (nginx and Redis): first run'
# What the role made before its changes were one module run (make bench at commit bc6628b, the page of 4cb53ed).
TRIPS_BEFORE = {'tuning only: first run': 6, 'tuning only: converged run': 1,
                'tuning only: check mode, nothing to change': 1, 'tuning, nginx and Redis: first run': 12,
                'tuning, nginx and Redis: converged run': 1, 'tuning, nginx and Redis: check mode, nothing to change': 1}


def round_trip_labels():
    return ['%s: %s' % (label, run) for label, variables in ROUND_TRIP_CASES for run, extra in ROUND_TRIP_RUNS] + [
        HANDWRITTEN_TRIPS]


def fleet_rows(size, work):
    labels = iter(fleet_labels(size))
    rows = []
    env = environment(work)
    with Fleet([1000 + index for index in range(size)], label='bench') as fleet:
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-%d.json' % size), sys.executable)
        adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'all', '-i', inventory, '-m']
        # One warm-up round opens the SSH control masters for every command alike.
        timed(adhoc + ['ansible.builtin.ping'], env)
        ping, fact, setup = alternate([adhoc + ['ansible.builtin.ping'], adhoc + [FACT],
                                       adhoc + ['ansible.builtin.setup']], PAIRS, env)
        rows.append((next(labels), fact, ping))
        rows.append((next(labels), setup, ping))
        gather = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory, os.path.join(HERE, 'gather.yml')]
        serial = gather + ['-e', 'ansible_facts_parallel=false']
        setup_only = dict(env, ANSIBLE_FACTS_MODULES='ansible.builtin.setup')
        both_modules = dict(env, ANSIBLE_FACTS_MODULES='ansible.builtin.setup,%s' % FACT)
        alone, both_serial = alternate([gather, serial], PAIRS, None, envs=[setup_only, both_modules])
        rows.append((next(labels), both_serial, alone))
        # ansible-core's default for two fact modules, async jobs polled, is not measured: it runs
        # setup with an async time limit of 0 (gather_facts passes setup's own gather_timeout on
        # and leaves the job none), which async_wrapper ends at its first check, after 5 s, with
        # "Timeout exceeded". On this 2-core machine setup on 8 hosts at once takes longer, so
        # the run fails more often than not; the serial row above is what a user can rely on.
        role = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory,
                os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml'),
                '-e', json.dumps({'listener_backlog_somaxconn': 4096})]
        first = timed(role, env)
        second = timed(role, env)
        rows.append((next(labels), second, first))
        # The local fact: setup runs the script the role installs; the baseline points setup's
        # fact_path at a directory that does not exist, so both runs differ by the script only.
        timed(role + ['-e', 'listener_backlog_local_fact=present'], env)
        no_script = gather + ['-e', 'bench_fact_path=/nonexistent']
        alone, with_script = alternate([no_script, gather], PAIRS, None, envs=[setup_only, setup_only])
        rows.append((next(labels), with_script, alone))
    return rows


ROLE_PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml')
SYSCTL_PLAYBOOK = os.path.join(HERE, 'sysctl.yml')
FLOOR_PLAYBOOK = os.path.join(HERE, 'floor.yml')
HANDWRITTEN_PLAYBOOK = os.path.join(HERE, 'handwritten.yml')
SERVICES = ('nginx', 'redis-server')
CONFIGS = ('/etc/nginx/sites-enabled/default', '/etc/redis/redis.conf')
SYSCTL_FILE = '/etc/sysctl.d/90-listener-backlog.conf'


def start_services(hosts):
    for host in hosts:
        for service in SERVICES:
            host.run('service', service, 'start')


def stock(hosts, configs):
    """Each host as before a first run: its stock configs, no sysctl file, the stock limit, the services restarted."""
    for host in hosts:
        for path, text in configs.items():
            host.write(path, text)
        host.run('rm', '-f', SYSCTL_FILE)
        host.set_sysctl('net/core/somaxconn', 128)
        for service in SERVICES:
            host.run('service', service, 'restart')


ROUND_TRIPS = os.path.join(HERE, 'callback_plugins')


def converged_rows(work, size=CONVERGED_SIZE):
    """The role's converged run (tuning only) against the one-task ansible.posix.sysctl playbook, and against that task
    with the two task rounds a role adds (floor.yml): what the role's own work costs, and what a role's shape does."""
    env = environment(work)
    variables = ['-e', json.dumps({'listener_backlog_somaxconn': 4096})]
    with Fleet([128] * size, label='bench') as fleet:
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-converged.json'), sys.executable)
        playbook = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory]
        timed(playbook + [ROLE_PLAYBOOK] + variables, env)  # the first run tunes; the rest are converged
        role, plain, floor = alternate([playbook + [ROLE_PLAYBOOK] + variables, playbook + [SYSCTL_PLAYBOOK] + variables,
                                        playbook + [FLOOR_PLAYBOOK] + variables], PAIRS, env)
        return list(zip(converged_labels(size), (role, role, floor), (plain, floor, plain)))


def first_run_rows(work, size=CONVERGED_SIZE):
    """The role's first run with nginx and Redis against the hand-written playbook, each from the stock hosts."""
    env = environment(work)
    variables = ['-e', json.dumps({'listener_backlog_somaxconn': 8192,
                                   'listener_backlog_services': [{'name': 'nginx'}, {'name': 'redis'}]})]
    with Fleet([128] * size, label='bench') as fleet:
        hosts = list(fleet.hosts.values())
        start_services(hosts)
        configs = dict((path, hosts[0].read(path)) for path in CONFIGS)
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-first.json'), sys.executable)
        playbook = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory]
        role, plain = playbook + [ROLE_PLAYBOOK] + variables, playbook + [HANDWRITTEN_PLAYBOOK] + variables
        timed(playbook + [SYSCTL_PLAYBOOK] + variables, env)  # opens the SSH control masters
        samples = ([], [])
        for dummy in range(PAIRS):
            for index, argv in enumerate((role, plain)):
                stock(hosts, configs)
                samples[index].append(timed(argv, env))
        stock(hosts, configs)
        return [(first_run_labels(size)[0], statistics.median(samples[0]), statistics.median(samples[1]))]


def round_trips(work):
    """Module round trips per host the role makes: first, converged and check-mode runs, with nginx and Redis."""
    counts = []
    env = dict(environment(work), ANSIBLE_CALLBACK_PLUGINS=ROUND_TRIPS, ANSIBLE_CALLBACKS_ENABLED='round_trips',
               NETSTACK_BACKLOG_ROUND_TRIPS=os.path.join(work, 'round-trips.json'))
    with Fleet([128, 128], label='bench') as fleet:
        start_services(fleet.hosts.values())
        inventory = fleet.write_inventory(os.path.join(work, 'inventory-trips.json'), sys.executable)
        labels = iter(round_trip_labels())

        def count(playbook, variables, extra=()):
            subprocess.run([os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory, '--limit', host, playbook,
                            '-e', json.dumps(variables)] + list(extra), env=env, check=True, stdout=subprocess.DEVNULL)
            with open(env['NETSTACK_BACKLOG_ROUND_TRIPS']) as handle:
                return json.load(handle).get(host, 0)

        host = 'host000'
        for label, variables in ROUND_TRIP_CASES:
            for run, extra in ROUND_TRIP_RUNS:
                counts.append((next(labels), count(ROLE_PLAYBOOK, variables, extra)))
        host = 'host001'  # still stock
        counts.append((next(labels), count(HANDWRITTEN_PLAYBOOK, ROUND_TRIP_CASES[1][1])))
    return counts


def main():
    work = work_directory('nb-bench-fleet-')
    rows = []
    for size in SIZES:
        started = time.monotonic()
        rows.extend(fleet_rows(size, work))
        print('fleet of %d measured in %.0f s' % (size, time.monotonic() - started), file=sys.stderr)
    return rows


if __name__ == '__main__':
    exit_on_sigterm()
    if sys.argv[1:] == ['converged']:
        # python tests/bench/bench_fleet.py converged: only the role's converged and first runs, and its round trips.
        directory = work_directory('nb-bench-fleet-')
        for row in converged_rows(directory) + first_run_rows(directory):
            print('%s: %.3f s / %.3f s = %.2f' % (row[0], row[1], row[2], row[1] / row[2]))
        for label, trips in round_trips(directory):
            print('round trips per host, %s: %d' % (label, trips))
    else:
        for row in main():
            print(row)
