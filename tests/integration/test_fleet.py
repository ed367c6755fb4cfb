# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fleet of simulated hosts over real SSH (fleet.Fleet): facts and the role, host by host.

Eight hosts keep CI in time; each has its own net.core.somaxconn, its own /etc, /var and
/run, and is reached through a real SSH session.  Truth is read from each host's kernel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from containers import Container
from fleet import Fleet
from netns import controller_bin, dependencies_path, distinct_controllers, run_playbook

SIZE = 8
START_VALUES = [128 * (index + 1) for index in range(SIZE)]


@pytest.fixture
def fleet():
    with Fleet(START_VALUES) as made:
        yield made


def run(fleet, playbook, tmp_path, collections_root, extra_vars=None, label='run'):
    ansible_bin = controller_bin('latest')
    directory = tmp_path / label
    directory.mkdir()
    hosts = fleet.inventory(os.path.join(ansible_bin, 'python'), extra_vars)
    return run_playbook(ansible_bin, '%s:%s' % (collections_root, dependencies_path()), playbook, hosts,
                        str(directory), env={'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_FORKS': str(SIZE)})


def test_every_host_reports_its_own_value(fleet, tmp_path, collections_root):
    process, results = run(fleet, 'facts.yml', tmp_path, collections_root)
    assert process.returncode == 0, process.stdout + process.stderr
    for name, host in fleet.hosts.items():
        gathered = [entry for entry in results[name] if entry['task'] == 'Gather the facts']
        assert len(gathered) == 1, results[name]
        facts = gathered[0]['result']['ansible_facts']
        assert facts['ansible_listener_backlog'] == host.namespace.kernel_grant(), name
        assert facts['ansible_listener_backlog_info']['source'] == 'procfs'
    assert sorted(host.sysctl('net/core/somaxconn') for host in fleet.hosts.values()) == START_VALUES


def test_setup_alone_reports_each_hosts_own_value_through_the_local_fact(fleet, tmp_path, collections_root):
    process, results = run(fleet, 'role.yml', tmp_path, collections_root, label='install',
                           extra_vars={name: {'listener_backlog_local_fact': 'present'} for name in fleet.hosts})
    assert process.returncode == 0, process.stdout + process.stderr
    process, results = run(fleet, 'local_fact.yml', tmp_path, collections_root, label='gather')
    assert process.returncode == 0, process.stdout + process.stderr
    for name, host in fleet.hosts.items():
        local = results[name][1]['result']['ansible_facts.ansible_local.listener_backlog']
        assert local['listener_backlog'] == host.sysctl('net/core/somaxconn'), name
        assert local['listener_backlog'] == results[name][2]['result']['ansible_facts']['ansible_listener_backlog']


def test_role_tunes_each_host_to_its_own_value_and_one_bad_host_spoils_nothing(fleet, tmp_path, collections_root):
    names = sorted(fleet.hosts)
    unreachable, readonly = names[0], names[1]
    wanted = {name: 1000 + 37 * index for index, name in enumerate(names)}
    # One host cannot be reached (its namespace is gone), one cannot be tuned (read-only /proc/sys).
    fleet.hosts[unreachable].remove()  # its SSH ProxyCommand then fails
    fleet.hosts[readonly].run('sh', '-c', 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys')
    extra = {name: {'listener_backlog_somaxconn': value} for name, value in wanted.items()}

    process, results = run(fleet, 'role.yml', tmp_path, collections_root, extra_vars=extra)
    assert process.returncode != 0
    assert any(entry['status'] == 'unreachable' for entry in results.get(unreachable, [])), results.get(unreachable)
    failed = [entry for entry in results[readonly] if entry['status'] == 'failed']
    assert failed and 'is read-only on this host' in failed[0]['result']['msg']
    assert fleet.hosts[readonly].sysctl('net/core/somaxconn') == START_VALUES[1]
    for name in names[2:]:
        host = fleet.hosts[name]
        assert host.sysctl('net/core/somaxconn') == wanted[name], name
        assert host.namespace.kernel_grant() == wanted[name], name
        assert host.read('/etc/sysctl.d/90-listener-backlog.conf') == 'net.core.somaxconn = %d\n' % wanted[name]
        assert not [entry for entry in results[name] if entry['status'] != 'ok'], name
    # Each host's /etc is its own: nothing reached the machine's.
    assert not os.path.exists('/etc/sysctl.d/90-listener-backlog.conf')


AT_LIMIT = r'''
import socket, sys
sock = socket.socket()
sock.bind(("127.0.0.1", 7070))
sock.listen(2**31 - 1)  # asks for everything: gets the host's limit
print("ready", flush=True)
sys.stdin.read()
'''

# The same at the limit, in a process whose name is markup and a table's separator: what a
# host reports is data, escaped for each format the report lands in (the kernel's comm, as
# prctl(PR_SET_NAME) sets it, is what ps and the fact module show).
HOSTILE_NAME = '<b>x|y</b>'
HOSTILE = r'''
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, %r)  # PR_SET_NAME
sock = socket.socket()
sock.bind(("127.0.0.1", 7072))
sock.listen(2**31 - 1)
print("ready", flush=True)
sys.stdin.read()
''' % HOSTILE_NAME.encode()

# A listener that never accepts, with an accept queue of one, and a client that keeps
# sending SYNs: each SYN that meets the full queue counts as ListenOverflows.
OVERFLOWING = r'''
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 7171))
server.listen(0)
held = []
print("ready", flush=True)
while True:
    client = socket.socket()
    client.setblocking(False)
    client.connect_ex(("127.0.0.1", 7171))
    held.append(client)
    time.sleep(0.05)
'''


# OpenBSD cannot run here: one fleet host stands for it.  Its Python reports OpenBSD
# from os.uname() (the module's only source for the platform), and `sysctl -n` answers
# in the format OpenBSD's sysctl(8) documents (the value and a newline, as the fixtures
# under tests/unit/plugins/module_utils/fixtures/openbsd/ record it); everything else,
# SSH and the module's run included, is real.  The module looks for sysctl in the
# system directories before PATH, so the stand-in is bound over the real one in a
# mount namespace of the module's own.
OPENBSD_SOMAXCONN = 1000
OPENBSD_SITE = '''
import os
_uname = os.uname
os.uname = lambda: ('OpenBSD', _uname()[1], '7.6', 'GENERIC.MP#1', 'amd64')
'''
OPENBSD_SYSCTL = '''#!/bin/sh
case "$1 $2" in
  "-n kern.somaxconn") echo %d ;;
  "-n kern.sominconn") echo 80 ;;
  *) echo "sysctl: unknown simulated name: $*" >&2; exit 1 ;;
esac
''' % OPENBSD_SOMAXCONN


def openbsd_python(directory, python):
    """An interpreter script that runs ``python`` as if on OpenBSD."""
    for sub in ('site', 'bin'):
        os.makedirs(os.path.join(directory, sub))
    with open(os.path.join(directory, 'site', 'sitecustomize.py'), 'w') as handle:
        handle.write(OPENBSD_SITE)
    sysctl = os.path.realpath(shutil.which('sysctl', path='/usr/sbin:/sbin'))
    wrapper = ('#!/bin/sh\nexec unshare --mount --propagation private sh -c '
               '\'mount --bind %s %s && PYTHONPATH=%s exec "$@"\' openbsd %s "$@"\n'
               % (os.path.join(directory, 'bin', 'sysctl'), sysctl, os.path.join(directory, 'site'), python))
    for path, text in ((os.path.join(directory, 'bin', 'sysctl'), OPENBSD_SYSCTL),
                       (os.path.join(directory, 'python'), wrapper)):
        with open(path, 'w') as handle:
            handle.write(text)
        os.chmod(path, 0o755)
    return os.path.join(directory, 'python')


# Bursts of connections inside the container, again and again until killed: each overflows
# Redis's accept queue of 128 (test_burst.py shows one burst does).
BURSTS = r'''
import socket, time
while True:
    held = []
    for _ in range(600):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", 6379))
        held.append(sock)
    time.sleep(0.3)
    for sock in held:
        sock.close()
'''


def start(host, script):
    process = subprocess.Popen(host.command(['python3', '-c', script]), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == 'ready'
    return process


# The oldest controller too: before ansible-core 2.19 templated values stay strings unless
# a whole expression renders to a container, which the report's comparisons once tripped on.
@pytest.mark.parametrize('controller', distinct_controllers('latest', '2.16'))
def test_audit_report_shows_what_differs_across_the_fleet(fleet, tmp_path, collections_root, controller):
    names = sorted(fleet.hosts)
    clamped, overflowing, managed, unreachable, on_unix, openbsd, contained = names[:7]
    started = [start(fleet.hosts[clamped], AT_LIMIT), start(fleet.hosts[clamped], HOSTILE),
               start(fleet.hosts[overflowing], OVERFLOWING)]
    container = Container(fleet.hosts[contained], str(tmp_path))
    try:
        log = str(tmp_path / 'container-redis.log')
        container.start_redis(log)
        # Redis's own words prove the scenario: it asks for 511 and the container grants 128.
        assert ('The TCP backlog setting of 511 cannot be enforced because /proc/sys/net/core/somaxconn '
                'is set to the lower value of 128') in open(log).read()
        subprocess.Popen(container.command(['python3', '-c', BURSTS]))
        fleet.hosts[managed].run('service', 'redis-server', 'start')
        # Debian's php-fpm pool listens on a unix socket and asks for more than the kernel grants.
        fleet.hosts[on_unix].run('service', 'php8.2-fpm', 'start')
        fleet.hosts[unreachable].remove()  # its SSH ProxyCommand then fails
        report_dir = tmp_path / 'report'
        ansible_bin = controller_bin(controller)
        extra = {managed: {'listener_backlog_services': [{'name': 'redis', 'backlog': 100}]},
                 on_unix: {'listener_backlog_services': [{'name': 'php_fpm'}]},
                 openbsd: {'listener_backlog_services': [{'name': 'nginx'}],
                           'ansible_python_interpreter': openbsd_python(str(tmp_path / 'openbsd'),
                                                                        os.path.join(ansible_bin, 'python'))}}
        directory = tmp_path / 'audit'
        directory.mkdir()
        process, results = run_playbook(
            ansible_bin, '%s:%s' % (collections_root, dependencies_path()), 'netstack.backlog.audit',
            fleet.inventory(os.path.join(ansible_bin, 'python'), extra), str(directory),
            env={'ANSIBLE_PIPELINING': 'True'},
            extra_args=['-e', 'audit_sample_interval=2', '-e', 'audit_report_dir=%s' % report_dir])
    finally:
        for process_started in started:
            process_started.kill()
            process_started.wait()
        container.remove()
    assert process.returncode != 0  # the unreachable host
    markdown = (report_dir / 'listener-backlog-audit.md').read_text()
    html = (report_dir / 'listener-backlog-audit.html').read_text()
    assert '7 hosts answered; no answer from %s.' % unreachable in markdown
    # Hosts by limit: each value once, highest first, with its hosts.
    limits = [START_VALUES[names.index(name)] for name in names if name not in (unreachable, openbsd)]
    rows = [line for line in markdown.splitlines() if line.startswith('| ') and line.endswith('(net.core.somaxconn) |')]
    assert [int(row.split('|')[1]) for row in rows] == sorted(limits, reverse=True)
    # The listener that asked for everything sits at its host's limit: one row per process, with its count.
    assert '| %s | host | python3 | 1 | %d | 7070 | 127.0.0.1 |' % (clamped, START_VALUES[0]) in markdown
    # The process named as markup: escaped in the Markdown (CommonMark backslashes) and in the HTML,
    # every table row with its table's number of cells, and kept as it is in the JSON.
    assert '| %s | host | \\<b\\>x\\|y\\</b\\> | 1 | %d | 7072 | 127.0.0.1 |' % (clamped, START_VALUES[0]) in markdown
    for table in re.findall(r'(?m)((?:^\|.*\n)+)', markdown):
        cells = [len(re.findall(r'(?<!\\)\|', line)) for line in table.splitlines()]
        assert cells == [cells[0]] * len(cells), table
    assert '&lt;b&gt;x|y&lt;/b&gt;' in html and HOSTILE_NAME not in html
    # The container: below its host's limit, named by its short id, on one line with its limit.
    label = 'docker container %s' % container.short_id
    below = markdown.split("## Network namespaces below their host's limit")[1].split('##')[0]
    [line] = [line for line in below.splitlines() if line.startswith('| host0')]
    # Its processes, its first (the holder, as a pause or init process is) first.
    expected = '| %s | %s | 128 | %d | %d ' % (contained, label, START_VALUES[names.index(contained)], container.pid)
    assert line.startswith(expected), line
    # Its Redis sits at the container's limit, not the host's.
    assert '| %s | %s | redis-server | 1 | 128 | 6379 | 127.0.0.1 |' % (contained, label) in markdown
    # Rising: the host whose overflows rose, and the container whose Redis overflowed; nothing else.
    rising = markdown.split('## Rising overflows or drops')[1].split('##')[0]
    rows = [line.split(' | ')[:2] for line in rising.splitlines() if line.startswith('| host0')]
    assert rows == [['| ' + overflowing, 'host'], ['| ' + contained, label]], rising
    report = json.loads((report_dir / 'listener-backlog-audit.json').read_text())
    assert report['missing'] == [unreachable] and report['sample_interval'] == 2
    by_name = dict((host['name'], host) for host in report['hosts'])
    assert HOSTILE_NAME in [group['process'] for group in by_name[clamped]['at_limit_groups']]
    [row] = by_name[contained]['namespaces']
    assert (row['short_id'], row['container']['runtime'], row['limit'], row['below_host']) == \
        (container.short_id, 'docker', 128, True)
    assert row['overflows_rise'] > 0 and row['rising'] is True and row['pids'][0] == container.pid
    # It was there for both samples; the JSON keeps every listener at the limit beside their groups.
    assert row['new'] is False and [listener['port'] for listener in row['at_limit']] == [6379]
    assert [(group['process'], group['listeners']) for group in row['at_limit_groups']] == [('redis-server', 1)]
    # The OpenBSD host has no TcpExt counters: its rises are unknown, not 0, and it is not rising.
    assert (by_name[openbsd]['overflows_rise'], by_name[openbsd]['rising']) == (None, False)
    assert by_name[overflowing]['overflows_rise'] > 0 and by_name[overflowing]['rising'] is True
    # Every namespace was read (the audit runs as root): nothing under "could not be read".
    unread = markdown.split('## Network namespaces that could not be read')[1].split('##')[0]
    assert unread.strip() == 'None.', unread
    assert all(host['namespaces_unlisted'] == [] for host in report['hosts'])
    assert by_name[clamped]['namespaces'] == [] and by_name[openbsd]['namespaces_read'] is False
    assert '<svg' in html and label in html
    # The managed Redis asks for 100 where the role would set 100, but runs with 511 capped.
    redis_granted = min(511, START_VALUES[2])
    assert ('| %s | redis on 127.0.0.1:6379: expected backlog 100, the kernel granted %d |'
            % (managed, redis_granted)) in markdown
    # php-fpm's unix-domain listener has what the role would set (the host's limit): not a problem.
    assert '| %s | php_fpm' % on_unix not in markdown, markdown
    # The OpenBSD host has no view of its listeners: audited on its limit, its service
    # named as not checked, and the host not counted among those that gave no answer.
    assert '| %d | %s | sysctl (kern.somaxconn) |' % (OPENBSD_SOMAXCONN, openbsd) in markdown
    assert 'Listeners not readable (the platform gives no view of them): %s (OpenBSD).' % openbsd in markdown
    assert '| %s | nginx: not checked, OpenBSD gives no view of its listeners |' % openbsd in markdown
    # One read: what OpenBSD cannot give (listeners, namespaces) is left out, and the rest is read.
    openbsd_results = {entry['task']: entry for entry in results[openbsd]}
    first = openbsd_results['Read the facts, every listener and every network namespace (first sample)']
    assert first['status'] == 'ok'
    assert sorted(first['result']['ansible_facts']) == ['ansible_listener_backlog', 'ansible_listener_backlog_info']
    for name in (clamped, overflowing, managed, unreachable, openbsd):
        assert name in html
    assert html.startswith('<!DOCTYPE html>') and '</html>' in html
