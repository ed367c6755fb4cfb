# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What gather() reads in each network namespace, and what it returns of them.

The host is faked at the seams _gather uses: the namespace scan and the visitor (_netns),
the limit of the namespace the thread is in (LimitGatherer) and its listeners
(read_listeners).  Each fake knows which namespace the visitor has entered, so a read
done in the wrong one shows.  The real kernel is in
tests/integration/test_namespaces_real_kernel.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _gather as gather_utils
from ansible_collections.netstack.backlog.plugins.module_utils import _netns as netns
from ansible_collections.netstack.backlog.plugins.module_utils import _facts
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_facts as facts_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, run_module

OWN = 4026532000
# inode -> (its limit, or None where reading it fails; its ip netns name)
NAMESPACES = {4026531833: (4096, None), OWN: (1111, 'home'), 4026532100: (128, 'low'), 4026532200: (4096, 'high'),
              4026532300: (None, 'broken')}


class Host(object):
    """The fake host: which namespace the thread is in, and every listener read (namespace, kinds)."""

    def __init__(self):
        self.inside = OWN
        self.listener_reads = []


@pytest.fixture
def host(monkeypatch):
    made = Host()

    class Discovery(object):
        def __init__(self):
            self.namespaces = dict((inode, {'pids': [], 'paths': ['/run/netns/%s' % name] if name else [],
                                            'name': name})
                                   for inode, (dummy, name) in NAMESPACES.items() if inode != OWN)
            self.pids, self.unreadable, self.initial = [], [], 4026531833

        def scan(self, kernel=None):
            return self

    class Visitor(object):
        own_inode = OWN

        def visit(self, inode, sources, read):
            # As _netns.Visitor: what fails inside is that namespace's error, and the thread comes back.
            made.inside = inode
            try:
                return read(), None
            except Exception as exc:  # pylint: disable=broad-except
                return None, 'reading it failed: %s' % exc
            finally:
                made.inside = OWN

        def close(self):
            pass

    class LimitGatherer(object):
        def __init__(self, system, release, read, run_command, probe=None):
            self.warnings = []

        def gather(self):
            value = NAMESPACES[made.inside][0]
            if value is None:
                raise RuntimeError('cannot read it')
            return value, {'source': 'procfs', 'raw': value, 'system': 'Linux'}

    def read_listeners(params, run_command, warnings):
        # As the real one, which reads nothing when neither kind is asked for.
        if params['listeners'] or params['unix_listeners']:
            made.listener_reads.append((made.inside, params['listeners'], params['unix_listeners']))
        tcp = [{'family': 'ipv4', 'address': '127.0.0.1', 'port': port, 'backlog': 511, 'queued': 0, 'pid': None,
                'process': None} for port in (8001, 8000)] if params['listeners'] else None
        unix = [{'path': '/run/%d.sock' % made.inside, 'type': 'stream', 'backlog': 511, 'queued': 0, 'pid': None,
                 'process': None}] if params['unix_listeners'] else None
        return tcp, unix

    monkeypatch.setattr(netns, 'Discovery', Discovery)
    monkeypatch.setattr(netns, 'Visitor', Visitor)
    monkeypatch.setattr(gather_utils, 'LimitGatherer', LimitGatherer)
    monkeypatch.setattr(gather_utils, 'read_listeners', read_listeners)
    monkeypatch.setattr(gather_utils, 'lowest_container', lambda pids: None)
    return made


def gather(**options):
    facts, warnings = gather_utils.gather('Linux', '6.18.44', lambda argv: (1, '', 'no programs'), namespaces=True,
                                          **options)
    return facts, dict((entry['id'], entry) for entry in facts['listener_backlog_namespaces'])


def test_every_namespace_is_read_with_the_listeners_asked_for_by_default(host):
    """gather()'s own default, which the textfile collector relies on to export every namespace's listeners."""
    facts, entries = gather(listeners=True, unix_listeners=True)
    assert sorted(entries) == sorted(NAMESPACES)
    assert [port['port'] for port in entries[4026532100]['listeners']] == [8000, 8001]
    assert entries[4026532100]['unix_listeners'][0]['path'] == '/run/4026532100.sock'
    assert entries[OWN]['listeners'] is facts['listener_backlog_listeners']
    assert sorted(inside for inside, tcp, unix in host.listener_reads) == sorted(set(NAMESPACES) - {4026532300})
    assert 'listener_backlog_namespaces_total' not in facts


def test_without_namespace_listeners_listeners_are_read_in_the_own_namespace_only(host):
    facts, entries = gather(listeners=True, unix_listeners=True, namespace_listeners=False)
    assert host.listener_reads == [(OWN, True, True)]
    assert sorted(entries) == sorted(NAMESPACES)
    for entry in entries.values():
        assert 'listeners' not in entry and 'unix_listeners' not in entry, entry
    assert entries[4026532100]['listener_backlog'] == 128 and entries[4026532100]['error'] is None
    assert entries[OWN]['listener_backlog'] == 1111 and entries[OWN]['current'] is True
    assert [port['port'] for port in facts['listener_backlog_listeners']] == [8000, 8001]
    assert facts['listener_backlog_unix_listeners'][0]['path'] == '/run/%d.sock' % OWN


def test_namespaces_below_keeps_those_below_and_those_not_read_and_counts_them_all(host):
    facts, entries = gather(listeners=True, namespace_listeners=True, namespaces_below=4096)
    # 128 and the module's own 1111 are below; 4096 is not; the broken one's limit is unknown.
    assert sorted(entries) == [OWN, 4026532100, 4026532300]
    assert entries[4026532300]['listener_backlog'] is None
    assert entries[4026532300]['error'] == 'reading it failed: cannot read it'
    assert facts['listener_backlog_namespaces_total'] == len(NAMESPACES)
    # The listeners of the namespaces left out are not read at all.
    assert sorted(inside for inside, tcp, unix in host.listener_reads) == [OWN, 4026532100]
    assert [port['port'] for port in entries[4026532100]['listeners']] == [8000, 8001]


def test_namespaces_below_leaves_out_the_modules_own_namespace_at_the_limit(host):
    facts, entries = gather(namespaces_below=1111)
    assert sorted(entries) == [4026532100, 4026532300]
    assert facts['listener_backlog_namespaces_total'] == len(NAMESPACES)
    assert facts['listener_backlog'] == 1111


def test_namespaces_below_zero_returns_only_what_could_not_be_read(host):
    facts, entries = gather(namespaces_below=0)
    assert sorted(entries) == [4026532300]


def module_gather_calls(monkeypatch, args):
    calls = []

    def gather_recorder(system, release, run_command, **options):
        calls.append(options)
        return {'listener_backlog': 4096, 'listener_backlog_info': {}}, []

    monkeypatch.setattr(_facts, 'gather', gather_recorder)
    monkeypatch.setattr(_facts.os, 'uname', lambda: ('Linux', 'testhost', '6.18.44', '#1', 'x86_64'))
    outcome = run_module(monkeypatch, facts_module.main, args)
    assert isinstance(outcome, ExitJson), outcome.args
    return calls


def test_the_module_reads_no_namespaces_listeners_unless_asked(monkeypatch):
    [options] = module_gather_calls(monkeypatch, {'namespaces': True, 'listeners': True})
    assert options['namespaces'] is True and options['listeners'] is True
    assert options['namespace_listeners'] is False and options['namespaces_below'] is None


def test_the_module_passes_namespace_listeners_and_namespaces_below(monkeypatch):
    [options] = module_gather_calls(monkeypatch, {'namespaces': True, 'listeners': True, 'namespace_listeners': True,
                                                  'namespaces_below': '4096'})
    assert options['namespace_listeners'] is True and options['namespaces_below'] == 4096
