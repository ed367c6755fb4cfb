# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_verify's decisions, with the host's answers fed in.

The fact module's answer and the commands' output are what the real ones return (their end to end
use is in tests/integration/test_role_services.py); what is checked here is what the action makes
of them: pass, fail once with the reason and the log, pending, or a service that listens nowhere.
"""

from __future__ import annotations

import pytest
from ansible.playbook.task import Task

from ansible_collections.netstack.backlog.plugins.action import listener_backlog_verify as action
from ansible_collections.netstack.backlog.plugins.module_utils._listeners import backlog_mismatches

REDIS = {'name': 'redis', 'process': '^redis-server', 'backlog': 4096, 'unix': False,
         'log': '/var/log/redis/redis-server.log'}
HAPROXY = {'name': 'haproxy', 'process': '^haproxy', 'backlog': 4096, 'unix': False, 'log': '/var/log/haproxy.log'}


class FakeShell(object):
    tmpdir = None


class FakeConnection(object):
    _shell = FakeShell()


def run(args, listeners, commands=None):
    task = Task.load({'action': {'module': 'netstack.backlog.listener_backlog_verify', 'args': args}})
    plugin = action.ActionModule(task, FakeConnection(), play_context=None, loader=None, templar=None,
                                 shared_loader_obj=None)
    ran = []

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        ran.append(module_name)
        return {'ansible_facts': {'ansible_listener_backlog_listeners': listeners}}

    def low_level(command, **kwargs):
        ran.append(command)
        return {'rc': 0, 'stdout': (commands or {}).get(command.split()[0], ''), 'stderr': ''}

    plugin._execute_module = execute_module
    plugin._low_level_execute_command = low_level
    plugin._remove_tmp_path = lambda path: None
    return plugin.run(task_vars={}), ran


def redis_listener(backlog):
    return {'address': '127.0.0.1', 'port': 6379, 'family': 'ipv4', 'backlog': backlog, 'queued': 0, 'pid': 7,
            'process': 'redis-server'}


def test_with_release_the_read_that_finds_every_listener_right_ends_the_runs_lock(monkeypatch):
    # Redis restarted: not listening, then its old socket's backlog, then the new one. Each read asks for the
    # release on the services checked; the module releases with the read that finds them right.
    answers = [[], [redis_listener(128)], [redis_listener(4096)]]
    result, reads, dummy = run_reads(monkeypatch, {'expected': [REDIS, HAPROXY], 'pending': [{'names': ['haproxy']}],
                                                   'timeout': 10, 'release': True}, answers)
    asked = run_reads.asked
    assert not result.get('failed') and len(reads) == 3
    assert [sorted(release) for release in asked] == [['controller', 'id', 'pid', 'when_matching']] * 3
    assert asked[0]['when_matching'] == [{'name': 'redis', 'process': '^redis-server', 'backlog': 4096,
                                          'unix': False}]  # HAProxy waits for a restart: not checked, no bar
    assert result['released']['until'] == 1796387408.66


def test_a_verification_that_fails_keeps_the_lock_for_the_roles_last_task(monkeypatch):
    result, reads, dummy = run_reads(monkeypatch, {'expected': [REDIS], 'timeout': 2, 'release': True},
                                     [[redis_listener(128)]])
    assert result['failed'] and result['released'] is None and len(run_reads.asked) == len(reads) == 3
    result, reads, dummy = run_reads(monkeypatch, {'expected': [REDIS], 'timeout': 0}, [[redis_listener(4096)]])
    assert result['released'] is None and run_reads.asked == [None]  # without release, none asked


def test_right_listeners_pass_in_one_read():
    result, ran = run({'expected': [REDIS], 'timeout': 0}, [redis_listener(4096)])
    assert not result.get('failed') and ran == ['netstack.backlog.listener_backlog_read']


def test_a_listener_off_fails_once_with_the_reason_and_the_services_log():
    result, ran = run({'expected': [REDIS], 'timeout': 0}, [redis_listener(128)],
                      {'tail': "# WARNING: The TCP backlog setting of 4096 cannot be enforced\n"})
    assert result['failed'] is True
    assert result['msg'] == ('Verification failed after 0 s: redis on 127.0.0.1:6379: expected backlog 4096, the kernel '
                             "granted 128 (redis's log /var/log/redis/redis-server.log ends: # WARNING: The TCP backlog "
                             'setting of 4096 cannot be enforced)')


def test_services_that_wait_for_a_restart_are_pending_not_failed():
    pending = [{'service': 'redis-server', 'names': ['redis'], 'state': 'restarted', 'reason': 'x'}]
    result, ran = run({'expected': [REDIS], 'pending': pending, 'timeout': 0}, [redis_listener(128)])
    assert not result.get('failed')
    assert result['pending'] == ['redis on 127.0.0.1:6379: expected backlog 4096, the kernel granted 128']
    assert result['warnings'][0].startswith('waiting for a restart (listener_backlog_restart is false): redis on')


def test_a_service_running_with_no_listener_is_named_one_not_running_fails():
    result, ran = run({'expected': [HAPROXY], 'timeout': 0}, [], {'ps': 'Ss   systemd\nSsl  haproxy\nSs   sshd\n'})
    assert not result.get('failed'), result
    assert result['warnings'][0].startswith('haproxy runs but has no listener of its own')
    result, ran = run({'expected': [HAPROXY], 'timeout': 0}, [], {'ps': 'Ss   systemd\nSs   sshd\n'})
    assert result['failed'] is True and 'haproxy: no listener' in result['msg']


def test_a_daemon_left_a_zombie_after_failing_to_bind_is_not_running():
    # Redis forks, the child fails to bind and exits: until reaped it shows as a zombie.
    result, ran = run({'expected': [REDIS], 'timeout': 0}, [], {'ps': 'S    sleep\nZ    redis-server\n'})
    assert result['failed'] is True and 'redis: no listener' in result['msg']


class FakeClock(object):
    """time.monotonic and time.sleep for the action: sleeping advances the clock, nothing waits."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def run_reads(monkeypatch, args, answers):
    """run() where the fact module answers ``answers`` in turn (the last one repeated)."""
    clock = FakeClock()
    monkeypatch.setattr(action, 'time', clock)
    reads = []

    def listeners():
        reads.append(clock.now)
        return answers[min(len(reads), len(answers)) - 1]

    task = Task.load({'action': {'module': 'netstack.backlog.listener_backlog_verify', 'args': args}})
    plugin = action.ActionModule(task, FakeConnection(), play_context=None, loader=None, templar=None,
                                 shared_loader_obj=None)
    asked = []

    def execute_module(module_args=None, **kwargs):
        found = listeners()
        reply = {'ansible_facts': {'ansible_listener_backlog_listeners': found}}
        release = module_args.get('release')
        asked.append(release)
        if release:
            # listener_backlog_read's release.when_matching, by the module's own rule.
            reply['mismatches'] = backlog_mismatches(found, release['when_matching'])
            reply['released'] = None if reply['mismatches'] else {'id': release['id'], 'until': 1796387408.66}
        return reply

    plugin._execute_module = execute_module
    plugin._low_level_execute_command = lambda command, **kwargs: {'rc': 0, 'stdout': '', 'stderr': ''}
    plugin._remove_tmp_path = lambda path: None
    run_reads.asked = asked
    return plugin.run(task_vars={}), reads, clock


def test_a_restarted_daemon_that_listens_late_is_read_again_until_it_has_its_backlog(monkeypatch):
    # Redis restarted: no listener for two reads, then the old socket's backlog, then the new one.
    answers = [[], [], [redis_listener(128)], [redis_listener(4096)]]
    result, reads, clock = run_reads(monkeypatch, {'expected': [REDIS], 'timeout': 10}, answers)
    assert not result.get('failed'), result
    assert result['msg'] == 'every managed listener has its backlog'
    assert len(reads) == 4 and clock.slept == [1, 1, 1]  # one read a second, none after the right one


def test_a_listener_still_off_at_the_timeout_fails_after_reading_for_that_long(monkeypatch):
    result, reads, clock = run_reads(monkeypatch, {'expected': [REDIS], 'timeout': 5}, [[redis_listener(128)]])
    assert result['failed'] is True
    assert result['msg'].startswith('Verification failed after 5 s: redis')
    # Read at 0, 1, ... 5 s: the last read is at the deadline, then no more sleeping.
    assert reads == [1000.0 + second for second in range(6)] and clock.slept == [1] * 5


def test_timeout_zero_reads_once(monkeypatch):
    result, reads, clock = run_reads(monkeypatch, {'expected': [REDIS], 'timeout': 0}, [[redis_listener(128)]])
    assert result['failed'] is True and len(reads) == 1 and clock.slept == []


def report(failed, commands):
    """The failure report of ``failed`` (service results), the host answering ``commands``: {first word: (rc, out, err)}."""
    task = Task.load({'action': {'module': 'netstack.backlog.listener_backlog_verify', 'args': {'failed': failed}}})
    plugin = action.ActionModule(task, FakeConnection(), play_context=None, loader=None, templar=None,
                                 shared_loader_obj=None)
    ran = []

    def low_level(command, **kwargs):
        ran.append(command)
        rc, out, err = commands.get(command.split()[0], (0, '', ''))
        return {'rc': rc, 'stdout': out, 'stderr': err}

    plugin._execute_module = lambda **kwargs: pytest.fail('a failure report reads no listeners')
    plugin._low_level_execute_command = low_level
    return plugin.run(task_vars={}), ran


NGINX_RELOAD = {'failed': True, 'msg': 'Reloading nginx configuration: nginx failed!', 'stdout': '', 'stderr': '',
                'item': {'service': 'nginx', 'state': 'reloaded', 'log': '/var/log/nginx/error.log',
                         'check': 'nginx -t'}}


def test_a_failed_reload_is_said_with_the_services_own_check_and_log():
    # nginx -t's words as nginx 1.22 prints them (tests/integration/test_role_faults.py makes it say so).
    result, ran = report([NGINX_RELOAD], {
        'nginx': (1, '', 'nginx: [emerg] duplicate listen options for 0.0.0.0:80 in /etc/nginx/sites-enabled/other:2\n'
                         'nginx: configuration file /etc/nginx/nginx.conf test failed\n'),
        'tail': (0, '2026/12/04 [emerg] 7#7: duplicate listen options\n', '')})
    assert result['failed'] is True
    assert result['msg'] == (
        'nginx failed to reload: Reloading nginx configuration: nginx failed! (nginx -t says: nginx: [emerg] duplicate '
        'listen options for 0.0.0.0:80 in /etc/nginx/sites-enabled/other:2 | nginx: configuration file '
        '/etc/nginx/nginx.conf test failed) (its log /var/log/nginx/error.log ends: 2026/12/04 [emerg] 7#7: duplicate '
        'listen options)')
    assert ran == ['nginx -t', 'tail -n 20 /var/log/nginx/error.log']


def test_a_check_that_passes_is_not_said_and_one_line_per_service():
    redis = {'failed': True, 'msg': 'Starting redis-server: failed', 'item': {
        'service': 'redis-server', 'state': 'restarted', 'log': '', 'check': ''}}
    result, ran = report([NGINX_RELOAD, redis], {'nginx': (0, 'syntax is ok', ''), 'tail': (0, '', '')})
    assert result['msg'].split('\n') == ['nginx failed to reload: Reloading nginx configuration: nginx failed!',
                                         'redis-server failed to restart: Starting redis-server: failed']


def test_a_failure_that_is_no_services_result_is_said_as_it_is():
    result, ran = report([{'failed': True, 'msg': "'dict object' has no attribute 'service'"}], {})
    assert result['failed'] is True and result['msg'] == "'dict object' has no attribute 'service'"
    assert ran == []
