# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_plan's one read and one plan, with the host's answer fed in.

The answer is the facts recorded on a Debian 12 host (tests/unit/plugins/plugin_utils/fixtures,
SOURCES.yml) as listener_backlog_read returns them; the role's runs on real hosts are in
tests/integration. What is checked here: one module run on the host, with what the plan needs,
and one result with the facts and the whole plan.
"""

from __future__ import annotations

import copy
import json
import os

from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task

from ansible_collections.netstack.backlog.plugins.action import listener_backlog_plan as action
from ansible_collections.netstack.backlog.plugins.plugin_utils import _role
from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'plugin_utils', 'fixtures')


class FakeShell(object):
    tmpdir = None


class FakeConnection(object):
    _shell = FakeShell()


def answer(redis_lines=('tcp-backlog 511\n',), backlog=511):
    """What listener_backlog_read returns on the recorded Debian 12 host, with Redis installed and listening."""
    with open(os.path.join(FIXTURES, 'debian12-netns-128.json')) as handle:
        facts = json.load(handle)
    facts['listener_backlog_files'] = [{'path': '/etc/redis/redis.conf', 'pattern': None, 'exists': True,
                                        'islnk': False, 'lnk_source': None, 'lines': list(redis_lines)}]
    facts['listener_backlog_listeners'] = [{'address': '127.0.0.1', 'port': 6379, 'family': 'ipv4',
                                            'backlog': backlog, 'queued': 0, 'pid': 7,
                                            'process': 'redis-server'}]
    facts['listener_backlog_unix_listeners'] = []
    return {'changed': False, 'ansible_facts': dict(('ansible_' + key, value) for key, value in facts.items()),
            'warnings': ['a warning of the read']}


def run(args, reply=None, task_vars=None, check_mode=False):
    task = Task.load({'action': {'module': 'netstack.backlog.listener_backlog_plan', 'args': args}})
    context = PlayContext()
    context.check_mode = check_mode
    plugin = action.ActionModule(task, FakeConnection(), play_context=context, loader=None, templar=None,
                                 shared_loader_obj=None)
    ran = []

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        ran.append((module_name, copy.deepcopy(module_args)))
        return copy.deepcopy(reply if reply is not None else answer())

    plugin._execute_module = execute_module
    plugin._remove_tmp_path = lambda path: None
    return plugin.run(task_vars=task_vars or {}), ran


VARIABLES = {'somaxconn': 4096, 'services': [{'name': 'redis'}], 'namespaces': 'warn', 'persist': True,
             'sysctl_file': None, 'restart': True}


def test_one_read_of_the_host_and_the_whole_plan_in_one_result():
    result, ran = run({'stage': 'plan', 'variables': VARIABLES})
    assert not result.get('failed'), result
    assert ran == [('netstack.backlog.listener_backlog_read', _role.read_arguments(VARIABLES, CATALOGUE))]
    # The facts as read, for the play; the plan made on them, the services with the limit after tuning.
    assert result['ansible_facts']['ansible_listener_backlog'] == 128
    assert 'ansible_listener_backlog_listeners' in result['ansible_facts']
    assert not set(result['ansible_facts']) & {'ansible_listener_backlog_files', 'ansible_listener_backlog_tuning'}
    assert result['tuning']['limit'] == 4096 and result['tuning']['tune'] is True
    [redis] = result['services']
    assert (redis['config'], redis['backlog'], redis['edit_needed']) == ('/etc/redis/redis.conf', 4096, True)
    assert result['work']['any'] is True and result['work']['services'] is True
    assert result['unchanged']['files'][0]['lines'] == ['tcp-backlog 511\n']
    assert result['warnings'][0] == 'a warning of the read'
    assert result['changed'] is False


def test_a_bad_choice_is_refused_before_the_host_is_read():
    result, ran = run({'stage': 'plan', 'variables': dict(VARIABLES, namespaces='sometimes')})
    assert result['failed'] and 'listener_backlog_namespaces' in result['msg'], result
    assert ran == []


def test_a_bad_value_is_refused_naming_it_after_the_read_and_before_any_change():
    result, ran = run({'stage': 'plan', 'variables': dict(VARIABLES, somaxconn=-1)})
    assert result['failed'] and result['msg'].startswith('listener_backlog_somaxconn is -1;'), result
    assert len(ran) == 1


def test_a_failed_read_is_said_in_the_modules_words():
    result, ran = run({'stage': 'plan', 'variables': VARIABLES}, reply={'failed': True, 'msg': 'no /proc'})
    assert result == dict(result, failed=True, msg='reading the host failed: no /proc')


def test_the_decision_after_the_edits_restarts_what_they_changed_and_runs_nothing():
    planned, dummy = run({'stage': 'plan', 'variables': VARIABLES})
    facts = dict((key[len('ansible_'):], value) for key, value in planned['ansible_facts'].items())
    edits = [dict(planned['changes']['edits'][0], changed=True)]
    result, ran = run({'stage': 'actions', 'variables': VARIABLES, 'services': planned['services'], 'edits': edits,
                       'templates': {'results': []}}, task_vars={'ansible_facts': facts})
    assert ran == []
    assert [(entry['service'], entry['state'], entry['reason']) for entry in result['apply']] == [
        ('redis-server', 'restarted', 'redis: /etc/redis/redis.conf changed')]
    assert result['ansible_facts'] == {'listener_backlog_restart_required': []}


def test_a_read_that_never_ran_keeps_what_the_interpreter_said():
    result, ran = run({'stage': 'plan', 'variables': VARIABLES}, reply={
        'failed': True, 'msg': 'Module result deserialization failed: No start of json char found', 'rc': 127,
        'module_stderr': 'pyenv: python3.13: command not found\n', 'module_stdout': ''})
    assert result['msg'] == ('reading the host failed: Module result deserialization failed: No start of json char '
                             'found')
    assert (result['rc'], result['module_stderr']) == (127, 'pyenv: python3.13: command not found\n')


def test_the_lock_ends_with_the_changes_when_nothing_after_them_changes_the_host():
    tuning_only, dummy = run({'stage': 'plan', 'variables': {'somaxconn': 4096}})
    assert tuning_only['changes']['release'] is True and tuning_only['changes']['edits'] == []
    assert [entry['key'] for entry in tuning_only['changes']['sysctls']] == ['net.core.somaxconn']
    with_services, dummy = run({'stage': 'plan', 'variables': VARIABLES})
    # The services are restarted and verified after the edits: the verification's read ends the lock.
    assert with_services['changes']['release'] is False
    assert [(entry['name'], sorted(entry)) for entry in with_services['changes']['edits']] == [
        ('redis', ['backlog', 'config', 'edit', 'name', 'validate'])]
