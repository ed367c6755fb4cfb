# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One task name for every platform.

A ``listener_backlog_facts.ps1`` beside the ``.py`` cannot serve Windows: in a
collection the module loader then picks the ``.ps1`` for POSIX hosts as well.
So this action plugin looks at the connection's shell family and runs the
Python module or the PowerShell module ``win_listener_backlog_facts``.
``gather_facts`` with ``FACTS_MODULES`` calls modules directly and does not come
through here; Windows hosts list ``win_listener_backlog_facts`` there.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

POSIX_MODULE = 'netstack.backlog.listener_backlog_facts'
WINDOWS_MODULE = 'netstack.backlog.win_listener_backlog_facts'
WINDOWS_SHELL_FAMILIES = ('powershell', 'cmd')
LINUX_ONLY_OPTIONS = ('unix_listeners', 'namespaces', 'namespace_listeners')


def module_for_shell(shell):
    """The module that serves a connection whose shell plugin is ``shell``."""
    family = getattr(shell, 'SHELL_FAMILY', None)
    if family in WINDOWS_SHELL_FAMILIES or getattr(shell, '_IS_WINDOWS', False):
        return WINDOWS_MODULE
    return POSIX_MODULE


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5; the connection's tmpdir is used
        wrap_async = self._task.async_val and not self._connection.has_native_async
        module_name = module_for_shell(self._connection._shell)
        module_args = dict(self._task.args)
        if module_name == WINDOWS_MODULE:
            # Unix-domain listeners and network namespaces (with their listeners) are Linux facts:
            # false means nothing to Windows, true cannot be served (and is left out with
            # skip_unsupported).
            skip = boolean(module_args.pop('skip_unsupported', False), strict=False)
            if skip:
                module_args.pop('tuning', None)
                module_args.pop('files', None)
            # A bound on the namespaces returned means nothing without them.
            module_args.pop('namespaces_below', None)
            for option in LINUX_ONLY_OPTIONS:
                if option in module_args and boolean(module_args.pop(option), strict=False) and not skip:
                    result.update(failed=True, msg='%s=true is supported on Linux only, not on Windows' % option)
                    return result
        result = merge_hash(result, self._execute_module(module_name=module_name,
                                                         module_args=module_args,
                                                         task_vars=task_vars,
                                                         wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
