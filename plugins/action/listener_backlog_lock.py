# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run lock, with the owner named on the controller (plugin_utils/_owner.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_lock as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils._owner import owner, take_lock
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec

MODULE = 'netstack.backlog.listener_backlog_lock'


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION, leave_out=('owner', 'take_over'))
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def _lock(self, task_vars, **args):
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        args = dict((key, value) for key, value in args.items() if value is not None)
        args['owner'] = owner()
        try:
            if args['state'] == 'present':
                found = take_lock(lambda asked: self._lock(task_vars, **asked), args,
                                  lambda failed: not failed.get('changed_since_read'))
            else:
                found = self._lock(task_vars, **args)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return merge_hash(result, found)
