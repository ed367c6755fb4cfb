# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile names in the role's inputs: refused with a clear error, or handled literally.

Service names, config paths, template destinations and validator commands with spaces, quotes,
newlines, ``;``, ``$(...)`` and ``..``, on a simulated host with a real Redis. Each shell-like
value would create a probe file if any command line were built by concatenation and given to a
shell; the probe must never appear. Names the service manager would split into other arguments are
refused before any change; paths and validators are used as they are.
"""

from __future__ import annotations

import pytest

from test_role_services import SERVICES, STOCK_SOMAXCONN, failure_message, granted, redis_host, role_runner

PROBE = '/var/tmp/nbt-hostile-probe'  # /var is the host's own (the machine's /tmp is shared)
INJECT = '$(touch %s)' % PROBE
REDIS = SERVICES['redis']


@pytest.fixture(scope='module')
def host():
    made = redis_host('hostile')
    yield made
    made.remove()


@pytest.fixture
def run_role(host, tmp_path, collections_root):
    yield role_runner(host, tmp_path, collections_root)
    assert not host.exists(PROBE), 'a hostile value ran as a command'


def unchanged(host, before):
    assert host.read(REDIS.config) == before
    assert host.sysctl('net/core/somaxconn') == STOCK_SOMAXCONN
    assert not host.exists('/etc/sysctl.d/90-listener-backlog.conf')


@pytest.mark.parametrize('name', ['redis-server; touch %s' % PROBE, INJECT, "redis-server' -H evil '", '-Hevil',
                                  'redis-server\ntouch', '../redis-server'])
def test_a_service_name_the_service_manager_would_split_is_refused_before_any_change(host, run_role, name):
    before = host.read(REDIS.config)
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096,
                                        'listener_backlog_services': [{'name': 'redis', 'service': name}]})
    assert process.returncode != 0
    assert 'listener_backlog_services[0].service is "' in failure_message(tasks)
    unchanged(host, before)


@pytest.mark.parametrize('path', ['%s; touch %s' % (REDIS.config, PROBE), '/etc/redis/%s.conf' % INJECT,
                                  "/etc/redis/it's\nredis.conf"])
def test_a_config_path_that_is_no_file_is_refused_before_any_change(host, run_role, path):
    before = host.read(REDIS.config)
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 4096,
                                        'listener_backlog_services': [{'name': 'redis', 'config': path}]})
    assert process.returncode != 0
    assert 'listener_backlog_services[0].config (redis): %s does not exist' % path in failure_message(tasks)
    unchanged(host, before)


def test_a_config_path_with_dot_dot_is_the_file_it_names(host, run_role):
    process, tasks, changed = run_role({'listener_backlog_somaxconn': 2048, 'listener_backlog_services': [
        {'name': 'redis', 'config': '/etc/redis/../redis/./redis.conf', 'backlog': 300}]})
    assert process.returncode == 0, process.stdout + process.stderr
    assert 'tcp-backlog 300\n' in host.read(REDIS.config)
    assert granted(host, REDIS.port) == [300, 300]


def test_template_destinations_and_validators_are_taken_literally(host, run_role, tmp_path):
    source = tmp_path / 'snippet.j2'
    source.write_text('backlog {{ ansible_facts.listener_backlog }}\n')
    odd = "/etc/odd dir/it's $(id); `id` x\n.conf"  # a file name holds no slash: the probe is in the validator
    host.run('mkdir', '-p', '/etc/odd dir')  # template makes no directories
    process, tasks, changed = run_role({'listener_backlog_templates': [
        # A validator with shell syntax: ansible-core splits it into words and runs no shell, so
        # `true` gets three arguments and succeeds, and nothing else runs.
        {'src': str(source), 'dest': odd, 'validate': 'true %s %%s; touch %s' % (INJECT, PROBE)},
        {'src': str(source), 'dest': '/etc/odd dir/../plain.conf', 'validate': 'grep -q "^backlog [0-9]" %s'}]})
    assert process.returncode == 0, process.stdout + process.stderr
    limit = host.sysctl('net/core/somaxconn')  # the host is the module's: an earlier test may have tuned it
    assert host.read(odd) == 'backlog %d\n' % limit
    assert host.read('/etc/plain.conf') == 'backlog %d\n' % limit
    # A validator that is shell syntax only names no program: ansible-core cannot run it, and the
    # file is not written.
    process, tasks, changed = run_role({'listener_backlog_templates': [
        {'src': str(source), 'dest': '/etc/other.conf', 'validate': '%s %%s' % INJECT}]})
    assert process.returncode != 0
    assert 'Error executing command' in failure_message(tasks), failure_message(tasks)
    assert not host.exists('/etc/other.conf')
