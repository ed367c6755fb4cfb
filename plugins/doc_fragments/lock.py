# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """How long a run waits for the run lock and holds it, shared by listener_backlog_lock and listener_backlog_apply.

    Their argument spec is one too: LOCK_OPTIONS in plugins/module_utils/_lock.py.
    """

    DOCUMENTATION = r'''
options:
  wait:
    description: How long to wait for another run's lock, in seconds, before failing.
    type: int
    default: 120
  lease:
    description:
      - How long the lock stays this run's without a renewal, in seconds. After it, another run takes the lock over.
        Longer than any run, as the role renews nothing.
    type: int
    default: 3600
'''
