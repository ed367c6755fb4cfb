# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An ansible-rulebook event source: Alertmanager's webhook, one event per netstack.backlog alert.

Alertmanager posts a group of alerts in one notification (its webhook payload, version 4);
a rule acts on one alert, on one host and one network namespace.  This source takes the posts,
keeps the alerts of the collection's rules (``extensions/prometheus/rules/``), and puts one
event per alert on the queue, with what the rulebook needs already read from the labels: the
Ansible host, the namespace's inode, its container, the rule's name and whether it fires or
resolved.  A post that is not such a payload is refused with 400 and logged; it makes no event.

ansible-rulebook's own ``eda.builtin.webhook`` puts each post on the queue whole, so a rule
would see a group of alerts at once; ``ansible.eda.alertmanager``, which splits them, is not on
PyPI and Galaxy cannot be reached from where this collection is built and tested.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from typing import Any

DOCUMENTATION = r'''
---
short_description: Receive Alertmanager's webhook and make one event per netstack.backlog alert.
description:
  - An HTTP endpoint for Alertmanager's C(webhook_configs). Each alert of a notification whose C(alertname) starts
    with O(alert_prefix) becomes one event, C(netstack_backlog), with C(rule), C(status), C(host), C(netns) (the
    namespace's inode, an integer), C(netns_name), C(container) (C(runtime), C(id), C(pod_uid)), C(labels),
    C(annotations), C(fingerprint) and C(starts_at). What an alert does not say is left out (C(netns) of an alert
    about the collector, C(container) of a plain namespace), so that a rule asks for it with C(is defined).
  - C(host) is the value of the label O(host_label); for the label C(instance) its port is taken off
    (C(web1:9100) is C(web1), C([2001:db8::1]:9100) is C(2001:db8::1)). It is what the rulebook passes to a playbook as
    the host to act on.
  - A request that is not a webhook payload (not JSON, no C(alerts) list, an alert without C(labels) or C(status)) is
    answered with 400 and logged, and makes no event.
options:
  host:
    description: The address to listen on.
    type: str
    default: 127.0.0.1
  port:
    description: The TCP port to listen on.
    type: int
    default: 5001
  alert_prefix:
    description: Only alerts whose C(alertname) starts with this make events.
    type: str
    default: NetstackBacklog
  host_label:
    description: The label that names the Ansible host the alert is about.
    type: str
    default: instance
  token:
    description:
      - When set, a request must carry C(Authorization) C(Bearer <token>) (Alertmanager's C(http_config.authorization)),
        else it is answered with 401 and makes no event.
    type: str
'''

EXAMPLES = r'''
- name: Fix what the listen backlog alerts find
  hosts: all
  sources:
    - netstack.backlog.alertmanager:
        host: 0.0.0.0
        port: 5001
  rules:
    - name: Log every netstack.backlog alert
      condition: event.netstack_backlog is defined
      action:
        debug:
          msg: "{{ event.netstack_backlog.rule }} {{ event.netstack_backlog.status }} on {{ event.netstack_backlog.host }}"
'''

LOGGER = logging.getLogger(__name__)
_HOST_PORT = re.compile(r'^\[?(?P<host>[^\[\]]+?)\]?:\d+$')
_INODE = re.compile(r'^[0-9]+$')


class PayloadError(ValueError):
    """What makes a request no Alertmanager webhook payload."""


def host_of(value: str, label: str) -> str:
    """The host a label names; ``instance`` values lose their port."""
    if label == 'instance':
        match = _HOST_PORT.match(value)
        if match:
            return match.group('host')
    return value


def events_of(payload: Any, prefix: str = 'NetstackBacklog', host_label: str = 'instance') -> list:
    """One event per alert of the collection's rules in an Alertmanager webhook payload.

    Raises PayloadError naming what is wrong where the payload is not one.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get('alerts'), list):
        raise PayloadError('no "alerts" list: not an Alertmanager webhook payload')
    events = []
    for index, alert in enumerate(payload['alerts']):
        if not isinstance(alert, dict) or not isinstance(alert.get('labels'), dict) or \
                alert.get('status') not in ('firing', 'resolved'):
            raise PayloadError('alerts[%d] has no "labels" mapping or no "status" of firing or resolved' % index)
        labels = dict((str(key), str(value)) for key, value in alert['labels'].items())
        rule = labels.get('alertname', '')
        if not rule.startswith(prefix):
            continue
        netns = labels.get('netns', '')
        container = None
        if labels.get('container_id'):
            container = {'runtime': labels.get('container_runtime') or None, 'id': labels['container_id'],
                         'pod_uid': labels.get('pod_uid') or None}
        # What is not known is left out, so that a rule tests it with "is defined".
        events.append({'netstack_backlog': dict((key, value) for key, value in {
            'rule': rule,
            'status': alert['status'],
            'host': host_of(labels.get(host_label, ''), host_label) or None,
            'netns': int(netns) if _INODE.match(netns) else None,
            'netns_name': labels.get('netns_name') or None,
            'container': container,
            'labels': labels,
            'annotations': dict((str(key), str(value)) for key, value in (alert.get('annotations') or {}).items()),
            'fingerprint': alert.get('fingerprint'),
            'starts_at': alert.get('startsAt'),
        }.items() if value is not None)})
    return events


async def main(queue: asyncio.Queue, args: dict) -> None:
    """Serve the webhook until cancelled, putting each alert's event on ``queue``."""
    from aiohttp import web  # ansible-rulebook's own dependency

    prefix = args.get('alert_prefix', 'NetstackBacklog')
    host_label = args.get('host_label', 'instance')
    token = args.get('token')

    async def receive(request):
        if token is not None:
            given = request.headers.get('Authorization', '')
            if not hmac.compare_digest(given.encode(), ('Bearer %s' % token).encode()):
                LOGGER.warning('netstack.backlog.alertmanager: refused a request from %s without the token',
                               request.remote)
                return web.json_response({'error': 'unauthorized'}, status=401)
        try:
            payload = await request.json()
            events = events_of(payload, prefix, host_label)
        except (ValueError, UnicodeDecodeError) as exc:
            LOGGER.warning('netstack.backlog.alertmanager: refused a request from %s: %s', request.remote, exc)
            return web.json_response({'error': str(exc)}, status=400)
        for event in events:
            await queue.put(event)
        return web.json_response({'events': len(events)}, status=202)

    app = web.Application()
    app.router.add_post('/', receive)
    app.router.add_post('/{tail:.*}', receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, args.get('host', '127.0.0.1'), int(args.get('port', 5001)))
    await site.start()
    try:
        await asyncio.Future()  # until ansible-rulebook cancels the source
    finally:
        await runner.cleanup()


if __name__ == '__main__':
    class _PrintQueue:
        async def put(self, event):
            print(event)

    asyncio.run(main(_PrintQueue(), {}))
