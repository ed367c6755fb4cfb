# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark-only callback: count each host's module round trips (every loop item counts).

Tasks that run on the controller only (set_fact, assert, fail, debug, the role's planner after
its read, and warnings) and skipped tasks or items are not round trips; the planner's stage
``plan`` runs the fact module on the host, one round trip.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: round_trips
type: aggregate
short_description: Count module round trips per host (benchmarks only)
description:
  - Writes C({host: count}) as JSON to the file named by C(NETSTACK_BACKLOG_ROUND_TRIPS) at the end of the play run.
options: {}
'''

import json
import os

from ansible.plugins.callback import CallbackBase

CONTROLLER_ONLY = {'set_fact', 'assert', 'fail', 'debug', 'meta', 'include_tasks', 'import_tasks', 'include_role',
                   'validate_argument_spec', 'listener_backlog_plan', 'warn'}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'round_trips'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counts = {}

    def _count(self, result):
        action = result._task.action.rsplit('.', 1)[-1]
        if action in CONTROLLER_ONLY and not (action == 'listener_backlog_plan' and result._task.args.get('stage') == 'plan'):
            return
        items = result._result.get('results')
        ran = [item for item in items if not item.get('skipped')] if isinstance(items, list) else [result._result]
        host = result._host.get_name()
        self._counts[host] = self._counts.get(host, 0) + len(ran)

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['NETSTACK_BACKLOG_ROUND_TRIPS'], 'w') as handle:
            json.dump(self._counts, handle)
