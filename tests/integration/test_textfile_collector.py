# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The textfile collector as the role renders it, against the real kernel, on old and new target Pythons.

The script is rendered from the role's template by ansible-core's template module (with its
own --validate as the validator), then run on a simulated host (nshost.NamespaceHost at 128)
that holds a container made as Docker makes one, at 128, with a real Redis asking for 511 and
a listener whose queue of 0 overflows.  What the file says is compared with what the kernel
says inside each namespace (ss, /proc/net/netstat), and checked by promtool and parsed by
prometheus_client's parser.  Then its faults: a read-only directory, a full one, a run killed
after writing and before renaming (strace injects SIGKILL at its fsync), and a run that waits
for another's lock: the old file stays whole in each.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from containers import Container
from netns import controller_bin, run_playbook, target_python
from nshost import NamespaceHost

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, 'roles', 'listener_backlog')
PROM = 'netstack_backlog.prom'

# Run in the container: a listener with a queue of 0, and three clients: two are refused
# (ListenOverflows rises by 2 in the container's namespace only), then closed before a retry.
OVERFLOW = r'''
import socket, time
full = socket.socket()
full.bind(("127.0.0.1", 7171))
full.listen(0)
clients = []
for _ in range(3):
    client = socket.socket()
    client.setblocking(False)
    client.connect_ex(("127.0.0.1", 7171))
    clients.append(client)
deadline = time.time() + 0.8
while time.time() < deadline:
    with open("/proc/net/netstat") as handle:
        names, values = [line.split() for line in handle if line.startswith("TcpExt:")][:2]
    if int(values[names.index("ListenOverflows")]) >= 2:
        break
    time.sleep(0.01)
for client in clients:
    client.close()
print("ready", flush=True)
time.sleep(3600)
'''


@pytest.fixture(scope='module')
def script(tmp_path_factory, collections_root):
    """The collector script, rendered by ansible-core from the role's template."""
    directory = tmp_path_factory.mktemp('collector-render')
    ansible_bin = controller_bin('latest')
    dest = str(directory / 'netstack-backlog-textfile')
    process, results = run_playbook(ansible_bin, collections_root, 'textfile_collector.yml', {'localhost': {
        'ansible_python_interpreter': os.path.join(ansible_bin, 'python'), 'role_path': ROLE, 'dest': dest}},
        str(directory))
    assert process.returncode == 0, process.stdout + process.stderr
    assert results['localhost'][0]['result']['changed'] is True
    return dest


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    """A host at 128 with a Docker-shaped container at 128: Redis asking for 511, and overflows."""
    directory = str(tmp_path_factory.mktemp('collector-scene'))
    host = NamespaceHost('tfc', 128)
    container = None
    holder = None
    try:
        container = Container(host, directory, 'docker')
        container.start_redis(os.path.join(directory, 'redis.log'))
        holder = subprocess.Popen(container.command(['python3', '-c', OVERFLOW]), stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == 'ready'
        host.run('mkdir', '-p', '/var/lib/prometheus/node-exporter')
        yield host, container, directory
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        if container is not None:
            container.remove()
        host.remove()


def run_collector(host, script, python, *arguments, prefix=(), check=True):
    """The script run on the host (with a given Python: the file is a Python program too)."""
    return host.run(*(list(prefix) + [python, '-E', '-S', script] + list(arguments)), check=check)


def families(text):
    return dict((family.name, family) for family in text_string_to_metric_families(text))


def samples(found, name):
    return found[name].samples if name in found else []


def tcpext(argv):
    out = subprocess.run(argv + ['cat', '/proc/net/netstat'], capture_output=True, text=True, check=True).stdout
    names, values = [line.split() for line in out.splitlines() if line.startswith('TcpExt:')][:2]
    return dict(zip(names[1:], (int(value) for value in values[1:])))


@pytest.mark.parametrize('version', ['2.7', '3.6', '3.13'])
def test_the_collectors_file_says_what_the_kernel_says_in_every_namespace(
        scene, script, version, promtool):
    host, container, _directory = scene
    python = target_python(version)
    done = run_collector(host, script, python, '--directory', '/var/lib/prometheus/node-exporter')
    assert done.returncode == 0, done.stderr
    path = '/var/lib/prometheus/node-exporter/' + PROM
    assert host.run('stat', '-c', '%a %U', path).stdout.split() == ['644', 'root']
    text = host.read(path)
    check = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert check.returncode == 0 and check.stdout + check.stderr == '', check.stdout + check.stderr
    found = families(text)

    container_inode = int(container.run('stat', '-L', '-c', '%i', '/proc/self/ns/net').stdout)
    home_inode = os.stat('/run/netns/' + host.name).st_ino
    limits = dict((sample.labels['netns'], sample) for sample in samples(found, 'netstack_backlog_limit'))
    assert sorted(limits) == sorted([str(container_inode), str(home_inode)])
    mine = limits[str(container_inode)]
    assert mine.value == 128 == container.somaxconn()
    assert (mine.labels['container_runtime'], mine.labels['container_id']) == ('docker', container.short_id)
    # The host's /run is its own: the machine's ip netns name of it is not there to see.
    assert limits[str(home_inode)].labels['netns_name'] == '' and limits[str(home_inode)].value == 128
    assert [sample.value for sample in samples(found, 'netstack_backlog_host_limit')] == [128]

    kernel = tcpext(container.command([]))
    overflows = dict((sample.labels['netns'], sample.value)
                     for sample in samples(found, 'netstack_backlog_listen_overflows'))
    assert overflows[str(container_inode)] == kernel['ListenOverflows'] >= 2
    assert overflows[str(home_inode)] == tcpext(host.command([]))['ListenOverflows']

    backlog = dict(((sample.labels['netns'], sample.labels['port']), sample)
                   for sample in samples(found, 'netstack_backlog_listener_backlog'))
    redis = backlog[(str(container_inode), '6379')]
    assert redis.value == 128 and redis.labels['process'] == 'redis-server'
    assert backlog[(str(container_inode), '7171')].value == 0
    for name, value in (('netstack_backlog_collector_success', 1), ('netstack_backlog_namespaces_unreadable', 0),
                        ('netstack_backlog_listeners_omitted', 0)):
        assert [sample.value for sample in samples(found, name)] == [value], name
    assert abs(samples(found, 'netstack_backlog_collector_last_success_timestamp_seconds')[0].value
               - time.time()) < 60


def test_validate_prints_the_metrics_and_writes_nothing(scene, script):
    host, _container, _directory = scene
    host.run('rm', '-rf', '/var/lib/prometheus/node-exporter/validate')
    done = run_collector(host, script, '/usr/bin/python3', '--validate', '--directory',
                         '/var/lib/prometheus/node-exporter/validate')
    assert done.returncode == 0, done.stderr
    assert 'netstack_backlog_limit{' in done.stdout
    assert not host.exists('/var/lib/prometheus/node-exporter/validate')


@pytest.mark.parametrize('arguments, says', [
    (['--directory', 'relative'], "--directory must be an absolute path, got 'relative'"),
    (['--max-listeners', '-3'], "--max-listeners must be an integer of 0 or more, got '-3'"),
    (['--max-listeners', 'many'], "--max-listeners must be an integer of 0 or more, got 'many'"),
    (['--frobnicate'], "unknown argument '--frobnicate'"),
])
def test_bad_arguments_are_refused_naming_them(scene, script, arguments, says):
    host, _container, _directory = scene
    done = run_collector(host, script, '/usr/bin/python3', *arguments, check=False)
    assert done.returncode == 2 and says in done.stderr and 'usage:' in done.stderr


def test_the_cap_keeps_listeners_at_their_limit_first_and_counts_the_rest(scene, script):
    host, container, _directory = scene
    done = run_collector(host, script, '/usr/bin/python3', '--validate', '--max-listeners', '1')
    found = families(done.stdout)
    [kept] = samples(found, 'netstack_backlog_listener_backlog')
    # Redis at 128 is at its namespace's limit, the overflowing listener's queue (0) is full: one of those two.
    assert (kept.labels['port'], kept.labels['container_id']) in (('6379', container.short_id),
                                                                  ('7171', container.short_id))
    assert samples(found, 'netstack_backlog_listeners_omitted')[0].value >= 1


def make_mount(host, spec):
    """A fresh directory mounted in the host's own mount namespace: ``spec`` is tmpfs options."""
    host.run('rm', '-rf', '/run/nbt-textfile')
    host.run('mkdir', '-p', '/run/nbt-textfile')
    host.run('mount', '-t', 'tmpfs', '-o', spec, 'nbt-textfile', '/run/nbt-textfile')
    return '/run/nbt-textfile'


@pytest.fixture
def textfile_dir(scene):
    host, _container, _directory = scene
    yield make_mount(host, 'size=1m,mode=755')
    host.run('umount', '/run/nbt-textfile', check=False)


def old_file(host, directory, script):
    done = run_collector(host, script, '/usr/bin/python3', '--directory', directory)
    assert done.returncode == 0, done.stderr
    return host.read(os.path.join(directory, PROM))


def test_a_read_only_directory_is_named_with_its_cause_and_the_old_file_stays(scene, script, textfile_dir):
    host, _container, _directory = scene
    before = old_file(host, textfile_dir, script)
    host.run('mount', '-o', 'remount,ro', textfile_dir)
    done = run_collector(host, script, '/usr/bin/python3', '--directory', textfile_dir, check=False)
    assert done.returncode == 1
    assert 'could not write %s/%s: Read-only file system (EROFS)' % (textfile_dir, PROM) in done.stderr
    assert host.read(os.path.join(textfile_dir, PROM)) == before


def test_a_full_disk_is_named_with_its_cause_and_the_old_file_stays(scene, script, textfile_dir):
    host, _container, _directory = scene
    before = old_file(host, textfile_dir, script)
    host.run('sh', '-c', 'dd if=/dev/zero of=%s/filler bs=4k 2>/dev/null; true' % textfile_dir)
    done = run_collector(host, script, '/usr/bin/python3', '--directory', textfile_dir, check=False)
    assert done.returncode == 1
    assert 'could not write %s/%s: No space left on device (ENOSPC)' % (textfile_dir, PROM) in done.stderr
    assert host.read(os.path.join(textfile_dir, PROM)) == before
    assert host.run('ls', '-A', textfile_dir).stdout.split() == ['.netstack_backlog.lock', 'filler', PROM]


def test_a_run_killed_before_its_rename_leaves_the_old_file_whole_and_the_next_run_cleans_up(
        scene, script, textfile_dir):
    host, _container, _directory = scene
    if shutil.which('strace') is None:
        pytest.fail('strace not found: install it (apt-get install strace; .ci/run does)')
    before = old_file(host, textfile_dir, script)
    # SIGKILL at the first fsync: the new text is written to the temporary file, not yet renamed.
    killed = run_collector(host, script, '/usr/bin/python3', '--directory', textfile_dir, check=False,
                           prefix=['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fsync',
                                   '-e', 'inject=fsync:signal=SIGKILL'])
    assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL, 137), killed
    names = host.run('ls', '-A', textfile_dir).stdout.split()
    leftovers = [name for name in names if name.startswith('.%s.' % PROM)]
    assert len(leftovers) == 1 and leftovers[0].endswith('.tmp'), names
    assert host.read(os.path.join(textfile_dir, PROM)) == before
    after = old_file(host, textfile_dir, script)
    assert after != before  # a new run, with its own timestamp
    assert sorted(host.run('ls', '-A', textfile_dir).stdout.split()) == ['.netstack_backlog.lock', PROM]


LOCK_HOLDER = r"""
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(3600)
"""


def test_a_run_waits_for_the_lock_of_one_in_progress_and_the_lock_dies_with_its_holder(
        scene, script, textfile_dir):
    host, _container, _directory = scene
    before = old_file(host, textfile_dir, script)
    # A process of this test holds the lock, through the host's mount namespace seen from its init.
    lock = '/proc/%d/root%s/.netstack_backlog.lock' % (host.init_pid, textfile_dir)
    holder = subprocess.Popen(['python3', '-c', LOCK_HOLDER, lock], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        waiting = subprocess.Popen(host.command(['/usr/bin/python3', '-E', '-S', script, '--directory',
                                                 textfile_dir]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        time.sleep(1.5)
        assert waiting.poll() is None  # waiting for the lock
        assert host.read(os.path.join(textfile_dir, PROM)) == before
        holder.kill()  # SIGKILL: the kernel drops the lock of a process that dies
        holder.wait()
        dummy, err = waiting.communicate(timeout=30)
        assert waiting.returncode == 0, err
        assert host.read(os.path.join(textfile_dir, PROM)) != before
    finally:
        holder.kill()
        holder.wait()


def test_a_namespace_gone_mid_run_is_counted_unreadable_and_named(scene, script, textfile_dir):
    """Its only process dies after the collector listed its namespace and before it entered it.

    strace stops the collector (SIGSTOP) right after it reads that process's namespace link; the
    test kills the process and lets the collector go on, as the fact module's own test does.
    """
    host, _container, _directory = scene
    holder = subprocess.Popen(host.command(['unshare', '-n', 'sleep', '600']))
    try:
        deadline = time.monotonic() + 10
        while True:
            found = host.run('pgrep', '-n', '-f', '^sleep 600$', check=False).stdout.split()
            if found and host.run('readlink', '/proc/%s/ns/net' % found[0], check=False).stdout.strip() != \
                    host.run('readlink', '/proc/self/ns/net').stdout.strip():
                break
            assert time.monotonic() < deadline, 'unshare -n did not start a namespace within 10 s'
            time.sleep(0.01)
        pid = int(found[0])
        link = '/proc/%d/ns/net' % pid
        trace = '/run/nbt-collector-strace.out'
        runner = subprocess.Popen(host.command(
            ['strace', '-qq', '-A', '-o', trace, '-P', link, '-e', 'trace=readlink,readlinkat',
             '-e', 'inject=readlink,readlinkat:signal=SIGSTOP',
             '/usr/bin/python3', '-E', '-S', script, '--directory', textfile_dir]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while '--- stopped by SIGSTOP ---' not in host.run('cat', trace, check=False).stdout:
            assert time.monotonic() < deadline and runner.poll() is None, 'the collector never read the link'
            time.sleep(0.05)
        host.run('kill', '-9', str(pid))
        host.run('sh', '-c', 'while kill -0 %d 2>/dev/null; do sleep 0.05; done' % pid)
        host.run('pkill', '-CONT', '-f', '^/usr/bin/python3 -E -S %s' % script)
        dummy, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err
    finally:
        holder.kill()
        holder.wait()
    inode = None
    for line in err.splitlines():
        if line.endswith(': gone during the scan') and line.startswith('netstack-backlog-textfile: network namespace '):
            inode = line.split()[3].rstrip(':')
    assert inode is not None, err
    text = host.read(os.path.join(textfile_dir, PROM))
    for line in ('netstack_backlog_namespaces_unreadable 1', 'netstack_backlog_collector_errors 1',
                 'netstack_backlog_collector_success 1'):
        assert line in text.splitlines(), text
    # Its limit is unknown: no sample, never a made-up number.
    assert 'netstack_backlog_limit{netns="%s"' % inode not in text
