# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Linux limit logic fed with procfs text and every fault the module falls back from.

``fixtures/linux/6.18/`` was recorded on Linux 6.18.44 (Debian 12 userland), the
development machine of this collection; SOURCES.yml names each file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _backlog as backlog

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'linux', '6.18')
NETSTAT = open(os.path.join(FIXTURES, 'proc-net-netstat.txt')).read()
# Recorded after traffic that moved the listen counters by different amounts (SOURCES.yml).
LISTEN_DROPS = open(os.path.join(FIXTURES, 'proc-net-netstat-listen-drops.txt')).read()
# Its non-zero TcpExt counters, read off the recording by column; every other counter is 0.
LISTEN_DROPS_TCPEXT = {
    'SyncookiesSent': 13, 'SyncookiesRecv': 5, 'SyncookiesFailed': 1, 'EmbryonicRsts': 2, 'TW': 9,
    'DelayedACKs': 9, 'ListenOverflows': 20, 'ListenDrops': 38, 'TCPPureAcks': 65, 'TCPHPAcks': 400,
    'TCPLostRetransmit': 12, 'TCPTimeouts': 19, 'TCPAbortOnData': 7, 'TCPAbortOnClose': 4,
    'TCPReqQFullDoCookies': 17, 'TCPReqQFullDrop': 11, 'TCPSynRetrans': 19, 'TCPOrigDataSent': 438,
    'TCPDelivered': 465, 'TcpTimeoutRehash': 8,
}


class FakeHost(object):
    """Files and commands of a host as the gatherer sees them; records what ran."""

    def __init__(self, files=None, commands=None, probe_result=None):
        self.files = {
            backlog.LINUX_SYN_BACKLOG_PATH: '2048\n',
            backlog.LINUX_SYNCOOKIES_PATH: '1\n',
            backlog.LINUX_NETSTAT_PATH: NETSTAT,
        }
        self.files.update(files or {})
        self.commands = commands or {}
        self.ran = []
        self.probes = []
        self.probe_result = probe_result

    def read_file(self, path):
        content = self.files.get(path, IOError(errno.ENOENT, 'No such file or directory'))
        if isinstance(content, Exception):
            raise content
        return content

    def run_command(self, argv):
        self.ran.append(argv)
        return self.commands.get(tuple(argv), (127, '', '%s: program not found' % argv[0]))

    def probe(self, request):
        self.probes.append(request)
        if isinstance(self.probe_result, Exception):
            raise self.probe_result
        if self.probe_result is None:
            raise OSError(errno.EAFNOSUPPORT, 'Address family not supported by protocol')
        return self.probe_result

    def gather(self, release='6.18.44', system='Linux'):
        gatherer = backlog.LimitGatherer(system, release, self.read_file, self.run_command, self.probe)
        value, info = gatherer.gather()
        return value, info, gatherer.warnings


SYSCTL = ('sysctl', '-n', 'net.core.somaxconn')


@pytest.mark.parametrize('raw', [0, 100, 4096, 70000, 2147483647])
def test_procfs_value_is_reported_as_is_on_a_32_bit_kernel(raw):
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '%d\n' % raw})
    value, info, warnings = host.gather()
    assert value == raw
    assert info['source'] == 'procfs'
    assert info['key'] == 'net.core.somaxconn'
    assert info['raw'] == raw
    assert info['capped'] is False
    assert info['system'] == 'Linux'
    assert warnings == []
    assert host.ran == [] and host.probes == []  # procfs answered: nothing spawned, no probe


def test_old_16_bit_kernel_caps_above_65535_and_says_so():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '262144\n'})
    value, info, _warnings = host.gather(release='3.10.0-1160.el7.x86_64')
    assert (value, info['raw'], info['capped']) == (65535, 262144, True)


def test_old_kernel_at_or_below_65535_is_not_capped():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '65535\n'})
    value, info, _warnings = host.gather(release='4.0.9')
    assert (value, info['capped']) == (65535, False)


def test_kernel_4_1_stores_32_bits():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '70000\n'})
    value, info, _warnings = host.gather(release='4.1.0')
    assert (value, info['capped']) == (70000, False)


def test_health_signals_come_from_procfs():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '4096\n', backlog.LINUX_SYN_BACKLOG_PATH: '2048\n',
                     backlog.LINUX_NETSTAT_PATH: LISTEN_DROPS})
    _value, info, _warnings = host.gather()
    assert info['syn_backlog'] == 2048
    assert info['syncookies'] == 1
    # The recording's ListenOverflows and ListenDrops, neighbours of each other and both unique in the row.
    assert info['listen_overflows'] == 20
    assert info['listen_drops'] == 38


FAULTS = {
    'garbage': ('garbage\n', 'not a number'),
    'empty': ('', 'is empty'),
    'blank line': ('\n', 'is empty'),
    'missing': (IOError(errno.ENOENT, 'No such file or directory'), 'is missing'),
    'unreadable': (IOError(errno.EACCES, 'Permission denied'), 'permission denied'),
    'a directory': (IOError(errno.EISDIR, 'Is a directory'), 'is a directory'),
    'negative': ('-5\n', 'out of range'),
}


@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_broken_procfs_falls_back_to_sysctl_with_warning(fault):
    content, reason = FAULTS[fault]
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: content}, {SYSCTL: (0, '1024\n', '')})
    value, info, warnings = host.gather()
    assert (value, info['source'], info['raw']) == (1024, 'sysctl', 1024)
    assert len(warnings) == 1
    assert backlog.LINUX_SOMAXCONN_PATH in warnings[0] and reason in warnings[0]
    assert 'used sysctl' in warnings[0]


def test_sysctl_reading_the_same_broken_file_falls_back_to_the_probe():
    # procps sysctl reads /proc/sys too, so it sees what the module saw.
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: 'garbage\n'},
                    {SYSCTL: (255, '', 'sysctl: cannot stat /proc/sys/net/core/somaxconn: No such file')},
                    probe_result=100)
    value, info, warnings = host.gather()
    assert (value, info['source'], info['raw'], info['capped']) == (100, 'probe', None, False)
    assert host.probes == [2147483647]  # INT_MAX: the largest backlog listen(2) takes
    assert 'not a number' in warnings[0] and 'exited 255' in warnings[0]
    assert 'listen(2147483647)' in warnings[0]


def test_sysctl_missing_program_is_named_in_the_warning():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: IOError(errno.ENOENT, 'gone')}, probe_result=4096)
    _value, info, warnings = host.gather()
    assert info['source'] == 'probe'
    assert 'sysctl: program not found' in warnings[0]


def test_sysctl_printing_garbage_is_not_believed():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: IOError(errno.ENOENT, 'gone')},
                    {SYSCTL: (0, 'sysctl: permission denied on key\n', '')}, probe_result=512)
    value, info, warnings = host.gather()
    assert (value, info['source']) == (512, 'probe')
    assert 'printed not a number' in warnings[0]


def test_probe_asks_for_65535_on_a_16_bit_kernel():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: IOError(errno.ENOENT, 'gone')}, probe_result=65535)
    value, _info, _warnings = host.gather(release='3.10.0')
    assert value == 65535 and host.probes == [65535]


@pytest.mark.parametrize('release, default', [('6.18.44', 4096), ('5.4.0-42-generic', 4096),
                                              ('5.3.18', 128), ('2.6.32-754.el6', 128),
                                              ('weird', 4096)])
def test_everything_failing_reports_the_kernel_default_with_warning(release, default):
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: IOError(errno.ENOENT, 'gone')},
                    probe_result=OSError(errno.EPERM, 'Operation not permitted'))
    value, info, warnings = host.gather(release=release)
    assert (value, info['source'], info['key'], info['raw']) == (default, 'default', 'SOMAXCONN', None)
    assert 'the listen() probe failed' in warnings[0] and 'kernel default %d' % default in warnings[0]


def test_missing_health_signals_are_null_with_one_warning():
    # Rootless containers hide net sysctls (kernel commit 464dc801c76a).
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '4096\n',
                     backlog.LINUX_SYN_BACKLOG_PATH: IOError(errno.ENOENT, 'gone'),
                     backlog.LINUX_NETSTAT_PATH: 'Ip: Forwarding\nIp: 1\n'})
    _value, info, warnings = host.gather()
    assert info['syn_backlog'] is None and info['listen_overflows'] is None
    assert info['syncookies'] == 1
    assert len(warnings) == 1 and backlog.LINUX_SYN_BACKLOG_PATH in warnings[0]


def test_parse_netstat_reads_recorded_tcpext_counters():
    tables = backlog.parse_netstat(LISTEN_DROPS)
    assert sorted(tables) == ['IpExt', 'MPTcpExt', 'TcpExt']
    tcpext = tables['TcpExt']
    assert len(tcpext) == 135
    assert dict((name, value) for name, value in tcpext.items() if value) == LISTEN_DROPS_TCPEXT
    assert (tables['IpExt']['InOctets'], tables['IpExt']['OutOctets'], tables['IpExt']['InNoECTPkts']) == (
        1255692, 1256436, 1029)
    assert not any(tables['MPTcpExt'].values())


def test_parse_tcpext_reads_the_recorded_counters_asked():
    names = ('ListenOverflows', 'ListenDrops', 'SyncookiesSent', 'SyncookiesFailed', 'EmbryonicRsts',
             'TCPReqQFullDrop', 'TCPReqQFullDoCookies', 'TCPHPHits')
    assert backlog.parse_tcpext(LISTEN_DROPS, names) == {
        'ListenOverflows': 20, 'ListenDrops': 38, 'SyncookiesSent': 13, 'SyncookiesFailed': 1,
        'EmbryonicRsts': 2, 'TCPReqQFullDrop': 11, 'TCPReqQFullDoCookies': 17, 'TCPHPHits': 0}
    assert backlog.parse_tcpext(LISTEN_DROPS) == {'ListenOverflows': 20, 'ListenDrops': 38}


def numbered(text, base):
    """``text`` with every value of every table replaced by its own number: base + table * 1000 + column."""
    lines = text.splitlines()
    for table in range(0, len(lines), 2):
        prefix, names = lines[table].split(':', 1)
        values = ['%d' % (base + table * 1000 + column) for column in range(len(names.split()))]
        lines[table + 1] = prefix + ': ' + ' '.join(values)
    return '\n'.join(lines) + '\n'


@pytest.mark.parametrize('recording', [NETSTAT, LISTEN_DROPS])
def test_parse_netstat_gives_each_name_its_own_column(recording):
    # The recorded header lines, every column a different non-zero number: a shift by any amount shows.
    text = numbered(recording, 7)
    tables = backlog.parse_netstat(text)
    lines = text.splitlines()
    assert len(tables) == len(lines) // 2
    for table in range(0, len(lines), 2):
        prefix, names = lines[table].split(':', 1)
        expected = dict((name, 7 + table * 1000 + column) for column, name in enumerate(names.split()))
        assert tables[prefix] == expected
    tcpext_names = tuple(lines[0].split()[1:])
    assert backlog.parse_tcpext(text, tcpext_names) == tables['TcpExt']


@pytest.mark.parametrize('text', ['', 'Ip: Forwarding\nIp: 1\n', 'TcpExt: ListenOverflows\n',
                                  'TcpExt: ListenOverflows ListenDrops\nTcpExt: x 3\n'])
def test_parse_tcpext_leaves_out_what_is_not_there(text):
    found = backlog.parse_tcpext(text)
    assert 'ListenOverflows' not in found
    assert found.get('ListenDrops') in (None, 3)


@pytest.mark.parametrize('release, expected', [('6.18.44-fc-v769', (6, 18)), ('4.1', (4, 1)),
                                               ('3.10.0-1160.el7.x86_64', (3, 10)),
                                               ('5', None), ('', None), ('x.y', None)])
def test_parse_kernel_release(release, expected):
    assert backlog.parse_kernel_release(release) == expected


@pytest.mark.parametrize('text', ['4096', ' 4096 \n', '4096\nextra\n'])
def test_parse_int_takes_the_first_line(text):
    assert backlog.parse_int(text) == 4096


def test_unknown_posix_platform_reports_the_traditional_default_with_warning():
    host = FakeHost()
    value, info, warnings = host.gather(system='HP-UX')
    assert (value, info['source'], info['system']) == (128, 'default', 'HP-UX')
    assert 'no known listen backlog knob on HP-UX' in warnings[0]
    assert info['syn_backlog'] is None and host.ran == []
