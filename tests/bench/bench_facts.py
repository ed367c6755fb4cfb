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
   LISTENERS_PER_NAMESPACE listeners each, all held by one process; the payloads with
   namespaces=true and listeners=true, without and with namespace_listeners=true, against the
   same payload with listeners=true only.
6. namespaces=true end to end (``python tests/bench/bench_facts.py end-to-end``): in a simulated
   host holding the same namespaces, the whole `ansible localhost -m` command with namespaces=true
   against listeners=true alone, and whole role runs that tune, namespaces read against
   listener_backlog_namespaces=ignore, tuning only and with Redis managed (namespaces_end_to_end_rows).
7. Where namespaces=true spends its time on the controller (``python tests/bench/bench_facts.py
   controller``): ansible-core's steps on the module's result, each timed in one process
   (controller_steps).
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))

from netns import HELPER_PYTHON, Namespace  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE_BIN = os.path.dirname(sys.executable)
FACT = 'netstack.backlog.listener_backlog_facts'
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


def exit_on_sigterm():
    """Let a bench stopped with SIGTERM (kill, timeout, a CI's cancel) unwind: the fleets' and namespaces'
    context managers and finally blocks, and the work directories' atexit, then remove what the bench made.
    Python's default for SIGTERM ends the process at once, leaving them behind. A second SIGTERM is ignored, so
    that it cannot cut the clean-up short."""

    def unwind(signum, frame):
        del frame
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, unwind)


def work_directory(prefix):
    """A temporary directory for one bench, removed when the bench process ends."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


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


# The rows' labels, declared here and used by the functions that measure them, so that
# report.declared_rows() lists what `make bench` writes without running it (tests/unit checks
# docs/benchmarks.md against it).
MODULE_LABELS = ['module time: listener_backlog_facts / ping (payloads, Python %d.%d)' % sys.version_info[:2],
                 'task time: `ansible localhost -m` fact module / ping']


def listeners_label(count):
    return 'listeners=true with %d sockets / without (module time)' % count


def namespaces_labels():
    return ['%s over %d namespaces of %d listeners each / listeners=true alone (module time)'
            % (args.replace('listeners=true ', '', 1), NAMESPACE_COUNT, LISTENERS_PER_NAMESPACE)
            for args in NAMESPACE_ARGS]


def end_to_end_labels():
    label = '%d×%d' % (NAMESPACE_COUNT, LISTENERS_PER_NAMESPACE)
    return (['%s over %s, whole ansible command / listeners=true alone' % (args.replace('listeners=true ', '', 1), label)
             for args in NAMESPACE_ARGS]
            + ['role run that tunes%s over %s, namespaces read / ignored' % (what, label)
               for what in ('', ' and manages Redis')])


def row_labels():
    """The labels of main() + namespaces_end_to_end_rows(), in that order."""
    return MODULE_LABELS + [listeners_label(count) for count in SOCKET_COUNTS] + namespaces_labels() + end_to_end_labels()


def main():
    work = work_directory('nb-bench-')
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
        rows.append((MODULE_LABELS[0], facts_time, ping_time))

        adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'localhost', '-e',
                 'ansible_python_interpreter=%s' % python, '-m']
        env_quiet = dict(env, ANSIBLE_KEEP_REMOTE_FILES='0')
        ping_task, facts_task = alternate([adhoc + ['ansible.builtin.ping'],
                                           adhoc + ['netstack.backlog.listener_backlog_facts']],
                                          max(5, PAIRS // 3), env_quiet)
        rows.append((MODULE_LABELS[1], facts_task, ping_task))

        for count in SOCKET_COUNTS:
            namespace = Namespace('bench', 4096)
            opener = subprocess.Popen(['ip', 'netns', 'exec', namespace.name, HELPER_PYTHON, '-c', OPENER,
                                       str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                assert opener.stdout.readline().strip() == 'ready'
                inside = ['ip', 'netns', 'exec', namespace.name, python]
                plain, with_listeners = alternate([inside + [facts], inside + [listeners]], max(5, PAIRS // 3))
                rows.append((listeners_label(count), with_listeners, plain))
            finally:
                opener.stdin.close()
                opener.wait()
                namespace.remove()

        rows += namespaces_rows(python, listeners, *namespace_payloads(env, remote_tmp))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return rows


# The module's arguments of the namespaces=true rows, each against listeners=true alone.
NAMESPACE_ARGS = ['listeners=true namespaces=true', 'listeners=true namespaces=true namespace_listeners=true']


def namespace_payloads(env, remote_tmp):
    return [build_payload(env, remote_tmp, FACT, args) for args in NAMESPACE_ARGS]


def namespaces_rows(python, listeners, *namespaced):
    """Each NAMESPACE_ARGS over NAMESPACE_COUNT namespaces against listeners=true alone (module time)."""
    home = Namespace('bench', 4096)
    made, opener = [], None
    try:
        made = [Namespace('bn%d' % index, 128) for index in range(NAMESPACE_COUNT)]
        opener = subprocess.Popen([HELPER_PYTHON, '-c', NAMESPACE_OPENER, str(LISTENERS_PER_NAMESPACE)]
                                  + [namespace.name for namespace in made],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        inside = ['ip', 'netns', 'exec', home.name, python]
        medians = alternate([inside + [listeners]] + [inside + [payload] for payload in namespaced],
                            max(5, PAIRS // 3))
    finally:
        if opener is not None:
            opener.stdin.close()
            opener.wait()
        for namespace in made + [home]:
            namespace.remove()
    return [(label, median, medians[0]) for label, median in zip(namespaces_labels(), medians[1:])]


# Makes NAMESPACE_COUNT `ip netns` namespaces inside a simulated host, each with lo up and
# the given somaxconn (argv: somaxconn, names...).
MAKE_NAMESPACES = r"""
set -e
value=$1; shift
for name in "$@"; do
    ip netns add "$name"
    ip -n "$name" link set lo up
    ip netns exec "$name" sh -c "echo $value > /proc/sys/net/core/somaxconn"
done
"""
ROLE_PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'tests', 'integration', 'playbooks', 'role.yml')
# The limit the role sets in the end-to-end rows (the host starts at the old default, 128), and
# the one its namespaces have: converged, so that a run's extra for namespaces is their read alone.
ROLE_SOMAXCONN = 4096


class NamespacesHost:
    """A simulated host (nshost.NamespaceHost) holding NAMESPACE_COUNT network namespaces of its own.

    Each has LISTENERS_PER_NAMESPACE listeners, all held by one process (NAMESPACE_OPENER) in the
    host.  The host has its own PID namespace, /proc and /run: the fact module sees exactly these
    namespaces and the host's own, never another test's, and the role writes the host's /etc.
    """

    def __init__(self, host_somaxconn, namespace_somaxconn):
        from nshost import NamespaceHost  # pylint: disable=import-outside-toplevel
        self.host = NamespaceHost('benchns', host_somaxconn)
        self.opener = None
        self.names = ['bn%d' % index for index in range(NAMESPACE_COUNT)]
        try:
            self.host.run('sh', '-c', MAKE_NAMESPACES, 'make', str(namespace_somaxconn), *self.names)
            self.opener = subprocess.Popen(self.host.command([HELPER_PYTHON, '-c', NAMESPACE_OPENER,
                                                              str(LISTENERS_PER_NAMESPACE)] + self.names),
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert self.opener.stdout.readline().strip() == 'ready'
        except BaseException:
            self.remove()
            raise

    def command(self, argv):
        return self.host.command(argv)

    def run(self, *argv, **kwargs):
        return self.host.run(*argv, **kwargs)

    def remove(self):
        if self.opener is not None:
            self.opener.stdin.close()
            self.opener.wait()
        # The namespaces are pinned in the host's /run, which goes with its mount namespace;
        # deleted first all the same.
        self.host.run('sh', '-c', 'for name in "$@"; do ip netns delete "$name" 2>/dev/null; done', 'delete',
                      *self.names, check=False)
        self.host.remove()


def end_to_end_environment(work):
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                                          'build', 'collections'))
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING='false',
                ANSIBLE_HOME=os.path.join(work, 'home'), ANSIBLE_NOCOLOR='1')


def namespaces_end_to_end_rows(pairs=None):
    """namespaces=true over NAMESPACE_COUNT namespaces, end to end, each against the same without.

    All in one NamespacesHost, whose namespaces are at ROLE_SOMAXCONN.  The whole `ansible
    localhost -m` command: each NAMESPACE_ARGS against ``listeners=true`` alone.  Whole role runs
    that tune (listener_backlog_somaxconn set; every such run reads the host, namespaces included,
    and plans), converged: namespaces read (the default, warn) against
    listener_backlog_namespaces=ignore, tuning only, then with Redis managed (the role then reads
    the listeners too).  With nothing below the limit there is nothing to warn about: the
    difference is what reading the namespaces costs.
    """
    pairs = pairs or max(5, PAIRS // 3)
    work = work_directory('nb-bench-e2e-')
    env = end_to_end_environment(work)
    python = sys.executable
    adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'localhost', '-c', 'local', '-e',
             'ansible_python_interpreter=%s' % python, '-m', FACT, '-a']
    role = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e',
            'ansible_python_interpreter=%s' % python, ROLE_PLAYBOOK, '-e']
    ignore = ['-e', 'listener_backlog_namespaces=ignore']
    labels = iter(end_to_end_labels())
    rows = []
    host = NamespacesHost(128, ROLE_SOMAXCONN)
    try:
        medians = alternate([host.command(adhoc + ['listeners=true'])]
                            + [host.command(adhoc + [args]) for args in NAMESPACE_ARGS], pairs, env)
        for median in medians[1:]:
            rows.append((next(labels), median, medians[0]))
        for variables in ({'listener_backlog_somaxconn': ROLE_SOMAXCONN},
                          {'listener_backlog_somaxconn': ROLE_SOMAXCONN, 'listener_backlog_services': [{'name': 'redis'}]}):
            if variables.get('listener_backlog_services'):
                host.run('service', 'redis-server', 'start')
            run = host.command(role + [json.dumps(variables)])
            subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL)  # the first run changes things
            read, ignored = alternate([run, run + ignore], pairs, env)
            rows.append((next(labels), read, ignored))
    finally:
        host.remove()
        shutil.rmtree(work, ignore_errors=True)
    return rows


# What ansible-core does on the controller with a fact module's result, each step timed in one
# process (CONTROLLER_ROUNDS rounds, medians; ansible-core 2.19's functions).  argv: the result
# as the module printed it.  The worker decodes it and, for the task's own variables, copies the
# facts twice (namespace_facts; clean_facts, facts injected as variables); VariableManager.get_vars
# makes the same two copies for every later task of the play; the main process copies the result
# for the callback and makes it native; an ad hoc command's callback (minimal) copies it again,
# runs it through the template engine and prints it as JSON with an indent of 4.
CONTROLLER_STEPS = r"""
import json, statistics, sys, time
from ansible.module_utils.common.json import Direction, get_module_decoder
from ansible.vars.clean import clean_facts, module_response_deepcopy, namespace_facts, strip_internal_keys
from ansible.utils.vars import transform_to_native_types
from ansible._internal._templating._engine import TemplateEngine
from ansible.module_utils._internal._json._profiles import _fallback_to_str
text = sys.stdin.read()
steps = {}
def step(name, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    steps.setdefault(name, []).append(time.perf_counter() - start)
    return result
decoder = get_module_decoder('legacy', Direction.MODULE_TO_CONTROLLER)
for dummy in range(int(sys.argv[1])):
    result = step('worker: JSON decoding of the module output', json.loads, text, cls=decoder)
    facts = result['ansible_facts']
    step('each task from here on: the facts copied twice for its variables (namespace_facts, clean_facts)',
         lambda: (namespace_facts(facts), clean_facts(facts)))
    shown = step('main: the callback copy of the result (module_response_deepcopy, strip_internal_keys)',
                 lambda: strip_internal_keys(module_response_deepcopy(result)))
    step('main: the callback result made native (transform_to_native_types)', transform_to_native_types, shown)
    step('ad hoc only: minimal callback, copied again, templated, JSON with indent 4 (_dump_results)',
         lambda: json.dumps(TemplateEngine().transform(strip_internal_keys(module_response_deepcopy(shown))),
                            cls=_fallback_to_str.Encoder, indent=4, ensure_ascii=False, sort_keys=True))
def values(node):
    if isinstance(node, dict):
        return 1 + sum(values(item) for item in node.values())
    if isinstance(node, list):
        return 1 + sum(values(item) for item in node)
    return 1
medians = dict((name, statistics.median(times)) for name, times in steps.items())
print(json.dumps({'steps': medians, 'values': values(json.loads(text)), 'bytes': len(text)}))
"""
CONTROLLER_ROUNDS = 9
# What the controller steps are timed with: the ad hoc command's arguments, by what they read.
CONTROLLER_ARGS = [('listeners=true', 'listeners=true'),
                   ('namespaces=true listeners=true', 'listeners=true namespaces=true'),
                   ('... namespace_listeners=true', 'listeners=true namespaces=true namespace_listeners=true'),
                   ('... namespaces_below=%d (the role\'s read)' % ROLE_SOMAXCONN,
                    'listeners=true namespaces=true namespaces_below=%d' % ROLE_SOMAXCONN)]


def controller_steps():
    """[(step, {column: median seconds})] and {column: (values, bytes)}: ansible-core's steps on each CONTROLLER_ARGS result.

    The results are read in a NamespacesHost (namespaces at ROLE_SOMAXCONN; the host at 128, so
    that namespaces_below keeps the module's own namespace only), as `ansible -m ... -o` prints
    them; the steps run in a process of their own on the controller.
    """
    work = work_directory('nb-bench-steps-')
    env = end_to_end_environment(work)
    adhoc = [os.path.join(ANSIBLE_BIN, 'ansible'), 'localhost', '-c', 'local', '-e',
             'ansible_python_interpreter=%s' % sys.executable, '-m', FACT, '-o', '-a']
    outputs = []
    host = NamespacesHost(128, ROLE_SOMAXCONN)
    try:
        for dummy, args in CONTROLLER_ARGS:
            line = subprocess.run(host.command(adhoc + [args]), env=env, check=True, capture_output=True,
                                  text=True).stdout
            outputs.append(line.split(' => ', 1)[1])
    finally:
        host.remove()
        shutil.rmtree(work, ignore_errors=True)
    found, sizes = {}, {}
    for (column, dummy), output in zip(CONTROLLER_ARGS, outputs):
        measured = json.loads(subprocess.run([sys.executable, '-c', CONTROLLER_STEPS, str(CONTROLLER_ROUNDS)],
                                             input=output, check=True, capture_output=True, text=True).stdout)
        sizes[column] = (measured['values'], measured['bytes'])
        for name, seconds in measured['steps'].items():
            found.setdefault(name, {})[column] = seconds
    return list(found.items()), sizes


def controller_table(steps, sizes):
    """The lines of a Markdown table of controller_steps' answer."""
    columns = [column for column, dummy in CONTROLLER_ARGS]
    lines = ['| step (ms) | %s |' % ' | '.join(columns), '|---|%s' % ('---:|' * len(columns)),
             '| values in the result (bytes of JSON) | %s |' % ' | '.join('%d (%d)' % sizes[column] for column in columns)]
    for name, by_column in steps:
        lines.append('| %s | %s |' % (name, ' | '.join('%.1f' % (by_column[column] * 1000) for column in columns)))
    return lines


def controller_title():
    return '## Where namespaces=true spends its time on the controller (%d×%d)' % (NAMESPACE_COUNT, LISTENERS_PER_NAMESPACE)


def controller_markdown(steps, sizes):
    """docs/benchmarks.md's section on where namespaces=true spends its time on the controller."""
    intro = ['', controller_title(), '',
             "ansible-core's steps on the fact module's result, each timed in one process on the controller, median "
             'of %d rounds (`python tests/bench/bench_facts.py controller` gives this table alone):' % CONTROLLER_ROUNDS,
             '']
    outro = ['', 'Each grows with the number of values returned (8 per listener), whatever the module does. The copies '
             'for "each task from here on" are made again by every later task of the play (VariableManager.get_vars), '
             'so a large fact costs a role run of some 30 tasks 30 times that line; garbage collection, which such '
             "allocations set off in a controller's large heap, comes on top. Hence namespace_listeners (each "
             "namespace's listeners only when asked) and namespaces_below (what the role reads)."]
    return intro + controller_table(steps, sizes) + outro


def listener_phases(count=SOCKET_COUNTS[-1]):
    """[(step, median seconds)] of listeners=true with ``count`` listening sockets."""
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
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                                          'build', 'collections')).split(':')[0]
    work = work_directory('nb-bench-base-')
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
    """The namespaces=true module-time rows alone (`python tests/bench/bench_facts.py namespaces`)."""
    work = work_directory('nb-bench-')
    remote_tmp = os.path.join(work, 'remote')
    # make bench exports ANSIBLE_COLLECTIONS_PATH; run alone, this checkout's build/collections.
    env = dict(end_to_end_environment(work), ANSIBLE_REMOTE_TMP=remote_tmp, ANSIBLE_KEEP_REMOTE_FILES='1')
    try:
        listeners = build_payload(env, remote_tmp, FACT, 'listeners=true')
        return namespaces_rows(sys.executable, listeners, *namespace_payloads(env, remote_tmp))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    exit_on_sigterm()
    if sys.argv[1:] == ['namespaces']:
        print_table(namespaces_only())
        sys.exit(0)
    if sys.argv[1:] == ['end-to-end']:
        print_table(namespaces_end_to_end_rows())
        sys.exit(0)
    if sys.argv[1:] == ['controller']:
        print('\n'.join(controller_table(*controller_steps())))
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
