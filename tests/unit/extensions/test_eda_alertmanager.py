# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Event-Driven Ansible source's reading of Alertmanager's webhook payload.

The payloads follow the webhook format Alertmanager documents (version 4, prometheus.io/docs/
alerting/latest/configuration/#webhook_config), with the labels the collection's rules give
(extensions/prometheus/rules/netstack_backlog.yml) and the annotation Alertmanager 0.25 sent
in tests/integration/test_monitoring_stack.py.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.netstack.backlog.extensions.eda.plugins.event_source import alertmanager

DESCRIPTION = ("127.0.0.1:9100: 277.7 connections were dropped in the last 10 minutes because a listener's accept "
               "queue was full, in network namespace 4026532242 (docker container 6703285e174b). Its listeners ask "
               "for more than net.core.somaxconn grants there, or accept too slowly.")
PAYLOAD = {
    'version': '4', 'groupKey': '{}:{alertname="NetstackBacklogListenOverflows"}', 'truncatedAlerts': 0,
    'status': 'firing', 'receiver': 'hook', 'groupLabels': {'alertname': 'NetstackBacklogListenOverflows'},
    'commonLabels': {}, 'commonAnnotations': {}, 'externalURL': 'http://vm:9093',
    'alerts': [
        {'status': 'firing',
         'labels': {'alertname': 'NetstackBacklogListenOverflows', 'container_id': '6703285e174b',
                    'container_runtime': 'docker', 'instance': 'web1:9100', 'job': 'node', 'netns': '4026532242',
                    'severity': 'warning'},
         'annotations': {'description': DESCRIPTION, 'summary': 'Accept queues overflowed'},
         'startsAt': '2026-12-03T09:13:20.059Z', 'endsAt': '0001-01-01T00:00:00Z', 'generatorURL': 'http://vm:9090/',
         'fingerprint': '3f1c2b9a8d7e6f50'},
        {'status': 'resolved',
         'labels': {'alertname': 'NetstackBacklogNamespaceBelowHost', 'instance': '[2001:db8::7]:9100',
                    'netns': '4026532300', 'netns_name': 'cni-5e6a', 'pod_uid': '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f',
                    'container_id': '9a8b7c6d5e4f', 'container_runtime': 'containerd'},
         'annotations': {}, 'startsAt': '2026-12-03T09:00:00Z', 'fingerprint': 'aa'},
        {'status': 'firing', 'labels': {'alertname': 'NodeFilesystemAlmostFull', 'instance': 'web1:9100'}},
        {'status': 'firing', 'labels': {'alertname': 'NetstackBacklogCollectorStale', 'instance': 'web2'}},
    ],
}


def test_each_alert_of_the_collections_rules_is_one_event_with_what_the_rulebook_acts_on():
    events = alertmanager.events_of(PAYLOAD)
    assert [event['netstack_backlog']['rule'] for event in events] == [
        'NetstackBacklogListenOverflows', 'NetstackBacklogNamespaceBelowHost', 'NetstackBacklogCollectorStale']
    first, second, third = (event['netstack_backlog'] for event in events)
    assert (first['status'], first['host'], first['netns'], 'netns_name' in first) == \
        ('firing', 'web1', 4026532242, False)
    assert first['container'] == {'runtime': 'docker', 'id': '6703285e174b', 'pod_uid': None}
    assert first['annotations']['description'] == DESCRIPTION and first['fingerprint'] == '3f1c2b9a8d7e6f50'
    assert (second['status'], second['host'], second['netns'], second['netns_name']) == \
        ('resolved', '2001:db8::7', 4026532300, 'cni-5e6a')
    assert second['container'] == {'runtime': 'containerd', 'id': '9a8b7c6d5e4f',
                                   'pod_uid': '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'}
    # A rule about the collector names no namespace: no inode, no container, left out.
    assert third['host'] == 'web2' and 'netns' not in third and 'container' not in third


def test_another_label_can_name_the_host_as_it_is():
    payload = copy.deepcopy(PAYLOAD)
    payload['alerts'][0]['labels']['host'] = 'web1.example.net:22'
    [event] = alertmanager.events_of(payload, prefix='NetstackBacklogListen', host_label='host')
    assert event['netstack_backlog']['host'] == 'web1.example.net:22'


@pytest.mark.parametrize('payload, says', [
    ([], 'no "alerts" list'),
    ({'alerts': 'x'}, 'no "alerts" list'),
    ({'alerts': [{'labels': {'alertname': 'NetstackBacklogListenOverflows'}}]}, 'alerts[0] has no "labels" mapping'),
    ({'alerts': [{'status': 'firing', 'labels': ['alertname']}]}, 'alerts[0]'),
    ({'alerts': [{'status': 'pending', 'labels': {}}]}, 'alerts[0]'),
])
def test_what_is_no_webhook_payload_is_refused_naming_why(payload, says):
    with pytest.raises(alertmanager.PayloadError) as raised:
        alertmanager.events_of(payload)
    assert says in str(raised.value)


def test_a_namespace_label_that_is_no_inode_is_left_out():
    payload = {'alerts': [{'status': 'firing', 'labels': {'alertname': 'NetstackBacklogListenOverflows',
                                                          'netns': '4026532242; rm -rf /', 'instance': 'h'}}]}
    [event] = alertmanager.events_of(payload)
    assert 'netns' not in event['netstack_backlog']
