# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""From an overflow to an alert and to its fix, with the real Prometheus stack and ansible-rulebook.

A host booted with systemd (nshost.SystemdHost, at 4096) runs two containers made as Docker
makes them, at the old kernel default of 128, one with a real Redis asking for 511.  The role
installs the textfile collector (a systemd timer every 10 s); node_exporter serves its file,
Prometheus (Debian 12's packages, unpacked by `make prometheus-tools`) scrapes it every 2 s and
evaluates the collection's alert rules, Alertmanager sends to the collection's rulebook under the
real ansible-rulebook (`make eda`) and to a webhook this test runs that records what was sent.
ansible-rulebook runs on this machine in the host's network namespace (where Alertmanager
reaches it on loopback) and reaches the host as a controller does, over real SSH (fleet.SshAccess).
A bounded burst (400 connections while Redis is frozen, as a busy server accepts nothing)
overflows the container's queue of 128; the overflow alert fires, the rulebook runs
raise_namespace on that host, which raises that namespace and no other to the host's 4096;
Redis restarted there takes 511, the same burst overflows nothing, and the alert resolves.

The shipped rules are loaded with their windows shortened (10m to 20s) so that an alert resolves
within the test; NetstackBacklogNamespaceBelowHost keeps its 30 minutes, so that the overflow
alert is what the rulebook acts on.  `promtool test rules` covers the windows themselves
(tests/prometheus/netstack_backlog_test.yml), tests/integration/test_eda_rulebook.py the events
the rulebook must not act on and its rate limit.  What this test proves is the pipeline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import yaml

from containers import Container
from fleet import SshAccess
from netns import dependencies_path
from nshost import SystemdHost
from test_burst import BURST_SCRIPT
from test_role_services import role_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = os.path.join(ROOT, 'build', 'prometheus', 'usr', 'bin')
RULES = os.path.join(ROOT, 'extensions', 'prometheus', 'rules', 'netstack_backlog.yml')
TEXTFILES = '/var/lib/prometheus/node-exporter'
ALERT = 'NetstackBacklogListenOverflows'
EDA_BIN = os.path.join(ROOT, '.venv-eda', 'bin')
# Connections of the bounded burst: more than the 128 the container grants, fewer than Redis's 511.
BURST = 400

WEBHOOK = r'''
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[1], "ab") as handle:
            handle.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 5002), Hook).serve_forever()
'''


def binary(name):
    path = os.path.join(STACK, name)
    if not os.access(path, os.X_OK):
        pytest.fail('%s not found: `make prometheus-tools` unpacks Debian 12\'s Prometheus stack into %s'
                    % (name, STACK))
    return path


def short_rules(text):
    """The shipped rules with windows a test can wait out; NetstackBacklogNamespaceBelowHost keeps its `for:`."""
    rules = yaml.safe_load(text)
    for group in rules['groups']:
        for rule in group['rules']:
            rule['expr'] = re.sub(r'\[(10|30|15)m\]', '[20s]', rule['expr'])
            if 'for' in rule and rule['alert'] != 'NetstackBacklogNamespaceBelowHost':
                rule['for'] = '0s'
    return yaml.safe_dump(rules)


def api(host, port, path):
    out = host.run('python3', '-c', 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('
                   '"http://127.0.0.1:%d%s", timeout=5).read().decode())' % (port, path), check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def wait_for(what, check, timeout=90, step=1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(step)
    pytest.fail('waited %d s for %s' % (timeout, what))


def burst(host, container, redis):
    """BURST connections while Redis is frozen (a busy server accepts nothing): the queue alone holds them.

    Frozen with the cgroup freezer, not SIGSTOP: nsenter, Redis's parent here, stops itself when
    its child stops and would never reap it.  Returns how many the kernel counted as overflows in
    the container's namespace.
    """
    freezer = host.cgroup_root('freezer')[1] + '/nbt-burst'
    host.run('mkdir', '-p', freezer)
    host.run('sh', '-c', 'echo %d > %s/cgroup.procs' % (redis, freezer))
    before = tcpext(container)['ListenOverflows']
    host.run('sh', '-c', 'echo FROZEN > %s/freezer.state' % freezer)
    try:
        container.run('python3', '-c', BURST_SCRIPT, str(BURST))
    finally:
        host.run('sh', '-c', 'echo THAWED > %s/freezer.state' % freezer)
    return tcpext(container)['ListenOverflows'] - before


def tcpext(container):
    names, values = [line.split() for line in container.run('cat', '/proc/net/netstat').stdout.splitlines()
                     if line.startswith('TcpExt:')][:2]
    return dict(zip(names[1:], (int(value) for value in values[1:])))


def start_rulebook(host, tmp_path, collections_root):
    """ansible-rulebook with the collection's rulebook, in the host's network namespace; its log's path.

    It runs on this machine (its files, its PID namespace) in the host's network namespace, where
    Alertmanager posts to it on loopback, and reaches the host over real SSH, as a controller does.
    """
    if not os.access(os.path.join(EDA_BIN, 'ansible-rulebook'), os.X_OK):
        pytest.fail('ansible-rulebook not found in %s: `make eda` installs it' % EDA_BIN)
    keys = tmp_path / 'ssh'
    keys.mkdir()
    access = SshAccess(str(keys))
    access.add(host.name, host)
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {'hosts': {host.name: dict(
        access.host_vars(host.name), ansible_python_interpreter=host.python)}}}))
    log = tmp_path / 'rulebook.log'
    environment = ['env', 'PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin' % EDA_BIN, 'HOME=%s' % tmp_path,
                   'ANSIBLE_COLLECTIONS_PATH=%s:%s' % (collections_root, dependencies_path()),
                   'ANSIBLE_LOCAL_TEMP=%s' % (tmp_path / 'ansible-local'), 'ANSIBLE_NOCOLOR=1']
    rulebook = subprocess.Popen(['nsenter', '--net=/run/netns/%s' % host.name, '--'] + environment + [
        os.path.join(EDA_BIN, 'ansible-rulebook'), '-i', str(inventory), '-r', 'netstack.backlog.netstack_backlog',
        '-v'], stdout=open(str(log), 'w'), stderr=subprocess.STDOUT, cwd=str(tmp_path))
    wait_for('ansible-rulebook to listen', lambda: rulebook.poll() is not None
             or ':5001' in host.run('ss', '-ltnH', 'sport = :5001').stdout, timeout=90, step=0.5)
    assert rulebook.poll() is None, log.read_text()
    return rulebook, log


@pytest.fixture
def stack(tmp_path, collections_root):
    host = SystemdHost('mon', 4096)
    started = []
    try:
        directory = '/run/nbt-stack'
        host.run('mkdir', '-p', directory + '/prometheus', directory + '/alertmanager')
        # Debian's Alertmanager reads its default template from /usr/share/prometheus/alertmanager:
        # the unpacked package's, in an overlay of the host's own over /usr/share.
        host.run('sh', '-ec', 'mkdir -p {d}/share/upper {d}/share/work; mount -t overlay nbt-share -o '
                 'lowerdir=/usr/share,upperdir={d}/share/upper,workdir={d}/share/work /usr/share; '
                 'cp -a {build}/usr/share/prometheus /usr/share/'.format(
                     d=directory, build=os.path.join(ROOT, 'build', 'prometheus')))
        with open(RULES) as handle:
            host.write(directory + '/rules.yml', short_rules(handle.read()))
        # `instance` names the Ansible host, as a scrape of web1:9100 does (the event source's host_label).
        host.write(directory + '/prometheus.yml', json.dumps({
            'global': {'scrape_interval': '2s', 'evaluation_interval': '2s'},
            'rule_files': [directory + '/rules.yml'],
            'alerting': {'alertmanagers': [{'static_configs': [{'targets': ['127.0.0.1:9093']}]}]},
            'scrape_configs': [{'job_name': 'node', 'static_configs': [
                {'targets': ['127.0.0.1:9100'], 'labels': {'host': host.name, 'instance': '%s:9100' % host.name}}]}]}))
        # One receiver, two webhooks: the rulebook's source (5001) and the recorder (5002).
        host.write(directory + '/alertmanager.yml', json.dumps({
            'route': {'receiver': 'eda', 'group_wait': '1s', 'group_interval': '2s', 'repeat_interval': '1h',
                      'group_by': ['alertname', 'netns']},
            'receivers': [{'name': 'eda', 'webhook_configs': [
                {'url': 'http://127.0.0.1:5001/', 'send_resolved': True},
                {'url': 'http://127.0.0.1:5002/', 'send_resolved': True}]}]}))
        for argv in (
                ['python3', '-c', WEBHOOK, directory + '/webhook.jsonl'],
                [binary('prometheus-node-exporter'), '--web.listen-address=127.0.0.1:9100',
                 '--collector.disable-defaults', '--collector.textfile',
                 '--collector.textfile.directory=' + TEXTFILES],
                [binary('prometheus-alertmanager'), '--config.file=%s/alertmanager.yml' % directory,
                 '--storage.path=%s/alertmanager' % directory, '--web.listen-address=127.0.0.1:9093',
                 '--cluster.listen-address='],
                [binary('prometheus'), '--config.file=%s/prometheus.yml' % directory,
                 '--storage.tsdb.path=%s/prometheus' % directory, '--web.listen-address=127.0.0.1:9090']):
            started.append(subprocess.Popen(host.command(argv), stdout=subprocess.DEVNULL,
                                            stderr=open(str(tmp_path / ('%s.log' % os.path.basename(argv[0]))), 'w')))
        rulebook, log = start_rulebook(host, tmp_path, collections_root)
        started.append(rulebook)
        wait_for('Prometheus to be ready', lambda: api(host, 9090, '/api/v1/status/runtimeinfo'), timeout=60)
        yield host, directory, log
    finally:
        for process in started:
            process.kill()
            process.wait()
        host.remove()


def firing(host, container):
    alerts = (api(host, 9090, '/api/v1/alerts') or {}).get('data', {}).get('alerts', [])
    return [alert for alert in alerts if alert['labels'].get('alertname') == ALERT and alert['state'] == 'firing'
            and alert['labels'].get('container_id') == container.short_id]


def webhook(host, directory, status, container):
    if not host.exists(directory + '/webhook.jsonl'):
        return []
    return [alert for line in host.read(directory + '/webhook.jsonl').splitlines()
            for alert in json.loads(line)['alerts']
            if alert['status'] == status and alert['labels'].get('alertname') == ALERT
            and alert['labels'].get('container_id') == container.short_id]


def playbook_runs(log):
    """The runs of raise_namespace ansible-rulebook logged, each from its PLAY line to its recap's end."""
    text = log.read_text()
    return [part for part in text.split('PLAY [Raise the listen backlog limit in one network namespace]')[1:]
            if 'PLAY RECAP' in part]


def test_an_overflow_in_a_container_alerts_and_the_rulebook_raises_that_namespace_over_ssh(
        stack, tmp_path, collections_root):
    host, directory, log = stack
    role = role_runner(host, tmp_path, collections_root)
    container = Container(host, str(tmp_path), 'docker')
    other = Container(host, str(tmp_path), 'docker')
    try:
        redis_log = str(tmp_path / 'redis.log')
        redis = container.start_redis(redis_log)
        process, tasks, changed = role({'listener_backlog_exporter': 'textfile',
                                        'listener_backlog_exporter_interval': 10})
        assert process.returncode == 0, process.stdout + process.stderr
        inode = container.run('stat', '-L', '-c', '%i', '/proc/self/ns/net').stdout.strip()
        assert (container.somaxconn(), other.somaxconn(), host.sysctl('net/core/somaxconn')) == (128, 128, 4096)

        # The burst overflows the container's queue of 128; the alert fires and reaches both webhooks.
        assert burst(host, container, redis) >= BURST - 129
        [alert] = wait_for('the overflow alert to fire in Prometheus', lambda: firing(host, container))
        labels = alert['labels']
        assert (labels['host'], labels['netns'], labels['container_runtime']) == (host.name, inode, 'docker')
        [sent] = wait_for('the webhook to receive it', lambda: webhook(host, directory, 'firing', container))[:1]
        assert sent['labels']['netns'] == inode and sent['labels']['instance'] == '%s:9100' % host.name
        assert container.short_id in sent['annotations']['description']
        assert 'docker' in sent['annotations']['description']

        # The rulebook runs raise_namespace on that host, over SSH: that namespace alone is raised.
        [run] = wait_for('the rulebook to run raise_namespace', lambda: playbook_runs(log), timeout=120)
        assert 'ok: [%s]' % host.name in run or 'changed: [%s]' % host.name in run, log.read_text()
        assert 'Raised live to 4096' in run, run
        assert '%s ' % host.name in run.split('PLAY RECAP', 1)[1] and 'failed=0' in run, run
        assert (container.somaxconn(), other.somaxconn(), host.sysctl('net/core/somaxconn')) == (4096, 128, 4096)

        # Redis restarted there takes its 511, and the same burst overflows nothing.
        container.stop(redis)
        redis = container.start_redis(redis_log)
        assert container.run('ss', '-ltnH', 'sport = :6379').stdout.split()[2] == '511'
        assert burst(host, container, redis) == 0

        # The alert resolves, in Prometheus and at the webhook; the resolution runs nothing.
        wait_for('the alert to resolve in Prometheus', lambda: not firing(host, container), timeout=120)
        wait_for('the webhook to receive the resolution', lambda: webhook(host, directory, 'resolved', container),
                 timeout=60)

        def raised():  # the collector's next run (every 10 s) carries the raised limit to Prometheus
            limits = (api(host, 9090, '/api/v1/query?query=netstack_backlog_limit') or {}).get('data', {})
            return [sample['value'][1] for sample in limits.get('result', [])
                    if sample['metric'].get('netns') == inode] == ['4096']
        wait_for("the container's new limit in Prometheus", raised, timeout=30)
        assert len(playbook_runs(log)) == 1, log.read_text()
        assert other.somaxconn() == 128
    finally:
        container.remove()
        other.remove()
