# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_lock under the real AnsibleModule, on real files and a real flock.

Runs of the role from end to end (two at once, one killed, a config edited under a plan):
tests/integration/test_role_concurrent.py. Here: each rule of the lock, and the dead-owner test of
its action plugin against real processes of this machine.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import threading
import time

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _lock
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_lock as lock_module
from ansible_collections.netstack.backlog.plugins.plugin_utils import _owner
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, FailJson, run_module

ME = {'id': 'ctl 100 5000 boot/pid:[1]', 'controller': 'ctl', 'pid': 100}
OTHER = {'id': 'ctl 200 6000 boot/pid:[1]', 'controller': 'ctl', 'pid': 200}


@pytest.fixture
def lock_path(tmp_path):
    directory = tmp_path / 'run'
    directory.mkdir(mode=0o755)
    return str(directory / 'netstack-backlog.lock')


def lock(monkeypatch, path, owner=None, **args):
    """The module's result: (result, warnings) when it succeeded, (result, None) when it failed."""
    ended = run_module(monkeypatch, lock_module.main, dict(args, path=path, owner=owner or ME))
    if isinstance(ended, ExitJson):
        return ended.args[0], ended.args[1]
    assert isinstance(ended, FailJson), ended
    return ended.args[0], None


def held_by(path, owner, until):
    with open(path, 'w') as handle:
        json.dump(dict(owner, since='2026-12-04T04:00:00Z', until=until, expires='whenever'), handle)
    os.chmod(path, 0o600)


def test_a_free_host_is_taken_then_released_leaving_no_file(monkeypatch, lock_path):
    result, warnings = lock(monkeypatch, lock_path)
    assert result['changed'] and warnings == []
    stored = json.loads(open(lock_path).read())
    assert dict((key, stored[key]) for key in ME) == ME
    assert stored['until'] - time.time() == pytest.approx(3600, abs=5)
    assert oct(os.stat(lock_path).st_mode & 0o777) == oct(0o600)
    result, warnings = lock(monkeypatch, lock_path, state='absent')
    assert result['changed'] and not os.path.exists(lock_path)
    result, warnings = lock(monkeypatch, lock_path, state='absent')  # nothing to release
    assert not result['changed']


def test_a_live_holder_keeps_the_host_and_is_named(monkeypatch, lock_path):
    held_by(lock_path, OTHER, time.time() + 600)
    before = open(lock_path).read()
    result, warnings = lock(monkeypatch, lock_path, wait=0)
    assert warnings is None
    assert result['msg'] == ('another run of the role holds this host (a run from controller ctl (process 200) since '
                             '2026-12-04T04:00:00Z, its lease ending whenever), after waiting 0 s for it. If that run '
                             'is dead, remove %s and run again.' % lock_path)
    assert result['holder']['id'] == OTHER['id']
    assert open(lock_path).read() == before
    # Nor does another run's release take it away.
    result, warnings = lock(monkeypatch, lock_path, state='absent')
    assert not result['changed'] and result['holder']['id'] == OTHER['id'] and open(lock_path).read() == before


def test_a_waiting_run_gets_the_host_when_the_holder_releases_it(monkeypatch, lock_path):
    held_by(lock_path, OTHER, time.time() + 600)
    releaser = threading.Timer(1.0, os.unlink, [lock_path])
    releaser.start()
    started = time.monotonic()
    result, warnings = lock(monkeypatch, lock_path, wait=30)
    releaser.join()
    assert result['changed'] and warnings == [] and 0.9 < time.monotonic() - started < 30
    assert json.loads(open(lock_path).read())['id'] == ME['id']


@pytest.mark.parametrize('until, take_over', [(-1, None), (600, OTHER['id'])],
                         ids=['its lease ended', 'its run is dead'])
def test_a_lock_whose_owner_is_gone_is_taken_over_with_a_warning(monkeypatch, lock_path, until, take_over):
    held_by(lock_path, OTHER, time.time() + until)
    result, warnings = lock(monkeypatch, lock_path, wait=0, take_over=take_over)
    assert result['changed'] and result['taken_over']['id'] == OTHER['id']
    assert warnings == ['took over the run lock of a run from controller ctl (process 200) since 2026-12-04T04:00:00Z, '
                        'its lease ending whenever: that run ended without releasing it; what it left undone is '
                        'planned again by this run']
    assert json.loads(open(lock_path).read())['id'] == ME['id']


def test_take_over_names_one_owner_and_no_other(monkeypatch, lock_path):
    held_by(lock_path, OTHER, time.time() + 600)
    result, warnings = lock(monkeypatch, lock_path, wait=0, take_over='ctl 300 7000 boot/pid:[1]')
    assert warnings is None and result['holder']['id'] == OTHER['id']


def test_the_same_run_renews_its_lock_keeping_since(monkeypatch, lock_path):
    lock(monkeypatch, lock_path, lease=10)
    first = json.loads(open(lock_path).read())
    result, warnings = lock(monkeypatch, lock_path, lease=600, wait=0)
    again = json.loads(open(lock_path).read())
    assert result['changed'] and warnings == [] and again['since'] == first['since'] and again['until'] > first['until']


def test_an_empty_or_torn_lock_file_holds_nothing(monkeypatch, lock_path):
    for content in ('', '{"id": "ctl 2'):
        with open(lock_path, 'w') as handle:
            handle.write(content)
        result, warnings = lock(monkeypatch, lock_path, wait=0)
        assert result['changed'] and warnings == [] and result['taken_over'] is None
        lock(monkeypatch, lock_path, state='absent')


def test_of_many_runs_asking_at_once_exactly_one_gets_the_host(lock_path):
    """The read and the write happen under flock: no two can both see the lock free."""
    won = []

    def ask(index):
        with _lock.LockFile(lock_path) as held:
            taken = _lock.try_take(held, dict(ME, id='run %d' % index), 600, None, time.time(), False)
        if taken[0]:
            won.append(index)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert json.loads(open(lock_path).read())['id'] == 'run %d' % won[0]


@pytest.mark.parametrize('make', ['world-writable directory', 'symlink', 'directory'])
def test_a_lock_path_others_could_plant_is_refused(monkeypatch, lock_path, tmp_path, make):
    if make == 'world-writable directory':
        os.chmod(os.path.dirname(lock_path), 0o1777)  # as /run/lock is
        expected = 'the run lock needs a directory only its user can write, and %s is not (mode 1777' % (
            os.path.dirname(lock_path))
    elif make == 'symlink':
        target = tmp_path / 'elsewhere'
        target.write_text('')
        os.symlink(str(target), lock_path)
        expected = 'the run lock %s: [Errno 40]' % lock_path
    else:
        os.mkdir(lock_path)
        expected = 'the run lock %s: [Errno 21]' % lock_path
    result, warnings = lock(monkeypatch, lock_path, wait=0)
    assert warnings is None and expected in result['msg'], result['msg']
    if make == 'symlink':
        assert (tmp_path / 'elsewhere').read_text() == ''


def test_what_the_plan_was_made_on_is_read_again_and_a_change_stops_the_run(monkeypatch, lock_path, tmp_path):
    config = tmp_path / 'redis.conf'
    config.write_text('bind 127.0.0.1\ntcp-backlog 511\n')
    sysctl_file = tmp_path / '90-listener-backlog.conf'
    live = {'net.core.somaxconn': '128'}
    monkeypatch.setattr(lock_module, 'sysctl_reader', lambda module: live.get)
    unchanged = {
        'files': [{'path': str(config), 'patterns': [r'^\s*tcp-backlog\s'], 'exists': True,
                   'lines': ['tcp-backlog 511\n']},
                  {'path': str(tmp_path / 'absent.conf'), 'patterns': [], 'exists': False, 'lines': None}],
        'sysctl_file': {'path': str(sysctl_file), 'keys': ['net.core.somaxconn'], 'lines': {}},
        'sysctls': {'net.core.somaxconn': '128'}}
    result, warnings = lock(monkeypatch, lock_path, unchanged=unchanged)
    assert result['changed'] and result['changed_since_read'] == []
    lock(monkeypatch, lock_path, state='absent')

    config.write_text('bind 127.0.0.2\ntcp-backlog 511\n')  # a line the plan does not use: no conflict
    result, warnings = lock(monkeypatch, lock_path, unchanged=unchanged)
    assert result['changed_since_read'] == []
    lock(monkeypatch, lock_path, state='absent')

    config.write_text('bind 127.0.0.1\ntcp-backlog 300\n')
    sysctl_file.write_text('net.core.somaxconn = 2048\n')
    (tmp_path / 'absent.conf').write_text('')
    live['net.core.somaxconn'] = '2048'
    result, warnings = lock(monkeypatch, lock_path, unchanged=unchanged)
    assert warnings is None
    assert result['changed_since_read'] == [
        '%s: its lines tcp-backlog 511 are now tcp-backlog 300' % config,
        '%s: it was created' % (tmp_path / 'absent.conf'),
        '%s: its lines (none) are now net.core.somaxconn = 2048' % sysctl_file,
        'net.core.somaxconn: was 128, is now 2048']
    assert result['msg'] == ('since this run read the host, another run or someone else changed what it planned on: %s. '
                             'This run changed nothing; run it again to plan on what is there now.'
                             % '; '.join(result['changed_since_read']))
    assert not os.path.exists(lock_path)  # released with the failure


def test_check_mode_writes_no_lock(monkeypatch, lock_path):
    result, warnings = lock(monkeypatch, lock_path, _ansible_check_mode=True)
    assert result['changed'] and not os.path.getsize(lock_path)


# -- the action plugin: whose run is dead -------------------------------------------------


def test_the_owner_is_the_controllers_main_process_and_it_is_alive():
    here = _owner.owner()
    assert here['pid'] == os.getppid() and here['id'].split(' ')[:2] == [here['controller'], str(os.getppid())]
    assert not _owner.dead(here, _owner.owner(os.getpid()))


def test_a_holder_whose_process_ended_or_whose_pid_was_reused_is_dead():
    process = subprocess.Popen(['sleep', '60'])
    holder = _owner.owner(process.pid)
    here = _owner.owner(os.getpid())
    assert not _owner.dead(holder, here)
    process.kill()
    process.wait()
    assert _owner.dead(holder, here)
    # The same pid, started at another time (a later process that got the number).
    parts = _owner.owner(os.getpid())['id'].split(' ')
    reused = dict(holder, id=' '.join([parts[0], parts[1], str(int(parts[2]) + 1), parts[3]]))
    assert _owner.dead(reused, here)


@pytest.mark.parametrize('change', ['controller', 'kernel', 'unknown kernel', 'garbage'])
def test_a_holder_of_another_controller_or_kernel_is_left_to_its_lease(change):
    process = subprocess.Popen(['true'])
    process.wait()
    here = _owner.owner(os.getpid())
    controller, pid, started, kernel = _owner.owner(process.pid)['id'].split(' ')
    holder_id = {'controller': ' '.join(['elsewhere', pid, started, kernel]),
                 'kernel': ' '.join([controller, pid, started, 'otherboot/pid:[1]']),
                 'unknown kernel': ' '.join([controller, pid, started, 'None']),
                 'garbage': 'x'}[change]
    if change == 'unknown kernel':
        here = dict(here, kernel=None)
    assert not _owner.dead({'id': holder_id}, here)


def test_a_holder_that_is_a_zombie_not_yet_reaped_is_dead():
    """A killed run's ansible-playbook stays a zombie until its new parent reaps it: /proc still lists it."""
    process = subprocess.Popen(['sleep', '0.3'])
    holder = _owner.owner(process.pid)
    here = _owner.owner(os.getpid())
    assert not _owner.dead(holder, here)
    deadline = time.monotonic() + 10
    while open('/proc/%d/stat' % process.pid).read().rsplit(')', 1)[1].split()[0] != 'Z':
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _owner.dead(holder, here)  # exited, not reaped (nobody waited yet)
    process.wait()
