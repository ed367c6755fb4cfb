# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_facts against the real kernel, on every target Python.

One inventory per target Python: a namespace per somaxconn value, one per procfs
fault, one holding listeners the test opened.  The truth is read back from the
kernel (ss's view of a listen(2**31-1), or of the test's own sockets), never from
the file the module reads.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from netns import (FAULTS, HELPER_PYTHON, INT_MAX, RELEASE_TARGETS, TARGETS, Namespace, controller_bin,
                   interpreter, run_playbook, target_python)

VALUES = [0, 100, 4096, 70000, INT_MAX]
FAULT_SOMAXCONN = 777  # neither a kernel default nor a value the faults could produce
LISTENER_SOMAXCONN = 600

# Listeners the test opens: (family, address, port, requested backlog, connections queued).
OPENED = [
    ('ipv4', '127.0.0.1', 18080, 5, 2),
    ('ipv6', '::1', 16379, 1000, 0),
    ('ipv4', '0.0.0.0', 18443, INT_MAX, 1),
    ('ipv6', '::', 18022, 0, 0),
]
OPENER = r'''
import socket, sys, time
held = []
for family, address, port, backlog, queued in %r:
    sock = socket.socket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET)
    if family == "ipv6":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(backlog)
    held.append(sock)
    target = "::1" if family == "ipv6" else "127.0.0.1"
    for _ in range(queued):
        held.append(socket.create_connection((target, port)))
print("ready", flush=True)
sys.stdin.read()
''' % (OPENED,)


@pytest.fixture(scope='module')
def fleet():
    namespaces = {}
    opener = None
    try:
        for value in VALUES:
            namespaces['value-%d' % value] = Namespace('v%d' % (value % 100000), value)
        for fault in FAULTS:
            namespaces['fault-' + fault] = Namespace(fault[:6], FAULT_SOMAXCONN)
        namespaces['listeners'] = Namespace('lis', LISTENER_SOMAXCONN)
        opener = subprocess.Popen(['ip', 'netns', 'exec', namespaces['listeners'].name, HELPER_PYTHON,
                                   '-c', OPENER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        yield namespaces, opener.pid
    finally:
        if opener is not None:
            opener.stdin.close()
            opener.wait(timeout=10)
        for namespace in namespaces.values():
            namespace.remove()


# Every supported target Python, and each Debian release's own (netns.RELEASE_TARGETS).
RELEASE_PYTHONS = {'debian12': '3.11', 'debian13': '3.13'}
GATHER_TARGETS = TARGETS + RELEASE_TARGETS


@pytest.fixture(scope='module', params=GATHER_TARGETS,
                ids=[python if python.startswith('debian') else 'py%s' % python for python, dummy in GATHER_TARGETS])
def gathered(request, fleet, tmp_path_factory):
    python_version, controller = request.param
    namespaces, _pid = fleet
    python = target_python(python_version)
    release = python_version if python_version.startswith('debian') else None
    directory = str(tmp_path_factory.mktemp('py%s' % python_version))
    hosts = {}
    for host, namespace in namespaces.items():
        fault = host[len('fault-'):] if host.startswith('fault-') else None
        hosts[host] = {'ansible_python_interpreter': interpreter(namespace, python, directory, fault, release=release)}
    hosts['listeners']['want_listeners'] = True
    if release:
        # The interpreter the modules run under is the release's own: its Python, on its files.
        probe = os.path.join(directory, 'probe.py')
        with open(probe, 'w') as handle:
            handle.write('import sys\nprint("%d.%d" % sys.version_info[:2], open("/etc/debian_version").read())\n')
        seen = subprocess.run([hosts['value-0']['ansible_python_interpreter'], probe], capture_output=True,
                              text=True, check=True).stdout.split()
        assert seen[0] == RELEASE_PYTHONS[release] and seen[1].split('.')[0] == release[len('debian'):], seen
    process, results = run_playbook(controller_bin(controller), request.getfixturevalue('collections_root'),
                                    'facts.yml', hosts, directory)
    assert process.returncode == 0, process.stdout + process.stderr
    return namespaces, results, python_version


def facts_of(results, host, task='Gather the facts'):
    entry = [item for item in results[host] if item['task'] == task][0]
    assert entry['status'] == 'ok', entry
    return entry['result']


def warnings_of(result):
    # ansible-core 2.19 keeps the module's warnings as dicts with a message.
    return [item['msg'] if isinstance(item, dict) else item for item in result.get('warnings', [])]


@pytest.mark.parametrize('value', VALUES)
def test_fact_equals_the_kernel_grant(gathered, value):
    namespaces, results, _python = gathered
    namespace = namespaces['value-%d' % value]
    grant = namespace.kernel_grant()
    assert grant == value  # the kernel takes every value in 0 .. 2**31-1 since 4.1
    result = facts_of(results, 'value-%d' % value)
    facts = result['ansible_facts']
    assert facts['ansible_listener_backlog'] == grant
    info = facts['ansible_listener_backlog_info']
    assert (info['source'], info['key'], info['raw'], info['capped']) == ('procfs', 'net.core.somaxconn', value, False)
    assert info['syn_backlog'] == namespace.read_sysctl('net/ipv4/tcp_max_syn_backlog')
    assert info['syncookies'] == namespace.read_sysctl('net/ipv4/tcp_syncookies')
    assert isinstance(info['listen_overflows'], int) and isinstance(info['listen_drops'], int)
    assert not warnings_of(result)
    assert result['changed'] is False


@pytest.mark.parametrize('value', [0, 70000])
def test_check_mode_reports_the_same_fact(gathered, value):
    _namespaces, results, _python = gathered
    checked = facts_of(results, 'value-%d' % value, 'Gather the facts in check mode')
    assert checked['ansible_facts']['ansible_listener_backlog'] == value


def test_fact_is_reachable_as_ansible_facts_and_as_prefixed_variable(gathered):
    _namespaces, results, _python = gathered
    shown = facts_of(results, 'value-100', 'Show the fact through both names')['msg']
    assert (int(shown['prefixed']), int(shown['facts']), shown['source']) == (100, 100, 'procfs')


@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_broken_procfs_falls_back_to_the_kernel_grant_with_warning(gathered, fault):
    namespaces, results, _python = gathered
    grant = namespaces['fault-' + fault].kernel_grant()
    assert grant == FAULT_SOMAXCONN
    result = facts_of(results, 'fault-' + fault)
    facts = result['ansible_facts']
    assert facts['ansible_listener_backlog'] == grant
    assert facts['ansible_listener_backlog_info']['source'] == 'probe'
    warnings = warnings_of(result)
    assert len(warnings) == 1, warnings
    expected = {'garbage': 'not a number', 'missing': 'is missing', 'unreadable': 'permission denied'}[fault]
    assert '/proc/sys/net/core/somaxconn' in warnings[0] and expected in warnings[0]
    assert 'sysctl' in warnings[0]  # the sysctl program was tried and failed too


def ss_listeners(namespace):
    """The kernel's view of the namespace's listeners: {(address, port): (backlog, queued)}."""
    found = {}
    for line in namespace.run('ss', '-ltnH').stdout.splitlines():
        fields = line.split()
        address, _sep, port = fields[3].rpartition(':')
        address = address.strip('[]')
        found[(address.replace('*', '0.0.0.0'), int(port))] = (int(fields[2]), int(fields[1]))
    return found


def test_listeners_are_the_sockets_opened_with_what_the_kernel_granted(gathered, fleet):
    namespaces, results, _python = gathered
    _namespaces, opener_pid = fleet
    kernel = ss_listeners(namespaces['listeners'])
    listeners = facts_of(results, 'listeners')['ansible_facts']['ansible_listener_backlog_listeners']
    reported = dict(((item['address'], item['port']), item) for item in listeners)
    assert sorted(reported) == sorted(kernel)
    for family, address, port, requested, queued in OPENED:
        item = reported[(address, port)]
        granted = min(requested, LISTENER_SOMAXCONN)
        assert kernel[(address, port)] == (granted, queued)
        assert (item['family'], item['backlog'], item['queued']) == (family, granted, queued)
        assert item['process'].startswith('python'), item
        # ip netns exec execs the helper Python, so the pid is the one Popen started.
        assert item['pid'] == opener_pid, item
    assert [item['port'] for item in listeners] == sorted(item['port'] for item in listeners)


@pytest.mark.parametrize('python_version, controller', [('2.7', '2.16'), ('3.13', 'latest')])
def test_facts_modules_brings_the_fact_with_gather_facts(namespace_factory, tmp_path, collections_root,
                                                         python_version, controller):
    namespace = namespace_factory('gf', 3210)
    hosts = {'gathered': {'ansible_python_interpreter': interpreter(
        namespace, target_python(python_version), str(tmp_path))}}
    env = {'ANSIBLE_FACTS_MODULES': 'ansible.builtin.setup, netstack.backlog.listener_backlog_facts'}
    process, results = run_playbook(controller_bin(controller), collections_root, 'gather_facts.yml',
                                    hosts, str(tmp_path), env=env)
    assert process.returncode == 0, process.stdout + process.stderr
    gathered = facts_of(results, 'gathered', 'Gathering Facts')['ansible_facts']
    assert gathered['ansible_listener_backlog'] == namespace.kernel_grant() == 3210
    assert gathered['ansible_system'] == 'Linux'  # setup ran too
    shown = facts_of(results, 'gathered', 'Show the fact beside a fact of setup')['msg']
    assert (int(shown['prefixed']), int(shown['facts']), shown['source'], shown['system']) == \
        (3210, 3210, 'procfs', 'Linux')


@pytest.mark.parametrize('listeners', [False, True])
def test_no_program_runs_when_procfs_answers(namespace_factory, tmp_path, collections_root, listeners):
    """strace every execve of the module runs: only their own Python may appear (netlink needs no ss)."""
    namespace = namespace_factory('exec', 2048)
    trace = str(tmp_path / 'execve.trace')
    python = target_python('3.13')
    hosts = {'traced': {'want_listeners': listeners, 'ansible_python_interpreter': interpreter(
        namespace, python, str(tmp_path), prefix=['strace', '-f', '-qq', '-A', '-e', 'trace=execve', '-o', trace])}}
    process, results = run_playbook(controller_bin('latest'), collections_root, 'facts.yml', hosts,
                                    str(tmp_path), extra_args=['--limit', 'traced'])
    assert process.returncode == 0, process.stdout + process.stderr
    assert facts_of(results, 'traced')['ansible_facts']['ansible_listener_backlog'] == 2048
    with open(trace) as handle:
        programs = [line.split('execve("', 1)[1].split('"', 1)[0] for line in handle if 'execve("' in line]
    # Two module runs (the task, and its check-mode twin), each one execve of Python and nothing else.
    assert programs == [python, python], programs


# -- UNIX listeners -----------------------------------------------------------------

UNIX_SOMAXCONN = 700
UNIX_OPENER = r'''
import os, socket, sys
base, tag = sys.argv[1], sys.argv[2]
opened = [
    # (path, type, requested backlog, connections queued)
    (base + "/php-fpm.sock", "stream", 5, 2),
    ("\0nbt-" + tag, "stream", 2**31 - 1, 0),
    (base + "/mysqld.sock", "seqpacket", 0, 1),
    (base + "/with space.sock", "stream", 128, 0),
]
held = []
for path, kind, backlog, queued in opened:
    kind = socket.SOCK_SEQPACKET if kind == "seqpacket" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    sock.listen(backlog)
    held.append(sock)
    for _ in range(queued):
        client = socket.socket(socket.AF_UNIX, kind)
        client.connect(path)
        held.append(client)
datagram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # bound, never a listener
datagram.bind(base + "/dgram.sock")
held.append(datagram)
print("ready", flush=True)
sys.stdin.read()
'''


def unix_opened(base, tag):
    """What UNIX_OPENER opens, as the module names it: {path: (type, requested, queued)}."""
    return {
        base + '/php-fpm.sock': ('stream', 5, 2),
        '@nbt-' + tag: ('stream', INT_MAX, 0),
        base + '/mysqld.sock': ('seqpacket', 0, 1),
        base + '/with space.sock': ('stream', 128, 0),
    }


def ss_unix_listeners(namespace):
    """The kernel's view of the namespace's UNIX listeners: {path: (netid, backlog, queued)}."""
    found = {}
    for line in namespace.run('ss', '-lxH').stdout.splitlines():
        netid, state, recv_q, send_q, rest = line.split(None, 4)
        if state != 'LISTEN':
            continue
        path = rest.rsplit(None, 3)[0]  # then inode, peer, peer inode; a path may hold spaces
        found[path] = (netid, int(send_q), int(recv_q))
    return found


@pytest.fixture(scope='module')
def unix_namespace(tmp_path_factory):
    """A namespace with somaxconn UNIX_SOMAXCONN whose UNIX listeners UNIX_OPENER holds."""
    namespace = Namespace('unix', UNIX_SOMAXCONN)
    opener = None
    try:
        base = str(tmp_path_factory.mktemp('unix-sockets'))
        tag = uuid.uuid4().hex[:8]
        opener = subprocess.Popen(['ip', 'netns', 'exec', namespace.name, HELPER_PYTHON, '-c', UNIX_OPENER,
                                   base, tag], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        yield namespace, opener.pid, unix_opened(base, tag)
    finally:
        if opener is not None:
            opener.stdin.close()
            opener.wait(timeout=10)
        namespace.remove()


def gather_unix_listeners(namespace, python_version, controller, directory, collections_root, prefix=()):
    hosts = {'unix': {'ansible_python_interpreter': interpreter(
        namespace, target_python(python_version), directory, prefix=prefix)}}
    process, results = run_playbook(controller_bin(controller), collections_root, 'unix_listeners.yml',
                                    hosts, directory)
    assert process.returncode == 0, process.stdout + process.stderr
    return facts_of(results, 'unix', 'Gather the facts with the UNIX listeners'), results


@pytest.mark.parametrize('python_version, controller', TARGETS, ids=['py%s' % python for python, dummy in TARGETS])
def test_unix_listeners_are_the_sockets_opened_with_what_the_kernel_granted(
        unix_namespace, tmp_path, collections_root, python_version, controller):
    namespace, opener_pid, opened = unix_namespace
    result, results = gather_unix_listeners(namespace, python_version, controller, str(tmp_path), collections_root)
    assert not warnings_of(result)
    facts = result['ansible_facts']
    assert 'ansible_listener_backlog_listeners' not in facts  # the TCP fact only on its own option
    listeners = facts['ansible_listener_backlog_unix_listeners']
    kernel = ss_unix_listeners(namespace)
    reported = dict((item['path'], item) for item in listeners)
    assert sorted(reported) == sorted(kernel) == sorted(opened)  # the datagram socket is no listener
    netids = {'stream': 'u_str', 'seqpacket': 'u_seq'}
    for path, (kind, requested, queued) in opened.items():
        item = reported[path]
        granted = min(requested, UNIX_SOMAXCONN)
        assert kernel[path] == (netids[kind], granted, queued)
        assert (item['type'], item['backlog'], item['queued']) == (kind, granted, queued), item
        assert item['process'].startswith('python'), item
        # ip netns exec execs the helper Python, so the pid is the one Popen started.
        assert item['pid'] == opener_pid, item
    assert [item['path'] for item in listeners] == sorted(item['path'] for item in listeners)
    shown = facts_of(results, 'unix', 'Show the UNIX listeners through ansible_facts')['msg']
    assert shown == listeners


def test_unix_listeners_fall_back_to_ss_when_netlink_is_refused(unix_namespace, tmp_path, collections_root):
    """socket() refused in the module's process only (strace fault injection, no -f): ss answers instead."""
    namespace, opener_pid, opened = unix_namespace
    prefix = ['strace', '-qq', '-e', 'trace=socket', '-e', 'inject=socket:error=EACCES', '-o', os.devnull]
    result, _results = gather_unix_listeners(namespace, '3.13', 'latest', str(tmp_path), collections_root,
                                             prefix=prefix)
    warnings = warnings_of(result)
    assert len(warnings) == 1 and 'unix listeners read with ss' in warnings[0], warnings
    listeners = result['ansible_facts']['ansible_listener_backlog_unix_listeners']
    kernel = ss_unix_listeners(namespace)
    assert dict((item['path'], (item['backlog'], item['queued'])) for item in listeners) == \
        dict((path, (backlog, queued)) for path, (netid, backlog, queued) in kernel.items())
    assert sorted(item['path'] for item in listeners) == sorted(opened)
    assert all(item['pid'] == opener_pid and item['process'].startswith('python') for item in listeners)
