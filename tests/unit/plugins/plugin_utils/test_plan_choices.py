# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The planner's own choices are the argument spec's, and it refuses what the spec refuses.

ansible-core checks a role's variables against meta/argument_specs.yml before the role starts,
unless the role is included with rolespec_validate: false; the planner checks the same choices
again so that the role never acts on a value it does not know.  The lists are read from the spec
here, not copied into the test.
"""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue, _plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PREFIX = 'listener_backlog_'


def spec_options():
    with open(os.path.join(ROOT, 'roles', 'listener_backlog', 'meta', 'argument_specs.yml')) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


def test_the_planner_checks_every_top_level_choice_of_the_spec_and_no_other():
    spec = dict((name[len(PREFIX):], tuple(option['choices'])) for name, option in spec_options().items()
                if 'choices' in option)
    assert spec == _plan.CHOICES


@pytest.mark.parametrize('group', ['services', 'templates'])
def test_the_planner_checks_every_choice_of_an_item(group):
    options = spec_options()[PREFIX + group]['options']
    spec = dict((name, tuple(option['choices'])) for name, option in options.items() if 'choices' in option)
    if group == 'services':
        # A service's name is checked against the catalogue, which must be the spec's list.
        assert sorted(spec.pop('name')) == sorted(_catalogue.CATALOGUE)
    assert spec == _plan.ITEM_CHOICES


@pytest.mark.parametrize('variables, message', [
    ({'readonly_sysctl': 'maybe'}, 'listener_backlog_readonly_sysctl is "maybe"; accepted: fail, skip.'),
    ({'namespaces': True}, 'listener_backlog_namespaces is true; accepted: warn, set, ignore.'),
    ({'exporter': 'node'}, 'listener_backlog_exporter is "node"; accepted: textfile, absent.'),
    ({'services': [{'name': 'redis', 'restart': 'bounce'}]},
     'listener_backlog_services[0].restart is "bounce"; accepted: restart, reload.'),
    ({'templates': [{'src': 'a.j2', 'dest': '/etc/a', 'restart': 'HUP'}]},
     'listener_backlog_templates[0].restart is "HUP"; accepted: restart, reload.'),
])
def test_a_value_outside_the_choices_is_refused_naming_variable_value_and_choices(variables, message):
    with pytest.raises(_plan.PlanError) as caught:
        _plan.check_choices(variables)
    assert str(caught.value) == message


def test_the_values_the_spec_accepts_pass():
    _plan.check_choices({'readonly_sysctl': 'skip', 'namespaces': 'set', 'local_fact': None, 'exporter': 'absent',
                         'services': [{'name': 'nginx', 'restart': 'reload'}], 'templates': []})


def test_an_empty_string_is_unset_as_older_ansible_core_renders_a_null():
    _plan.check_choices({'readonly_sysctl': '', 'local_fact': '', 'exporter': '', 'services': [{'name': 'nginx',
                                                                                                'restart': ''}]})
