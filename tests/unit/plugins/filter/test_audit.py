# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The audit's per-namespace rows and its chart, from facts shaped as the module returns them."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.filter import audit

DOCKER_ID = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211'
POD = '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'


def namespace(inode, limit, overflows, current=False, container=None, name=None, listeners=None, error=None):
    info = None if limit is None else {'listen_overflows': overflows, 'listen_drops': overflows}
    return {'id': inode, 'current': current, 'name': name, 'pids': [inode % 1000], 'container': container,
            'listener_backlog': limit, 'listener_backlog_info': info, 'listeners': listeners, 'error': error}


def samples():
    redis = {'address': '127.0.0.1', 'port': 6379, 'backlog': 128, 'queued': 0, 'pid': 10, 'process': 'redis-server'}
    other = {'address': '127.0.0.1', 'port': 8080, 'backlog': 64, 'queued': 0, 'pid': 10, 'process': 'python3'}
    first = [namespace(1, 4096, 5, current=True),
             namespace(2, 128, 100, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None}),
             namespace(3, 4096, 0, name='blue'),
             namespace(4, 1024, 7, container={'runtime': 'containerd', 'id': DOCKER_ID[::-1], 'pod': POD})]
    second = [namespace(1, 4096, 9, current=True),
              namespace(2, 128, 700, container={'runtime': 'docker', 'id': DOCKER_ID, 'pod': None},
                        listeners=[redis, other]),
              namespace(3, 4096, 0, name='blue', listeners=[]),
              namespace(4, 1024, 7, container={'runtime': 'containerd', 'id': DOCKER_ID[::-1], 'pod': POD}),
              namespace(5, None, None, error='gone during the scan'),
              namespace(6, 8192, 3)]  # appeared between the samples
    return first, second


def test_rows_name_containers_by_short_id_and_pod_and_say_what_is_below_the_host():
    first, second = samples()
    rows = dict((row['id'], row) for row in audit.audit_namespaces(second, first, 4096))
    assert sorted(rows) == [2, 3, 4, 5, 6]  # the module's own namespace is the host's row
    assert rows[2]['label'] == 'docker container 3f4e5d6c7b8a' and rows[2]['short_id'] == '3f4e5d6c7b8a'
    assert rows[4]['label'] == 'containerd container %s (pod %s)' % (DOCKER_ID[::-1][:12], POD)
    assert rows[3]['label'] == 'netns blue' and rows[6]['label'] == 'namespace 6'
    assert [row['id'] for row in rows.values() if row['below_host']] == [2, 4]
    assert (rows[2]['overflows'], rows[2]['overflows_rise'], rows[4]['overflows_rise']) == (700, 600, 0)
    assert rows[6]['overflows_rise'] == 0  # no first sample: no rise claimed
    assert [listener['port'] for listener in rows[2]['at_limit']] == [6379]
    assert (rows[5]['limit'], rows[5]['below_host'], rows[5]['error']) == (None, False, 'gone during the scan')


def test_no_namespaces_fact_gives_no_rows():
    assert audit.audit_namespaces(None) == []


def test_a_non_list_is_refused_with_what_was_given():
    with pytest.raises(AnsibleFilterError, match="must be the list ansible_facts.listener_backlog_namespaces, got 'x'"):
        audit.audit_namespaces('x')


def test_chart_is_one_svg_with_a_row_per_host_and_namespace_and_rates_per_second():
    first, second = samples()
    hosts = [{'name': 'web1', 'limit': 4096, 'overflows_rise': 4,
              'namespaces': audit.audit_namespaces(second, first, 4096)},
             {'name': 'db<1>', 'limit': 128, 'overflows_rise': 0, 'namespaces': []}]
    svg = audit.audit_chart(hosts, interval=2)
    root = ElementTree.fromstring(svg)  # well-formed, the name with <> escaped
    texts = [element.text for element in root.iter('{http://www.w3.org/2000/svg}text')]
    assert 'web1' in texts and 'db<1>' in texts and '  docker container 3f4e5d6c7b8a' in texts
    assert '300.0' in texts and '2.0' in texts  # 600 overflows in 2 s; the host's 4 in 2 s
    assert 'unread' in texts  # the namespace gone during the scan
    red = [element for element in root.iter('{http://www.w3.org/2000/svg}rect') if element.get('fill') == '#c0392b']
    assert len(red) == 2  # the two namespaces below their host
    assert 'http' not in svg.replace('http://www.w3.org/2000/svg', '')  # nothing fetched from anywhere


def test_limit_bars_grow_with_the_limit_on_a_log_scale():
    widths = [audit._limit_width(value) for value in (0, 1, 128, 4096, 65535, audit.INT_MAX)]
    assert widths[0] == 0 and widths == sorted(widths) and widths[-1] == audit.BAR_WIDTH


def test_chart_refuses_an_interval_that_is_no_number():
    with pytest.raises(AnsibleFilterError, match='interval must be a number of seconds'):
        audit.audit_chart([], interval='soon')
