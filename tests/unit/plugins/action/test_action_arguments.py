# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugins check their arguments with ansible-core's ArgumentSpecValidator, against the
spec their module files document (plugins/plugin_utils/_spec.py): a wrong argument is refused
before anything runs, naming it, as a module's would be."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader

from ansible_collections.netstack.backlog.plugins.action import listener_backlog_apply, listener_backlog_lock
from ansible_collections.netstack.backlog.plugins.action import listener_backlog_plan
from ansible_collections.netstack.backlog.plugins.action import listener_backlog_verify, warn
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec

ACTIONS = {'listener_backlog_apply': listener_backlog_apply, 'listener_backlog_lock': listener_backlog_lock,
           'listener_backlog_plan': listener_backlog_plan,
           'listener_backlog_verify': listener_backlog_verify, 'warn': warn}


class FakeConnection(object):
    _shell = shell_loader.get('sh')


def run(name, args):
    task = Task.load({'action': 'netstack.backlog.' + name, 'args': args})
    plugin = ACTIONS[name].ActionModule(task, FakeConnection(), play_context=None, loader=None, templar=None,
                                        shared_loader_obj=None)

    def execute_module(**kwargs):
        raise AssertionError('a module ran with arguments the spec refuses: %r' % (kwargs,))

    plugin._execute_module = execute_module
    return plugin.run(task_vars={})


@pytest.mark.parametrize('name, args, said', [
    ('listener_backlog_lock', {'wait': 'soon'}, "argument 'wait' is of type"),
    ('listener_backlog_lock', {'state': 'held'}, 'value of state must be one of: present, absent, got: held'),
    ('listener_backlog_lock', {'owner': {'id': 'forged'}}, 'Invalid options for netstack.backlog.listener_backlog_lock: owner'),
    ('listener_backlog_apply', {'wait': 'soon'}, "argument 'wait' is of type"),
    ('listener_backlog_apply', {'edits': 'redis'}, "Elements value for option 'edits' is of type"),
    ('listener_backlog_apply', {'take_over': 'ctl 1 2 x'},
     'Invalid options for netstack.backlog.listener_backlog_apply: take_over'),
    ('listener_backlog_plan', {'stage': 'apply', 'variables': {}},
     'value of stage must be one of: plan, actions, expected, got: apply'),
    ('listener_backlog_plan', {'stage': 'plan'}, 'missing required arguments: variables'),
    ('listener_backlog_verify', {'expected': [], 'timeout': 'ten'}, "argument 'timeout' is of type"),
    ('listener_backlog_verify', {'failed': ['not a result']}, "Elements value for option 'failed' is of type"),
    ('listener_backlog_verify', {'timeout': 1}, 'needs expected (the services to verify) or failed'),
    ('warn', {}, 'missing required arguments: msg'),
])
def test_a_wrong_argument_is_refused_naming_it_before_anything_runs(name, args, said):
    with pytest.raises(AnsibleActionFail) as error:
        run(name, args)
    assert said in str(error.value), str(error.value)


def test_the_spec_is_what_the_module_documents():
    documentation = '''
options:
  state: {description: x, type: str, choices: [present, absent], default: present}
  items: {description: y, type: list, elements: dict, required: true, version_added: 1.2.0}
  owner: {description: z, type: dict}
'''
    assert argument_spec(documentation, leave_out=('owner',)) == {
        'state': {'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
        'items': {'type': 'list', 'elements': 'dict', 'required': True}}


def test_the_spec_takes_this_collections_doc_fragments_and_refuses_others():
    documentation = '''
extends_documentation_fragment: [netstack.backlog.lock]
options:
  lease: {description: x, type: int, default: 60}
'''
    assert argument_spec(documentation) == {'wait': {'type': 'int', 'default': 120},
                                            'lease': {'type': 'int', 'default': 60}}
    with pytest.raises(ValueError, match='ansible.builtin.action_common_attributes: only this collection'):
        argument_spec('{extends_documentation_fragment: [ansible.builtin.action_common_attributes], options: {}}')


def test_fragments_merge_as_ansible_doc_merges_them():
    # A string names fragments separated by commas; what is there first wins, key by key; no options of its own.
    assert argument_spec('{extends_documentation_fragment: "netstack.backlog.lock, netstack.backlog.lock"}') == {
        'wait': {'type': 'int', 'default': 120}, 'lease': {'type': 'int', 'default': 3600}}
