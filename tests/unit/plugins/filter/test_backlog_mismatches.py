# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.filter.backlog_mismatches import FilterModule

backlog_mismatches = FilterModule().filters()['backlog_mismatches']

# The shape listener_backlog_facts returns (listeners: true).
LISTENERS = [
    {'family': 'ipv4', 'address': '0.0.0.0', 'port': 80, 'backlog': 511, 'queued': 0, 'pid': 10, 'process': 'nginx'},
    {'family': 'ipv6', 'address': '::', 'port': 80, 'backlog': 4096, 'queued': 0, 'pid': 10, 'process': 'nginx'},
    {'family': 'ipv4', 'address': '127.0.0.1', 'port': 6379, 'backlog': 4096, 'queued': 0, 'pid': 20,
     'process': 'redis-server'},
    {'family': 'ipv4', 'address': '0.0.0.0', 'port': 22, 'backlog': 128, 'queued': 0, 'pid': None, 'process': None},
]


def test_all_listeners_right_gives_no_problem():
    assert backlog_mismatches(LISTENERS, [{'name': 'redis', 'process': '^redis-server', 'backlog': 4096}]) == []


def test_each_wrong_listener_is_named_with_address_port_expected_and_granted():
    problems = backlog_mismatches(LISTENERS, [{'name': 'nginx', 'process': '^nginx', 'backlog': 4096}])
    assert problems == ['nginx on 0.0.0.0:80: expected backlog 4096, the kernel granted 511']


def test_ipv6_addresses_are_bracketed():
    problems = backlog_mismatches(LISTENERS, [{'name': 'nginx', 'process': 'nginx', 'backlog': 511}])
    assert problems == ['nginx on [::]:80: expected backlog 511, the kernel granted 4096']


def test_a_service_without_listener_is_a_problem():
    problems = backlog_mismatches(LISTENERS, [{'name': 'memcached', 'process': '^memcached', 'backlog': 1024}])
    assert problems == ['memcached: no listener of a process matching ^memcached']


def test_listeners_of_unknown_processes_are_ignored_and_backlog_strings_are_numbers():
    assert backlog_mismatches(LISTENERS[3:], [{'name': 'sshd', 'process': 'sshd', 'backlog': '128'}]) == [
        'sshd: no listener of a process matching sshd']


@pytest.mark.parametrize('listeners, expected, message', [
    ('nope', [], 'the input must be the list ansible_facts.listener_backlog_listeners'),
    (LISTENERS, [{'name': 'x', 'process': '^x'}], 'each expected entry needs name, process'),
    (LISTENERS, [{'name': 'x', 'process': '(', 'backlog': 1}], 'a regular expression'),
    (LISTENERS, [{'name': 'x', 'process': 'x', 'backlog': 'many'}], "'backlog': 'many'"),
])
def test_bad_input_is_named(listeners, expected, message):
    with pytest.raises(AnsibleFilterError) as error:
        backlog_mismatches(listeners, expected)
    assert message in str(error.value)


def test_unix_listeners_are_named_by_their_path():
    unix = [{'path': '/run/php/php8.2-fpm.sock', 'type': 'stream', 'backlog': 511, 'queued': 0, 'pid': 30,
             'process': 'php-fpm8.2'}]
    problems = backlog_mismatches(LISTENERS + unix, [{'name': 'php_fpm', 'process': '^php-fpm', 'backlog': 4096}])
    assert problems == ['php_fpm on /run/php/php8.2-fpm.sock: expected backlog 4096, the kernel granted 511']


def test_unix_listeners_can_be_left_out_per_service():
    admin = [{'path': '/run/haproxy/admin.sock', 'type': 'stream', 'backlog': 10, 'queued': 0, 'pid': 40,
              'process': 'haproxy'}]
    tcp = [{'family': 'ipv4', 'address': '127.0.0.1', 'port': 8080, 'backlog': 4096, 'queued': 0, 'pid': 40,
            'process': 'haproxy'}]
    expected = {'name': 'haproxy', 'process': '^haproxy', 'backlog': 4096}
    assert backlog_mismatches(tcp + admin, [dict(expected, unix=False)]) == []
    assert backlog_mismatches(tcp + admin, [dict(expected, unix='False')]) == []  # as ansible-core 2.16 templates it
    assert backlog_mismatches(tcp + admin, [expected]) == [
        'haproxy on /run/haproxy/admin.sock: expected backlog 4096, the kernel granted 10']
