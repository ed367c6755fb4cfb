# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmarks of listener_backlog_facts, side by side with ansible.builtin.ping.

Not part of `make test` (`make bench`). Timings are medians of alternating runs in
one process, reported as ratios; nothing here asserts a time.

1. Module time: the AnsiballZ payloads Ansible built for ping and for the fact
   module (kept with ANSIBLE_KEEP_REMOTE_FILES) run alternately with the same Python.
2. Task time: `ansible localhost -m ...` alternately, whole command.
3. listeners=true: the payload run inside a network namespace holding N
   listening sockets, against the same payload without listeners.
4. Where listeners=true spends its time with the most sockets: each step timed in one
   process (the collection's netlink dump and /proc owner walk; ansible-core's scrub of the
   result for no_log values and its JSON encoding, the two steps exit_json takes).  With a
   git revision (`python tests/bench/bench_facts.py phases REV`, or BENCH_BASELINE_REF for
   `make bench`), the same steps of that revision's collection, run alternately with this
   tree's against the same sockets.
5. namespaces=true: NAMESPACE_COUNT network namespaces (``ip netns``) with
   LISTENERS_PER_NAMESPACE listeners each, all held by one process; the payload with
   namespaces=true and listeners=true against the same payload with listeners=true only.
"""

from __future__ import annotations

import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))

from netns import HELPER_PYTHON, Namespace  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE_BIN = os.path.dirname(sys.executable)
PAIRS = int(os.environ.get('BENCH_PAIRS', '21'))
SOCKET_COUNTS = [100, 1000, 10000]

OPENER = r'''
import resource, socket, sys
count = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (count + 100, count + 100))
held = []
for index in range(count):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(511)
    held.append(sock)
print("ready", flush=True)
sys.stdin.read()
'''


NAMESPACE_COUNT = 100
LISTENERS_PER_NAMESPACE = 10

# Enters each namespace named on the command line and opens listeners there; the sockets
# stay in their namespaces, held by this one process.
NAMESPACE_OPENER = r'''
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
per_namespace = int(sys.argv[1])
held = []
for name in sys.argv[2:]:
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns " + name)
    os.close(fd)
    for index in range(per_namespace):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 8000 + index))
        sock.listen(511)
        held.append(sock)
print("ready", flush=True)
sys.stdin.read()
'''


# Each step of listeners=true, timed in-process inside the namespace (PHASE_ROUNDS rounds, medians).
# remove_values and the module encoder are what AnsibleModule._return_formatted and
# _record_module_result do with a result (ansible-core 2.19); a module cannot skip either.
PHASES = r'''
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from ansible.module_utils.common import json as core_json
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.netstack.backlog.plugins.module_utils import _sock_diag
steps = {}
def step(name, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    steps.setdefault(name, []).append(time.perf_counter() - start)
    return result
encoder = core_json.get_module_encoder('legacy', core_json.Direction.MODULE_TO_CONTROLLER)
for dummy in range(int(sys.argv[2])):
    listeners = step('netlink dump (collection)', _sock_diag.dump_listeners)
    owners = step('/proc owner walk (collection)', _sock_diag.socket_owners, set(item['inode'] for item in listeners))
    for item in listeners:
        item['pid'], item['process'] = owners.get(item.pop('inode'), (None, None))
    result = {'changed': False, 'ansible_facts': {'ansible_listener_backlog_listeners': listeners}}
    scrubbed = step('no_log scrub, remove_values (ansible-core)', remove_values, result, set())
    step('JSON encoding of the result (ansible-core)', json.dumps, scrubbed, cls=encoder)
print(json.dumps(dict((name, statistics.median(times)) for name, times in steps.items())))
'''
PHASE_ROUNDS = 5
# Alternations of this tree's PHASES run with a baseline revision's (listener_phases_against).
PHASE_PAIRS = int(os.environ.get('BENCH_PHASE_PAIRS', '7'))
COLLECTION_SHARE = "the collection's share (netlink dump + owner walk)"


def timed(argv, env=None):
    """Wall time of one run of ``argv`` (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def alternate(commands, pairs, env=None, envs=None):
    """Run each command once per round, for ``pairs`` rounds; return the median of each.

    ``envs`` gives each command its own environment (else all get ``env``).
    """
    samples = [[] for dummy in commands]
    for dummy in range(pairs):
        for index, argv in enumerate(commands):
            samples[index].append(timed(argv, envs[index] if envs else env))
    return [statistics.median(values) for values in samples]


def build_payload(env, remote_tmp, module, args=''):
    before = set(glob.glob(os.path.join(remote_tmp, '*')))
    argv = [os.path.join(ANSIBLE_BIN, 'ansible'), 'localhost', '-m', module, '-e',
            'ansible_python_interpreter=%s' % sys.executable]
    if args:
        argv += ['-a', args]
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    created = set(glob.glob(os.path.join(remote_tmp, '*'))) - before
    return glob.glob(os.path.join(created.pop(), 'AnsiballZ_*.py'))[0]


def main():
    work = tempfile.mkdtemp(prefix='nb-bench-')
    remote_tmp = os.path.join(work, 'remote')
    env = dict(os.environ, ANSIBLE_REMOTE_TMP=remote_tmp, ANSIBLE_KEEP_REMOTE_FILES='1',
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_HOME=os.path.join(work, 'home'))
    rows = []
    try:
        ping = build_payload(env, remote_tmp, 'ansible.builtin.ping')
        facts = build_payload(env, remote_tmp, 'netstack.backlog.listener_backlog_facts')
        listeners = build_payload(env, remote_tmp, 'netstack.backlog.listener_backlog_facts', 'listeners=true')
        python = sys.executable

        ping_time, facts_time = alternate([[python, ping], [python, facts]], PAIRS)
        rows.append(('module time: listener_backlog_facts / ping (payloads, Python %d.%d)'
                     % sys.version_info[:2], facts_time, ping_time))

        adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'localhost', '-e',
                 'ansible_python_interpreter=%s' % python, '-m']
        env_quiet = dict(env, ANSIBLE_KEEP_REMOTE_FILES='0')
        ping_task, facts_task = alternate([adhoc + ['ansible.builtin.ping'],
                                           adhoc + ['netstack.backlog.listener_backlog_facts']],
                                          max(5, PAIRS // 3), env_quiet)
        rows.append(('task time: `ansible localhost -m` fact module / ping', facts_task, ping_task))

        for count in SOCKET_COUNTS:
            namespace = Namespace('bench', 4096)
            opener = subprocess.Popen(['ip', 'netns', 'exec', namespace.name, HELPER_PYTHON, '-c', OPENER,
                                       str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                assert opener.stdout.readline().strip() == 'ready'
                inside = ['ip', 'netns', 'exec', namespace.name, python]
                plain, with_listeners = alternate([inside + [facts], inside + [listeners]], max(5, PAIRS // 3))
                rows.append(('listeners=true with %d sockets / without (module time)' % count,
                             with_listeners, plain))
            finally:
                opener.stdin.close()
                opener.wait()
                namespace.remove()

        namespaced = build_payload(env, remote_tmp, 'netstack.backlog.listener_backlog_facts',
                                   'listeners=true namespaces=true')
        rows.append(namespaces_row(python, listeners, namespaced))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return rows


def namespaces_row(python, listeners, namespaced):
    """namespaces=true over NAMESPACE_COUNT namespaces against listeners=true alone (module time)."""
    home = Namespace('bench', 4096)
    made, opener = [], None
    try:
        made = [Namespace('bn%d' % index, 128) for index in range(NAMESPACE_COUNT)]
        opener = subprocess.Popen([HELPER_PYTHON, '-c', NAMESPACE_OPENER, str(LISTENERS_PER_NAMESPACE)]
                                  + [namespace.name for namespace in made],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        inside = ['ip', 'netns', 'exec', home.name, python]
        plain, with_namespaces = alternate([inside + [listeners], inside + [namespaced]], max(5, PAIRS // 3))
    finally:
        if opener is not None:
            opener.stdin.close()
            opener.wait()
        for namespace in made + [home]:
            namespace.remove()
    return ('namespaces=true over %d namespaces of %d listeners each / listeners=true alone (module time)'
            % (NAMESPACE_COUNT, LISTENERS_PER_NAMESPACE), with_namespaces, plain)


def listener_phases(count=SOCKET_COUNTS[-1]):
    """[(step, median seconds)] of listeners=true with ``count`` listening sockets."""
    import json  # pylint: disable=import-outside-toplevel
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                                          'build', 'collections')).split(':')[0]
    namespace = Namespace('bench', 4096)
    opener = subprocess.Popen(['ip', 'netns', 'exec', namespace.name, HELPER_PYTHON, '-c', OPENER, str(count)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert opener.stdout.readline().strip() == 'ready'
        output = subprocess.run(['ip', 'netns', 'exec', namespace.name, sys.executable, '-c', PHASES, collections,
                                 str(PHASE_ROUNDS)], check=True, capture_output=True, text=True).stdout
    finally:
        opener.stdin.close()
        opener.wait()
        namespace.remove()
    steps = json.loads(output)
    steps[COLLECTION_SHARE] = sum(seconds for step, seconds in steps.items() if step.endswith('(collection)'))
    return sorted(steps.items(), key=lambda item: -item[1])


def baseline_collection(ref, work):
    """A collections path holding the collection as it is at git revision ``ref``."""
    root = os.path.dirname(os.path.dirname(HERE))
    target = os.path.join(work, 'ansible_collections', 'netstack', 'backlog')
    os.makedirs(target)
    archive = subprocess.run(['git', '-C', root, 'archive', ref], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', target], input=archive, check=True)
    return work


def listener_phases_against(ref, count=SOCKET_COUNTS[-1], pairs=PHASE_PAIRS):
    """[(step, median seconds of this tree, median seconds at git revision ``ref``)], side by side.

    One process holds ``count`` listeners; the PHASES script of this tree and of ``ref`` run
    alternately ``pairs`` times each inside its namespace (PHASE_ROUNDS rounds a run).
    """
    import json  # pylint: disable=import-outside-toplevel
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                                          'build', 'collections')).split(':')[0]
    work = tempfile.mkdtemp(prefix='nb-bench-base-')
    namespace = Namespace('bench', 4096)
    opener = subprocess.Popen(['ip', 'netns', 'exec', namespace.name, HELPER_PYTHON, '-c', OPENER, str(count)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    samples = ({}, {})
    try:
        baseline = baseline_collection(ref, work)
        assert opener.stdout.readline().strip() == 'ready'
        for dummy in range(pairs):
            for index, path in enumerate((collections, baseline)):
                output = subprocess.run(['ip', 'netns', 'exec', namespace.name, sys.executable, '-c', PHASES, path,
                                         str(PHASE_ROUNDS)], check=True, capture_output=True, text=True).stdout
                for step, seconds in json.loads(output).items():
                    samples[index].setdefault(step, []).append(seconds)
    finally:
        opener.stdin.close()
        opener.wait()
        namespace.remove()
        shutil.rmtree(work, ignore_errors=True)
    rows = [(step, statistics.median(samples[0][step]), statistics.median(samples[1][step])) for step in samples[0]]
    share = [row for row in rows if row[0].endswith('(collection)')]
    rows.append((COLLECTION_SHARE, sum(row[1] for row in share), sum(row[2] for row in share)))
    return sorted(rows, key=lambda row: -row[2])


def print_table(rows):
    print('| measurement | median (s) | baseline median (s) | ratio | difference (ms) |')
    print('|---|---:|---:|---:|---:|')
    for name, value, baseline in rows:
        ratio = value / baseline
        difference_ms = (value - baseline) * 1000
        print('| %s | %.4f | %.4f | %.3f | %+.1f |' % (name, value, baseline, ratio, difference_ms))


def namespaces_only():
    """The namespaces=true row alone (`python tests/bench/bench_facts.py namespaces`)."""
    work = tempfile.mkdtemp(prefix='nb-bench-')
    remote_tmp = os.path.join(work, 'remote')
    env = dict(os.environ, ANSIBLE_REMOTE_TMP=remote_tmp, ANSIBLE_KEEP_REMOTE_FILES='1',
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_HOME=os.path.join(work, 'home'))
    try:
        listeners = build_payload(env, remote_tmp, 'netstack.backlog.listener_backlog_facts', 'listeners=true')
        namespaced = build_payload(env, remote_tmp, 'netstack.backlog.listener_backlog_facts',
                                   'listeners=true namespaces=true')
        return [namespaces_row(sys.executable, listeners, namespaced)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    if sys.argv[1:] == ['namespaces']:
        print_table(namespaces_only())
        sys.exit(0)
    if sys.argv[1:2] == ['phases']:
        if len(sys.argv) > 2:
            print('| step (%d sockets) | this tree (ms) | %s (ms) | ratio |' % (SOCKET_COUNTS[-1], sys.argv[2]))
            print('|---|---:|---:|---:|')
            for phase, seconds, base in listener_phases_against(sys.argv[2]):
                print('| %s | %.1f | %.1f | %.2f |' % (phase, seconds * 1000, base * 1000, seconds / base))
        else:
            for phase, seconds in listener_phases():
                print('%s: %.1f ms' % (phase, seconds * 1000))
        sys.exit(0)
    print_table(main())
    for phase, seconds in listener_phases():
        print('%s: %.1f ms' % (phase, seconds * 1000))
