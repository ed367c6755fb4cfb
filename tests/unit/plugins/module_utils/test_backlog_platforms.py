# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Non-Linux limit logic fed with the outputs under ``fixtures/<platform>/``.

Each fake host answers only the argv the gatherer is expected to run, with the
output recorded in a fixture; any other command gets rc 127 as from a missing
program.  SOURCES.yml names where every fixture comes from (most are constructed
from a documented format, and say so); docs/platforms.md has the facts behind
the PLATFORMS table.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest
import yaml

from ansible_collections.netstack.backlog.plugins.module_utils import _backlog as backlog

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, 'fixtures')
SOURCES = os.path.join(FIXTURES, 'SOURCES.yml')


def fixture(path):
    with open(os.path.join(FIXTURES, path)) as handle:
        return handle.read()


def sysctl(key):
    return ('sysctl', '-n', key)


def ipadm(key):
    return ('ipadm', 'show-prop', '-p', key, '-co', 'current', 'tcp')


def ndd(name):
    return ('ndd', '-get', '/dev/tcp', name)


NO = ('no', '-o', 'somaxconn')


def ok(path):
    return (0, fixture(path), '')


def merged(base, argv, answer):
    commands = dict(base)
    commands[argv] = answer
    return commands


class FakeHost(object):
    """Commands of a non-Linux host; records what ran and fails any file read."""

    def __init__(self, commands=None):
        self.commands = dict(commands or {})
        self.ran = []
        self.reads = []

    def read_file(self, path):
        self.reads.append(path)
        raise IOError(2, 'No such file or directory')

    def run_command(self, argv):
        self.ran.append(tuple(argv))
        return self.commands.get(tuple(argv), (127, '', '%s: program not found' % argv[0]))

    def gather(self, system):
        gatherer = backlog.LimitGatherer(system, '', self.read_file, self.run_command)
        value, info = gatherer.gather()
        assert self.reads == []  # nothing on these platforms reads procfs
        assert (info['syn_backlog'], info['syncookies'], info['listen_overflows'],
                info['listen_drops']) == (None, None, None, None)
        assert info['system'] == system
        return value, info, gatherer.warnings


def facts(info, value):
    return (value, info['source'], info['key'], info['raw'], info['capped'], info['minimum'])


# -- FreeBSD -------------------------------------------------------------------

def test_freebsd_reads_soacceptqueue():
    host = FakeHost({sysctl('kern.ipc.soacceptqueue'): ok('freebsd/sysctl-n-kern.ipc.soacceptqueue.txt')})
    value, info, warnings = host.gather('FreeBSD')
    assert facts(info, value) == (128, 'sysctl', 'kern.ipc.soacceptqueue', 128, False, None)
    assert warnings == []
    assert host.ran == [sysctl('kern.ipc.soacceptqueue')]


def test_freebsd_above_65535_is_not_capped():
    # sysctl_somaxconn() allows up to UINT_MAX / 3 and sol_qlimit is a u_int: Go's
    # 65535 cap would under-report this host.
    host = FakeHost({sysctl('kern.ipc.soacceptqueue'):
                     ok('freebsd/sysctl-n-kern.ipc.soacceptqueue-524288.txt')})
    value, info, warnings = host.gather('FreeBSD')
    assert facts(info, value) == (524288, 'sysctl', 'kern.ipc.soacceptqueue', 524288, False, None)
    assert warnings == []


def test_freebsd_without_soacceptqueue_reads_the_somaxconn_alias_and_says_so():
    host = FakeHost({
        sysctl('kern.ipc.soacceptqueue'):
            (1, '', fixture('freebsd/sysctl-n-kern.ipc.soacceptqueue-unknown-oid.stderr.txt')),
        sysctl('kern.ipc.somaxconn'): ok('freebsd/sysctl-n-kern.ipc.somaxconn.txt'),
    })
    value, info, warnings = host.gather('FreeBSD')
    assert facts(info, value) == (4096, 'sysctl', 'kern.ipc.somaxconn', 4096, False, None)
    assert len(warnings) == 1
    assert "unknown oid 'kern.ipc.soacceptqueue'" in warnings[0]
    assert 'exited 1' in warnings[0]
    assert warnings[0].endswith('used sysctl kern.ipc.somaxconn')


def test_freebsd_without_sysctl_reports_the_default_with_warning():
    host = FakeHost()
    value, info, warnings = host.gather('FreeBSD')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert len(warnings) == 1
    assert '`sysctl -n kern.ipc.soacceptqueue` exited 127: sysctl: program not found' in warnings[0]
    assert '`sysctl -n kern.ipc.somaxconn` exited 127' in warnings[0]
    assert 'used the platform default 128' in warnings[0]


@pytest.mark.parametrize('out, reason', [('garbage\n', 'printed not a number'),
                                         ('', 'printed empty'),
                                         ('-1\n', 'printed out of range: -1'),
                                         ('4294967296\n', 'printed out of range')])
def test_freebsd_output_that_is_no_u_int_is_not_believed(out, reason):
    host = FakeHost({sysctl('kern.ipc.soacceptqueue'): (0, out, ''),
                     sysctl('kern.ipc.somaxconn'): (0, out, '')})
    value, info, warnings = host.gather('FreeBSD')
    assert (value, info['source']) == (128, 'default')
    assert reason in warnings[0] and 'platform default 128' in warnings[0]


# -- macOS ---------------------------------------------------------------------

def test_darwin_reads_kern_ipc_somaxconn():
    host = FakeHost({sysctl('kern.ipc.somaxconn'): ok('darwin/sysctl-n-kern.ipc.somaxconn.txt')})
    value, info, warnings = host.gather('Darwin')
    assert facts(info, value) == (128, 'sysctl', 'kern.ipc.somaxconn', 128, False, None)
    assert warnings == [] and host.ran == [sysctl('kern.ipc.somaxconn')]


def test_darwin_above_32767_is_capped_and_the_wrap_is_explained():
    # xnu solisten(): so_qlimit = (short)backlog.  listen(32767) gets 32767; a
    # listen(-1) or listen(0) gets (short)40000 = -25536, listen(35000) (short)35000.
    host = FakeHost({sysctl('kern.ipc.somaxconn'): ok('darwin/sysctl-n-kern.ipc.somaxconn-40000.txt')})
    value, info, warnings = host.gather('Darwin')
    assert facts(info, value) == (32767, 'sysctl', 'kern.ipc.somaxconn', 40000, True, None)
    assert len(warnings) == 1
    assert 'a backlog of 0 or less gets (short)40000 = -25536 and accepts no connection' in warnings[0]
    assert 'any other request above 32767 is truncated to 16 bits' in warnings[0]


def test_darwin_negative_knob_means_no_connection_is_queued():
    host = FakeHost({sysctl('kern.ipc.somaxconn'): (0, '-1\n', '')})
    value, info, warnings = host.gather('Darwin')
    assert facts(info, value) == (0, 'sysctl', 'kern.ipc.somaxconn', -1, True, None)
    assert 'accepts no connection' in warnings[0]


def test_darwin_without_sysctl_reports_the_default_with_warning():
    host = FakeHost()
    value, info, warnings = host.gather('Darwin')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert 'sysctl: program not found' in warnings[0]


# -- OpenBSD -------------------------------------------------------------------

OPENBSD = {sysctl('kern.somaxconn'): ok('openbsd/sysctl-n-kern.somaxconn.txt'),
           sysctl('kern.sominconn'): ok('openbsd/sysctl-n-kern.sominconn.txt')}


def test_openbsd_reports_somaxconn_and_carries_the_minimum():
    host = FakeHost(OPENBSD)
    value, info, warnings = host.gather('OpenBSD')
    # sominconn 80 is below somaxconn: the largest backlog is still 128.
    assert facts(info, value) == (128, 'sysctl', 'kern.somaxconn', 128, False, 80)
    assert warnings == []
    assert host.ran == [sysctl('kern.somaxconn'), sysctl('kern.sominconn')]


def test_openbsd_minimum_above_somaxconn_raises_every_listen():
    # solisten(): clamp to somaxconn, then raise to sominconn: listen(N) gets 200 for any N.
    host = FakeHost(merged(OPENBSD, sysctl('kern.sominconn'), (0, '200\n', '')))
    value, info, _warnings = host.gather('OpenBSD')
    assert facts(info, value) == (200, 'sysctl', 'kern.somaxconn', 128, True, 200)
    granted = [backlog.effective_backlog(n, info['raw'], info['minimum']) for n in (-1, 0, 1, 128, 5000)]
    assert granted == [200] * 5 and max(granted) == value


def test_openbsd_unreadable_minimum_is_left_out_with_warning():
    host = FakeHost({sysctl('kern.somaxconn'): ok('openbsd/sysctl-n-kern.somaxconn.txt')})
    value, info, warnings = host.gather('OpenBSD')
    assert facts(info, value) == (128, 'sysctl', 'kern.somaxconn', 128, False, None)
    assert warnings == ['kern.sominconn unreadable (`sysctl -n kern.sominconn` exited 127: '
                        'sysctl: program not found); no minimum applied']


def test_openbsd_without_somaxconn_does_not_ask_for_the_minimum():
    host = FakeHost({sysctl('kern.sominconn'): ok('openbsd/sysctl-n-kern.sominconn.txt')})
    value, info, warnings = host.gather('OpenBSD')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert host.ran == [sysctl('kern.somaxconn')]
    assert 'platform default 128' in warnings[0]


# -- DragonFly -----------------------------------------------------------------

def test_dragonfly_reads_kern_ipc_somaxconn():
    host = FakeHost({sysctl('kern.ipc.somaxconn'): ok('dragonfly/sysctl-n-kern.ipc.somaxconn.txt')})
    value, info, warnings = host.gather('DragonFly')
    assert facts(info, value) == (128, 'sysctl', 'kern.ipc.somaxconn', 128, False, None)
    assert warnings == []


def test_dragonfly_short_queue_caps_at_32767_not_65535():
    host = FakeHost({sysctl('kern.ipc.somaxconn'): (0, '70000\n', '')})
    value, info, warnings = host.gather('DragonFly')
    assert facts(info, value) == (32767, 'sysctl', 'kern.ipc.somaxconn', 70000, True, None)
    # (short)70000 = 4464: a listen(-1) there silently gets 4464.
    assert 'a negative backlog gets (short)70000 = 4464, and any other request above 32767' in warnings[0]
    assert 'accepts no connection' not in warnings[0]


# -- NetBSD, unknown systems ---------------------------------------------------

def test_netbsd_reports_the_compiled_in_somaxconn_without_warning():
    host = FakeHost()
    value, info, warnings = host.gather('NetBSD')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert warnings == [] and host.ran == []


def test_unknown_system_reports_128_with_warning():
    host = FakeHost()
    value, info, warnings = host.gather('Haiku')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert warnings == ['no known listen backlog knob on Haiku; reporting the traditional SOMAXCONN 128']
    assert host.ran == []


# -- illumos / Solaris ---------------------------------------------------------

IPADM = {ipadm('_conn_req_max_q'): ok('sunos/ipadm-show-prop-p-_conn_req_max_q-co-current-tcp.txt'),
         ipadm('_conn_req_min'): ok('sunos/ipadm-show-prop-p-_conn_req_min-co-current-tcp.txt')}
NDD = {ndd('tcp_conn_req_max_q'): ok('sunos/ndd-get-dev-tcp-tcp_conn_req_max_q.txt'),
       ndd('tcp_conn_req_min'): ok('sunos/ndd-get-dev-tcp-tcp_conn_req_min.txt')}


def test_sunos_reads_ipadm_and_the_minimum():
    host = FakeHost(IPADM)
    value, info, warnings = host.gather('SunOS')
    assert facts(info, value) == (128, 'ipadm', '_conn_req_max_q', 128, False, 1)
    assert warnings == []
    assert host.ran == [ipadm('_conn_req_max_q'), ipadm('_conn_req_min')]


def test_sunos_without_ipadm_reads_ndd_with_one_warning():
    host = FakeHost(NDD)
    value, info, warnings = host.gather('SunOS')
    assert facts(info, value) == (128, 'ndd', '_conn_req_max_q', 128, False, 1)
    assert warnings == ['`ipadm show-prop -p _conn_req_max_q -co current tcp` exited 127: '
                        'ipadm: program not found; read tcp_conn_req_max_q with ndd instead']
    # The minimum comes from the interface that answered: no second ipadm attempt.
    assert host.ran == [ipadm('_conn_req_max_q'), ndd('tcp_conn_req_max_q'), ndd('tcp_conn_req_min')]


def test_sunos_ipadm_printing_its_table_is_not_believed():
    host = FakeHost(merged(NDD, ipadm('_conn_req_max_q'),
                           ok('sunos/ipadm-show-prop-p-_conn_req_max_q-tcp.txt')))
    value, info, warnings = host.gather('SunOS')
    assert (value, info['source']) == (128, 'ndd')
    assert "printed not a number: 'PROTO PROPERTY" in warnings[0]


def test_sunos_ipadm_and_ndd_failing_report_the_default():
    host = FakeHost({ndd('tcp_conn_req_max_q'): (1, fixture('sunos/ndd-get-dev-tcp-unknown-name.txt'), '')})
    value, info, warnings = host.gather('SunOS')
    assert facts(info, value) == (128, 'default', 'SOMAXCONN', None, False, None)
    assert len(warnings) == 1
    assert 'ipadm: program not found' in warnings[0]
    assert '`ndd -get /dev/tcp tcp_conn_req_max_q` exited 1: name is non-existent for this module' in warnings[0]
    assert 'platform default 128' in warnings[0]


def test_sunos_minimum_above_the_maximum_is_capped_by_it():
    # tcp_do_listen() raises to _conn_req_min first, then caps at _conn_req_max_q
    # (illumos usr/src/uts/common/inet/tcp/tcp.c): the maximum stays the largest grant.
    host = FakeHost(merged(IPADM, ipadm('_conn_req_min'), (0, '1024\n', '')))
    value, info, _warnings = host.gather('SunOS')
    assert facts(info, value) == (128, 'ipadm', '_conn_req_max_q', 128, False, 1024)
    granted = [backlog.effective_backlog(n, value, info['minimum'], info['system']) for n in (-1, 0, 1, 5000)]
    assert granted == [128] * 4


# -- AIX -----------------------------------------------------------------------

def test_aix_reads_no():
    host = FakeHost({NO: ok('aix/no-o-somaxconn.txt')})
    value, info, warnings = host.gather('AIX')
    assert facts(info, value) == (1024, 'no', 'somaxconn', 1024, False, None)
    assert warnings == [] and host.ran == [NO]


def test_aix_without_no_reports_the_default_with_warning():
    host = FakeHost()
    value, info, warnings = host.gather('AIX')
    assert facts(info, value) == (1024, 'default', 'SOMAXCONN', None, False, None)
    assert '`no -o somaxconn` exited 127: no: program not found' in warnings[0]


def test_aix_output_without_the_tunable_is_not_believed():
    host = FakeHost({NO: (0, 'tcp_sendspace = 16384\n', '')})
    value, info, warnings = host.gather('AIX')
    assert (value, info['source']) == (1024, 'default')
    assert '`no -o somaxconn` printed no line "somaxconn = N"' in warnings[0]


@pytest.mark.parametrize('out', [fixture('aix/no-o-somaxconn.txt'),
                                 # ``no -a`` pads the names to one column.
                                 '             sockthresh = 85\n              somaxconn = 1024\n'])
def test_parse_aix_no(out):
    assert backlog.parse_aix_no(out, 'somaxconn') == 1024


def test_parse_aix_no_rejects_a_value_that_is_no_number():
    with pytest.raises(backlog.ReadFailure):
        backlog.parse_aix_no('somaxconn = n/a\n', 'somaxconn')


# -- the clamp and the helpers ---------------------------------------------------

@pytest.mark.parametrize('raw, ceiling, minimum, expected', [
    (128, None, None, (128, False)),
    (524288, None, None, (524288, False)),
    (40000, 32767, None, (32767, True)),
    (128, 32767, 80, (128, False)),      # OpenBSD defaults: the minimum does not change the maximum
    (128, 32767, 200, (200, True)),      # sominconn above somaxconn wins
    (40000, 32767, 200, (32767, True)),
    (-5, 32767, 80, (80, True)),
])
def test_clamp_to_kernel(raw, ceiling, minimum, expected):
    assert backlog.clamp_to_kernel(raw, ceiling, minimum) == expected


@pytest.mark.parametrize('raw, minimum', [(128, 80), (128, 200), (0, 80), (32767, 80)])
def test_clamped_value_is_the_largest_backlog_a_listen_gets(raw, minimum):
    value, _capped = backlog.clamp_to_kernel(raw, backlog.S16_MAX, minimum)
    granted = [backlog.effective_backlog(n, raw, minimum) for n in (-1, 0, 1, 80, 128, 200, 32767, 10 ** 6)]
    assert max(granted) == value


@pytest.mark.parametrize('value, expected', [(32767, 32767), (32768, -32768), (40000, -25536),
                                             (65535, -1), (65536 + 100, 100), (-1, -1)])
def test_short_of(value, expected):
    assert backlog.short_of(value) == expected


def test_ndd_name():
    assert backlog.ndd_name('_conn_req_max_q') == 'tcp_conn_req_max_q'
    assert backlog.ndd_name('tcp_conn_req_min') == 'tcp_conn_req_min'


@pytest.mark.parametrize('system', sorted(backlog.PLATFORMS))
def test_platform_entries_are_complete_and_consistent(system):
    platform = backlog.PLATFORMS[system]
    assert set(['reader', 'keys', 'bounds', 'default', 'ceiling', 'short_queue',
                'listen_rule', 'minimum_key']) <= set(platform)
    if platform['reader'] == 'none':
        assert platform['keys'] == ()
        return
    assert platform['keys'] and hasattr(backlog.LimitGatherer, '_read_' + platform['reader'])
    lower, upper = platform['bounds']
    assert lower <= platform['default'] <= upper
    if platform['ceiling'] is not None:
        assert platform['default'] <= platform['ceiling']
    if platform['short_queue']:
        assert platform['ceiling'] == backlog.S16_MAX and platform['listen_rule'] in backlog.GETS_LIMIT
    if platform['minimum_key']:
        assert len(platform['minimum_bounds']) == 2


# -- the fixtures and their sources ----------------------------------------------

def _sources():
    with open(SOURCES) as handle:
        return yaml.safe_load(handle)


def _fixture_files():
    """Every fixture file but those of a folder with a SOURCES.yml of its own (cgroup/, checked in test_netns.py)."""
    found = set()
    for path in glob.glob(os.path.join(FIXTURES, '**', '*'), recursive=True):
        relative = os.path.relpath(path, FIXTURES).replace(os.sep, '/')
        if not os.path.isfile(path) or os.path.abspath(path) == SOURCES:
            continue
        if '/' in relative and os.path.exists(os.path.join(FIXTURES, relative.split('/', maxsplit=1)[0], 'SOURCES.yml')):
            continue
        found.add(relative)
    return found


def test_every_source_entry_names_an_existing_file_with_its_origin():
    sources = _sources()
    for path, entry in sources.items():
        assert os.path.isfile(os.path.join(FIXTURES, path)), path
        assert set(entry) == set(['source', 'system', 'notes']), path
        assert all(isinstance(entry[field], str) and entry[field].strip() for field in entry), path


def test_every_fixture_file_is_listed_in_sources():
    assert _fixture_files() == set(_sources())


def test_every_fixture_is_used_by_a_test():
    text = ''
    for name in glob.glob(os.path.join(HERE, 'test_*.py')):
        with open(name) as handle:
            text += handle.read()
    unused = [path for path in _sources() if os.path.basename(path) not in text]
    assert unused == []
