# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible_collections.netstack.backlog.plugins.action import warn


class FakeConnection(object):
    """ActionBase asks the connection for its shell; nothing runs on a host."""
    _shell = shell_loader.get('sh')


def run(args):
    task = Task.load({'action': 'netstack.backlog.warn', 'args': args})
    plugin = warn.ActionModule(task, connection=FakeConnection(), play_context=None, loader=None, templar=None,
                               shared_loader_obj=None)
    return plugin.run(task_vars={})


def test_a_message_becomes_a_warning_and_changes_nothing():
    result = run({'msg': 'nginx asks for 8192 but the limit is 4096'})
    assert result['warnings'] == ['nginx asks for 8192 but the limit is 4096']
    assert result['changed'] is False


def test_a_list_gives_one_warning_each_and_drops_empty_ones():
    assert run({'msg': ['one', '', 'two']})['warnings'] == ['one', 'two']


@pytest.mark.parametrize('value', [5, {'a': 1}, ['ok', 3]])
def test_anything_else_is_refused_with_the_value(value):
    with pytest.raises(AnsibleActionFail) as error:
        run({'msg': value})
    assert repr(value) in str(error.value)
