# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test-only callback: write each host's task results as JSON lines for the integration tests.

ansible-core ships no JSON stdout callback (ansible.posix has one); the tests
need the module's own result, warnings included, per host, so they record it.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: record_results
type: aggregate
short_description: Record each task result as a JSON line (tests only)
description:
  - Appends C({host, task, status, result}) to the file named by C(NETSTACK_BACKLOG_RESULTS).
  - With C(NETSTACK_BACKLOG_PAUSE_AFTER) set to a task name and C(NETSTACK_BACKLOG_PAUSE_DIR) to a directory, the
    run stops after that task succeeds (the callback runs in the controller's main process, before the next task
    starts); it creates C(paused) there and waits until the test creates C(resume) (or kills the run).
options: {}
'''

import json
import os
import time

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Loop items that failed, by (host, task): ansible-core 2.21 no longer shows a
        # callback the ``failed`` flag of each item in the task's ``results``.
        self._failed_items = {}

    def _record(self, result, status):
        path = os.environ['NETSTACK_BACKLOG_RESULTS']
        entry = {
            'host': result._host.get_name(),
            'task': result._task.get_name(),
            'status': status,
            'result': result._result,
            'failed_items': self._failed_items.pop((result._host.get_name(), result._task._uuid), []),
        }
        with open(path, 'a') as handle:
            handle.write(json.dumps(entry, cls=AnsibleJSONEncoder) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')
        if result._task.get_name().split(' : ', 1)[-1] == os.environ.get('NETSTACK_BACKLOG_PAUSE_AFTER'):
            self._pause(os.environ['NETSTACK_BACKLOG_PAUSE_DIR'])

    @staticmethod
    def _pause(directory):
        with open(os.path.join(directory, 'paused'), 'w'):
            pass
        deadline = time.monotonic() + 300
        while not os.path.exists(os.path.join(directory, 'resume')) and time.monotonic() < deadline:
            time.sleep(0.05)

    def v2_runner_item_on_failed(self, result):
        key = (result._host.get_name(), result._task._uuid)
        self._failed_items.setdefault(key, []).append(dict(result._result))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
