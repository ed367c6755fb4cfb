# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's read (listener_backlog_read: files, tuning) and listener_backlog_facts' skip_unsupported, run
under the real AnsibleModule.

The host is a dict of files (Linux) or recorded sysctl answers (FreeBSD,
tests/unit/plugins/module_utils/fixtures/SOURCES.yml); the module reads nothing else.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netstack.backlog.plugins.module_utils import _facts
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_facts as facts_module
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_read as read_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, FailJson, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils', 'fixtures')


def host(monkeypatch, system, files, listing=None, writable=True):
    monkeypatch.setattr(_facts.os, 'uname', lambda: (system, 'testhost', '6.1.0-27-amd64', '#1', 'x86_64'))

    def read_file(path):
        if path not in files:
            raise IOError(2, 'No such file or directory', path)
        return files[path]

    def listdir(path):
        if path not in (listing or {}):
            raise OSError(2, 'No such file or directory', path)
        return listing[path]

    monkeypatch.setattr(_facts, 'read_file', read_file)
    monkeypatch.setattr(os, 'listdir', listdir)
    monkeypatch.setattr(os, 'access', lambda path, mode: writable)


def recorded(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_linux_tuning_state_and_distribution(monkeypatch):
    host(monkeypatch, 'Linux', {
        '/proc/sys/net/core/somaxconn': '4096\n',
        '/proc/sys/net/ipv4/tcp_max_syn_backlog': '512\n',
        '/etc/sysctl.d/90-listener-backlog.conf': 'net.core.somaxconn = 4096\n',
        '/etc/sysctl.d/99-local.conf': 'net.core.somaxconn=512\n',
        '/etc/os-release': 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n',
    }, listing={'/etc/sysctl.d': ['90-listener-backlog.conf', '99-local.conf']}, writable=False)
    outcome = run_module(monkeypatch, read_module.main, {'tuning': {}}, lambda argv, env: (1, '', 'no programs'))
    assert isinstance(outcome, ExitJson), outcome.args
    tuning = outcome.args[0]['ansible_facts']['ansible_listener_backlog_tuning']
    assert tuning['tunable'] is True and tuning['writable'] is False
    assert tuning['somaxconn_range'] == [0, 2147483647]
    assert tuning['file_lines'] == {'net.core.somaxconn': 'net.core.somaxconn = 4096'}
    assert tuning['live'] == {'net.core.somaxconn': '4096', 'net.ipv4.tcp_max_syn_backlog': '512'}
    assert tuning['boot_files'] == [{'path': '/etc/sysctl.d/99-local.conf', 'keys': ['net.core.somaxconn']}]
    assert tuning['distribution'] == {'id': 'ubuntu', 'id_like': ['debian'], 'version_id': '24.04',
                                      'os_family': 'Debian'}


def test_a_runtime_file_is_looked_up_without_boot_files(monkeypatch):
    host(monkeypatch, 'Linux', {'/proc/sys/net/core/somaxconn': '128\n'})
    outcome = run_module(monkeypatch, read_module.main, {'tuning': {'persist': False, 'sysctl_file': '/x.conf'}},
                         lambda argv, env: (1, '', ''))
    tuning = outcome.args[0]['ansible_facts']['ansible_listener_backlog_tuning']
    # An explicit file wins; with persist false nothing read at boot matters.
    assert tuning['file'] == '/x.conf' and tuning['file_exists'] is False and tuning['boot_files'] == []


def test_freebsd_reads_its_knob_live_through_sysctl(monkeypatch):
    answer = recorded('freebsd/sysctl-n-kern.ipc.soacceptqueue.txt')
    host(monkeypatch, 'FreeBSD', {'/etc/sysctl.conf': 'kern.ipc.soacceptqueue=1024\n'})
    calls = []

    def run_command(argv, environ_update):
        calls.append(argv[1:])
        return (0, answer, '') if argv[-1] == 'kern.ipc.soacceptqueue' else (1, '', 'unknown oid')
    outcome = run_module(monkeypatch, read_module.main, {'tuning': {}}, run_command, bin_dir='/sbin')
    tuning = outcome.args[0]['ansible_facts']['ansible_listener_backlog_tuning']
    assert tuning['live'] == {'kern.ipc.soacceptqueue': answer.strip()}
    assert tuning['file'] == '/etc/sysctl.conf' and tuning['somaxconn_range'] == [1, 1431655765]
    assert tuning['writable'] is None and tuning['distribution']['os_family'] == 'FreeBSD'
    assert ['-n', 'kern.ipc.soacceptqueue'] in calls


def test_a_system_that_cannot_be_tuned_says_so(monkeypatch):
    host(monkeypatch, 'SunOS', {})
    outcome = run_module(monkeypatch, read_module.main, {'tuning': {}}, lambda argv, env: (1, '', ''),
                         bin_dir='/usr/sbin')
    tuning = outcome.args[0]['ansible_facts']['ansible_listener_backlog_tuning']
    assert tuning == {'tunable': False, 'distribution': {'os_family': 'SunOS', 'id': 'sunos', 'id_like': [],
                                                         'version_id': None}}


@pytest.mark.parametrize('option', ['unix_listeners', 'namespaces', 'listeners'])
def test_skip_unsupported_leaves_out_what_the_system_cannot_give(monkeypatch, option):
    host(monkeypatch, 'OpenBSD', {})

    def answers(argv, env):
        return (0, '128\n', '') if argv[-1] == 'kern.somaxconn' else (0, '80\n', '')
    failed = run_module(monkeypatch, facts_module.main, {option: True}, answers, bin_dir='/sbin')
    assert isinstance(failed, FailJson) and 'not supported on OpenBSD' in failed.args[0]['msg']
    outcome = run_module(monkeypatch, facts_module.main, {option: True, 'skip_unsupported': True}, answers,
                         bin_dir='/sbin')
    assert isinstance(outcome, ExitJson), outcome.args
    facts = outcome.args[0]['ansible_facts']
    assert sorted(facts) == ['ansible_listener_backlog', 'ansible_listener_backlog_info']


def test_files_returns_only_matching_lines_and_expands_wildcards(monkeypatch, tmp_path):
    for release, text in (('8.2', '[www]\nlisten = /run/php/php8.2-fpm.sock\n;listen.backlog = 511\npm.max = 5\n'),
                          ('8.4', '[www]\nlisten = 127.0.0.1:9000\nlisten.backlog = 4096')):
        pool = tmp_path / 'php' / release / 'www.conf'
        pool.parent.mkdir(parents=True)
        pool.write_text(text)
    (tmp_path / 'link.conf').symlink_to(tmp_path / 'php' / '8.4' / 'www.conf')
    host(monkeypatch, 'Linux', {'/proc/sys/net/core/somaxconn': '4096\n'})
    patterns = [r'^;?[ \t]*listen\.backlog[ \t]*=']
    wanted = [{'path': str(tmp_path / 'php' / '*' / 'www.conf'), 'patterns': patterns},
              {'path': str(tmp_path / 'link.conf'), 'patterns': patterns},
              {'path': str(tmp_path / 'none' / '*.conf'), 'patterns': patterns}]
    outcome = run_module(monkeypatch, read_module.main, {'files': wanted}, lambda argv, env: (1, '', ''))
    found = outcome.args[0]['ansible_facts']['ansible_listener_backlog_files']
    assert [(entry['path'], entry['pattern'], entry['exists'], entry['lines']) for entry in found] == [
        (str(tmp_path / 'php' / '8.2' / 'www.conf'), wanted[0]['path'], True, [';listen.backlog = 511\n']),
        (str(tmp_path / 'php' / '8.4' / 'www.conf'), wanted[0]['path'], True, ['listen.backlog = 4096']),
        (str(tmp_path / 'link.conf'), None, True, ['listen.backlog = 4096']),
        (wanted[2]['path'], wanted[2]['path'], False, None)]
    assert found[2]['islnk'] and found[2]['lnk_source'] == str(tmp_path / 'php' / '8.4' / 'www.conf')


def test_the_facts_module_still_reads_files_and_tuning_and_says_they_are_deprecated(monkeypatch):
    host(monkeypatch, 'Linux', {'/proc/sys/net/core/somaxconn': '4096\n'})
    specs = []

    def module(argument_spec, **kwargs):
        specs.append(argument_spec)
        return AnsibleModule(argument_spec=argument_spec, **kwargs)

    monkeypatch.setattr(facts_module, 'AnsibleModule', module)
    outcome = run_module(monkeypatch, facts_module.main, {'tuning': {}, 'files': [{'path': '/nonexistent'}]},
                         lambda argv, env: (1, '', ''))
    assert isinstance(outcome, ExitJson), outcome.args
    facts = outcome.args[0]['ansible_facts']
    assert facts['ansible_listener_backlog_tuning']['tunable'] is True
    assert facts['ansible_listener_backlog_files'][0]['exists'] is False
    # AnsibleModule says the deprecation (its words differ between ansible-core releases).
    [spec] = specs
    removed = [(name, spec[name].get('removed_in_version'), spec[name].get('removed_from_collection'))
               for name in ('files', 'tuning')]
    assert removed == [('files', '2.0.0', 'netstack.backlog'), ('tuning', '2.0.0', 'netstack.backlog')]
    assert not any('removed_in_version' in spec[name] for name in spec if name not in ('files', 'tuning'))
