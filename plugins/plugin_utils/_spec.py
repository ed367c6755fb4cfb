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

import importlib

import yaml

KEYS = ('type', 'elements', 'default', 'choices', 'required')
COLLECTION = 'netstack.backlog.'


def fragment_options(name):
    """The options of one of this collection's doc fragments, ``netstack.backlog.NAME[.VARIABLE]``.

    Imported as the action plugin imports its module, not through ansible-core's fragment loader: the
    spec is made when the plugin is imported, where that loader may not be set up yet (unit tests).
    """
    if not name.startswith(COLLECTION):
        raise ValueError('%s: only this collection\'s doc fragments (%s*) make an action plugin\'s spec'
                         % (name, COLLECTION))
    parts = name[len(COLLECTION):].split('.')
    fragment = importlib.import_module('ansible_collections.netstack.backlog.plugins.doc_fragments.' + parts[0])
    variable = parts[1].upper() if len(parts) > 1 else 'DOCUMENTATION'
    return yaml.safe_load(getattr(fragment.ModuleDocFragment, variable)).get('options', {})


def argument_spec(documentation, leave_out=()):
    """The spec of DOCUMENTATION's options and its doc fragments' (merged as ansible-doc merges them: an option
    in both is the fragment's with the keys already there over it), less ``leave_out`` (those the action plugin
    sets)."""
    doc = yaml.safe_load(documentation)
    options = dict(doc.get('options') or {})
    fragments = doc.get('extends_documentation_fragment') or []
    if isinstance(fragments, str):  # a string is a comma-separated list, as ansible-core reads it
        fragments = fragments.split(',')
    for name in fragments:
        # What is there already (the module's own, an earlier fragment's) wins, key by key.
        for option, documented in fragment_options(name.strip()).items():
            options[option] = dict(documented, **options.get(option, {}))
    return dict((name, dict((key, value) for key, value in option.items() if key in KEYS))
                for name, option in options.items() if name not in leave_out)
