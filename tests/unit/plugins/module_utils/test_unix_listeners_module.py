# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_facts with unix_listeners: main() around the recorded Linux 6.18 answers.

The host is faked: procfs answers from a dict, the sock_diag dumps from the
recordings in fixtures/linux/6.18 (unix-diag.hex, sock-diag-ipv4.hex), commands
from a dict by argv, and /proc/PID/fd from a map of inodes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import os
import socket

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _sock_diag as sock_diag
from ansible_collections.netstack.backlog.plugins.module_utils import _facts
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_facts as facts_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, FailJson, run_module

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'linux', '6.18')

PROCFS = {
    '/proc/sys/net/core/somaxconn': '1000\n',
    '/proc/sys/net/ipv4/tcp_max_syn_backlog': '512\n',
    '/proc/sys/net/ipv4/tcp_syncookies': '1\n',
}


def recorded(name, parse_one):
    found = []
    with open(os.path.join(FIXTURES, name)) as handle:
        for line in handle:
            if line.strip():
                found.extend(sock_diag.parse_messages(binascii.unhexlify(line.strip()), parse_one)[0])
    return found


def recorded_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class FakeHost(object):
    def __init__(self, commands=None, owners=None):
        self.commands = commands or {}
        self.owners = owners or {}
        self.ran = []
        self.owner_lookups = []

    def read_file(self, path):
        if path == '/proc/net/netstat':
            return recorded_text('proc-net-netstat.txt')
        if path in PROCFS:
            return PROCFS[path]
        raise IOError(errno.ENOENT, 'No such file or directory', path)

    def run_command(self, argv):
        self.ran.append(tuple(argv))
        return self.commands.get(tuple(argv), (127, '', '%s: not faked' % argv[0]))

    def socket_owners(self, wanted, proc_root='/proc', pids=None):
        self.owner_lookups.append(set(wanted))
        return dict((inode, owner) for inode, owner in self.owners.items() if inode in wanted)


def run_main(monkeypatch, system='Linux', params=None, commands=None, owners=None,
             unix_dump=None, tcp_dump=None):
    """main() under AnsibleModule with a fake host; returns (host, outcome), outcome an ExitJson or FailJson.

    Options not in ``params`` are left to the module's argument spec.
    """
    host = FakeHost(commands, owners)

    def run_command(argv, environ_update):
        return host.run_command([os.path.basename(argv[0])] + list(argv[1:]))

    def answer(dump):
        def call():
            if isinstance(dump, Exception):
                raise dump
            return dump
        return call

    monkeypatch.setattr(_facts, 'read_file', host.read_file)
    monkeypatch.setattr(_facts.os, 'uname', lambda: (system, 'testhost', '6.18.44', '#1', 'x86_64'))
    monkeypatch.setattr(sock_diag, 'socket_owners', host.socket_owners)
    monkeypatch.setattr(sock_diag, 'dump_unix_listeners', answer(
        recorded('unix-diag.hex', sock_diag.parse_unix_diag_msg) if unix_dump is None else unix_dump))
    monkeypatch.setattr(sock_diag, 'dump_listeners', answer(
        recorded('sock-diag-ipv4.hex', sock_diag.parse_diag_msg) if tcp_dump is None else tcp_dump))
    return host, run_module(monkeypatch, facts_module.main, params or {}, run_command, bin_dir='/usr/bin')


def recorded_inodes():
    return dict((item['path'], item['inode']) for item in recorded('unix-diag.hex', sock_diag.parse_unix_diag_msg))


def test_unix_listeners_come_sorted_by_path_with_their_owners(monkeypatch):
    inodes = recorded_inodes()
    owners = {inodes['/tmp/nbt-unix-rec/php-fpm.sock']: (812, 'php-fpm8.2'),
              inodes['@nbt-test']: (90, 'mariadbd')}
    host, outcome = run_main(monkeypatch, params={'unix_listeners': True}, owners=owners)
    assert isinstance(outcome, ExitJson), outcome.args
    result, warnings = outcome.args
    facts = result['ansible_facts']
    assert warnings == [] and host.ran == []  # netlink and procfs: no program
    assert 'ansible_listener_backlog_listeners' not in facts
    assert facts['ansible_listener_backlog'] == 1000
    assert facts['ansible_listener_backlog_unix_listeners'] == [
        {'path': '/tmp/nbt-unix-rec/mariadb.sock', 'type': 'seqpacket', 'backlog': 1, 'queued': 2,
         'pid': None, 'process': None},
        {'path': '/tmp/nbt-unix-rec/php-fpm.sock', 'type': 'stream', 'backlog': 50, 'queued': 1,
         'pid': 812, 'process': 'php-fpm8.2'},
        {'path': '/tmp/nbt-unix-rec/with space.sock', 'type': 'stream', 'backlog': 7, 'queued': 0,
         'pid': None, 'process': None},
        {'path': '@nbt-test', 'type': 'stream', 'backlog': 1000, 'queued': 0, 'pid': 90, 'process': 'mariadbd'},
        {'path': '@nbt@nul', 'type': 'stream', 'backlog': 3, 'queued': 0, 'pid': None, 'process': None},
    ]


def test_tcp_and_unix_listeners_share_one_walk_of_proc(monkeypatch):
    host, outcome = run_main(monkeypatch, params={'listeners': True, 'unix_listeners': True})
    facts = outcome.args[0]['ansible_facts']
    tcp_inodes = set(item['inode'] for item in recorded('sock-diag-ipv4.hex', sock_diag.parse_diag_msg))
    assert host.owner_lookups == [tcp_inodes | set(recorded_inodes().values())]
    assert [item['port'] for item in facts['ansible_listener_backlog_listeners']] == [22, 8080]
    assert len(facts['ansible_listener_backlog_unix_listeners']) == 5
    for item in facts['ansible_listener_backlog_listeners'] + facts['ansible_listener_backlog_unix_listeners']:
        assert 'inode' not in item and 'state' not in item


def test_without_the_option_there_is_no_unix_fact(monkeypatch):
    _host, outcome = run_main(monkeypatch, unix_dump=AssertionError('dumped without being asked'))
    assert sorted(outcome.args[0]['ansible_facts']) == ['ansible_listener_backlog', 'ansible_listener_backlog_info']


@pytest.mark.parametrize('system', ['FreeBSD', 'Darwin', 'OpenBSD', 'SunOS'])
def test_unix_listeners_elsewhere_than_linux_fail_and_name_the_system(monkeypatch, system):
    host, outcome = run_main(monkeypatch, system=system, params={'unix_listeners': True})
    assert isinstance(outcome, FailJson)
    assert outcome.args[0]['msg'] == ('unix_listeners=true is not supported on %s; it is supported on Linux only'
                                      % system)
    assert host.ran == []  # fails before reading anything


def test_unix_listeners_false_elsewhere_is_fine(monkeypatch):
    _host, outcome = run_main(monkeypatch, system='FreeBSD', params={'unix_listeners': False},
                              commands={('sysctl', '-n', 'kern.ipc.soacceptqueue'): (0, '128\n', '')})
    assert isinstance(outcome, ExitJson)
    assert outcome.args[0]['ansible_facts']['ansible_listener_backlog'] == 128


@pytest.mark.parametrize('failure', [
    socket.error(errno.EPERM, 'Operation not permitted'),
    sock_diag.NetlinkError('malformed netlink message (length 4)'),
])
def test_netlink_failure_falls_back_to_ss_with_a_warning(monkeypatch, failure):
    host, outcome = run_main(monkeypatch, params={'unix_listeners': True}, unix_dump=failure,
                             commands={('ss', '-lxp'): (0, recorded_text('unix-ss-lxp.txt'), '')})
    result, warnings = outcome.args
    assert host.ran == [('ss', '-lxp')] and host.owner_lookups == []
    found = result['ansible_facts']['ansible_listener_backlog_unix_listeners']
    assert [(item['path'], item['backlog'], item['queued'], item['pid'], item['process']) for item in found] == [
        ('/tmp/nbt-unix-rec/mariadb.sock', 1, 2, 5223, 'python3'),
        ('/tmp/nbt-unix-rec/php-fpm.sock', 50, 1, 5223, 'python3'),
        ('/tmp/nbt-unix-rec/with space.sock', 7, 0, 5223, 'python3'),
        ('@nbt-test', 1000, 0, 5223, 'python3'),
        ('@nbt@nul', 3, 0, 5223, 'python3'),
    ]
    assert len(warnings) == 1 and str(failure) in warnings[0] and 'read with ss' in warnings[0]


def test_kernel_without_unix_diag_fails_instead_of_reporting_zeros(monkeypatch):
    # ss would read /proc/net/unix there, which has no queue sizes, and print 0 for both.
    missing = sock_diag.NetlinkError('sock_diag answered error 2 (No such file or directory)', errno.ENOENT)
    host, outcome = run_main(monkeypatch, params={'unix_listeners': True}, unix_dump=missing,
                             commands={('ss', '-lxp'): (0, recorded_text('unix-ss-lxp.txt'), '')})
    assert isinstance(outcome, FailJson)
    assert 'CONFIG_UNIX_DIAG' in outcome.args[0]['msg'] and 'error 2' in outcome.args[0]['msg']
    assert host.ran == []


def test_ss_failing_too_fails_with_both_reasons(monkeypatch):
    _host, outcome = run_main(monkeypatch, params={'unix_listeners': True},
                              unix_dump=socket.error(errno.EPERM, 'Operation not permitted'),
                              commands={('ss', '-lxp'): (1, '', 'Cannot open netlink socket\n')})
    assert isinstance(outcome, FailJson)
    msg = outcome.args[0]['msg']
    assert msg.startswith('unix_listeners unavailable: sock_diag netlink failed (')
    assert 'Operation not permitted' in msg and '`ss -lxp` exited 1: Cannot open netlink socket' in msg
