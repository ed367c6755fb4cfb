# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listeners from BSD and macOS ``netstat -L``, fed with the outputs under fixtures/.

SOURCES.yml says which are recorded (published outputs, copied as published) and
which are constructed from netstat's printf formats.  The end-to-end tests run the
module's listener code and its main() with a fake host that answers only the argv
the module is expected to run.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _gather as gather_utils
from ansible_collections.netstack.backlog.plugins.module_utils import _netstat as netstat
from ansible_collections.netstack.backlog.plugins.module_utils import _facts
from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_facts as facts_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, FailJson, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def fixture(path):
    with open(os.path.join(FIXTURES, path)) as handle:
        return handle.read()


def listener(family, address, port, backlog, queued):
    return {'family': family, 'address': address, 'port': port, 'backlog': backlog,
            'queued': queued, 'pid': None, 'process': None}


# -- FreeBSD -----------------------------------------------------------------------

def test_freebsd_recorded_libxo_output_with_tcp46_and_unix_lines():
    warnings = []
    found = netstat.parse_netstat_listen_queues(fixture('freebsd/netstat-Lan-nbari-2017.txt'),
                                                warnings=warnings)
    # tcp46 is a dual-stack socket: ipv6 with the IPv6 wildcard.  unix lines and the
    # "Some tcp sockets may have been deleted." note are not listeners.
    assert found == [listener('ipv6', '::', 80, 32768, 1863),
                     listener('ipv4', '0.0.0.0', 31025, 128, 0),
                     listener('ipv6', '::', 31025, 128, 0)]
    assert warnings == []


def test_freebsd_recorded_output_of_the_netstat_before_libxo():
    warnings = []
    found = netstat.parse_netstat_listen_queues(fixture('freebsd/netstat-Lan-kurita1-2015.txt'),
                                                warnings=warnings)
    assert found == [listener('ipv4', '0.0.0.0', 80, 1024, 0),
                     listener('ipv6', '::', 80, 1024, 0)]
    assert warnings == []


def test_freebsd_recorded_line_without_header_shows_a_queue_above_its_limit():
    found = netstat.parse_netstat_listen_queues(
        fixture('freebsd/netstat-Lan-grep-serverfault-443399.txt'))
    assert found == [listener('ipv4', '0.0.0.0', 80, 128, 192)]


def test_freebsd_constructed_output_of_the_module_command():
    warnings = []
    found = netstat.parse_netstat_listen_queues(fixture('freebsd/netstat-LanW-p-tcp.txt'),
                                                warnings=warnings)
    assert found == [listener('ipv4', '0.0.0.0', 22, 128, 0),
                     listener('ipv6', '::', 22, 128, 0),
                     listener('ipv6', '::', 80, 4096, 3),
                     listener('ipv4', '127.0.0.1', 6379, 511, 0),
                     listener('ipv6', '::1', 6379, 511, 0),
                     listener('ipv6', 'fe80::1', 8080, 128, 0),
                     listener('ipv6', '2001:db8:85a3:8d3:1319:8a2e:370:7348', 25, 10, 0),
                     listener('ipv4', '192.0.2.10', 8443, 128, 200)]
    assert warnings == []


# -- DragonFly -----------------------------------------------------------------------

def test_dragonfly_constructed_output_warns_of_a_cut_limit_and_a_negative_one():
    warnings = []
    found = netstat.listeners_from_outputs(
        'DragonFly', [fixture('dragonfly/netstat-LanW-p-tcp-dragonfly.txt')], warnings)
    assert found == [listener('ipv4', '0.0.0.0', 22, 128, 0),
                     listener('ipv6', '::', 22, 128, 0),
                     listener('ipv4', '127.0.0.1', 6379, 511, 0),
                     listener('ipv6', '::1', 6379, 511, 0),
                     listener('ipv4', '0.0.0.0', 80, 3276, 1000),
                     listener('ipv4', '0.0.0.0', 8080, -25536, 0)]
    assert len(warnings) == 2
    assert 'queues of 0.0.0.0 port 80 as 1000/100/3276' in warnings[0]
    assert 'may be cut short' in warnings[0]
    assert 'negative queue limit -25536 for 0.0.0.0 port 8080' in warnings[1]
    assert 'refuses every connection' in warnings[1]


def test_dragonfly_header_width_alone_would_miss_the_cut():
    # The header says 14, the data is printed in 13: without the platform's width
    # the 13-character field is not flagged.
    warnings = []
    netstat.parse_netstat_listen_queues(fixture('dragonfly/netstat-LanW-p-tcp-dragonfly.txt'),
                                        warnings=warnings)
    assert [w for w in warnings if 'cut short' in w] == []


# -- macOS -----------------------------------------------------------------------------

def test_darwin_constructed_runs_merge_the_dual_stack_socket_by_its_pcb():
    warnings = []
    found = netstat.listeners_from_outputs(
        'Darwin', [fixture('darwin/netstat-AanlLW-f-inet.txt'),
                   fixture('darwin/netstat-AanlLW-f-inet6.txt')], warnings)
    assert found == [listener('ipv6', '::', 80, 128, 2),
                     listener('ipv4', '127.0.0.1', 6379, 511, 0),
                     listener('ipv4', '0.0.0.0', 22, 128, 0),
                     listener('ipv4', '0.0.0.0', 8080, -25536, 0),
                     listener('ipv4', '0.0.0.0', 3000, 327, 12345),
                     listener('ipv6', '::1', 6379, 511, 0),
                     listener('ipv6', '::', 22, 128, 0),
                     listener('ipv6', 'fe80::1', 631, 128, 0),
                     listener('ipv6', '2001:db8:85a3:8d3:1319:8a2e:370:7348', 5432, 128, 1)]
    assert len(warnings) == 2
    assert 'negative queue limit -25536 for 0.0.0.0 port 8080' in warnings[0]
    assert 'queues of 0.0.0.0 port 3000 as 12345/1234/327' in warnings[1]


def test_darwin_rows_keep_the_pcb_of_the_a_column():
    rows = netstat.parse_listen_rows(fixture('darwin/netstat-AanlLW-f-inet6.txt'))
    assert [(row['pcb'], row['proto'], row['address'], row['port']) for row in rows] == [
        ('9a1c53e0d1a2b301', None, '*', 80),
        ('9a1c53e0d1a31e29', None, '::1', 6379),
        ('9a1c53e0d1a32b41', None, '*', 22),
        ('9a1c53e0d1a33c59', None, 'fe80::1', 631),
        ('9a1c53e0d1a34d71', None, '2001:db8:85a3:8d3:1319:8a2e:370:7348', 5432)]


def test_darwin_recorded_output_without_f_cannot_tell_the_wildcards_apart():
    warnings = []
    found = netstat.parse_netstat_listen_queues(fixture('darwin/netstat-AaLlnW-help-lixin.txt'),
                                                warnings=warnings)
    # No protocol column and no -f: a wildcard's family is unknown, a numeric one is not.
    assert found == [listener(None, '*', 8080, 128, 0),
                     listener('ipv4', '127.0.0.1', 4301, 10, 0),
                     listener('ipv4', '127.0.0.1', 4310, 128, 0),
                     listener('ipv4', '127.0.0.1', 49578, 128, 0),
                     listener(None, '*', 49152, 128, 0),
                     listener(None, '*', 49152, 128, 0),
                     listener(None, '*', 22, 128, 0),
                     listener(None, '*', 22, 128, 0)]
    assert warnings == []
    rows = netstat.parse_listen_rows(fixture('darwin/netstat-AaLlnW-help-lixin.txt'))
    assert [row['pcb'] for row in rows][:2] == ['f28c2482e4cb4419', 'f28c2482ec478c09']


def test_darwin_recorded_output_with_the_family_asked_for():
    found = netstat.parse_netstat_listen_queues(fixture('darwin/netstat-AaLlnW-help-lixin.txt'),
                                                family='ipv4')
    assert [(item['family'], item['address'], item['port']) for item in found][:2] == [
        ('ipv4', '0.0.0.0', 8080), ('ipv4', '127.0.0.1', 4301)]


def test_darwin_layout_sample_from_the_nginx_guide():
    found = netstat.parse_netstat_listen_queues(fixture('darwin/netstat-Lan-nginx-admin-guide.txt'),
                                                family='ipv4')
    assert found == [listener('ipv4', '0.0.0.0', 12345, 128, 0),
                     listener('ipv4', '0.0.0.0', 80, 128, 10),
                     listener('ipv4', '0.0.0.0', 8080, 128, 0)]


def test_darwin_runs_without_pcbs_are_taken_as_they_are():
    inet = 'Listen         Local Address\n0/0/128        *.80\n'
    inet6 = 'Listen         Local Address\n0/0/128        *.80\n'
    assert netstat.darwin_listeners(inet, inet6) == [
        listener('ipv4', '0.0.0.0', 80, 128, 0), listener('ipv6', '::', 80, 128, 0)]


# -- odd and malformed lines ---------------------------------------------------------------

@pytest.mark.parametrize('line, expected', [
    ('tcp6  0/0/128                          ::ffff:127.0.0.1.80',
     listener('ipv6', '::ffff:127.0.0.1', 80, 128, 0)),
    ('toe4  0/0/1024                         10.0.0.1.443', listener('ipv4', '10.0.0.1', 443, 1024, 0)),
    ('toe46 0/0/1024                         *.443', listener('ipv6', '::', 443, 1024, 0)),
    ('fffff80003ee2410 tcp4  0/0/10                           127.0.0.1.25',
     listener('ipv4', '127.0.0.1', 25, 10, 0)),
    ('tcp4\t0/0/5\t127.0.0.1.5901', listener('ipv4', '127.0.0.1', 5901, 5, 0)),
])
def test_address_and_protocol_forms(line, expected):
    assert netstat.parse_netstat_listen_queues(line) == [expected]


@pytest.mark.parametrize('text', [
    '',
    'Current listen queue sizes (qlen/incqlen/maxqlen)\n',
    'unix  0/0/4                            /var/run/devd.pipe\n',
    'sctp4 1to1  0/0/128  *.5000\n',
    'sctp4 1to1  0/128    *.5000\n',
    'udp4  0/0/0  *.53\n',
    'tcp   0/0/128  *.80\n',
    'Some tcp sockets may have been deleted.\n',
    'tcp4  0/0  *.80\n',
    'tcp4  a/b/c  *.80\n',
    'netstat: kvm not available\n',
])
def test_lines_that_are_no_tcp_listener_are_skipped_quietly(text):
    warnings = []
    assert netstat.parse_netstat_listen_queues(text, warnings=warnings) == []
    assert warnings == []


@pytest.mark.parametrize('line, reason', [
    ('tcp4  0/0/128', 'without a local address'),
    ('tcp4  0/0/128  *.*', 'not host.port'),
    ('tcp4  0/0/128  localhost', 'not host.port'),
    ('tcp4  0/0/128  127.0.0.1.99999', 'not host.port'),
    ('tcp4  0/0/128  .80', 'not host.port'),
    ('tcp6  0/0/128  ::1.http', 'not host.port'),
])
def test_malformed_listener_lines_are_skipped_with_a_warning(line, reason):
    warnings = []
    text = 'Proto Listen         Local Address\ntcp4  0/0/128        *.22\n' + line + '\n'
    assert netstat.parse_netstat_listen_queues(text, warnings=warnings) == [
        listener('ipv4', '0.0.0.0', 22, 128, 0)]
    assert len(warnings) == 1
    assert reason in warnings[0] and repr(line) in warnings[0]


# -- the module, end to end ------------------------------------------------------------------

# The commands the fixtures stand for (SOURCES.yml), spelled out here rather than taken from _netstat.
FREEBSD_NETSTAT = ('netstat', '-LanW', '-p', 'tcp')
DARWIN_INET = ('netstat', '-AanlLW', '-f', 'inet')
DARWIN_INET6 = ('netstat', '-AanlLW', '-f', 'inet6')


class FakeHost(object):
    """Answers only the argv it knows; anything else is a missing program."""

    def __init__(self, commands):
        self.commands = dict(commands)
        self.ran = []

    def run_command(self, argv):
        self.ran.append(tuple(argv))
        return self.commands.get(tuple(argv), (127, '', '%s: program not found' % argv[0]))


class AnyHost(object):
    """Runs anything with success and no output; records what ran."""

    def __init__(self):
        self.ran = []

    def run_command(self, argv):
        self.ran.append(tuple(argv))
        return 0, '', ''


@pytest.mark.parametrize('system, commands', [
    ('FreeBSD', [FREEBSD_NETSTAT]),
    ('DragonFly', [FREEBSD_NETSTAT]),
    ('Darwin', [DARWIN_INET, DARWIN_INET6]),
])
def test_every_supported_system_runs_its_commands(system, commands):
    host = AnyHost()
    assert gather_utils.netstat_listeners(system, host.run_command, []) == []
    assert host.ran == commands


@pytest.mark.parametrize('system', ['Linux', 'OpenBSD', 'NetBSD', 'SunOS', 'AIX'])
def test_other_systems_run_no_netstat(system):
    host = AnyHost()
    with pytest.raises(RuntimeError, match='not supported on %s' % system):
        gather_utils.netstat_listeners(system, host.run_command, [])
    assert host.ran == []


def test_module_netstat_listeners_on_freebsd():
    host = FakeHost({FREEBSD_NETSTAT: (0, fixture('freebsd/netstat-Lan-nbari-2017.txt'), '')})
    warnings = []
    found = gather_utils.netstat_listeners('FreeBSD', host.run_command, warnings)
    assert host.ran == [FREEBSD_NETSTAT]
    assert [(item['family'], item['port'], item['backlog']) for item in found] == [
        ('ipv6', 80, 32768), ('ipv4', 31025, 128), ('ipv6', 31025, 128)]
    assert warnings == []


def test_module_netstat_listeners_on_darwin_runs_both_families():
    host = FakeHost({DARWIN_INET: (0, fixture('darwin/netstat-AanlLW-f-inet.txt'), ''),
                     DARWIN_INET6: (0, fixture('darwin/netstat-AanlLW-f-inet6.txt'), '')})
    warnings = []
    found = gather_utils.netstat_listeners('Darwin', host.run_command, warnings)
    assert host.ran == [DARWIN_INET, DARWIN_INET6]
    assert len(found) == 9 and len(warnings) == 2


def test_module_netstat_failure_names_the_command_rc_and_stderr():
    host = FakeHost({FREEBSD_NETSTAT: (1, '', 'netstat: sysctl: net.inet.tcp.pcblist: Operation not permitted\n')})
    with pytest.raises(RuntimeError) as caught:
        gather_utils.netstat_listeners('FreeBSD', host.run_command, [])
    assert str(caught.value) == ('listeners unavailable: `netstat -LanW -p tcp` exited 1: '
                                 'netstat: sysctl: net.inet.tcp.pcblist: Operation not permitted')


def test_module_netstat_missing_program():
    host = FakeHost({})
    with pytest.raises(RuntimeError, match=r'`netstat -AanlLW -f inet` exited 127: netstat: program not found'):
        gather_utils.netstat_listeners('Darwin', host.run_command, [])
    assert host.ran == [DARWIN_INET]


def run_main(monkeypatch, system, commands, listeners=True):
    """main() under AnsibleModule: the commands answer by argv, programs live in /usr/bin.

    Returns (host, outcome), outcome the ExitJson or FailJson main() ended with.
    """
    host = FakeHost(dict((('/usr/bin/' + argv[0],) + tuple(argv[1:]), answer)
                         for argv, answer in commands.items()))

    def run_command(argv, environ_update):
        assert environ_update == {'LC_ALL': 'C'}
        return host.run_command(argv)

    monkeypatch.setattr(_facts.os, 'uname', lambda: (system, 'testhost', '1.0', '#1', 'amd64'))
    outcome = run_module(monkeypatch, facts_module.main, {'listeners': listeners}, run_command, bin_dir='/usr/bin')
    return host, outcome


def test_main_on_freebsd_reports_sorted_listeners(monkeypatch):
    host, done = run_main(monkeypatch, 'FreeBSD', {
        ('sysctl', '-n', 'kern.ipc.soacceptqueue'): (0, '128\n', ''),
        FREEBSD_NETSTAT: (0, fixture('freebsd/netstat-LanW-p-tcp.txt'), ''),
    })
    assert isinstance(done, ExitJson), done.args
    result, warnings = done.args
    assert warnings == []
    assert host.ran[-1] == ('/usr/bin/netstat', '-LanW', '-p', 'tcp')
    found = result['ansible_facts']['ansible_listener_backlog_listeners']
    assert [(item['port'], item['family'], item['address']) for item in found] == [
        (22, 'ipv4', '0.0.0.0'), (22, 'ipv6', '::'), (25, 'ipv6', '2001:db8:85a3:8d3:1319:8a2e:370:7348'),
        (80, 'ipv6', '::'), (6379, 'ipv4', '127.0.0.1'), (6379, 'ipv6', '::1'),
        (8080, 'ipv6', 'fe80::1'), (8443, 'ipv4', '192.0.2.10')]
    assert all(item['pid'] is None and item['process'] is None for item in found)
    assert result['ansible_facts']['ansible_listener_backlog'] == 128


def test_main_on_darwin_passes_the_warnings_on(monkeypatch):
    _host, done = run_main(monkeypatch, 'Darwin', {
        ('sysctl', '-n', 'kern.ipc.somaxconn'): (0, '128\n', ''),
        DARWIN_INET: (0, fixture('darwin/netstat-AanlLW-f-inet.txt'), ''),
        DARWIN_INET6: (0, fixture('darwin/netstat-AanlLW-f-inet6.txt'), ''),
    })
    assert isinstance(done, ExitJson), done.args
    result, warnings = done.args
    found = result['ansible_facts']['ansible_listener_backlog_listeners']
    assert [(item['port'], item['family']) for item in found] == [
        (22, 'ipv4'), (22, 'ipv6'), (80, 'ipv6'), (631, 'ipv6'), (3000, 'ipv4'), (5432, 'ipv6'),
        (6379, 'ipv4'), (6379, 'ipv6'), (8080, 'ipv4')]
    assert len(warnings) == 2


def test_main_fails_with_the_netstat_error(monkeypatch):
    _host, failed = run_main(monkeypatch, 'DragonFly', {
        ('sysctl', '-n', 'kern.ipc.somaxconn'): (0, '128\n', ''),
        FREEBSD_NETSTAT: (1, '', 'netstat: kvm_nlist: No such file or directory\n'),
    })
    assert isinstance(failed, FailJson), failed.args
    assert failed.args[0]['msg'] == ('listeners unavailable: `netstat -LanW -p tcp` exited 1: '
                                     'netstat: kvm_nlist: No such file or directory')


@pytest.mark.parametrize('system', ['OpenBSD', 'NetBSD', 'SunOS', 'AIX', 'Haiku'])
def test_main_fails_clearly_where_no_reader_exists(monkeypatch, system):
    host, failed = run_main(monkeypatch, system, {})
    assert isinstance(failed, FailJson), failed.args
    assert failed.args[0]['msg'] == (
        'listeners=true is not supported on %s; it is supported on Linux, Darwin, DragonFly, FreeBSD'
        % system)
    assert not [argv for argv in host.ran if argv[0].endswith('netstat')]


def test_main_without_listeners_runs_no_netstat(monkeypatch):
    host, done = run_main(monkeypatch, 'FreeBSD', {('sysctl', '-n', 'kern.ipc.soacceptqueue'): (0, '128\n', '')},
                          listeners=False)
    assert isinstance(done, ExitJson), done.args
    assert 'ansible_listener_backlog_listeners' not in done.args[0]['ansible_facts']
    assert host.ran == [('/usr/bin/sysctl', '-n', 'kern.ipc.soacceptqueue')]
