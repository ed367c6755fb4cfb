# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Two runs at once, a run killed holding the host, a config changed under a plan.

On a simulated host with a real Redis, each role run a real controller inside it. A run is held
at a chosen point by the record_results callback (NETSTACK_BACKLOG_PAUSE_AFTER: the controller's
main process waits after that task), so the interleavings that a race gives only now and then
are made every time: the second run reaches the lock while the first holds it; the first is
killed (SIGKILL, its whole process group) while it holds it; someone edits the config between
the run's read and its lock. One true race, unforced, runs as well.

What must hold: the result is one run's or the other's, never a mix (the live limit, the
sysctl file, Redis's config and the backlog its listeners got all come from one run); a run that
does not win says why, before changing anything; a lock left by a dead run does not block the
next; and the next run converges.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest

from netns import controller_bin, dependencies_path, recorded_results, start_playbook
from test_role_services import SERVICES, STOCK_SOMAXCONN, granted, port_held, redis_host

REDIS = SERVICES['redis']
SYSCTL_FILE = '/etc/sysctl.d/90-listener-backlog.conf'
LOCK = '/run/netstack-backlog.lock'
PLAN_TASK = 'Read the host once, check every input and plan every change'
# The run lock is taken by the task that makes the kernel's and the configs' changes.
LOCK_TASK = 'Take the run lock and make the planned changes to the kernel and the configs'
# The task after which a run's services are restarted, its verification next.
RESTART_TASK = 'Apply the backlog to each service the way it needs'
VERIFY_TASK = 'Verify that every managed listener has its backlog'
# Two runs' wishes: a limit and Redis's backlog.
RUNS = {2048: 200, 8192: 900}


def wishes(limit, **more):
    return dict({'listener_backlog_somaxconn': limit,
                 'listener_backlog_services': [{'name': 'redis', 'backlog': RUNS[limit]}]}, **more)


@pytest.fixture
def host():
    made = redis_host('lock')
    yield made
    made.remove()


class Run:
    """One controller running the role inside ``host``, optionally held after a task until resumed.

    With ``inventory`` ({name: host variables}: a Fleet's), the controller runs on this machine
    and reaches the host over SSH instead.
    """

    def __init__(self, host, directory, collections_root, variables, pause_after=None, inventory=None):
        directory.mkdir()
        self.directory = str(directory)
        vars_file = directory / 'vars.json'
        vars_file.write_text(json.dumps(variables))
        env = {}
        if pause_after:
            env = {'NETSTACK_BACKLOG_PAUSE_AFTER': pause_after, 'NETSTACK_BACKLOG_PAUSE_DIR': self.directory}
        ansible_bin = controller_bin('latest')
        if inventory is None:
            inventory = {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}
            prefix = host.command([])
        else:
            prefix = ()
        [self.name] = inventory
        self.process = start_playbook(
            ansible_bin, '%s:%s' % (collections_root, dependencies_path()), 'role.yml', inventory, self.directory,
            env=env, extra_args=['-e', '@%s' % vars_file], prefix=prefix)
        self.stdout = self.stderr = None

    def wait_for(self, what, timeout=120):
        """Until the run is paused (``'paused'``) or has finished ``what``, a task name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what == 'paused' and os.path.exists(os.path.join(self.directory, 'paused')):
                return
            if any(task['task'].split(' : ', 1)[-1] == what for task in self.tasks()):
                return
            assert self.process.poll() is None, self.finish()
            time.sleep(0.05)
        raise AssertionError('the run did not reach %s: %s' % (what, self.tasks()))

    def resume(self):
        with open(os.path.join(self.directory, 'resume'), 'w'):
            pass

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def finish(self, timeout=300):
        if self.stdout is None:
            self.stdout, self.stderr = self.process.communicate(timeout=timeout)
        return self.stdout + self.stderr

    def tasks(self):
        return recorded_results(self.directory).get(self.name, [])

    def failures(self):
        return [task['result'].get('msg', '') for task in self.tasks() if task['status'] == 'failed']

    def warnings(self):
        return [warning for task in self.tasks() for warning in task['result'].get('warnings', [])]


def state(host):
    """Every place a run's wishes land: (live limit, persisted limits, Redis's backlog lines, granted)."""
    persisted = re.findall(r'^net\.core\.somaxconn\s*=\s*(\d+)$', host.read(SYSCTL_FILE), re.M) \
        if host.run('test', '-e', SYSCTL_FILE, check=False).returncode == 0 else []
    return (host.sysctl('net/core/somaxconn'), [int(value) for value in persisted],
            [int(value) for value in re.findall(r'^tcp-backlog (\d+)$', host.read(REDIS.config), re.M)],
            granted(host, REDIS.port))


def one_runs(limit):
    return (limit, [limit], [RUNS[limit]], [RUNS[limit]] * REDIS.listeners)


def lock_held(host):
    return host.run('test', '-e', LOCK, check=False).returncode == 0


def test_a_second_run_waits_for_the_first_and_stops_on_what_it_changed(host, tmp_path, collections_root):
    # The second reads the host first; then the first takes the lock with its changes and holds it.
    second = Run(host, tmp_path / 'second', collections_root, wishes(8192), pause_after=PLAN_TASK)
    second.wait_for('paused')
    first = Run(host, tmp_path / 'first', collections_root, wishes(2048), pause_after=LOCK_TASK)
    first.wait_for('paused')
    assert lock_held(host)
    second.resume()  # it waits for the lock
    time.sleep(1)
    assert second.process.poll() is None, second.finish()
    first.resume()
    assert first.process.wait(timeout=300) == 0, first.finish()
    assert second.process.wait(timeout=300) != 0, second.finish()
    [failure] = second.failures()
    assert failure.startswith('since this run read the host, another run or someone else changed what it planned on'), failure
    for changed in ('%s: its lines tcp-backlog 511 are now tcp-backlog 200' % REDIS.config,
                    '%s: its lines (none) are now net.core.somaxconn = 2048' % SYSCTL_FILE,
                    'net.core.somaxconn: was 128, is now 2048'):
        assert changed in failure, failure
    assert 'This run changed nothing; run it again' in failure
    assert state(host) == one_runs(2048)
    assert not lock_held(host)  # released by the run that failed on it
    # The next run plans on what is there now, and converges.
    again = Run(host, tmp_path / 'again', collections_root, wishes(8192))
    assert again.process.wait(timeout=300) == 0, again.finish()
    assert state(host) == one_runs(8192)
    assert not lock_held(host)


def test_a_run_whose_service_is_not_back_keeps_the_host_until_its_verification_ends(host, tmp_path, collections_root):
    # The first run's Redis fails to come back (another program holds its port while it restarts): its
    # verification reads for 10 s and finds no listener. A second run, planned meanwhile, waits for the
    # lock until that verification has ended, instead of changing the host under it.
    host.run('service', 'redis-server', 'stop')
    with port_held(host, REDIS.port):
        first = Run(host, tmp_path / 'first', collections_root, wishes(2048, listener_backlog_verify_timeout=10),
                    pause_after=RESTART_TASK)
        first.wait_for('paused')
        # Redis forks before it binds: the port is let go only once its daemon has died on it.
        host.run('sh', '-c', 'for i in $(seq 300); do ps -e -o stat= -o comm= | awk \'$2 == "redis-server" && '
                 '$1 !~ /^Z/\' | grep -q . || exit 0; sleep 0.1; done; exit 1')
    second = Run(host, tmp_path / 'second', collections_root, wishes(8192))
    second.wait_for(PLAN_TASK)
    first.resume()
    # Until the first run's verification is recorded (the lock is released after it, by the run's last
    # task): the second's record is read first, so a lock task it finished is seen before the first's end.
    deadline = time.monotonic() + 120
    while True:
        seconds = [task['task'].split(' : ', 1)[-1] for task in second.tasks()]
        assert LOCK_TASK not in seconds, second.tasks()
        if VERIFY_TASK in [task['task'].split(' : ', 1)[-1] for task in first.tasks()]:
            break
        assert time.monotonic() < deadline and first.process.poll() is None, first.finish()
        time.sleep(0.1)
    first.finish()
    assert first.process.returncode != 0
    [failure] = first.failures()
    assert failure.startswith('Verification failed after 10 s: redis: no listener of a process matching'), failure
    [verified] = [task for task in first.tasks() if task['task'].endswith(VERIFY_TASK)]
    assert verified['result']['released'] is None  # kept: the role's last task released it
    assert second.process.wait(timeout=300) == 0, second.finish()
    assert state(host) == one_runs(8192)
    assert not lock_held(host)


def test_a_run_gives_up_waiting_naming_the_run_that_holds_the_host(host, tmp_path, collections_root):
    first = Run(host, tmp_path / 'first', collections_root, wishes(2048), pause_after=LOCK_TASK)
    first.wait_for('paused')
    paused = state(host)  # the first run's changes made, its lock held, Redis not restarted yet
    second = Run(host, tmp_path / 'second', collections_root, wishes(8192, listener_backlog_lock_wait=2))
    assert second.process.wait(timeout=300) != 0, second.finish()
    [failure] = second.failures()
    pid = json.loads(host.read(LOCK))['pid']
    assert re.match(r'another run of the role holds this host \(a run from controller \S+ \(process %d\) since '
                    r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, its lease ending \S+\), after waiting 2 s for it\. If that run is '
                    r'dead, remove %s and run again\.$' % (pid, re.escape(LOCK)), failure), failure
    assert paused == (2048, [2048], [200], [STOCK_SOMAXCONN] * REDIS.listeners)
    assert state(host) == paused  # the second changed nothing
    first.resume()
    assert first.process.wait(timeout=300) == 0, first.finish()
    assert state(host) == one_runs(2048)
    assert not lock_held(host)


def test_a_lock_left_by_a_killed_run_is_taken_over_by_the_next(host, tmp_path, collections_root):
    first = Run(host, tmp_path / 'first', collections_root, wishes(2048), pause_after=LOCK_TASK)
    first.wait_for('paused')
    held = json.loads(host.read(LOCK))
    first.kill()
    assert lock_held(host)  # nobody released it
    second = Run(host, tmp_path / 'second', collections_root, wishes(8192, listener_backlog_lock_wait=0))
    assert second.process.wait(timeout=300) == 0, second.finish()
    taken = [warning for warning in second.warnings() if warning.startswith('took over the run lock of')]
    assert taken == ['took over the run lock of a run from controller %s (process %d) since %s, its lease ending %s: '
                     'that run ended without releasing it; what it left undone is planned again by this run'
                     % (held['controller'], held['pid'], held['since'], held['expires'])], second.warnings()
    assert state(host) == one_runs(8192)
    assert not lock_held(host)


def test_a_config_edited_between_the_read_and_the_lock_stops_the_run_before_any_change(host, tmp_path,
                                                                                       collections_root):
    redis_pid = int(host.read(REDIS.pid_file))
    run = Run(host, tmp_path / 'run', collections_root, wishes(2048), pause_after=PLAN_TASK)
    run.wait_for('paused')
    # Someone else, between the run's read and its first change.
    host.write(REDIS.config, host.read(REDIS.config).replace('tcp-backlog 511', 'tcp-backlog 300'))
    run.resume()
    assert run.process.wait(timeout=300) != 0, run.finish()
    [failure] = run.failures()
    assert '%s: its lines tcp-backlog 511 are now tcp-backlog 300' % REDIS.config in failure, failure
    assert 'somaxconn' not in failure.split('planned on: ', 1)[1]  # only what changed is named
    assert state(host)[:3] == (STOCK_SOMAXCONN, [], [300])  # the other's edit kept, nothing of the run's
    assert int(host.read(REDIS.pid_file)) == redis_pid  # not restarted
    assert not lock_held(host)
    again = Run(host, tmp_path / 'again', collections_root, wishes(2048))
    assert again.process.wait(timeout=300) == 0, again.finish()
    assert state(host) == one_runs(2048)


def test_two_runs_started_together_leave_one_runs_result(host, tmp_path, collections_root):
    """Unforced: whatever the order their steps interleave in, three times."""
    for attempt in range(3):
        runs = {}

        def start(limit, attempt=attempt):
            runs[limit] = Run(host, tmp_path / ('%d-%d' % (limit, attempt)), collections_root, wishes(limit))

        threads = [threading.Thread(target=start, args=(limit,)) for limit in RUNS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = dict((limit, run.process.wait(timeout=300)) for limit, run in runs.items())
        result = state(host)
        assert result in [one_runs(limit) for limit in RUNS], (attempt, result, codes)
        winner = result[0]
        assert codes[winner] == 0, runs[winner].finish()
        for limit, code in codes.items():
            if code:  # the other run lost the race, and said why
                [failure] = runs[limit].failures()
                assert failure.startswith('since this run read the host'), failure
        assert not lock_held(host)
