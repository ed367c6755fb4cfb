# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Emit Ansible warnings from a task (the role's clamps and overrides are warnings, not debug output)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.netstack.backlog.plugins.modules import warn as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION)
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # ArgumentSpecValidator checks that msg is there; raw, since a list type would turn 5 into ['5'].
        dummy, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        messages = args['msg']
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(messages, list) or not all(isinstance(item, str) for item in messages):
            raise AnsibleActionFail('msg must be a string or a list of strings, got %r' % (messages,))
        result['changed'] = False
        result['warnings'] = [item for item in messages if item]
        result['msg'] = '%d warning(s)' % len(result['warnings'])
        return result
