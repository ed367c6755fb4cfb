# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An action plugin's argument spec, read from its module's documentation: one source for both.

The role's action plugins (plan, verify, lock, warn) each have a module file that documents their
options for ansible-doc; ActionBase.validate_argument_spec checks a task's arguments against the
spec made from it here (ansible-core's ArgumentSpecValidator: types, choices, required, defaults).
"""

from __future__ import annotations

import yaml

KEYS = ('type', 'elements', 'default', 'choices', 'required')


def argument_spec(documentation, leave_out=()):
    """The spec of DOCUMENTATION's options, less ``leave_out`` (those the action plugin sets itself)."""
    options = yaml.safe_load(documentation)['options']
    return dict((name, dict((key, value) for key, value in option.items() if key in KEYS))
                for name, option in options.items() if name not in leave_out)
