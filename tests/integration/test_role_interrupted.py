# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A first run with nginx, Redis and HAProxy, its controller killed (SIGKILL) between two tasks.

A reference run gives the tasks a first run takes on the host. The host changes at two of them
only: the one module run that takes the lock and makes the kernel's and the configs' changes, and
the restarts; between two of those, every boundary leaves the same host. So the run is killed
after each task that changed something: every state a kill between tasks can leave. After each kill: every managed file is
byte-identical to before the run or to after it, never in between; every service runs; and the next
run (which takes over the dead run's lock at once) converges and verifies, changing the host to
exactly what an uninterrupted run leaves.

Then the connection cut while a module runs on the host: over real SSH, the host's sshd killed
while the services restart. The run fails, saying the host was unreachable; every file is whole;
the next run starts whatever the cut left stopped and converges.
"""

from __future__ import annotations

import time

from fleet import Fleet

from test_role_concurrent import LOCK, LOCK_TASK, Run, lock_held
from test_role_services import SERVICES, STOCK_SOMAXCONN, granted, haproxy_listener, make_host, wait_for_redis

SYSCTL_FILE = '/etc/sysctl.d/90-listener-backlog.conf'
MANAGED = {'nginx': 'nginx', 'redis': 'redis-server', 'haproxy': 'haproxy'}
PORTS = {'nginx': 80, 'redis': 6379, 'haproxy': 8080}
VARIABLES = {'listener_backlog_somaxconn': 4096,
             'listener_backlog_services': [{'name': name} for name in MANAGED]}


def files(host):
    """Every file the run manages, by path: its bytes, or None where it does not exist."""
    paths = [SYSCTL_FILE] + [host.run('readlink', '-f', SERVICES[name].config).stdout.strip() for name in MANAGED]
    return dict((path, host.read(path) if host.exists(path) else None) for path in paths)


def running(host):
    return dict((name, bool(host.listeners().get(port))) for name, port in PORTS.items())


def listening(host):
    return dict((name, granted(host, port)) for name, port in PORTS.items())


def reset(host, before):
    """Back to the state before the first run: files, the live limit, services restarted on them."""
    for path, content in before.items():
        if content is None:
            host.run('rm', '-f', path)
        else:
            host.write(path, content)
    host.set_sysctl('net/core/somaxconn', STOCK_SOMAXCONN)
    host.run('rm', '-f', LOCK)
    for service in MANAGED.values():
        host.run('service', service, 'restart')
    wait_for_redis(host)


def test_a_first_run_killed_between_any_two_tasks_loses_nothing_and_the_next_run_converges(tmp_path,
                                                                                           collections_root):
    host = make_host('killed', STOCK_SOMAXCONN)
    try:
        haproxy_listener(host)
        for service in MANAGED.values():
            host.run('service', service, 'start')
        wait_for_redis(host)
        before, before_listening = files(host), listening(host)

        reference = Run(host, tmp_path / 'reference', collections_root, VARIABLES)
        assert reference.process.wait(timeout=300) == 0, reference.finish()
        after, after_listening = files(host), listening(host)
        assert after_listening == {'nginx': [4096, 4096], 'redis': [4096, 4096], 'haproxy': [4096]}, after_listening
        ran = [task['task'].split(' : ', 1)[-1] for task in reference.tasks()]
        points = [name for name, task in zip(ran, reference.tasks())
                  if name == LOCK_TASK or task['result'].get('changed')]
        assert points[0] == LOCK_TASK and len(points) >= 2, ran  # the lock with every write, the restarts
        assert all(path in after and after[path] != before[path] for path in after), 'every managed file changes'

        seen = []
        for index, point in enumerate(points):
            reset(host, before)
            run = Run(host, tmp_path / ('killed-%d' % index), collections_root, VARIABLES, pause_after=point)
            run.wait_for('paused')
            run.kill()
            now = files(host)
            mixed = [path for path, content in now.items() if content not in (before[path], after[path])]
            assert mixed == [], (point, mixed)
            assert running(host) == dict((name, True) for name in MANAGED), (point, host.listeners())
            assert lock_held(host), point  # killed holding it
            seen.append((point, sorted(path for path, content in now.items() if content == after[path])))

            again = Run(host, tmp_path / ('again-%d' % index), collections_root, VARIABLES)
            assert again.process.wait(timeout=300) == 0, (point, again.finish())
            assert files(host) == after, point
            assert listening(host) == after_listening, point
            took_over = any(warning.startswith('took over the run lock of') for warning in again.warnings())
            if any(task['result'].get('changed') for task in again.tasks()):
                # It had something to do: it took the dead run's lock over at once, and released it.
                assert took_over and not lock_held(host), point
            else:
                # Killed after its last change: nothing was left to do, so no lock was needed, and the
                # dead run's file waits for the next run with something to change, which takes it over.
                assert not took_over and lock_held(host), point
        # Every file is written in the lock's task: a kill after it finds them all written, the services not
        # restarted yet (the next run restarts them, as the listening check above proves).
        assert seen[0][1] == sorted(after) and seen[-1][1] == sorted(after), seen
    finally:
        host.remove()


def restarting(host):
    """Whether a service's init script is running in ``host`` (ps inside its PID namespace)."""
    found = host.run('ps', '-eo', 'args=', check=False).stdout
    return any(line.startswith(('/bin/sh /etc/init.d/', 'sh /etc/init.d/', '/etc/init.d/', 'start-stop-daemon'))
               for line in found.splitlines())


def test_the_connection_cut_while_services_restart_loses_nothing_and_the_next_run_converges(
        tmp_path, collections_root):
    with Fleet([STOCK_SOMAXCONN], label='cut') as fleet:
        host = fleet.hosts['host000']
        haproxy_listener(host)
        for service in MANAGED.values():
            host.run('service', service, 'start')
        wait_for_redis(host)
        before = files(host)
        inventory = fleet.inventory(host.python)
        run = Run(host, tmp_path / 'cut', collections_root, VARIABLES, inventory=inventory)
        deadline = time.monotonic() + 120
        while not restarting(host):
            assert run.process.poll() is None and time.monotonic() < deadline, run.finish()
            time.sleep(0.01)
        host.run('pkill', '-KILL', '-x', 'sshd')  # the connection's sshd -i, in the middle of the module
        assert run.process.wait(timeout=300) != 0, run.finish()
        assert 'UNREACHABLE' in run.finish() or 'unreachable=1' in run.finish(), run.finish()
        now = files(host)
        wait_for_redis(host, required=False)
        stopped = [name for name, up in running(host).items() if not up]

        again = Run(host, tmp_path / 'again', collections_root, VARIABLES, inventory=inventory)
        assert again.process.wait(timeout=300) == 0, again.finish()
        assert listening(host) == {'nginx': [4096, 4096], 'redis': [4096, 4096], 'haproxy': [4096]}
        after = files(host)
        assert [path for path, content in now.items() if content not in (before[path], after[path])] == []
        started = [task['result'] for task in again.tasks()
                   if task['task'].endswith('Apply the backlog to each service the way it needs')]
        for name in stopped:  # what the cut left stopped, the next run started, saying why
            assert any('it has no listener' in str(result) for result in started), (stopped, started)
        if any(task['result'].get('changed') for task in again.tasks()):
            assert any(warning.startswith('took over the run lock of') for warning in again.warnings())
            assert not lock_held(host)
