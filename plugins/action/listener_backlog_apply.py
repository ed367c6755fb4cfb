# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_apply with the run lock's owner named on the controller (plugin_utils/_owner.py)."""

from __future__ import annotations

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_apply as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils._owner import LockingAction
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


class ActionModule(LockingAction):

    MODULE = 'netstack.backlog.listener_backlog_apply'
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION, leave_out=('owner', 'take_over'))
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def refused(self, failed):
        # Failed before it held the lock: another run's, so it changed nothing and may be asked again.
        return not failed.get('locked') and not failed.get('changed_since_read')
