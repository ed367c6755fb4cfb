# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The modules' argument specs, checked by the real AnsibleModule.

Each case fails (or converts) before the module reads anything of the host, so no
host is faked: a test here fails if a spec loses a type, a default or a required
option, or accepts an option it does not document.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible_collections.netstack.backlog.plugins.module_utils import _facts
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_facts as facts_module
from ansible_collections.netstack.backlog.plugins.modules import namespace_somaxconn as somaxconn_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import FailJson, run_module


def nothing_may_run(argv, environ_update):
    raise AssertionError('ran %r before the arguments were checked' % (argv,))


def failure(monkeypatch, main, args, system='Linux'):
    monkeypatch.setattr(_facts.os, 'uname', lambda: (system, 'testhost', '6.18.44', '#1', 'x86_64'))
    outcome = run_module(monkeypatch, main, args, nothing_may_run)
    assert isinstance(outcome, FailJson), outcome.args
    assert outcome.args[0]['failed'] is True
    return outcome.args[0]['msg']


@pytest.mark.parametrize('option', ['listeners', 'unix_listeners', 'namespaces', 'namespace_listeners'])
def test_facts_option_that_is_not_a_boolean_fails_naming_it(monkeypatch, option):
    msg = failure(monkeypatch, facts_module.main, {option: 'maybe'})
    assert "'%s'" % option in msg and 'unable to convert to bool' in msg and 'maybe' in msg


def test_facts_namespaces_below_that_is_not_an_integer_fails_naming_it(monkeypatch):
    msg = failure(monkeypatch, facts_module.main, {'namespaces': True, 'namespaces_below': 'high'})
    assert "'namespaces_below'" in msg and 'unable to convert to int' in msg
    # ansible-core names the rejected value in this message from 2.18 on; 2.16 and 2.17 name
    # only the type ("<class 'str'> cannot be converted to an int").
    if tuple(int(part) for part in ansible_version.split('.')[:2]) >= (2, 18):
        assert 'high' in msg


def test_facts_unknown_option_fails_naming_it(monkeypatch):
    msg = failure(monkeypatch, facts_module.main, {'listener': True})
    assert msg.startswith('Unsupported parameters for ') and ' module: listener. ' in msg


@pytest.mark.parametrize('given', ['yes', 'true', 'on', 1])
def test_facts_boolean_spellings_become_true(monkeypatch, given):
    # Off Linux, unix_listeners=true fails before anything is read: proof the string became True.
    msg = failure(monkeypatch, facts_module.main, {'unix_listeners': given}, system='FreeBSD')
    assert msg == 'unix_listeners=true is not supported on FreeBSD; it is supported on Linux only'


@pytest.mark.parametrize('args, named', [
    ({'namespaces': [4026531840]}, 'value'),
    ({'value': 4096}, 'namespaces'),
])
def test_somaxconn_required_options_are_required(monkeypatch, args, named):
    msg = failure(monkeypatch, somaxconn_module.main, args)
    assert msg == 'missing required arguments: %s' % named


@pytest.mark.parametrize('args, named, wanted', [
    ({'value': 'lots', 'namespaces': [4026531840]}, 'value', 'int'),
    ({'value': 4096, 'namespaces': ['host']}, 'namespaces', 'int'),
    ({'value': 4096, 'namespaces': [4026531840], 'only_raise': 'maybe'}, 'only_raise', 'bool'),
])
def test_somaxconn_option_of_the_wrong_type_fails_naming_it(monkeypatch, args, named, wanted):
    # ansible-core 2.16 to 2.18 do not repeat an unconvertible int value; the option and type are named.
    msg = failure(monkeypatch, somaxconn_module.main, args)
    assert "'%s'" % named in msg and 'unable to convert to %s' % wanted in msg


def test_somaxconn_value_given_as_a_string_of_digits_is_converted_then_range_checked(monkeypatch):
    # type='int' turns '-1' into -1; the module's own check then refuses it, naming what it got.
    msg = failure(monkeypatch, somaxconn_module.main, {'value': '-1', 'namespaces': ['4026531840']})
    assert msg.startswith('value must be 0 to ') and msg.endswith(', got -1')
