# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin picks the module by the connection's shell family.

No Windows host can run here, so the shells are ansible-core's real shell
plugins (powershell, cmd, sh) and the module execution is replaced by a
recorder: what is checked is which module would run, with which arguments.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible_collections.netstack.backlog.plugins.action import listener_backlog_facts as action


class FakeConnection(object):
    has_native_async = False

    def __init__(self, shell):
        self._shell = shell


def run_task(shell_name, args):
    task = Task.load({'action': {'module': 'netstack.backlog.listener_backlog_facts', 'args': args}})
    shell = shell_loader.get(shell_name)
    plugin = action.ActionModule(task, FakeConnection(shell), play_context=None, loader=None,
                                 templar=None, shared_loader_obj=None)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        calls.append((module_name, dict(module_args), wrap_async))
        return {'ansible_facts': {'ansible_listener_backlog': 200}, 'changed': False}

    plugin._execute_module = execute_module
    plugin._remove_tmp_path = lambda path: None
    result = plugin.run(task_vars={})
    return calls, result


@pytest.mark.parametrize('shell_name, module', [
    ('powershell', 'netstack.backlog.win_listener_backlog_facts'),
    ('cmd', 'netstack.backlog.win_listener_backlog_facts'),
    ('sh', 'netstack.backlog.listener_backlog_facts'),
])
def test_shell_family_selects_the_module(shell_name, module):
    calls, result = run_task(shell_name, {'listeners': True})
    assert calls == [(module, {'listeners': True}, False)]
    assert result['ansible_facts']['ansible_listener_backlog'] == 200


def test_unknown_shell_family_runs_the_python_module():
    class FishLikeShell(object):
        SHELL_FAMILY = 'fish'

    assert action.module_for_shell(FishLikeShell()) == action.POSIX_MODULE


@pytest.mark.parametrize('option', ['unix_listeners', 'namespaces', 'namespace_listeners'])
def test_linux_only_option_false_is_dropped_for_windows(option):
    calls, result = run_task('powershell', {'listeners': True, option: False})
    assert calls == [('netstack.backlog.win_listener_backlog_facts', {'listeners': True}, False)]


@pytest.mark.parametrize('option', ['unix_listeners', 'namespaces', 'namespace_listeners'])
def test_linux_only_option_true_fails_on_windows_without_running_anything(option):
    calls, result = run_task('powershell', {option: 'yes'})
    assert calls == []
    assert result['failed'] and result['msg'] == '%s=true is supported on Linux only, not on Windows' % option


@pytest.mark.parametrize('option', ['unix_listeners', 'namespaces', 'namespace_listeners'])
def test_linux_only_options_reach_the_posix_module_unchanged(option):
    calls, result = run_task('sh', {option: True})
    assert calls == [('netstack.backlog.listener_backlog_facts', {option: True}, False)]


def test_skip_unsupported_leaves_the_linux_and_tuning_options_out_for_windows():
    calls, result = run_task('powershell', {'listeners': True, 'unix_listeners': True, 'namespaces': True,
                                            'namespace_listeners': False, 'namespaces_below': 4096,
                                            'tuning': {'persist': True}, 'skip_unsupported': True})
    assert calls == [('netstack.backlog.win_listener_backlog_facts', {'listeners': True}, False)]
    assert not result.get('failed')


def test_namespaces_below_is_dropped_for_windows_and_reaches_the_posix_module_unchanged():
    calls, result = run_task('powershell', {'listeners': True, 'namespaces': False, 'namespaces_below': 4096})
    assert calls == [('netstack.backlog.win_listener_backlog_facts', {'listeners': True}, False)]
    args = {'namespaces': True, 'namespace_listeners': False, 'namespaces_below': 4096}
    calls, result = run_task('sh', args)
    assert calls == [('netstack.backlog.listener_backlog_facts', args, False)]


def test_skip_unsupported_reaches_the_posix_module_unchanged():
    args = {'unix_listeners': True, 'tuning': {'persist': False}, 'skip_unsupported': True}
    calls, result = run_task('sh', args)
    assert calls == [('netstack.backlog.listener_backlog_facts', args, False)]
