# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role end to end: real kernel, real daemons from Debian's packages.

Each test gets a simulated host (nshost.NamespaceHost): its own network namespace and
its own /etc, /var and /run, so the role writes /etc/sysctl.d and the services' configs
and starts the daemons there with their init scripts.  The truth is read back with ss
(the kernel's view of each listener), never from the files the role wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time

import pytest

from netns import controller_bin, controller_version, dependencies_path, run_playbook
from fleet import SshAccess
from nshost import NamespaceHost, RootHost

from ansible_collections.netstack.backlog.plugins.plugin_utils import _plan
from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE


class Service:
    """What the tests know of a catalogue service as Debian 12 ships it."""

    def __init__(self, config, port, pid_file, listeners, line, prepare=None):
        self.config = config          # the file the role edits
        self.port = port              # where it listens (after prepare)
        self.pid_file = pid_file      # of the process holding the listener
        self.listeners = listeners    # sockets on that port (IPv4 and IPv6 or one)
        self.line = line              # the directive with {backlog}, as the role writes it
        self.prepare = prepare        # makes the stock install listen on TCP, where it does not


def haproxy_listener(host):
    # Debian's haproxy.cfg has defaults but no frontend: give it one.
    config = '/etc/haproxy/haproxy.cfg'
    host.write(config, host.read(config) + '\nlisten web\n\tbind 127.0.0.1:8080\n\tserver s1 127.0.0.1:8081\n')


def php_fpm_tcp(php):
    def prepare(host):
        # The stock pool listens on a unix socket; the fact module reads TCP listeners.
        config = '/etc/php/%s/fpm/pool.d/www.conf' % php
        host.write(config, host.read(config).replace('listen = /run/php/php%s-fpm.sock' % php,
                                                     'listen = 127.0.0.1:9000'))
    return prepare


def services_of(php, memcached_listeners):
    """The catalogue's services as a Debian release ships them.

    They differ in the PHP release, and Debian 13's memcached listens on ::1 too.
    """
    return {
        'nginx': Service('/etc/nginx/sites-enabled/default', 80, '/run/nginx.pid', 2, 'backlog={backlog};'),
        'redis': Service('/etc/redis/redis.conf', 6379, '/run/redis/redis-server.pid', 2, 'tcp-backlog {backlog}'),
        'haproxy': Service('/etc/haproxy/haproxy.cfg', 8080, '/run/haproxy.pid', 1, '\tbacklog {backlog}',
                           haproxy_listener),
        'memcached': Service('/etc/memcached.conf', 11211, '/run/memcached.pid', memcached_listeners, '-b {backlog}'),
        'apache': Service('/etc/apache2/apache2.conf', 80, '/run/apache2/apache2.pid', 1, 'ListenBacklog {backlog}'),
        'php_fpm': Service('/etc/php/%s/fpm/pool.d/www.conf' % php, 9000, '/run/php/php%s-fpm.pid' % php, 1,
                           'listen.backlog = {backlog}', php_fpm_tcp(php)),
        'mariadb': Service('/etc/mysql/mariadb.conf.d/50-server.cnf', 3306, '/run/mysqld/mysqld.pid', 1,
                           'back_log = {backlog}'),
    }


# Debian 12 is this machine's release; Debian 13 runs from its own root (nshost.RootHost).
# Valkey is packaged from Debian 13 on.
RELEASE_SERVICES = {
    'debian12': services_of('8.2', 1),
    'debian13': dict(services_of('8.4', 2), valkey=Service(
        '/etc/valkey/valkey.conf', 6379, '/run/valkey/valkey-server.pid', 2, 'tcp-backlog {backlog}')),
}
SERVICES = RELEASE_SERVICES['debian12']
RELEASE_CASES = [(release, service) for release in sorted(RELEASE_SERVICES)
                 for service in sorted(RELEASE_SERVICES[release])]
STOCK_SOMAXCONN = 128


def make_host(label, somaxconn, release='debian12'):
    return NamespaceHost(label, somaxconn) if release == 'debian12' else RootHost(label, somaxconn, release)


def wait_for_redis(host, required=True):
    """Until Redis listens (it forks before it binds), at most 5 s; ``required``: fail if it does not."""
    host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done; exit 1',
             check=required)


def redis_host(label):
    """A simulated host at the stock limit with Redis running."""
    made = make_host(label, STOCK_SOMAXCONN)
    made.run('service', 'redis-server', 'start')
    wait_for_redis(made)
    return made


@pytest.fixture
def host(request):
    """A simulated host of Debian 12 (this machine's release), or of the release given by indirect parametrization."""
    made = make_host('role', STOCK_SOMAXCONN, getattr(request, 'param', 'debian12'))
    yield made
    made.remove()


@pytest.fixture
def run_role(host, tmp_path, collections_root):
    """role_runner() for the test's ``host``."""
    return role_runner(host, tmp_path, collections_root)


def role_runner(host, tmp_path, collections_root):
    """Run the role on ``host`` with ``variables``; return (process, task results, changed task names).

    ``controller`` picks the ansible-core release; ``wrapper`` is a command the controller
    runs under inside the host (to make /proc/sys read-only, for example).  A host of this
    machine's release is run with the local connection from inside it; a host of another
    release over SSH (its own sshd and Python), as a real host is.
    """
    collections = '%s:%s' % (collections_root, dependencies_path())
    counter = [0]
    access = None
    if host.release != 'debian12':
        keys = tmp_path / 'ssh'
        keys.mkdir()
        access = SshAccess(str(keys))
        access.add(host.release, host)

    def run(variables, *extra_args, controller='latest', wrapper=(), playbook='role.yml'):
        ansible_bin = controller_bin(controller)
        counter[0] += 1
        directory = tmp_path / ('run%d' % counter[0])
        directory.mkdir()
        vars_file = directory / 'vars.json'
        vars_file.write_text(json.dumps(variables))
        if access is None:
            name = 'localhost'
            hosts = {name: {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}
            prefix = host.command(list(wrapper))
        else:
            assert not wrapper, 'a wrapper runs the local controller inside a host of this machine\'s release'
            name = host.release
            hosts = {name: dict(access.host_vars(name), ansible_python_interpreter=host.python)}
            prefix = ()
        process, results = run_playbook(
            ansible_bin, collections, playbook, hosts, str(directory),
            extra_args=['-e', '@%s' % vars_file] + list(extra_args), prefix=prefix)
        tasks = results.get(name, [])
        changed = [task['task'] for task in tasks if task['result'].get('changed')]
        return process, tasks, changed

    return run


def granted(host, port):
    """The backlogs the kernel granted the listeners on ``port`` (every address)."""
    return sorted(entry[0] for entry in host.listeners().get(port, []))


def pid_of(host, pid_file):
    return int(host.read(pid_file).strip())


def snapshot(host, service):
    spec = RELEASE_SERVICES[host.release][service]
    config, port = spec.config, spec.port
    return {
        'somaxconn': host.sysctl('net/core/somaxconn'),
        'sysctl_d': host.run('sh', '-c', 'cat /etc/sysctl.d/*.conf 2>/dev/null', check=False).stdout,
        'config': host.read(config),
        'granted': granted(host, port),
    }


def failure_message(tasks):
    """What the failed tasks said, their failed loop items included (validators' output there)."""
    parts = []
    for task in tasks:
        if task['status'] != 'failed':
            continue
        # Failed loop items as the recorder keeps them (2.21 hides their flag in ``results``).
        for result in [task['result']] + task['failed_items']:
            parts.extend(str(result.get(key, '')) for key in ('msg', 'stdout', 'stderr'))
    return ' '.join(parts)


@pytest.mark.parametrize('host, service', RELEASE_CASES, indirect=['host'])
def test_role_tunes_configures_and_verifies_then_changes_nothing(host, run_role, service):
    spec = RELEASE_SERVICES[host.release][service]
    if spec.prepare:
        spec.prepare(host)
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': service}]}

    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert host.sysctl('net/core/somaxconn') == 4096
    assert host.read('/etc/sysctl.d/90-listener-backlog.conf') == 'net.core.somaxconn = 4096\n'
    # Every listener of the daemon got the new limit, in the kernel's view.
    assert granted(host, spec.port) == [4096] * spec.listeners
    assert spec.line.format(backlog=4096) in host.read(spec.config)
    assert changed, 'the first run must report its changes'

    # A second run changes nothing, and runs nothing on the host but its one read: the plan
    # found the sysctl file, the kernel, the config and the listeners already right.
    before = snapshot(host, service)
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert changed == []
    assert 'changed=0' in process.stdout
    assert snapshot(host, service) == before
    ran = [task['task'].rsplit(' : ', 1)[-1] for task in tasks if task['status'] != 'skipped']
    on_host = [name for name in ran if name.startswith(('Take the run lock', 'Read ', 'Apply ', 'Verify '))]
    assert on_host == ['Read the host once, check every input and plan every change'], ran

    # Check mode on a changed input reports what would change and changes nothing.
    process, tasks, changed = run_role(dict(variables, listener_backlog_somaxconn=8192), '--check', '--diff')
    assert process.returncode == 0, process.stdout + process.stderr
    assert any(name.endswith('make the planned changes to the kernel and the configs') for name in changed), changed
    assert any('Apply the backlog' in name for name in changed), changed
    assert '+net.core.somaxconn = 8192' in process.stdout  # the diff of the sysctl file
    assert snapshot(host, service) == before
    if os.path.islink(spec.config):
        assert host.run('test', '-L', spec.config, check=False).returncode == 0, 'the link must stay a link'


def test_nginx_takes_a_new_backlog_on_reload_redis_needs_a_restart(host, run_role):
    """The catalogue's apply method, established on the real daemons.

    nginx: a reload with a changed backlog makes the master call listen() again on its
    open socket (same master pid, new backlog).  Redis: tcp-backlog is immutable at run
    time and there is no reload, so the role restarts it (new pid, new backlog).
    """
    services = [{'name': 'nginx', 'backlog': 300}, {'name': 'redis', 'backlog': 300}]
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 80) == [300, 300] and granted(host, 6379) == [300, 300]
    nginx_pid, redis_pid = pid_of(host, SERVICES['nginx'].pid_file), pid_of(host, SERVICES['redis'].pid_file)

    services = [{'name': 'nginx', 'backlog': 700}, {'name': 'redis', 'backlog': 700}]
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 80) == [700, 700] and granted(host, 6379) == [700, 700]
    assert pid_of(host, SERVICES['nginx'].pid_file) == nginx_pid, 'nginx was reloaded, not restarted'
    assert pid_of(host, SERVICES['redis'].pid_file) != redis_pid, 'redis was restarted'
    # What the role asked of each service, from its own decision (ansible-core 2.21 returns
    # no module ``invocation`` to read it from).
    decided = [task for task in tasks if task['task'].endswith('Decide what each service needs')][-1]
    actions = decided['result']['apply']
    assert {action['service']: action['state'] for action in actions} == {'nginx': 'reloaded',
                                                                          'redis-server': 'restarted'}


@pytest.mark.parametrize('host', ['debian13'], indirect=True)
def test_valkey_cannot_change_its_backlog_at_run_time_so_the_role_restarts_it(host, run_role):
    """Valkey's rule, established on Debian 13's daemon: tcp-backlog is immutable (CONFIG SET
    refuses it, in Valkey's words) and the init script has no reload, so only a restart (new
    pid) gives the open listener a new backlog."""
    spec = RELEASE_SERVICES['debian13']['valkey']
    services = [{'name': 'valkey', 'backlog': 300}]
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, spec.port) == [300, 300]
    refused = host.run('valkey-cli', 'CONFIG', 'SET', 'tcp-backlog', '700', check=False)
    assert 'immutable' in refused.stdout + refused.stderr, refused
    assert granted(host, spec.port) == [300, 300]
    pid = pid_of(host, spec.pid_file)

    services = [{'name': 'valkey', 'backlog': 700}]
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, spec.port) == [700, 700]
    assert pid_of(host, spec.pid_file) != pid, 'valkey was restarted'


def test_kernel_limit_change_alone_restarts_listeners_that_asked_for_more(host, run_role):
    """nginx asks for 2000 under a limit of 128: it gets 128.  Raising the limit alone
    (the config already says 2000 after the first run) must still reach the listener."""
    services = [{'name': 'nginx', 'backlog': 2000}]
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 1000, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 80) == [1000, 1000]
    warnings = [w for task in tasks for w in task['result'].get('warnings', [])]
    assert any('backlog (nginx) is 2000, above what nginx can get: the kernel limit is 1000' in w
               for w in warnings), warnings

    process, tasks, changed = run_role({'listener_backlog_somaxconn': 3000, 'listener_backlog_services': services})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 80) == [2000, 2000]


# /etc/sysconfig/memcached as RHEL's and SUSE's packages install it (memcached's file in
# the catalogue records both with their sources).
SYSCONFIG_MEMCACHED = {
    'RedHat': 'PORT="11211"\nUSER="memcached"\nMAXCONN="1024"\nCACHESIZE="64"\nOPTIONS="-l 127.0.0.1,::1"\n',
    'Suse': 'MEMCACHED_PARAMS="-l 127.0.0.1"\nMEMCACHED_USER="memcached"\nMEMCACHED_GROUP="memcached"\n',
}


@pytest.mark.parametrize('family', sorted(SYSCONFIG_MEMCACHED))
def test_memcached_checks_of_a_sysconfig_file_run_memcached_on_its_options(host, family):
    """RHEL's and SUSE's memcached validators, run with Debian's memcached (upstream's option parser):
    the stock file with the role's -b passes; an option memcached does not know fails in its words."""
    validate = CATALOGUE['memcached']['validate'][family]
    edit = _plan.edits_of(CATALOGUE['memcached'])[family]
    text = SYSCONFIG_MEMCACHED[family]
    for each in edit['edits']:
        text = re.sub(each['regexp'], each['replace'].replace('{backlog}', '4096'), text, flags=re.MULTILINE)
    assert '-b 4096"' in text
    # Under the host's own /run (a tmpfs of its own): its /tmp is the machine's.
    host.write('/run/memcached.test', text)
    checked = host.run('sh', '-c', validate % '/run/memcached.test', check=False)
    assert checked.returncode == 0, checked.stderr
    host.write('/run/memcached.test', text.replace('-b 4096', '-b 4096 --no-such-option'))
    checked = host.run('sh', '-c', validate % '/run/memcached.test', check=False)
    assert checked.returncode != 0 and 'no-such-option' in checked.stderr, checked.stderr


def test_config_failing_validation_leaves_file_and_service_untouched(host, run_role):
    process, tasks, changed = run_role({'listener_backlog_services': [{'name': 'redis', 'backlog': 200}]})
    assert process.returncode == 0, process.stdout + process.stderr
    config = SERVICES['redis'].config
    broken = host.read(config) + 'maxmemory-policy no-such-policy\n'
    host.write(config, broken)
    pid = pid_of(host, SERVICES['redis'].pid_file)

    process, tasks, changed = run_role({'listener_backlog_services': [{'name': 'redis', 'backlog': 100}]})
    assert process.returncode != 0
    message = failure_message(tasks) + process.stdout
    assert 'failed to validate' in message
    assert 'no-such-policy' in message  # Redis's own words about the file
    assert host.read(config) == broken
    assert pid_of(host, SERVICES['redis'].pid_file) == pid
    assert granted(host, 6379) == [128, 128]


def test_nginx_fragment_failing_validation_shows_nginx_words(host, run_role):
    config = SERVICES['nginx'].config
    broken = host.read(config).replace('listen 80 default_server;', 'listen 80 default_server no_such_option;')
    host.write(os.path.realpath(config), broken)
    process, tasks, changed = run_role({'listener_backlog_services': [{'name': 'nginx'}]})
    assert process.returncode != 0
    message = failure_message(tasks)
    assert 'invalid parameter "no_such_option"' in message, message
    assert host.read(config) == broken
    assert not host.listeners().get(80), 'nginx must not have been started'


@contextlib.contextmanager
def port_held(host, port):
    """Something else listening on 127.0.0.1:``port`` in ``host`` while the block runs."""
    blocker = subprocess.Popen(host.command(['python3', '-c', (
        'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); '
        's.bind(("127.0.0.1", %d)); s.listen(5); print("ready", flush=True); sys.stdin.read()' % port)]),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert blocker.stdout.readline().strip() == 'ready'
        yield
    finally:
        blocker.kill()
        blocker.wait()


def test_failed_start_is_reported_in_the_services_words(host, run_role):
    with port_held(host, 6379):  # Redis's port
        process, tasks, changed = run_role({'listener_backlog_services': [{'name': 'redis'}]})
    assert process.returncode != 0
    message = failure_message(tasks)
    # Redis forks before it binds, so its init script reports success: verification finds no
    # listener and shows why in Redis's own words, from its log.
    assert 'redis: no listener' in message, message
    assert 'Address already in use' in message, message


def test_verification_names_service_address_port_expected_and_granted(host, run_role):
    # A config file nginx never reads: the role edits nothing that matters, so the listener
    # keeps nginx's own 511 and verification must say so.
    host.write('/etc/nginx/unused.conf', '# not included anywhere\n')
    process, tasks, changed = run_role({
        'listener_backlog_somaxconn': 4096, 'listener_backlog_verify_timeout': 2,
        'listener_backlog_services': [{'name': 'nginx', 'config': '/etc/nginx/unused.conf'}]})
    assert process.returncode != 0
    message = failure_message(tasks)
    assert 'nginx on 0.0.0.0:80: expected backlog 4096, the kernel granted 511' in message, message
    assert 'nginx on [::]:80: expected backlog 4096, the kernel granted 511' in message, message
    # The reason is said once, by the task that found it, and nothing is left to guess from.
    failed = [task for task in tasks if task['status'] == 'failed']
    assert [task['task'].rsplit(' : ', 1)[-1] for task in failed] == ['Verify that every managed listener has its backlog']
    assert 'Unknown error' not in process.stdout + process.stderr


def test_haproxy_on_debians_stock_config_runs_without_a_listener_and_is_named_not_failed(host, run_role):
    """Debian's haproxy.cfg has defaults and a stats socket but no frontend: HAProxy runs and listens on no port."""
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'haproxy'}],
                 'listener_backlog_verify_timeout': 2}
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert '\tbacklog 4096' in host.read(SERVICES['haproxy'].config)
    assert host.run('sh', '-c', 'kill -0 $(cat /run/haproxy.pid)', check=False).returncode == 0, 'haproxy runs'
    warnings = ' '.join(w for task in tasks for w in task['result'].get('warnings', []))
    assert 'haproxy runs but has no listener of its own' in warnings, warnings
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0 and changed == [], (changed, process.stdout)

    # Stopped, and unable to start (its config names a user that does not exist): a failure in its own words.
    host.run('service', 'haproxy', 'stop', check=False)
    config = host.read(SERVICES['haproxy'].config)
    host.write(SERVICES['haproxy'].config, config.replace('\tuser haproxy', '\tuser no-such-user'))
    process, tasks, changed = run_role(variables)
    assert process.returncode != 0
    message = failure_message(tasks)
    assert 'no-such-user' in message or 'haproxy: no listener' in message, message


def test_without_restarts_configs_are_written_reloads_happen_and_restarts_wait(host, run_role):
    host.run('service', 'redis-server', 'start')
    host.run('service', 'nginx', 'start')
    redis_pid, nginx_pid = pid_of(host, SERVICES['redis'].pid_file), pid_of(host, SERVICES['nginx'].pid_file)
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_restart': False,
                 'listener_backlog_services': [{'name': 'redis'}, {'name': 'nginx'}, {'name': 'memcached'}]}
    process, tasks, changed = run_role(variables, '-e', 'listener_backlog_verify_timeout=3')
    assert process.returncode == 0, process.stdout + process.stderr
    # Redis's config has its new backlog, Redis runs on with the old one; nginx took it on a reload.
    assert 'tcp-backlog 4096' in host.read(SERVICES['redis'].config)
    assert pid_of(host, SERVICES['redis'].pid_file) == redis_pid and granted(host, 6379) == [128, 128]
    assert pid_of(host, SERVICES['nginx'].pid_file) == nginx_pid and granted(host, 80) == [4096, 4096]
    assert granted(host, 11211) == []  # memcached was not started
    facts = [task['result']['ansible_facts'] for task in tasks
             if 'listener_backlog_restart_required' in task['result'].get('ansible_facts', {})]
    assert [(entry['service'], entry['state']) for entry in facts[-1]['listener_backlog_restart_required']] == [
        ('memcached', 'restarted'), ('redis-server', 'restarted')]
    warnings = ' '.join(w for task in tasks for w in task['result'].get('warnings', []))
    assert 'redis-server (redis) needs to be restarted' in warnings, warnings
    assert 'waiting for a restart (listener_backlog_restart is false): ' in warnings, warnings
    assert 'redis on 127.0.0.1:6379: expected backlog 4096, the kernel granted 128' in warnings, warnings

    # Allowed to restart, the next run restarts Redis, starts memcached and verifies them.
    process, tasks, changed = run_role(dict(variables, listener_backlog_restart=True))
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 6379) == [4096, 4096] and granted(host, 11211) == [4096]


def test_templates_render_with_the_fact_and_restart_their_service(host, run_role, tmp_path):
    template = tmp_path / 'listen.conf.j2'
    template.write_text('{{ ansible_managed | comment }}\nserver {\n'
                        '  listen 127.0.0.1:8080 backlog={{ 9000 | netstack.backlog.effective_backlog('
                        'ansible_facts.listener_backlog) }};\n}\n')
    variables = {'listener_backlog_somaxconn': 2500,
                 'listener_backlog_templates': [{'src': str(template), 'dest': '/etc/nginx/conf.d/listen.conf',
                                                 'service': 'nginx', 'validate': 'grep -q "backlog=[0-9]" %s'}]}
    host.run('service', 'nginx', 'start')
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0, process.stdout + process.stderr
    assert 'backlog=2500;' in host.read('/etc/nginx/conf.d/listen.conf')
    deadline = time.monotonic() + 10
    while granted(host, 8080) != [2500] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert granted(host, 8080) == [2500]
    process, tasks, changed = run_role(variables)
    assert process.returncode == 0 and changed == []


READONLY_PREFIX = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                   'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"', 'ro']


def test_read_only_proc_sys_fails_before_any_change_or_skips_when_asked(host, run_role):
    before = host.read(SERVICES['redis'].config)
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'redis', 'backlog': 100}]}
    process, tasks, changed = run_role(variables, wrapper=READONLY_PREFIX)
    assert process.returncode != 0
    message = failure_message(tasks)
    assert 'is read-only on this host' in message and 'listener_backlog_readonly_sysctl=skip' in message, message
    assert host.sysctl('net/core/somaxconn') == STOCK_SOMAXCONN
    assert not host.exists('/etc/sysctl.d/90-listener-backlog.conf')
    assert host.read(SERVICES['redis'].config) == before

    process, tasks, changed = run_role(dict(variables, listener_backlog_readonly_sysctl='skip'), wrapper=READONLY_PREFIX)
    assert process.returncode == 0, process.stdout + process.stderr
    warnings = [w for task in tasks for w in task['result'].get('warnings', [])]
    assert any('read-only here' in w for w in warnings), warnings
    assert host.sysctl('net/core/somaxconn') == STOCK_SOMAXCONN
    assert granted(host, 6379) == [100, 100]


BAD_INPUTS = [
    ({'listener_backlog_somaxconn': 'lots'}, ['listener_backlog_somaxconn', 'lots']),
    ({'listener_backlog_somaxconn': -1}, ['listener_backlog_somaxconn is -1', 'from 0 to 2147483647']),
    ({'listener_backlog_somaxconn': True}, ['listener_backlog_somaxconn is true', 'accepts an integer']),
    ({'listener_backlog_somaxconn': 2147483648}, ['listener_backlog_somaxconn is 2147483648', 'from 0 to 2147483647']),
    ({'listener_backlog_syn_backlog': 0}, ['listener_backlog_syn_backlog is 0', 'from 1 to 2147483647']),
    ({'listener_backlog_services': [{'name': 'squid'}]}, ['squid', 'apache, gunicorn, haproxy']),
    ({'listener_backlog_services': [{'name': 'redis', 'backlog': -5}]},
     ['listener_backlog_services[0].backlog (redis) is -5', 'an integer of 0 or more']),
    ({'listener_backlog_services': [{'name': 'nginx', 'config': '/etc/nginx/missing.conf'}]},
     ['listener_backlog_services[0].config (nginx): /etc/nginx/missing.conf does not exist']),
    ({'listener_backlog_readonly_sysctl': 'maybe'}, ['listener_backlog_readonly_sysctl', 'fail, skip', 'maybe']),
]


def test_bad_input_fails_before_anything_changes_naming_variable_and_value(host, run_role):
    before = (host.sysctl('net/core/somaxconn'), host.read(SERVICES['redis'].config))
    for variables, expected in BAD_INPUTS:
        if variables.get('listener_backlog_somaxconn') == 'lots' and controller_version('latest') < (2, 18):
            # ansible-core's own argument spec check answers first; before 2.18 its message
            # names the variable and the type, not the value (the README's Support says so).
            expected = ['listener_backlog_somaxconn', 'unable to convert to int']
        # Every bad input comes with a valid change that must not happen.
        variables = dict({'listener_backlog_somaxconn': 4096,
                          'listener_backlog_services': [{'name': 'redis', 'backlog': 50}]}, **variables)
        process, tasks, changed = run_role(variables)
        assert process.returncode != 0, variables
        message = failure_message(tasks) + process.stdout
        for text in expected:
            assert text in message, (variables, message)
        assert changed == [], (variables, changed)
        assert (host.sysctl('net/core/somaxconn'), host.read(SERVICES['redis'].config)) == before, variables
        assert not host.exists('/etc/sysctl.d/90-listener-backlog.conf'), variables


# What the role's own checks say where ansible-core's spec check would have answered first.
OWN_CHECKS = {
    json.dumps({'listener_backlog_somaxconn': 'lots'}): ['listener_backlog_somaxconn is "lots"', 'from 0 to 2147483647'],
    json.dumps({'listener_backlog_services': [{'name': 'squid'}]}): [
        'listener_backlog_services[0].name is "squid"', 'accepted: apache, gunicorn, haproxy, mariadb'],
}


def test_bad_input_fails_before_anything_changes_without_the_argument_spec_check(host, run_role):
    """The spec is the first check, not the only one: with rolespec_validate false, the role's own."""
    before = (host.sysctl('net/core/somaxconn'), host.read(SERVICES['redis'].config))
    for variables, expected in BAD_INPUTS:
        expected = OWN_CHECKS.get(json.dumps(variables), expected)
        variables = dict({'listener_backlog_somaxconn': 4096,
                          'listener_backlog_services': [{'name': 'redis', 'backlog': 50}]}, **variables)
        process, tasks, changed = run_role(variables, playbook='role_unchecked.yml')
        assert process.returncode != 0, variables
        message = failure_message(tasks) + process.stdout
        for text in expected:
            assert text in message, (variables, message)
        assert 'unable to convert' not in message and 'namespaces_below' not in message, message
        assert changed == [], (variables, changed)
        assert (host.sysctl('net/core/somaxconn'), host.read(SERVICES['redis'].config)) == before, variables
        assert not host.exists('/etc/sysctl.d/90-listener-backlog.conf'), variables


def test_files_read_later_at_boot_are_named_and_persist_false_writes_a_runtime_file(host, run_role):
    host.write('/etc/sysctl.d/99-local.conf', 'net.core.somaxconn = 512\n')
    host.write('/etc/sysctl.d/10-early.conf', 'net.core.somaxconn = 256\n')  # read before ours: harmless
    host.write('/etc/sysctl.conf', host.read('/etc/sysctl.conf') + 'net.ipv4.tcp_max_syn_backlog=64\n')
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 2048, 'listener_backlog_syn_backlog': 1024})
    assert process.returncode == 0, process.stdout + process.stderr
    assert host.sysctl('net/core/somaxconn') == 2048
    assert host.sysctl('net/ipv4/tcp_max_syn_backlog') == 1024
    assert host.read('/etc/sysctl.d/90-listener-backlog.conf') == (
        'net.core.somaxconn = 2048\nnet.ipv4.tcp_max_syn_backlog = 1024\n')
    warnings = ' '.join(w for task in tasks for w in task['result'].get('warnings', []))
    assert '/etc/sysctl.d/99-local.conf also sets' in warnings, warnings
    assert '/etc/sysctl.conf also sets' in warnings, warnings
    assert '10-early.conf' not in warnings

    process, tasks, changed = run_role({'listener_backlog_somaxconn': 3000, 'listener_backlog_persist': False})
    assert process.returncode == 0, process.stdout + process.stderr
    assert host.sysctl('net/core/somaxconn') == 3000
    assert host.read('/run/sysctl.d/90-listener-backlog.conf') == 'net.core.somaxconn = 3000\n'
    assert 'somaxconn = 2048' in host.read('/etc/sysctl.d/90-listener-backlog.conf')


def test_role_runs_on_the_oldest_supported_controller(host, run_role):
    """ansible-core 2.16 (requires_ansible >=2.16): the first run applies, the second changes nothing."""
    variables = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'redis'}]}
    process, tasks, changed = run_role(variables, controller='2.16')
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, 6379) == [4096, 4096]
    process, tasks, changed = run_role(variables, controller='2.16')
    assert process.returncode == 0, process.stdout + process.stderr
    assert changed == [] and 'changed=0' in process.stdout


def unix_granted(host, path):
    """The backlog the kernel granted the unix-domain listener at ``path`` (ss -lx, Send-Q), None if none."""
    for line in host.run('ss', '-lxH').stdout.splitlines():
        fields = line.split()
        if path in fields:
            return int(fields[3])
    return None


def test_php_fpm_stock_pool_on_a_unix_socket_is_tuned_and_verified(host, run_role):
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096,
                                        'listener_backlog_services': [{'name': 'php_fpm'}]})
    assert process.returncode == 0, process.stdout + process.stderr
    assert unix_granted(host, '/run/php/php8.2-fpm.sock') == 4096
    assert any('Verify that every managed listener' in task['task'] and task['status'] == 'ok' for task in tasks)


RELOADS = {'apache': 'apache2', 'php_fpm': 'php8.2-fpm', 'mariadb': 'mariadb'}


@pytest.mark.parametrize('service', sorted(RELOADS))
def test_a_reload_leaves_the_open_listener_so_the_role_restarts(host, run_role, service):
    """Why these catalogue entries say restart: their reload keeps the open socket.

    The role sets 300; the config is then changed to 700 by hand and the service
    reloaded with its init script: the kernel still shows 300.  The role, asked for 700,
    restarts it (new pid) and the listener shows 700.
    """
    spec = SERVICES[service]
    if spec.prepare:
        spec.prepare(host)
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096,
                                        'listener_backlog_services': [{'name': service, 'backlog': 300}]})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, spec.port) == [300] * spec.listeners

    def reload_mark():
        """What changes once the service has acted on a reload, None while it cannot be read.

        apache2ctl graceful and php-fpm's SIGUSR2 (asynchronous: the init script returns
        once the signal is sent) replace every worker, php-fpm its master too, which
        rewrites the pid file; MariaDB's reload is `mysqladmin reload`, counted in Com_flush.
        """
        if service == 'mariadb':
            for line in host.run('mysqladmin', 'extended-status', check=False).stdout.splitlines():
                fields = line.replace('|', ' ').split()
                if fields[:1] == ['Com_flush']:
                    return int(fields[1])
            return None
        try:
            pid = pid_of(host, spec.pid_file)
        except (ValueError, subprocess.CalledProcessError):
            return None  # between the old master and the new one
        return frozenset(host.run('pgrep', '-P', str(pid), check=False).stdout.split()) or None

    def reloaded(before, now):
        if now is None:
            return False
        return now > before if service == 'mariadb' else not now & before

    host.write(spec.config, host.read(spec.config).replace(spec.line.format(backlog=300),
                                                           spec.line.format(backlog=700)))
    before = reload_mark()
    assert before is not None, 'no workers or Com_flush to tell a reload of %s by' % service
    host.run('service', RELOADS[service], 'reload')
    deadline = time.monotonic() + 30
    now = reload_mark()
    while not reloaded(before, now):
        assert time.monotonic() < deadline, ('%s did not act on `service %s reload` within 30 s (before: %r, now: %r)'
                                             % (service, RELOADS[service], before, now))
        time.sleep(0.1)
        now = reload_mark()
    assert granted(host, spec.port) == [300] * spec.listeners, 'a reload did not reach the open listener'

    pid = pid_of(host, spec.pid_file)
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096,
                                        'listener_backlog_services': [{'name': service, 'backlog': 700}]})
    assert process.returncode == 0, process.stdout + process.stderr
    assert granted(host, spec.port) == [700] * spec.listeners
    assert pid_of(host, spec.pid_file) != pid


LOCAL_FACT = '/etc/ansible/facts.d/listener_backlog.fact'


def test_local_fact_is_installed_in_its_turn_and_removed(host, run_role):
    """listener_backlog_local_fact with tuning: check mode writes nothing; present installs it; a second
    run changes nothing; absent removes it.  What the script answers, on every target Python, is
    proven in tests/integration/test_local_fact.py."""
    process, tasks, changed = run_role({'listener_backlog_local_fact': 'present'}, '--check', '--diff')
    assert process.returncode == 0, process.stdout + process.stderr
    assert any('local fact script' in name for name in changed), changed
    assert not host.exists(LOCAL_FACT)

    process, tasks, changed = run_role({'listener_backlog_local_fact': 'present', 'listener_backlog_somaxconn': 3072})
    assert process.returncode == 0, process.stdout + process.stderr
    assert host.exists(LOCAL_FACT)
    process, tasks, changed = run_role({'listener_backlog_local_fact': 'present', 'listener_backlog_somaxconn': 3072})
    assert process.returncode == 0, process.stdout + process.stderr
    assert changed == [], changed

    process, tasks, changed = run_role({'listener_backlog_local_fact': 'absent'})
    assert process.returncode == 0, process.stdout + process.stderr
    assert not host.exists(LOCAL_FACT)
    assert [name.split(' : ')[-1] for name in changed] == ['Remove the local fact script'], changed
