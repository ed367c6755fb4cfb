# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The facts as the Prometheus text format, and the atomic write of the textfile.

The exposition is read back here with a small reader of the format's grammar (label values'
escapes undone), so that what went in is compared with what a parser gets out; the
integration tests (tests/integration/test_prometheus_rules.py) run promtool and the Prometheus
Python client's parser on it too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import stat

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _prometheus

DOCKER_ID = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211'
POD_CONTAINER = '9a8b7c6d5e4f00112233445566778899aabbccddeeff00112233445566778899'
POD = '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'
HOST_INODE, DOCKER_INODE, POD_INODE, NETNS_INODE, GONE_INODE = 4026531840, 4026532281, 4026532400, 4026532500, 4026532999
RUN = {'success': True, 'duration_seconds': 0.25, 'errors': [], 'last_success_timestamp_seconds': 1718000000.5}

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def unescape(value):
    return re.sub(r'\\([\\"n])', lambda match: {'\\': '\\', '"': '"', 'n': '\n'}[match.group(1)], value)


def parse(exposition):
    """{name: {'type', 'help', 'samples': [(labels dict, value text)]}}, checking the grammar on the way."""
    assert exposition.endswith('\n') and not exposition.endswith('\n\n')
    families, current = {}, None
    for line in exposition.split('\n')[:-1]:
        if line.startswith('# HELP '):
            name, _sep, help_text = line[len('# HELP '):].partition(' ')
            assert name not in families, 'a second HELP for %s' % name
            current = families[name] = {'help': help_text, 'type': None, 'samples': []}
        elif line.startswith('# TYPE '):
            name, kind = line[len('# TYPE '):].split(' ')
            assert name in families and families[name]['type'] is None, line
            families[name]['type'] = kind
        else:
            match = LINE.match(line)
            assert match, 'not a sample line: %r' % line
            name, labels, value = match.groups()
            assert name == current_name(families, current), 'sample outside its family: %r' % line
            pairs = {}
            if labels:
                found = PAIR.findall(labels)
                assert ''.join('%s="%s"%s' % found_pair for found_pair in found) == labels, labels
                pairs = dict((label, unescape(escaped)) for label, escaped, _comma in found)
            current['samples'].append((pairs, value))
    return families


def current_name(families, current):
    return [name for name, family in families.items() if family is current][0]


def values(families, name):
    return sorted((tuple(sorted(labels.items())), value) for labels, value in families[name]['samples'])


def namespace(inode, limit, overflows=0, drops=0, current=False, initial=False, name=None, container=None,
              listeners=None, error=None, **extra):
    entry = {'id': inode, 'current': current, 'initial': initial, 'name': name, 'pids': [inode % 1000],
             'container': container, 'listener_backlog': limit,
             'listener_backlog_info': None if limit is None else {'listen_overflows': overflows, 'listen_drops': drops,
                                                                  'source': 'procfs'},
             'listeners': listeners, 'error': error}
    entry.update(extra)
    return entry


def listener(port, backlog, queued=0, process='redis-server', address='0.0.0.0', pid=10):
    return {'family': 'ipv6' if ':' in address else 'ipv4', 'address': address, 'port': port, 'backlog': backlog,
            'queued': queued, 'pid': pid, 'process': process}


def realistic():
    return [
        namespace(HOST_INODE, 4096, 5, 7, current=True, initial=True,
                  listeners=[listener(22, 128, process='sshd'), listener(80, 511, process='nginx')]),
        namespace(DOCKER_INODE, 128, 700, 700, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None},
                  listeners=[listener(6379, 128, 128)]),
        namespace(POD_INODE, 4096, 0, 3, name='cni-5e6a4c1f',
                  container={'runtime': 'containerd', 'id': POD_CONTAINER, 'pod': POD}, listeners=[]),
        namespace(NETNS_INODE, 1024, name='blue', listeners=None),
        namespace(GONE_INODE, None, error='gone during the scan'),
    ]


def labels_of(inode, name='', runtime='', container_id='', pod=''):
    return (('container_id', container_id), ('container_runtime', runtime), ('netns', str(inode)),
            ('netns_name', name), ('pod_uid', pod))


def test_every_family_has_help_and_type_once_and_its_samples_follow_it():
    families = parse(_prometheus.exposition(realistic(), RUN))
    assert list(families) == [name for name, _type, _help in _prometheus.FAMILIES]
    for name, kind, _help in _prometheus.FAMILIES:
        assert families[name]['type'] == kind and families[name]['help']
        assert name.endswith('_total') == (kind == 'counter'), name  # _total on counters only


def test_each_namespace_gets_its_limit_and_counters_labelled_by_inode_name_and_container():
    families = parse(_prometheus.exposition(realistic(), RUN))
    docker = labels_of(DOCKER_INODE, runtime='docker', container_id='3f4e5d6c7b8a')
    pod = labels_of(POD_INODE, 'cni-5e6a4c1f', 'containerd', '9a8b7c6d5e4f', POD)
    assert values(families, 'netstack_backlog_limit') == sorted([
        (labels_of(HOST_INODE), '4096'), (docker, '128'), (pod, '4096'), (labels_of(NETNS_INODE, 'blue'), '1024')])
    assert values(families, 'netstack_backlog_listen_overflows_total') == sorted([
        (labels_of(HOST_INODE), '5'), (docker, '700'), (pod, '0'), (labels_of(NETNS_INODE, 'blue'), '0')])
    assert (pod, '3') in values(families, 'netstack_backlog_listen_drops_total')
    assert values(families, 'netstack_backlog_host_limit') == [((), '4096')]
    assert values(families, 'netstack_backlog_namespaces') == [((), '5')]
    assert values(families, 'netstack_backlog_namespaces_unreadable') == [((), '1')]


def test_a_namespace_whose_values_are_unknown_gets_no_sample_rather_than_a_made_up_one():
    entries = [namespace(HOST_INODE, 4096, current=True, initial=True),
               namespace(GONE_INODE, None, error='entering it was refused'),
               namespace(NETNS_INODE, 1024, overflows=None, drops=None)]
    families = parse(_prometheus.exposition(entries, {'success': True}))
    for name in ('netstack_backlog_limit', 'netstack_backlog_listen_overflows_total',
                 'netstack_backlog_listen_drops_total'):
        assert str(GONE_INODE) not in [dict(labels)['netns'] for labels, _value in values(families, name)], name
    assert [dict(labels)['netns'] for labels, _value in values(families, 'netstack_backlog_listen_overflows_total')] \
        == [str(HOST_INODE)]
    # Nothing known about the run but its outcome: no duration, no last success.
    assert values(families, 'netstack_backlog_collector_duration_seconds') == []
    assert values(families, 'netstack_backlog_collector_last_success_timestamp_seconds') == []
    assert values(families, 'netstack_backlog_collector_errors') == [((), '0')]


def test_values_that_are_not_numbers_get_no_sample():
    entry = namespace(HOST_INODE, '4096', current=True, initial=True, listeners=[listener(80, '511'), listener(81, 5)])
    entry['listener_backlog_info']['listen_overflows'] = {'not': 'a number'}
    families = parse(_prometheus.exposition([entry], RUN))
    assert values(families, 'netstack_backlog_limit') == []
    assert values(families, 'netstack_backlog_host_limit') == []
    assert values(families, 'netstack_backlog_listen_overflows_total') == []
    assert [dict(labels)['port'] for labels, _value in values(families, 'netstack_backlog_listener_backlog')] == ['81']


def test_container_ids_are_cut_to_12_characters_when_hexadecimal_and_kept_whole_otherwise():
    assert _prometheus.short_id(DOCKER_ID) == '3f4e5d6c7b8a'
    assert _prometheus.short_id('3f4e5d6c7b8a') == '3f4e5d6c7b8a'
    # systemd-nspawn names the machine: cut, the name would name nothing.
    assert _prometheus.short_id('debian-bookworm-build') == 'debian-bookworm-build'
    assert _prometheus.short_id(None) == ''


@pytest.mark.parametrize('initial_key', ['missing', None])
def test_without_a_known_machine_namespace_the_host_limit_is_the_collectors_own(initial_key):
    entries = [namespace(HOST_INODE, 4096, current=True), namespace(DOCKER_INODE, 128)]
    for entry in entries:
        if initial_key == 'missing':
            del entry['initial']
        else:
            entry['initial'] = None
    families = parse(_prometheus.exposition(entries, RUN))
    assert values(families, 'netstack_backlog_host_limit') == [((), '4096')]


def test_the_host_limit_is_the_machine_namespace_even_when_the_collector_runs_in_another():
    entries = [namespace(HOST_INODE, 65535, initial=True), namespace(DOCKER_INODE, 128, current=True)]
    families = parse(_prometheus.exposition(entries, RUN))
    assert values(families, 'netstack_backlog_host_limit') == [((), '65535')]


def test_where_the_machine_namespace_is_not_listed_the_collectors_own_is_the_hosts():
    # A collector in a PID namespace of its own (a simulated host, a pod) on Linux 6.18 knows the
    # machine's namespace is none of those it sees: the one it runs in stands for its host.
    entries = [namespace(DOCKER_INODE, 128, current=True, initial=False), namespace(DOCKER_INODE + 1, 64)]
    assert values(parse(_prometheus.exposition(entries, RUN)), 'netstack_backlog_host_limit') == [((), '128')]


def test_no_host_limit_when_the_machine_namespace_is_listed_but_not_read():
    entries = [namespace(HOST_INODE, None, initial=True, error='not permitted'),
               namespace(DOCKER_INODE, 128, current=True, initial=False)]
    assert values(parse(_prometheus.exposition(entries, RUN)), 'netstack_backlog_host_limit') == []


def test_label_values_escape_backslash_double_quote_and_line_feed():
    entry = namespace(NETNS_INODE, 128, name='a\\b"c\nd', current=True)
    text = _prometheus.exposition([entry], RUN)
    assert 'netns_name="a\\\\b\\"c\\nd"' in text
    assert _prometheus.escape_label_value('\\"\n') == '\\\\\\"\\n'


def test_help_text_escapes_backslash_and_line_feed_but_not_quotes():
    assert _prometheus.escape_help('a\\b\n"c"') == 'a\\\\b\\n"c"'


HOSTILE = [
    u'<b>x|y</b>',
    u'say "hi"',
    u'back\\slash\\',
    u'two\nlines',
    u'x"} 1\n# TYPE evil counter\nevil_total 1',
    u'\u00fcn\u00efc\u00f8d\u00e9 \u65e5\u672c \U0001f600',
    u'tab\tcr\rnul\x00del\x7f',
    u'',
]


@pytest.mark.parametrize('hostile', HOSTILE)
def test_hostile_text_from_the_host_reads_back_as_it_was_one_sample_per_line(hostile):
    entry = namespace(DOCKER_INODE, 128, current=True, name=hostile,
                      container={'runtime': hostile, 'id': hostile, 'pod': hostile},
                      listeners=[listener(80, 128, process=hostile, address=hostile)])
    text = _prometheus.exposition([entry], RUN)
    families = parse(text)
    assert [line for line in text.split('\n') if line.startswith('evil')] == []
    (labels, value), = families['netstack_backlog_listener_queued']['samples']
    assert value == '0'
    expected_id = hostile if len(hostile) <= 12 or not re.match('^[0-9a-f]+$', hostile) else hostile[:12]
    assert labels == {'netns': str(DOCKER_INODE), 'netns_name': hostile, 'container_runtime': hostile,
                      'container_id': expected_id, 'pod_uid': hostile, 'address': hostile, 'port': '80',
                      'process': hostile}
    text.encode('utf-8')  # valid UTF-8 throughout


def test_text_that_is_not_valid_unicode_is_repaired_to_replacement_characters():
    # Bytes that are not UTF-8 (Python 2 str from a host), and Python 3's surrogate escapes.
    entry = namespace(DOCKER_INODE, 128, current=True, name=b'bad\xff\xfename',
                      listeners=[listener(80, 128, process=b'\xed\xa0\x80'.decode('utf-8', 'surrogateescape'))])
    text = _prometheus.exposition([entry], RUN)
    labels, _value = parse(text)['netstack_backlog_listener_backlog']['samples'][0]
    assert labels['netns_name'] == u'bad\ufffd\ufffdname'
    assert labels['process'] == u'\ufffd' * 3
    text.encode('utf-8')


@pytest.mark.parametrize('value, written', [
    (0, '0'), (4096, '4096'), (2 ** 64 - 1, '18446744073709551615'), (True, '1'), (False, '0'),
    (0.25, '0.25'), (1718000000.123456, '1718000000.123456'), (1e21, '1e+21'),
    (float('nan'), 'NaN'), (float('inf'), '+Inf'), (float('-inf'), '-Inf'),
    (None, None), ('12', None), ([1], None),
])
def test_numbers_are_written_exactly_and_non_numbers_not_at_all(value, written):
    assert _prometheus.format_value(value) == written


def listener_samples(text):
    families = parse(text)
    found = {}
    for name in ('netstack_backlog_listener_backlog', 'netstack_backlog_listener_queued'):
        for labels, value in families[name]['samples']:
            key = (labels['netns'], labels['address'], labels['port'], labels['process'])
            found.setdefault(key, {})[name.rsplit('_', 1)[1]] = int(value)
    omitted, = families['netstack_backlog_listeners_omitted']['samples']
    return found, int(omitted[1])


def test_listeners_carry_their_namespace_labels_so_alerts_name_the_container():
    families = parse(_prometheus.exposition(realistic(), RUN))
    (labels, value), = [sample for sample in families['netstack_backlog_listener_queued']['samples']
                        if sample[0]['port'] == '6379']
    assert value == '128'
    assert labels == dict(labels_of(DOCKER_INODE, runtime='docker', container_id='3f4e5d6c7b8a'),
                          address='0.0.0.0', port='6379', process='redis-server')


def test_sockets_sharing_a_label_set_are_one_series_the_one_with_the_least_room():
    # SO_REUSEPORT: four nginx workers, each with a socket of its own on port 80.  One is full.
    sockets = [listener(80, 511, 3, 'nginx', pid=11), listener(80, 511, 511, 'nginx', pid=12),
               listener(80, 511, 0, 'nginx', pid=13), listener(80, 4096, 600, 'nginx', pid=14)]
    found, omitted = listener_samples(_prometheus.exposition([namespace(HOST_INODE, 4096, listeners=sockets)], RUN))
    # The full socket's own pair: not the smallest backlog of one with the largest queue of another.
    assert found == {(str(HOST_INODE), '0.0.0.0', '80', 'nginx'): {'backlog': 511, 'queued': 511}}
    assert omitted == 0
    # Equal room: the smaller backlog.
    sockets = [listener(80, 4096, 0, 'nginx'), listener(80, 128, 0, 'nginx'), listener(80, 512, 384, 'nginx')]
    found, _omitted = listener_samples(_prometheus.exposition([namespace(HOST_INODE, 4096, listeners=sockets)], RUN))
    assert list(found.values()) == [{'backlog': 128, 'queued': 0}]


def test_sockets_of_other_processes_or_namespaces_on_one_port_stay_apart():
    host = namespace(HOST_INODE, 4096, listeners=[listener(80, 511, 0, 'nginx'), listener(80, 511, 2, 'nginx-old'),
                                                  listener(80, 511, 0, 'nginx', address='::'),
                                                  listener(80, 128, 0, None), listener(80, 64, 0, None)])
    docker = namespace(DOCKER_INODE, 128, listeners=[listener(80, 128, 0, 'nginx')])
    found, omitted = listener_samples(_prometheus.exposition([host, docker], RUN))
    assert sorted(found) == sorted([(str(HOST_INODE), '0.0.0.0', '80', 'nginx'),
                                    (str(HOST_INODE), '0.0.0.0', '80', 'nginx-old'),
                                    (str(HOST_INODE), '::', '80', 'nginx'),
                                    (str(HOST_INODE), '0.0.0.0', '80', ''),
                                    (str(DOCKER_INODE), '0.0.0.0', '80', 'nginx')])
    assert found[(str(HOST_INODE), '0.0.0.0', '80', '')] == {'backlog': 64, 'queued': 0}  # owners not visible
    assert omitted == 0


def test_the_cap_keeps_full_queues_then_listeners_at_their_namespace_limit_and_counts_the_rest():
    quiet = [listener(1000 + port, 4096, 0, 'app%d' % port) for port in range(20)]
    full = listener(9000, 64, 64, 'stuck')
    at_limit = listener(9001, 128, 0, 'clamped')
    busy = listener(9002, 4096, 4000, 'busy')
    entries = [namespace(HOST_INODE, 8192, listeners=quiet + [busy]),
               namespace(DOCKER_INODE, 128, listeners=[at_limit, full])]
    found, omitted = listener_samples(_prometheus.exposition(entries, RUN, max_listeners=3))
    assert sorted(key[3] for key in found) == ['busy', 'clamped', 'stuck']
    assert omitted == 20
    found, omitted = listener_samples(_prometheus.exposition(entries, RUN, max_listeners=2))
    assert sorted(key[3] for key in found) == ['clamped', 'stuck'] and omitted == 21
    found, omitted = listener_samples(_prometheus.exposition(entries, RUN, max_listeners=0))
    assert found == {} and omitted == 23


def test_listener_series_come_sorted_by_namespace_port_and_address():
    entries = [namespace(DOCKER_INODE, 128, listeners=[listener(8080, 128), listener(443, 128)]),
               namespace(HOST_INODE, 4096, listeners=[listener(80, 511, address='::'), listener(80, 511),
                                                      listener(22, 128)])]
    text = _prometheus.exposition(entries, RUN)
    ports = [(labels['netns'], labels['port'], labels['address'])
             for labels, _value in parse(text)['netstack_backlog_listener_backlog']['samples']]
    assert ports == [(str(HOST_INODE), '22', '0.0.0.0'), (str(HOST_INODE), '80', '0.0.0.0'),
                     (str(HOST_INODE), '80', '::'), (str(DOCKER_INODE), '443', '0.0.0.0'),
                     (str(DOCKER_INODE), '8080', '0.0.0.0')]


def test_a_namespace_listed_twice_is_written_once():
    entries = [namespace(HOST_INODE, 4096, current=True, initial=True), namespace(HOST_INODE, 4096)]
    families = parse(_prometheus.exposition(entries, RUN))
    assert len(families['netstack_backlog_limit']['samples']) == 1
    assert values(families, 'netstack_backlog_namespaces') == [((), '1')]


def test_a_failed_run_without_facts_still_says_so_and_when_the_last_success_was():
    run = {'success': False, 'duration_seconds': 1.5, 'errors': ['the fact module failed: boom'],
           'last_success_timestamp_seconds': 1718000000.0}
    for namespaces in (None, []):
        families = parse(_prometheus.exposition(namespaces, run))
        assert values(families, 'netstack_backlog_collector_success') == [((), '0')]
        assert values(families, 'netstack_backlog_collector_errors') == [((), '1')]
        assert values(families, 'netstack_backlog_collector_duration_seconds') == [((), '1.5')]
        assert values(families, 'netstack_backlog_collector_last_success_timestamp_seconds') == [((), '1718000000.0')]
        assert values(families, 'netstack_backlog_namespaces') == [((), '0')]
        assert values(families, 'netstack_backlog_limit') == [] and values(families, 'netstack_backlog_host_limit') == []


def test_errors_are_counted_from_a_list_or_taken_as_a_number():
    assert values(parse(_prometheus.exposition([], {'errors': 3})), 'netstack_backlog_collector_errors') == [((), '3')]
    assert values(parse(_prometheus.exposition([], {'errors': ('a', 'b')})),
                  'netstack_backlog_collector_errors') == [((), '2')]


def test_the_last_success_is_read_back_from_the_previous_file():
    previous = _prometheus.exposition(realistic(), RUN)
    assert _prometheus.last_success_in(previous) == 1718000000.5
    assert _prometheus.last_success_in(previous.encode('utf-8')) == 1718000000.5
    assert _prometheus.last_success_in(_prometheus.exposition([], {'success': False})) is None
    for garbage in (None, '', 'netstack_backlog_collector_last_success_timestamp_seconds soon\n',
                    'netstack_backlog_collector_last_success_timestamp_seconds NaN\n', b'\xff\xfe'):
        assert _prometheus.last_success_in(garbage) is None


# write_atomically


def leftovers(directory):
    return sorted(name for name in os.listdir(str(directory)) if name != 'netstack_backlog.prom')


def test_write_puts_the_text_in_place_with_mode_0644_whatever_the_umask(tmp_path):
    old_umask = os.umask(0o077)
    try:
        path = _prometheus.write_atomically(str(tmp_path), 'netstack_backlog.prom', u'a 1\n\u00e9\n')
    finally:
        os.umask(old_umask)
    assert path == str(tmp_path / 'netstack_backlog.prom')
    with open(path, 'rb') as handle:
        assert handle.read() == u'a 1\n\u00e9\n'.encode('utf-8')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_write_replaces_the_old_file_in_one_rename_so_a_reader_has_one_or_the_other(tmp_path):
    path = tmp_path / 'netstack_backlog.prom'
    path.write_bytes(b'old 1\n')
    with open(str(path), 'rb') as reader:  # a reader that opened the old file keeps reading it whole
        _prometheus.write_atomically(str(tmp_path), 'netstack_backlog.prom', 'new 2\n')
        assert reader.read() == b'old 1\n'
    assert path.read_bytes() == b'new 2\n'
    assert leftovers(tmp_path) == []


def failing(number):
    def fail(*_args, **_kwargs):
        raise OSError(number, os.strerror(number))
    return fail


@pytest.mark.parametrize('step, number, message', [
    ('fsync', errno.ENOSPC, 'No space left on device (ENOSPC)'),
    ('rename', errno.EROFS, 'Read-only file system (EROFS)'),
    ('fchmod', errno.EPERM, 'Operation not permitted (EPERM)'),
])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file_and_says_where_and_why(
        tmp_path, monkeypatch, step, number, message):
    path = tmp_path / 'netstack_backlog.prom'
    path.write_bytes(b'old 1\n')
    monkeypatch.setattr(_prometheus.os, step, failing(number))
    with pytest.raises(_prometheus.WriteError) as raised:
        _prometheus.write_atomically(str(tmp_path), 'netstack_backlog.prom', 'new 2\n')
    monkeypatch.undo()
    assert str(raised.value) == 'could not write %s: %s' % (path, message)
    assert (raised.value.path, raised.value.errno) == (str(path), number)
    assert path.read_bytes() == b'old 1\n'
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_removes_its_temporary_file_and_lets_the_interrupt_through(tmp_path, monkeypatch):
    def interrupt(*_args):
        raise KeyboardInterrupt()
    monkeypatch.setattr(_prometheus.os, 'fsync', interrupt)
    with pytest.raises(KeyboardInterrupt):
        _prometheus.write_atomically(str(tmp_path), 'netstack_backlog.prom', 'new 2\n')
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == []


def test_a_missing_directory_is_named_in_the_error(tmp_path):
    directory = str(tmp_path / 'absent')
    with pytest.raises(_prometheus.WriteError, match=r'^could not write %s: No such file or directory \(ENOENT\)$'
                       % re.escape(os.path.join(directory, 'netstack_backlog.prom'))):
        _prometheus.write_atomically(directory, 'netstack_backlog.prom', 'a 1\n')


def test_the_temporary_file_is_in_the_same_directory_and_not_a_prom_file(tmp_path, monkeypatch):
    seen = []
    real_rename = os.rename

    def rename(source, destination):
        seen.append((os.path.dirname(source), os.path.basename(source)))
        real_rename(source, destination)
    monkeypatch.setattr(_prometheus.os, 'rename', rename)
    _prometheus.write_atomically(str(tmp_path), 'netstack_backlog.prom', 'a 1\n')
    (directory, name), = seen
    assert directory == str(tmp_path)
    assert name.startswith('.netstack_backlog.prom.') and not name.endswith('.prom')  # node_exporter reads *.prom


@pytest.mark.parametrize('name', ['', '.', '..', 'sub/netstack_backlog.prom'])
def test_a_name_with_a_directory_in_it_is_refused(tmp_path, name):
    with pytest.raises(ValueError):
        _prometheus.write_atomically(str(tmp_path), name, 'a 1\n')
