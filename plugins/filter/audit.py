# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet audit's arithmetic, on the controller: per-namespace findings and the report's chart.

``audit_namespaces`` turns two samples of ``listener_backlog_namespaces`` into one row per
namespace other than the module's own; ``audit_chart`` draws the fleet's limits and overflow
rates as an inline SVG that needs nothing from the network.  Documented in audit_namespaces.yml
and audit_chart.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

from ansible.errors import AnsibleFilterError

INT_MAX = 2147483647


def short_id(identity):
    """A container id as ``docker ps`` shows it: its first 12 characters."""
    return identity[:12] if identity else identity


def namespace_label(entry):
    """How the report names a namespace: the machine's own, its container (and pod), its ip netns name, or its inode."""
    if entry.get('initial'):
        # Never a container's, whichever namespace the facts were read from.
        return "the machine's own network namespace"
    container = entry.get('container')
    if container:
        # Kubernetes' cgroupfs driver does not name the runtime: the pod is what is known.
        runtime = container.get('runtime') or ('Kubernetes' if container.get('pod') else 'unnamed runtime')
        label = '%s container %s' % (runtime, short_id(container.get('id')))
        if container.get('pod'):
            label += ' (pod %s)' % container['pod']
        return label
    if entry.get('name'):
        return 'netns %s' % entry['name']
    return 'namespace %s' % entry.get('id')


def _rise(now, before):
    if now is None or before is None:
        return 0
    return max(int(now) - int(before), 0)


def audit_namespaces(second, first=None, host_limit=None):
    """One row per namespace that is not the module's own, from two samples of the fact."""
    if second is None:
        return []
    if not isinstance(second, list):
        raise AnsibleFilterError('netstack.backlog.audit_namespaces: the input must be the list '
                                 'ansible_facts.listener_backlog_namespaces, got %r' % (second,))
    earlier = dict((entry.get('id'), entry) for entry in (first or []))
    rows = []
    for entry in second:
        if entry.get('current'):
            continue
        info = entry.get('listener_backlog_info') or {}
        before = (earlier.get(entry.get('id')) or {}).get('listener_backlog_info') or {}
        limit = entry.get('listener_backlog')
        rows.append({
            'id': entry.get('id'),
            'label': namespace_label(entry),
            'container': entry.get('container'),
            'short_id': short_id((entry.get('container') or {}).get('id')),
            'name': entry.get('name'),
            'pids': entry.get('pids') or [],
            'limit': limit,
            'below_host': limit is not None and host_limit is not None and int(limit) < int(host_limit),
            'overflows': info.get('listen_overflows'),
            'drops': info.get('listen_drops'),
            'overflows_rise': _rise(info.get('listen_overflows'), before.get('listen_overflows')),
            'drops_rise': _rise(info.get('listen_drops'), before.get('listen_drops')),
            'at_limit': [listener for listener in (entry.get('listeners') or [])
                         if limit is not None and listener.get('backlog') == limit],
            'error': entry.get('error'),
        })
    return rows


def _escape(text):
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;'))


ROW_HEIGHT = 22
LABEL_WIDTH = 330
BAR_WIDTH = 300
GAP = 90


def _limit_width(limit):
    """Bars on a log scale: 0 is empty, INT_MAX is the full width."""
    if not limit or limit <= 0:
        return 0
    return max(2, int(round(BAR_WIDTH * math.log(limit + 1, 2) / math.log(INT_MAX + 1.0, 2))))


def audit_chart(hosts, interval=1):
    """An inline SVG: per host and per namespace, its limit (log scale) and its overflow rate.

    ``hosts`` are the audit's host summaries (``name``, ``limit``, ``overflows_rise`` and
    ``namespaces`` as audit_namespaces returns them); ``interval`` the seconds between
    the two samples.  A namespace below its host's limit is drawn in red.
    """
    try:
        interval = float(interval)
    except (TypeError, ValueError):
        raise AnsibleFilterError('netstack.backlog.audit_chart: interval must be a number of seconds, got %r'
                                 % (interval,))
    if interval <= 0:
        interval = 1.0
    rows = []
    for host in hosts or []:
        rows.append((host.get('name'), host.get('limit'), host.get('overflows_rise') or 0, False, True))
        for namespace in host.get('namespaces') or []:
            rows.append(('  ' + namespace.get('label', ''), namespace.get('limit'),
                         namespace.get('overflows_rise') or 0, namespace.get('below_host'), False))
    top_rate = max([rise / interval for _name, _limit, rise, _below, _host in rows] + [1.0])
    width = LABEL_WIDTH + BAR_WIDTH + GAP + BAR_WIDTH + 90
    height = ROW_HEIGHT * (len(rows) + 1) + 10
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
             'aria-label="Listen backlog limit and overflow rate per host and namespace" '
             'font-family="sans-serif" font-size="12">' % (width, height),
             '<text x="%d" y="15" font-weight="bold">limit (log scale)</text>' % LABEL_WIDTH,
             '<text x="%d" y="15" font-weight="bold">overflows per second</text>' % (LABEL_WIDTH + BAR_WIDTH + GAP)]
    for index, (name, limit, rise, below, is_host) in enumerate(rows):
        y = ROW_HEIGHT * (index + 1) + 5
        rate = rise / interval
        colour = '#c0392b' if below else ('#2c3e50' if is_host else '#7f8c8d')
        rate_width = int(round(BAR_WIDTH * rate / top_rate)) if rate else 0
        parts.append('<text x="4" y="%d"%s>%s</text>' % (y + 14, ' font-weight="bold"' if is_host else '',
                                                         _escape(name)))
        parts.append('<rect x="%d" y="%d" width="%d" height="14" fill="%s"/>'
                     % (LABEL_WIDTH, y + 3, _limit_width(limit), colour))
        parts.append('<text x="%d" y="%d">%s</text>' % (LABEL_WIDTH + _limit_width(limit) + 4, y + 14,
                                                        'unread' if limit is None else _escape(limit)))
        left = LABEL_WIDTH + BAR_WIDTH + GAP
        parts.append('<rect x="%d" y="%d" width="%d" height="14" fill="%s"/>'
                     % (left, y + 3, rate_width, '#e67e22' if rate else '#ffffff'))
        parts.append('<text x="%d" y="%d">%.1f</text>' % (left + rate_width + 4, y + 14, rate))
    parts.append('</svg>')
    return '\n'.join(parts)


class FilterModule(object):
    def filters(self):
        return {'audit_namespaces': audit_namespaces, 'audit_chart': audit_chart}
