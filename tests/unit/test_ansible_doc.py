# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What `ansible-doc` shows users: every plugin and the role, in full.

Runs the ansible-doc of the ansible-core under test (the one beside this Python), so the
compatibility matrix checks it on every release.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.netstack.backlog.plugins.plugin_utils import _spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = ['listener_backlog_facts', 'win_listener_backlog_facts', 'warn', 'namespace_somaxconn', 'listener_backlog_plan',
           'listener_backlog_verify', 'listener_backlog_lock', 'listener_backlog_read',
           'listener_backlog_apply']
FILTERS = ['effective_backlog', 'backlog_mismatches', 'audit_namespaces', 'audit_chart', 'namespace_fixes']
# Files that define several filters, each documented in a .yml of its own name.
FILTER_FILES = {'audit': ['audit_namespaces', 'audit_chart']}


def ansible_doc(collections_root, plugin_type, name):
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', plugin_type,
                              'netstack.backlog.' + name], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root))
    assert process.returncode == 0, process.stderr
    # ansible-core 2.20 and later warn about a collection of their own (_protomatter) on every
    # call; what counts is that nothing is said about this collection.
    said = [line for line in process.stderr.splitlines() if 'ERROR' in line or 'netstack' in line]
    assert said == [], process.stderr
    return json.loads(process.stdout)['netstack.backlog.' + name]


def test_every_plugin_is_in_the_list_above():
    found = sorted(os.path.splitext(name)[0] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                   if name.endswith('.py') and name != '__init__.py')
    assert found == sorted(MODULES)
    found = []
    for name in os.listdir(os.path.join(ROOT, 'plugins', 'filter')):
        if name.endswith('.py') and name != '__init__.py':
            found += FILTER_FILES.get(name[:-3], [name[:-3]])
    assert sorted(found) == sorted(FILTERS)


@pytest.mark.parametrize('name', MODULES)
def test_module_shows_options_examples_returns_and_attributes(collections_root, name):
    entry = ansible_doc(collections_root, 'module', name)
    doc = entry['doc']
    assert doc['short_description'] and doc['description'] and entry['examples'].strip()
    assert set(doc['attributes']) >= {'check_mode', 'diff_mode', 'platform'}, doc['attributes']
    assert doc['attributes']['check_mode']['support'] == 'full'
    if name.endswith('_facts'):
        assert doc['attributes']['facts']['support'] == 'full'
        assert {'ansible_facts'} <= set(entry['return'] or {}), entry['return']
    for option in (doc.get('options') or {}).values():
        assert option['description'] and 'type' in option, option


# The action plugins that check their arguments against the spec made from their module's
# documentation (plugins/plugin_utils/_spec.py), and the options they set themselves.
ACTION_SPECS = {'listener_backlog_plan': (), 'listener_backlog_verify': (), 'warn': (),
                'listener_backlog_lock': ('owner', 'take_over'), 'listener_backlog_apply': ('owner', 'take_over')}


@pytest.mark.parametrize('name', sorted(ACTION_SPECS))
def test_an_action_plugins_spec_is_every_option_ansible_doc_shows(collections_root, name):
    # Doc fragments included: an option documented in one must be accepted by the action plugin.
    action = importlib.import_module('ansible_collections.netstack.backlog.plugins.action.' + name)
    shown = ansible_doc(collections_root, 'module', name)['doc']['options']
    assert action.ActionModule.ARGUMENT_SPEC == {
        option: {key: value for key, value in documented.items() if key in _spec.KEYS}
        for option, documented in shown.items() if option not in ACTION_SPECS[name]}


@pytest.mark.parametrize('name', FILTERS)
def test_filter_shows_its_input_options_examples_and_return(collections_root, name):
    entry = ansible_doc(collections_root, 'filter', name)
    assert entry['doc']['description'] and entry['doc']['options']['_input']
    assert entry['examples'].strip() and entry['return']['_value']['description']


def test_role_documents_every_default_variable(collections_root):
    entry = ansible_doc(collections_root, 'role', 'listener_backlog')
    options = entry['entry_points']['main']['options']
    with open(os.path.join(ROOT, 'roles', 'listener_backlog', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    assert set(defaults) <= set(options), set(defaults) - set(options)
    assert all(not name.startswith('__') for name in options)
    for name, option in options.items():
        assert option['description'] and 'type' in option, name
        if name in defaults and defaults[name] is not None:
            assert option.get('default') == defaults[name], name
