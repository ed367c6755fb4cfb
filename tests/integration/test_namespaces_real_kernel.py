# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""namespaces=true against the real kernel: every kind of network namespace, seen from outside.

The zoo, for each somaxconn value: a namespace made by ``ip netns`` (pinned by a file,
no process in it), one made by ``unshare -n`` (held by a process, registered nowhere,
as a container runtime makes it) and one by ``unshare -U -r -n`` (owned by a user
namespace, as rootless Podman makes it).  The processes holding them listen, and
overflow a queue of their own so their TcpExt counters differ.  Some are placed into
cgroups shaped as container runtimes name them.  The module runs in a namespace of its
own ("home") and must report each namespace as the kernel shows it from inside: the
limit as a listen(INT_MAX) there is granted, listeners as ``nsenter -n -t PID ss``
prints them, counters as that namespace's /proc/net/netstat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from netns import (GRANT_SCRIPT, HELPER_PYTHON, INT_MAX, Namespace, controller_bin, interpreter, run_playbook,
                   target_python)
from test_facts_real_kernel import warnings_of

from ansible_collections.netstack.backlog.plugins.module_utils._backlog import parse_netstat

VALUES = [0, 128, 4096, 70000, INT_MAX]
HOME_SOMAXCONN = 1111
NAMESPACE_TARGETS = [('2.7', '2.16'), ('3.6', '2.16'), ('3.13', 'latest')]

# Runs as the holder of an anonymous namespace: sets its somaxconn, opens listeners, makes
# its own counters rise (a queue of 0 and three connects), then closes the clients so that
# no SYN is retried (the counters stay as they are), and waits.
HOLDER = r'''
import os, socket, subprocess, sys, time
value = int(sys.argv[1])
subprocess.check_call(["ip", "link", "set", "lo", "up"])
with open("/proc/sys/net/core/somaxconn", "w") as handle:
    handle.write("%d\n" % value)
held = []
for port, backlog in ((6379, 511), (8080, 2**31 - 1)):
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(backlog)
    held.append(sock)
held.append(socket.create_connection(("127.0.0.1", 6379)))
full = socket.socket()
full.bind(("127.0.0.1", 7171))
full.listen(0)
held.append(full)
clients = []
for _ in range(3):
    client = socket.socket()
    client.setblocking(False)
    client.connect_ex(("127.0.0.1", 7171))
    clients.append(client)
# Wait for the two refused connects to be counted (the queue of 0 holds the first), and
# close them before their SYN is retried (after 1 s).
deadline = time.time() + 0.8
while True:
    with open("/proc/net/netstat") as handle:
        names, values = [line.split() for line in handle if line.startswith("TcpExt:")][:2]
    overflows = int(values[names.index("ListenOverflows")])
    if overflows >= 2:
        break
    if time.time() > deadline:
        sys.exit("ListenOverflows is %d after 0.8 s, not 2: the connects to a queue of 0 were not refused"
                 % overflows)
    time.sleep(0.01)
for client in clients:
    client.close()
print("ready", flush=True)
sys.stdin.read()
'''

# cgroups shaped as the runtimes name them (fixtures/cgroup/SOURCES.yml has recorded
# samples of each), made in this machine's writable hierarchies and removed afterwards.
POD = '6a1c2f3e-4b5d-4e6f-8a9b-0c1d2e3f4a5b'
SHAPES = {
    ('unshare', 128): ('pids', 'docker/%s', 'docker', None),
    ('unshare', 4096): ('unified', 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/'
                        'cri-containerd-%%s.scope' % POD.replace('-', '_'), 'containerd', POD),
    ('unshare', 70000): ('unified', 'machine.slice/libpod-%s.scope', 'podman', None),
    ('unshare', 0): ('systemd', 'kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice/'
                     'crio-%%s.scope' % POD.replace('-', '_'), 'cri-o', POD),
    ('userns', 128): ('unified', 'user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%s.scope',
                      'podman', None),
}


def cgroup_root(hierarchy):
    return os.path.join('/sys/fs/cgroup', hierarchy)


class Zoo:
    def __init__(self):
        self.namespaces = {}   # key -> {'inode', 'pid', 'name', 'run' (argv prefix), 'value'}
        self.holders = []
        self.pinned = []
        self.cgroups = []
        self.home = None

    def start_holder(self, argv, value):
        process = subprocess.Popen(argv + [HELPER_PYTHON, '-c', HOLDER, str(value)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        self.holders.append(process)
        assert process.stdout.readline().strip() == 'ready'
        return process.pid

    def build(self):
        self.home = Namespace('home', HOME_SOMAXCONN)
        for value in VALUES:
            pinned = Namespace('pin', value)
            self.pinned.append(pinned)
            self.namespaces[('ipnetns', value)] = {
                'inode': os.stat('/run/netns/' + pinned.name).st_ino, 'pid': None, 'name': pinned.name,
                'run': ['ip', 'netns', 'exec', pinned.name], 'value': value}
            for kind, argv in (('unshare', ['unshare', '-n']), ('userns', ['unshare', '-U', '-r', '-n'])):
                pid = self.start_holder(argv, value)
                self.namespaces[(kind, value)] = {
                    'inode': os.stat('/proc/%d/ns/net' % pid).st_ino, 'pid': pid, 'name': None,
                    'run': ['nsenter', '-n', '-t', str(pid)], 'value': value}
        # One pinned namespace that saw overflows from a process that has since ended: its
        # counters can only be read from inside (no /proc/PID/net to read them from).
        pinned = self.namespaces[('ipnetns', 4096)]
        subprocess.run(pinned['run'] + [HELPER_PYTHON, '-c', HOLDER.replace('sys.stdin.read()', ''), '4096'],
                       check=True, capture_output=True)
        for (kind, value), (hierarchy, shape, runtime, pod) in SHAPES.items():
            identity = uuid.uuid4().hex + uuid.uuid4().hex
            path = os.path.join(cgroup_root(hierarchy), shape % identity)
            os.makedirs(path)
            self.cgroups.append((hierarchy, path))
            with open(os.path.join(path, 'cgroup.procs'), 'w') as handle:
                handle.write('%d\n' % self.namespaces[(kind, value)]['pid'])
            self.namespaces[(kind, value)]['container'] = {'runtime': runtime, 'id': identity, 'pod': pod}

    def remove(self):
        for process in self.holders:
            process.kill()
            process.wait()
        for hierarchy, path in self.cgroups:
            root = cgroup_root(hierarchy)
            while path != root:
                try:
                    os.rmdir(path)
                except OSError:
                    break  # shared with another shape, or not empty yet
                path = os.path.dirname(path)
        for namespace in self.pinned + ([self.home] if self.home else []):
            namespace.remove()

    def kernel_grant(self, key):
        return int(subprocess.run(self.namespaces[key]['run'] + [HELPER_PYTHON, '-c', GRANT_SCRIPT, str(INT_MAX)],
                                  capture_output=True, text=True, check=True).stdout)

    def ss(self, key):
        """{(address, port): (backlog, queued)} as ss inside the namespace prints them."""
        found = {}
        out = subprocess.run(self.namespaces[key]['run'] + ['ss', '-ltnH'], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            fields = line.split()
            address, _sep, port = fields[3].rpartition(':')
            found[(address, int(port))] = (int(fields[2]), int(fields[1]))
        return found

    def tcpext(self, key):
        out = subprocess.run(self.namespaces[key]['run'] + ['cat', '/proc/net/netstat'], capture_output=True,
                             text=True, check=True).stdout
        return parse_netstat(out)['TcpExt']


@pytest.fixture(scope='module')
def zoo():
    made = Zoo()
    try:
        made.build()
        yield made
    finally:
        made.remove()


def gather(zoo, python_version, controller, directory, collections_root, prefix=(), env=None, listeners=True,
           python=None, namespace_listeners=True, namespaces_below=None):
    hosts = {'home': {'want_listeners': listeners, 'want_namespace_listeners': namespace_listeners,
                      'want_namespaces_below': namespaces_below, 'ansible_python_interpreter': interpreter(
                          zoo.home, python or target_python(python_version), directory, prefix=prefix)}}
    process, results = run_playbook(controller_bin(controller), collections_root, 'namespaces.yml', hosts,
                                    directory, env=env)
    return process, dict((entry['task'], entry) for entry in results.get('home', []))


@pytest.fixture(scope='module', params=NAMESPACE_TARGETS, ids=['py%s' % python for python, dummy in NAMESPACE_TARGETS])
def gathered(request, zoo, tmp_path_factory):
    python_version, controller = request.param
    directory = str(tmp_path_factory.mktemp('ns-py%s' % python_version))
    process, tasks = gather(zoo, python_version, controller, directory, request.getfixturevalue('collections_root'))
    assert process.returncode == 0, process.stdout + process.stderr
    result = tasks['Gather the facts of every namespace']['result']
    entries = dict((entry['id'], entry) for entry in result['ansible_facts']['ansible_listener_backlog_namespaces'])
    return result, entries, tasks


KEYS = sorted((kind, value) for kind in ('ipnetns', 'unshare', 'userns') for value in VALUES)


@pytest.mark.parametrize('key', KEYS, ids=['%s-%d' % key for key in KEYS])
def test_each_namespace_reports_what_the_kernel_grants_inside_it(zoo, gathered, key):
    _result, entries, _tasks = gathered
    made = zoo.namespaces[key]
    entry = entries[made['inode']]
    assert entry['error'] is None, entry
    assert zoo.kernel_grant(key) == made['value']
    assert entry['listener_backlog'] == made['value']
    info = entry['listener_backlog_info']
    assert (info['source'], info['key'], info['raw'], info['capped'], info['system']) == \
        ('procfs', 'net.core.somaxconn', made['value'], False, 'Linux')
    tcpext = zoo.tcpext(key)
    assert (info['listen_overflows'], info['listen_drops']) == (tcpext['ListenOverflows'], tcpext['ListenDrops'])
    assert entry['current'] is False and entry['initial'] is False
    assert entry['name'] == made['name']
    assert entry['pids'] == ([] if made['pid'] is None else [made['pid']])
    assert entry['container'] == made.get('container')


def test_counters_are_each_namespaces_own(zoo, gathered):
    """The holders' own overflows show in their namespace only; the pinned one's were made by a process now gone."""
    _result, entries, _tasks = gathered
    for key, made in zoo.namespaces.items():
        overflows = entries[made['inode']]['listener_backlog_info']['listen_overflows']
        # A queue of 0 holds one connection (sk_acceptq_is_full compares with >): 3 connects overflow.
        expected_rise = made['pid'] is not None or key == ('ipnetns', 4096)
        assert (overflows > 0) == expected_rise, (key, overflows)


HELD = [key for key in KEYS if key[0] != 'ipnetns']


@pytest.mark.parametrize('key', HELD, ids=['%s-%d' % key for key in HELD])
def test_each_namespaces_listeners_are_what_ss_shows_inside_it(zoo, gathered, key):
    _result, entries, _tasks = gathered
    made = zoo.namespaces[key]
    listeners = entries[made['inode']]['listeners']
    kernel = zoo.ss(key)
    assert dict(((item['address'], item['port']), (item['backlog'], item['queued'])) for item in listeners) == kernel
    assert kernel[('127.0.0.1', 6379)] == (min(511, made['value']), 1)
    assert all(item['pid'] == made['pid'] and item['process'].startswith('python') for item in listeners), listeners


def test_the_modules_own_namespace_is_the_current_entry_and_the_top_level_facts(zoo, gathered):
    result, entries, tasks = gathered
    facts = result['ansible_facts']
    home = os.stat('/run/netns/' + zoo.home.name).st_ino
    current = [entry for entry in entries.values() if entry['current']]
    assert [entry['id'] for entry in current] == [home]
    assert facts['ansible_listener_backlog'] == current[0]['listener_backlog'] == HOME_SOMAXCONN
    assert current[0]['listener_backlog_info'] == facts['ansible_listener_backlog_info']
    assert current[0]['listeners'] == facts['ansible_listener_backlog_listeners'] == []
    assert current[0]['name'] == zoo.home.name
    # The machine's own namespace is there too, known as such (the module sees the kernel's threads), and the
    # only one that is.
    machine = os.stat('/proc/self/ns/net').st_ino
    assert entries[machine]['container'] is None and entries[machine]['error'] is None
    assert [entry['id'] for entry in entries.values() if entry['initial']] == [machine]
    assert current[0]['initial'] is False
    assert sorted(entries) == [entry['id'] for entry in facts['ansible_listener_backlog_namespaces']]
    # Without the option, nothing changes in the facts.
    plain = tasks['Gather the facts without namespaces']['result']['ansible_facts']
    assert sorted(plain) == ['ansible_listener_backlog', 'ansible_listener_backlog_info']


def test_namespaces_without_listeners_have_no_listener_key(zoo, tmp_path, collections_root):
    process, tasks = gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, listeners=False)
    assert process.returncode == 0, process.stdout + process.stderr
    entries = tasks['Gather the facts of every namespace']['result']['ansible_facts'][
        'ansible_listener_backlog_namespaces']
    assert all('listeners' not in entry for entry in entries)
    made = zoo.namespaces[('userns', 70000)]
    assert [entry['listener_backlog'] for entry in entries if entry['id'] == made['inode']] == [70000]


def test_without_namespace_listeners_listeners_are_the_modules_own_namespaces_only(zoo, tmp_path, collections_root):
    """listeners=true alone: the top-level listeners, and each namespace with its limit but no listener key."""
    listening = subprocess.Popen(['ip', 'netns', 'exec', zoo.home.name, HELPER_PYTHON, '-c',
                                  'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", 7070)); s.listen(77); '
                                  'print("ready", flush=True); sys.stdin.read()'],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert listening.stdout.readline().strip() == 'ready'
        process, tasks = gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, namespace_listeners=False)
    finally:
        listening.stdin.close()
        listening.wait()
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    facts = result['ansible_facts']
    assert [(item['port'], item['backlog']) for item in facts['ansible_listener_backlog_listeners']] == [(7070, 77)]
    assert all('listeners' not in entry and 'unix_listeners' not in entry for entry in entries.values())
    assert_read_right(zoo, entries)
    assert 'ansible_listener_backlog_namespaces_total' not in facts


def test_namespaces_below_returns_those_below_and_how_many_there_are(zoo, tmp_path, collections_root):
    """Below 4096: the zoo's 0 and 128 (with their listeners), the home namespace (1111); none at 4096 or above."""
    process, tasks = gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, namespaces_below=4096)
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    for key, made in zoo.namespaces.items():
        if made['value'] < 4096:
            assert entries[made['inode']]['listener_backlog'] == made['value'], key
        else:
            assert made['inode'] not in entries, key
    assert all(entry['listener_backlog'] is None or entry['listener_backlog'] < 4096 for entry in entries.values())
    home = os.stat('/run/netns/' + zoo.home.name).st_ino
    assert entries[home]['current'] is True and entries[home]['listener_backlog'] == HOME_SOMAXCONN
    # Those kept have their listeners; the machine may hold other namespaces than the zoo's, so the total is a floor.
    held = zoo.namespaces[('unshare', 128)]
    assert zoo.ss(('unshare', 128)) == dict(((item['address'], item['port']), (item['backlog'], item['queued']))
                                            for item in entries[held['inode']]['listeners'])
    assert result['ansible_facts']['ansible_listener_backlog_namespaces_total'] >= len(zoo.namespaces) + 2


def entries_of(tasks):
    result = tasks['Gather the facts of every namespace']['result']
    return result, dict((entry['id'], entry) for entry in result['ansible_facts']['ansible_listener_backlog_namespaces'])


def assert_read_right(zoo, entries, skip=()):
    """Every zoo namespace but ``skip`` reads right: the module came back home after each visit."""
    for key, made in zoo.namespaces.items():
        if made['inode'] in skip:
            continue
        assert entries[made['inode']]['listener_backlog'] == made['value'], key


def test_a_refused_entry_is_reported_and_the_module_comes_back_home(zoo, tmp_path, collections_root):
    """The first setns() refused (strace fault injection): that namespace says why, the rest read right."""
    prefix = ['strace', '-qq', '-o', os.devnull, '-e', 'trace=setns', '-e', 'inject=setns:error=EPERM:when=1']
    process, tasks = gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, prefix=prefix)
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    refused = [entry for entry in entries.values() if entry['error']]
    assert [entry['id'] for entry in refused] == [min(inode for inode, entry in entries.items() if not entry['current'])]
    assert refused[0]['error'] == ('entering it was refused (setns): EPERM: reading other network namespaces needs '
                                   'root with CAP_SYS_ADMIN')
    assert refused[0]['listener_backlog'] is None and refused[0]['listener_backlog_info'] is None
    assert refused[0]['listeners'] is None
    assert_read_right(zoo, entries, skip=[refused[0]['id']])
    assert result['ansible_facts']['ansible_listener_backlog'] == HOME_SOMAXCONN


def test_without_cap_sys_admin_every_other_namespace_says_why(zoo, tmp_path, collections_root):
    prefix = ['setpriv', '--inh-caps', '-sys_admin', '--bounding-set', '-sys_admin', '--']
    process, tasks = gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, prefix=prefix)
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    for entry in entries.values():
        if entry['current']:
            assert entry['listener_backlog'] == HOME_SOMAXCONN and entry['error'] is None
        else:
            assert entry['listener_backlog'] is None and 'EPERM' in entry['error'], entry
    # Who they are is still known: names, processes, containers.
    for key, made in zoo.namespaces.items():
        assert entries[made['inode']]['name'] == made['name']
        assert entries[made['inode']]['container'] == made.get('container')


def test_not_root_sees_its_own_namespace_and_lists_what_it_cannot_read(zoo, tmp_path, collections_root):
    """As nobody: other users' processes are unreadable (a warning says so), pinned files are listed with why."""
    os.chmod(str(tmp_path), 0o755)
    prefix = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--']
    # Debian's own Python: pyenv's under /root are out of nobody's reach.
    process, tasks = gather(zoo, None, 'latest', str(tmp_path), collections_root, prefix=prefix,
                            env={'ANSIBLE_PIPELINING': 'True'}, python='/usr/bin/python3')
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    assert result['ansible_facts']['ansible_listener_backlog'] == HOME_SOMAXCONN
    for key, made in zoo.namespaces.items():
        if key[0] == 'ipnetns':
            assert entries[made['inode']]['listener_backlog'] is None
            assert 'reading other network namespaces needs root' in entries[made['inode']]['error']
        else:
            assert made['inode'] not in entries  # held by a root process nobody may look into
    warnings = warnings_of(result)
    assert any('could not be read (permission denied' in warning for warning in warnings), warnings


def test_a_namespace_gone_during_the_scan_is_listed_with_its_reason(zoo, tmp_path, collections_root):
    """The holder dies after the module read its namespace link and before it entered.

    strace stops the module (SIGSTOP) right after it reads that one link; the test kills
    the holder, waits for it to be gone, and lets the module go on.  No timing involved.
    """
    holder = subprocess.Popen(['unshare', '-n', 'sleep', '600'])
    try:
        # The holder is in its own namespace once unshare(2) returned: its link no longer names ours.
        own = os.stat('/proc/self/ns/net').st_ino
        deadline = time.monotonic() + 10
        while os.stat('/proc/%d/ns/net' % holder.pid).st_ino == own:
            assert time.monotonic() < deadline, 'unshare -n did not enter a new network namespace within 10 s'
            time.sleep(0.01)
        inode = os.stat('/proc/%d/ns/net' % holder.pid).st_ino
        link = '/proc/%d/ns/net' % holder.pid
        trace = tmp_path / 'strace.out'
        prefix = ['strace', '-qq', '-A', '-o', str(trace), '-P', link, '-e', 'trace=readlink,readlinkat',
                  '-e', 'inject=readlink,readlinkat:signal=SIGSTOP']
        outcome = {}
        runner = threading.Thread(target=lambda: outcome.update(
            result=gather(zoo, '3.13', 'latest', str(tmp_path), collections_root, prefix=prefix)), daemon=True)
        runner.start()
        # strace writes its line once the module is stopped (it flushes each line).
        deadline = time.monotonic() + 120
        while runner.is_alive() and time.monotonic() < deadline:
            if trace.exists() and '--- stopped by SIGSTOP ---' in trace.read_text():
                break
            time.sleep(0.05)
        assert '--- stopped by SIGSTOP ---' in trace.read_text(), 'the module never read the link'
        [tracer] = subprocess.run(['pgrep', '-f', '--', '-P %s ' % link], capture_output=True, text=True,
                                  check=True).stdout.split()
        [stopped] = subprocess.run(['pgrep', '-P', tracer], capture_output=True, text=True, check=True).stdout.split()
        stopped = int(stopped)
        holder.kill()
        holder.wait()
        os.kill(stopped, signal.SIGCONT)
        runner.join(120)
    finally:
        holder.kill()
        holder.wait()
    process, tasks = outcome['result']
    assert process.returncode == 0, process.stdout + process.stderr
    result, entries = entries_of(tasks)
    assert entries[inode]['error'] == 'gone during the scan'
    assert entries[inode]['pids'] == [holder.pid] and entries[inode]['listener_backlog'] is None
    assert_read_right(zoo, entries)
