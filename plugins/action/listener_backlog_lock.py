# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run lock, with the owner named on the controller (plugin_utils/_owner.py)."""

from __future__ import annotations

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_lock as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils._owner import LockingAction
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


class ActionModule(LockingAction):

    MODULE = 'netstack.backlog.listener_backlog_lock'
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION, leave_out=('owner', 'take_over'))
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def call(self, task_vars, args):
        if args['state'] == 'absent':
            return self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        return super(ActionModule, self).call(task_vars, args)
