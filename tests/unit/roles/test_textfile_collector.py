# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The textfile collector's main (files/textfile_collector.py) where the real kernel cannot take it.

tests/integration/test_textfile_collector.py runs the script the role builds on Linux; here a
FreeBSD host (recorded outputs, tests/unit/plugins/module_utils/fixtures/SOURCES.yml), a run
that cannot gather anything, and its arguments.
"""

from __future__ import annotations

import io
import os

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _prometheus as prometheus
from ansible_collections.netstack.backlog.roles.listener_backlog.files import textfile_collector as collector
from ansible_collections.netstack.backlog.tests.unit.plugins.module_utils.test_backlog_linux import FakeHost

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'plugins', 'module_utils',
                        'fixtures')


def fixture(path):
    with open(os.path.join(FIXTURES, path)) as handle:
        return handle.read()


def clock(*times):
    values = list(times)
    return lambda: values.pop(0)


def test_a_freebsd_host_is_its_one_namespace_with_empty_namespace_labels():
    host = FakeHost(commands={
        ('sysctl', '-n', 'kern.ipc.soacceptqueue'): (0, fixture('freebsd/sysctl-n-kern.ipc.soacceptqueue.txt'), ''),
        ('netstat', '-LanW', '-p', 'tcp'): (0, fixture('freebsd/netstat-LanW-p-tcp.txt'), ''),
    })
    text, messages, gathered = collector.collect(300, 'FreeBSD', '14.1-RELEASE', host.run_command,
                                                 clock=clock(100.0, 100.25))
    assert gathered is True
    lines = text.splitlines()
    empty = 'netns="",netns_name="",container_runtime="",container_id="",pod_uid=""'
    assert 'netstack_backlog_limit{%s} 128' % empty in lines and 'netstack_backlog_host_limit 128' in lines
    assert 'netstack_backlog_collector_duration_seconds 0.25' in lines
    assert 'netstack_backlog_collector_last_success_timestamp_seconds 100.25' in lines
    assert any(line.startswith('netstack_backlog_listener_backlog{') for line in lines), text
    # No network namespaces there: every namespace label is empty, which Prometheus reads as none.
    assert not [line for line in lines if 'netns="' in line and 'netns=""' not in line], text


def test_a_run_that_gathers_nothing_writes_its_failure_and_keeps_the_last_success(tmp_path, monkeypatch):
    (tmp_path / prometheus.FILE_NAME).write_text(
        '# TYPE netstack_backlog_collector_last_success_timestamp_seconds gauge\n'
        'netstack_backlog_collector_last_success_timestamp_seconds 1700000000\n')
    monkeypatch.setattr(collector, 'collect', lambda max_listeners: (None, ['cannot gather the facts: boom'], False))
    err = io.StringIO()
    assert collector.collector_main(['--directory', str(tmp_path)], stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue() == 'netstack-backlog-textfile: cannot gather the facts: boom\n'
    lines = (tmp_path / prometheus.FILE_NAME).read_text().splitlines()
    assert 'netstack_backlog_collector_success 0' in lines
    assert 'netstack_backlog_collector_errors 1' in lines
    assert 'netstack_backlog_collector_last_success_timestamp_seconds 1700000000.0' in lines
    assert not [line for line in lines if line.startswith('netstack_backlog_limit')]


def test_leftovers_of_killed_runs_are_removed_and_nothing_else(tmp_path, monkeypatch):
    for name in ('.netstack_backlog.prom.abc123.tmp', 'other.prom', '.other.prom.x.tmp'):
        (tmp_path / name).write_text('x')
    monkeypatch.setattr(collector, 'collect', lambda max_listeners: (prometheus.exposition([], {'success': True}),
                                                                     [], True))
    assert collector.collector_main(['--directory', str(tmp_path)], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert sorted(os.listdir(str(tmp_path))) == ['.netstack_backlog.lock', '.other.prom.x.tmp', prometheus.FILE_NAME,
                                                 'other.prom']


@pytest.mark.parametrize('argv, expected', [
    ([], {'directory': '/var/lib/prometheus/node-exporter', 'max_listeners': 300, 'validate': False}),
    (['--directory', '/srv/t', '--max-listeners', '0', '--validate'],
     {'directory': '/srv/t', 'max_listeners': 0, 'validate': True}),
])
def test_arguments(argv, expected):
    assert collector.parse_arguments(argv) == expected


@pytest.mark.parametrize('argv, message', [
    (['--directory'], '--directory needs a value'),
    (['--max-listeners', '1.5'], "--max-listeners must be an integer of 0 or more, got '1.5'"),
])
def test_bad_arguments_say_what_is_wrong(argv, message):
    err = io.StringIO()
    assert collector.collector_main(argv, stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().startswith('netstack-backlog-textfile: %s\nusage:' % message)
