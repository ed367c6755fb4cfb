# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The alert rules and the textfile exposition, checked by Prometheus's own tools.

- promtool (Debian 12's, unpacked by ``make prometheus-tools``; another with
  ``NETSTACK_BACKLOG_PROMTOOL``): ``check rules`` and ``test rules`` on the shipped rule file
  and its unit tests, ``check metrics`` on the exposition of a realistic and a hostile host;
- the Prometheus Python client's parser reads the exposition back: hostile label values come
  out as they went in, and no label set repeats (node_exporter's textfile collector drops a
  file that repeats one; promtool's lint does not look);
- the exposition is the same on every target Python (2.7 and 3.6 run the module code);
- write_atomically on a real full filesystem and a real read-only one (tmpfs mounts in a mount
  namespace of the test's own).

A missing promtool fails the tests with how to get it; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.netstack.backlog.plugins.module_utils import _prometheus

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, 'extensions', 'prometheus', 'rules', 'netstack_backlog.yml')
RULE_TESTS = os.path.join(ROOT, 'tests', 'prometheus', 'netstack_backlog_test.yml')
PYENV_VERSIONS = os.path.join(os.environ.get('PYENV_ROOT', '/root/.pyenv'), 'versions')
TARGET_PYTHONS = ['2.7', '3.6', '3.13']

DOCKER_ID = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211'
POD_CONTAINER = '9a8b7c6d5e4f00112233445566778899aabbccddeeff00112233445566778899'
POD = '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'
RUN = {'success': True, 'duration_seconds': 0.734, 'errors': [], 'last_success_timestamp_seconds': 1718000000.25}


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def namespace(inode, limit, overflows=0, drops=0, current=False, initial=False, name=None, container=None,
              listeners=None, error=None):
    return {'id': inode, 'current': current, 'initial': initial, 'name': name, 'pids': [inode % 100000],
            'container': container, 'listener_backlog': limit,
            'listener_backlog_info': None if limit is None else {
                'source': 'procfs', 'key': 'net.core.somaxconn', 'raw': limit, 'capped': False, 'minimum': None,
                'system': 'Linux', 'syn_backlog': 512, 'syncookies': 1, 'listen_overflows': overflows,
                'listen_drops': drops},
            'listeners': listeners, 'error': error}


def listener(port, backlog, queued=0, process='redis-server', address='0.0.0.0', pid=100):
    return {'family': 'ipv6' if ':' in address else 'ipv4', 'address': address, 'port': port, 'backlog': backlog,
            'queued': queued, 'pid': pid, 'process': process}


def realistic():
    """A Kubernetes node with Docker on the side: the host, a container, a pod, an ip netns, one gone."""
    nginx = [listener(80, 511, queued, 'nginx', pid=200 + worker) for worker, queued in enumerate((0, 3, 511, 0))]
    return [
        namespace(4026531840, 4096, 12, 15, current=True, initial=True,
                  listeners=[listener(22, 128, 0, 'sshd', pid=1), listener(22, 128, 0, 'sshd', '::', pid=1),
                             listener(9100, 4096, 0, 'node_exporter', '::', pid=90)] + nginx),
        namespace(4026532281, 128, 7032, 7032, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None},
                  listeners=[listener(6379, 128, 128), listener(6379, 128, 0, address='::')]),
        namespace(4026532400, 4096, 0, 3, name='cni-5e6a4c1f-3b2d-7a8e-91c0-2f4d6b8e0a13',
                  container={'runtime': 'containerd', 'id': POD_CONTAINER, 'pod': POD},
                  listeners=[listener(8080, 4096, 0, 'gunicorn', pid=4121)]),
        namespace(4026532500, 1024, name='blue', listeners=[]),
        namespace(4026532600, 128, container={'runtime': None, 'id': 'ab' * 32, 'pod': POD[::-1]}, listeners=None),
        namespace(4026532700, 4096, container={'runtime': 'systemd-nspawn', 'id': 'debian-bookworm', 'pod': None},
                  listeners=[]),
        namespace(4026532999, None, error='gone during the scan'),
    ]


HOSTILE_TEXT = [
    '<b>x|y</b>', 'say "hi"', 'back\\slash\\', 'two\nlines', 'x"} 1\n# TYPE evil counter\nevil_total 1',
    '\u00fcn\u00efc\u00f8d\u00e9 \u65e5\u672c \U0001f600', 'tab\tcr\rnul\x00', '{{ $labels.x }}', '',
]


def hostile():
    """Every text field a host controls, filled with text that breaks naive writers."""
    entries = [namespace(4026531840, 4096, current=True, initial=True,
                         listeners=[listener(1000 + index, 128, index, text, text) for index, text in
                                    enumerate(HOSTILE_TEXT)])]
    for index, text in enumerate(HOSTILE_TEXT):
        entries.append(namespace(4026532000 + index, 128, index, index, name=text,
                                 container={'runtime': text, 'id': text, 'pod': text},
                                 listeners=[listener(80, 128, 0, text, text)]))
    return entries


SETS = {'realistic': realistic, 'hostile': hostile}


def test_promtool_accepts_the_shipped_rules(promtool):
    checked = run([promtool, 'check', 'rules', RULES])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'SUCCESS' in checked.stdout


def test_the_rules_unit_tests_pass(promtool):
    tested = run([promtool, 'test', 'rules', RULE_TESTS], cwd=ROOT)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert 'SUCCESS' in tested.stdout


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def alert_rules():
    (group,) = load(RULES)['groups']
    assert group['name'] == 'netstack_backlog'
    return group['rules']


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not():
    cases = [case for group in load(RULE_TESTS)['tests'] for case in group.get('alert_rule_test', [])]
    for rule in alert_rules():
        mine = [case for case in cases if case['alertname'] == rule['alert']]
        assert [case for case in mine if case.get('exp_alerts')], '%s never fires in a test' % rule['alert']
        assert [case for case in mine if not case.get('exp_alerts')], '%s is never tested quiet' % rule['alert']


def test_every_alert_has_a_severity_a_summary_and_a_description_naming_the_instance():
    for rule in alert_rules():
        assert rule['labels']['severity'] in ('info', 'warning', 'critical'), rule['alert']
        for annotation in ('summary', 'description'):
            assert '{{ $labels.instance }}' in rule['annotations'][annotation], (rule['alert'], annotation)


def test_the_rules_read_only_metrics_the_collector_writes():
    written = set(name for name, _type, _help in _prometheus.FAMILIES)
    for rule in alert_rules():
        read = set(re.findall(r'netstack_backlog_[a-z_]+', rule['expr']))
        assert read and read <= written, (rule['alert'], read - written)
        for label in re.findall(r'\$labels\.([a-z_]+)', ' '.join(rule['annotations'].values())):
            assert label in _prometheus.LISTENER_LABELS + ('instance', 'job'), (rule['alert'], label)


@pytest.mark.parametrize('kind', sorted(SETS))
def test_promtool_finds_no_problem_in_the_exposition(promtool, kind):
    text = _prometheus.exposition(SETS[kind](), RUN)
    checked = run([promtool, 'check', 'metrics'], input=text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ''


@pytest.mark.parametrize('kind', sorted(SETS))
def test_the_exposition_parses_back_with_unique_label_sets_and_values_as_they_were(kind):
    entries = SETS[kind]()
    text = _prometheus.exposition(entries, RUN)
    families = dict((family.name, family) for family in text_string_to_metric_families(text))
    seen = set()
    for family in families.values():
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in seen, 'repeated label set: %r' % (key,)
            seen.add(key)
    limits = dict((sample.labels['netns'], sample) for sample in families['netstack_backlog_limit'].samples)
    for entry in entries:
        if entry['listener_backlog'] is None:
            assert str(entry['id']) not in limits
            continue
        sample = limits[str(entry['id'])]
        container = entry['container'] or {}
        assert sample.value == entry['listener_backlog']
        assert sample.labels['netns_name'] == (entry['name'] or '')
        assert sample.labels['container_runtime'] == (container.get('runtime') or '')
        assert sample.labels['pod_uid'] == (container.get('pod') or '')
        assert sample.labels['container_id'] == _prometheus.short_id(container.get('id'))
    processes = set(sample.labels['process'] for sample in families['netstack_backlog_listener_queued'].samples)
    expected = set(item['process'] for entry in entries for item in (entry['listeners'] or []))
    assert processes == expected
    assert 'evil' not in families and 'evil_total' not in families


def test_the_realistic_host_has_its_host_limit_merged_workers_and_counters():
    families = dict((family.name, family) for family in
                    text_string_to_metric_families(_prometheus.exposition(realistic(), RUN)))
    assert [sample.value for sample in families['netstack_backlog_host_limit'].samples] == [4096]
    nginx = [sample for sample in families['netstack_backlog_listener_queued'].samples
             if sample.labels['process'] == 'nginx']
    assert [sample.value for sample in nginx] == [511]  # four workers' sockets, one series: the full one
    overflows = dict((sample.labels['container_id'], sample.value)
                     for sample in families['netstack_backlog_listen_overflows'].samples)
    assert overflows['3f4e5d6c7b8a'] == 7032
    assert overflows['debian-bookworm'] == 0  # a systemd-nspawn machine name, kept whole


def target_python(version):
    found = sorted(name for name in os.listdir(PYENV_VERSIONS) if name == version or name.startswith(version + '.'))
    if not found:
        pytest.fail('Python %s is not under %s (the target Pythons come from pyenv)' % (version, PYENV_VERSIONS))
    return os.path.join(PYENV_VERSIONS, found[-1], 'bin', 'python' + version)


# Loaded by its path: Python 2 has no namespace packages, and the file needs no other file of
# the collection (standard library only), which this proves too.
RENDER = textwrap.dedent('''
    import json, sys
    try:
        from importlib import util
        spec = util.spec_from_file_location('_prometheus', sys.argv[1])
        _prometheus = util.module_from_spec(spec)
        spec.loader.exec_module(_prometheus)
    except ImportError:  # Python 2
        import imp
        _prometheus = imp.load_source('_prometheus', sys.argv[1])
    data = json.loads(sys.stdin.read())
    out = _prometheus.exposition(data['namespaces'], data['run'], max_listeners=data['max'])
    getattr(sys.stdout, 'buffer', sys.stdout).write(out.encode('utf-8'))
''')


@pytest.mark.parametrize('version', TARGET_PYTHONS)
def test_the_exposition_is_the_same_on_every_target_python(version):
    data = {'namespaces': realistic() + hostile()[1:], 'run': RUN, 'max': 12}
    expected = _prometheus.exposition(data['namespaces'], RUN, max_listeners=12).encode('utf-8')
    rendered = subprocess.run([target_python(version), '-c', RENDER, _prometheus.__file__],
                              input=json.dumps(data).encode('utf-8'), capture_output=True, check=False)
    assert rendered.returncode == 0, rendered.stderr.decode('utf-8', 'replace')
    assert rendered.stdout == expected


WRITE = textwrap.dedent('''
    import os, subprocess, sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.netstack.backlog.plugins.module_utils import _prometheus
    directory, mode = sys.argv[2], sys.argv[3]
    subprocess.check_call(['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', directory])
    _prometheus.write_atomically(directory, 'netstack_backlog.prom', 'old 1\\n')
    if mode == 'read-only':
        subprocess.check_call(['mount', '-o', 'remount,ro', directory])
    try:
        _prometheus.write_atomically(directory, 'netstack_backlog.prom', 'x' * 256 * 1024)
    except _prometheus.WriteError as error:
        print(error)
    with open(os.path.join(directory, 'netstack_backlog.prom')) as handle:
        print(repr(handle.read()))
    print(sorted(os.listdir(directory)))
''')


@pytest.mark.parametrize('mode, cause', [('full', 'No space left on device (ENOSPC)'),
                                         ('read-only', 'Read-only file system (EROFS)')])
def test_a_write_that_the_filesystem_refuses_keeps_the_old_file_and_says_why(collections_root, tmp_path, mode, cause):
    """A 64 KiB tmpfs, full with a 256 KiB exposition; or remounted read-only.  In a mount
    namespace of its own (unshare --mount, private propagation), so the machine sees nothing."""
    if not shutil.which('unshare'):
        pytest.fail('unshare (util-linux) is needed')
    directory = str(tmp_path / 'textfile')
    os.mkdir(directory)
    done = run(['unshare', '--mount', '--propagation', 'private', sys.executable, '-c', WRITE, collections_root,
                directory, mode])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ['could not write %s/netstack_backlog.prom: %s' % (directory, cause),
                                        repr('old 1\n'), repr(['netstack_backlog.prom'])]
