# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shipped rulebook under the real ansible-rulebook (PyPI, its rules on Drools in Java 17).

ansible-rulebook runs inside a simulated host (nshost.NamespaceHost at 4096) with two
containers made as Docker makes them, at 128; the test posts to the collection's event source
what Alertmanager posts.  A payload that is no webhook is refused (400); an alert for a host the
inventory does not have runs nothing on any host; one for a namespace that no longer exists
stops with that said and changes nothing; the overflow alert for one container's
namespace raises that namespace, and no other, to the host's limit; the same alert again within
the rulebook's 10 minutes, and a flapping one, run nothing more (throttle per host).
tests/integration/test_monitoring_stack.py posts the same alerts from a real Alertmanager.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from containers import Container
from netns import dependencies_path
from nshost import NamespaceHost

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EDA_BIN = os.path.join(ROOT, '.venv-eda', 'bin')

POST = r'''
import sys, urllib.error, urllib.request
request = urllib.request.Request("http://127.0.0.1:5001/", data=sys.stdin.buffer.read(),
                                 headers={"Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(request, timeout=10).status)
except urllib.error.HTTPError as error:
    print(error.code)
'''


def alert(host, netns, status='firing', rule='NetstackBacklogListenOverflows', container=None):
    labels = {'alertname': rule, 'instance': '%s:9100' % host, 'netns': str(netns), 'severity': 'warning'}
    if container is not None:
        labels.update(container_id=container.short_id, container_runtime='docker')
    return {'version': '4', 'status': status, 'receiver': 'eda',
            'alerts': [{'status': status, 'labels': labels, 'annotations': {}, 'startsAt': '2026-12-03T09:00:00Z',
                        'fingerprint': '%s%s' % (host, netns)}]}


@pytest.fixture
def host():
    made = NamespaceHost('eda', 4096)
    yield made
    made.remove()


def test_the_rulebook_raises_the_alerted_namespace_once_per_host_and_ignores_what_it_cannot_act_on(
        host, tmp_path, collections_root):
    if not os.access(os.path.join(EDA_BIN, 'ansible-rulebook'), os.X_OK):
        pytest.fail('ansible-rulebook not found in %s: `make eda` installs it' % EDA_BIN)
    inventory = tmp_path / 'inventory.json'
    # Two names for the host, each throttled on its own: `localhost` for the alerts acted on,
    # `gone` for the namespace that no longer exists.
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': os.path.join(EDA_BIN, 'python')}
    inventory.write_text(json.dumps({'all': {'hosts': {'localhost': local, 'gone': local}}}))
    log = tmp_path / 'rulebook.log'
    environment = ['env', 'PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin' % EDA_BIN, 'HOME=%s' % tmp_path,
                   'ANSIBLE_COLLECTIONS_PATH=%s:%s' % (collections_root, dependencies_path()),
                   'ANSIBLE_LOCAL_TEMP=%s' % (tmp_path / 'ansible-local'), 'ANSIBLE_NOCOLOR=1']
    alerted = Container(host, str(tmp_path), 'docker')
    other = Container(host, str(tmp_path), 'docker')
    rulebook = None
    try:
        rulebook = subprocess.Popen(host.command(environment + [
            os.path.join(EDA_BIN, 'ansible-rulebook'), '-i', str(inventory), '-r', 'netstack.backlog.netstack_backlog',
            '-v']), stdout=open(str(log), 'w'), stderr=subprocess.STDOUT, cwd=str(tmp_path))
        deadline = time.monotonic() + 90
        while ':5001' not in host.run('ss', '-ltnH', 'sport = :5001').stdout:
            assert rulebook.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)

        def post(payload):
            text = payload if isinstance(payload, str) else json.dumps(payload)
            return host.run('python3', '-c', POST, input=text).stdout.strip()

        def runs():
            return log.read_text().count('PLAY [Raise the listen backlog limit in one network namespace]')

        def recaps(name):  # the runs on one host (ansible-rulebook logs a failed run's output twice)
            return len(re.findall(r'^%s +: ok=' % name, log.read_text(), re.M))

        inode = int(alerted.run('stat', '-L', '-c', '%i', '/proc/self/ns/net').stdout)
        assert post('{"not": "a webhook"}') == '400'
        assert post('garbage') == '400'
        # A host the inventory does not have: the playbook matches no host and changes nothing.
        assert post(alert('web9', inode, container=alerted)) == '202'
        deadline = time.monotonic() + 90
        while runs() < 1:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert (alerted.somaxconn(), other.somaxconn()) == (128, 128)

        # A namespace that no longer exists: the playbook says so and changes nothing.
        gone = Container(host, str(tmp_path), 'docker')
        gone_inode = int(gone.run('stat', '-L', '-c', '%i', '/proc/self/ns/net').stdout)
        gone.remove()
        assert post(alert('gone', gone_inode)) == '202'
        message = 'network namespace %d is gone from gone' % gone_inode
        while message not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert (alerted.somaxconn(), other.somaxconn(), host.sysctl('net/core/somaxconn')) == (128, 128, 4096)

        assert post(alert('localhost', inode, container=alerted)) == '202'
        deadline = time.monotonic() + 90
        while alerted.somaxconn() != 4096:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert other.somaxconn() == 128 and host.sysctl('net/core/somaxconn') == 4096
        while recaps('localhost') < 1:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)

        # Flapping within the throttle's 10 minutes: nothing more runs, even after the value fell back.
        alerted.run('sh', '-c', 'echo 128 > /proc/sys/net/core/somaxconn')
        for status in ('resolved', 'firing', 'resolved', 'firing'):
            assert post(alert('localhost', inode, status=status, container=alerted)) == '202'
        assert post(alert('localhost', inode, rule='NetstackBacklogNamespaceBelowHost', container=alerted)) == '202'
        time.sleep(15)
        assert recaps('localhost') == 1, log.read_text()
        assert re.search(r'^gone +: ok=\d+ +changed=0 +unreachable=0 +failed=1 ', log.read_text(), re.M)
        assert (alerted.somaxconn(), other.somaxconn()) == (128, 128)
        assert rulebook.poll() is None, log.read_text()
    finally:
        if rulebook is not None:
            rulebook.kill()
            rulebook.wait()
        alerted.remove()
        other.remove()
