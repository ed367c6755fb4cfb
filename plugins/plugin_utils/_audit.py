# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet audit's arithmetic, on the controller: per-namespace findings and the report's chart.

``audit_namespaces`` turns two samples of ``listener_backlog_namespaces`` into one row per
namespace other than the module's own; ``audit_chart`` draws the fleet's limits and overflow
rates as an inline SVG that needs nothing from the network.  The filters of the same names
(plugins/filter/audit.py) are thin wrappers, documented in audit_namespaces.yml and
audit_chart.yml beside that file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.netstack.backlog.plugins.plugin_utils import _namespaces

# The namespaces' names and the largest limit, shared with namespace_fixes (plugin_utils/_namespaces.py).
INT_MAX = _namespaces.INT_MAX
short_id = _namespaces.short_id
namespace_label = _namespaces.namespace_label


def _counter(info, key):
    """A TcpExt counter of a sample's ``listener_backlog_info``, or None where it was not read."""
    value = (info or {}).get(key)
    return None if value is None else int(value)


def _rise(now, before):
    """How much a counter rose between two samples; None where that is not known.

    ``before`` is the first sample's value (0 for a namespace made between the samples: its
    counters started at 0 inside the interval).  A counter lower than before was reset (the
    namespace was made anew under the same inode), so all of its value rose since, as
    Prometheus' rate() takes a counter reset.  Unknown (None): either value was not read.
    """
    if now is None or before is None:
        return None
    return now - before if now >= before else now


def _rising(rises, counts):
    """True when a counter is known to have risen; None when it may have (its rise unknown, its count above 0)."""
    if any(rises):  # a rise above 0 (None and 0 are false)
        return True
    if any(rise is None and count for rise, count in zip(rises, counts)):
        return None
    return False


# A group of listeners names this many port ranges and addresses, then how many more there are.
SAMPLE_RANGES = 5
SAMPLE_ADDRESSES = 3


def _port_ranges(ports):
    """``[80, 443, 7000, 7001, 7002]`` as ``'80, 443, 7000-7002'``; past SAMPLE_RANGES ranges, how many ports more."""
    ranges = []
    for port in sorted(set(ports)):
        if ranges and port == ranges[-1][1] + 1:
            ranges[-1][1] = port
        else:
            ranges.append([port, port])
    shown = ['%d' % low if low == high else '%d-%d' % (low, high) for low, high in ranges[:SAMPLE_RANGES]]
    more = sum(high - low + 1 for low, high in ranges[SAMPLE_RANGES:])
    if more:
        shown.append('and %d more %s' % (more, 'port' if more == 1 else 'ports'))
    return ', '.join(shown)


def _addresses(addresses):
    found = sorted(set(addresses))
    shown = found[:SAMPLE_ADDRESSES]
    if len(found) > SAMPLE_ADDRESSES:
        shown.append('and %d more' % (len(found) - SAMPLE_ADDRESSES))
    return ', '.join(shown)


def listener_groups(listeners):
    """Listeners grouped by process, largest group first: one report line for thousands of sockets."""
    groups = {}
    for listener in listeners:
        groups.setdefault(listener.get('process') or None, []).append(listener)
    found = []
    for process, members in groups.items():
        found.append({
            'process': process,
            'listeners': len(members),
            'backlog': members[0].get('backlog'),
            'ports': _port_ranges(int(member['port']) for member in members if member.get('port') is not None),
            'addresses': _addresses(str(member['address']) for member in members
                                    if member.get('address') is not None),
        })
    found.sort(key=lambda group: (-group['listeners'], str(group['process'] or '')))
    return found


def audit_namespaces(second, first=None, host_limit=None):
    """One row per namespace that is not the module's own, from two samples of the fact.

    ``first`` None means no first sample: every rise is unknown.  A namespace absent from a
    first sample was made between the two (``new``): all its counts are its rise.
    """
    if second is None:
        return []
    for given, what in ((second, 'the input'), (first, 'first')):
        if given is not None and not isinstance(given, list):
            raise AnsibleFilterError('netstack.backlog.audit_namespaces: %s must be the list '
                                     'ansible_facts.listener_backlog_namespaces, got %r' % (what, given))
    earlier = None if first is None else dict((entry.get('id'), entry) for entry in first)
    rows = []
    for entry in second:
        if entry.get('current'):
            continue
        info = entry.get('listener_backlog_info')
        new = None if earlier is None else entry.get('id') not in earlier
        counts, rises = [], []
        for key in ('listen_overflows', 'listen_drops'):
            now = _counter(info, key)
            if earlier is None:
                before = None
            elif new:
                before = 0
            else:
                before = _counter(earlier[entry.get('id')].get('listener_backlog_info'), key)
            counts.append(now)
            rises.append(_rise(now, before))
        limit = entry.get('listener_backlog')
        at_limit = [listener for listener in (entry.get('listeners') or [])
                    if limit is not None and listener.get('backlog') == limit]
        rows.append({
            'id': entry.get('id'),
            'label': namespace_label(entry),
            'container': entry.get('container'),
            'short_id': short_id((entry.get('container') or {}).get('id')),
            'name': entry.get('name'),
            'pids': entry.get('pids') or [],
            'limit': limit,
            'below_host': limit is not None and host_limit is not None and int(limit) < int(host_limit),
            'new': new,
            'overflows': counts[0],
            'drops': counts[1],
            'overflows_rise': rises[0],
            'drops_rise': rises[1],
            'rising': _rising(rises, counts),
            'at_limit': at_limit,
            'at_limit_groups': listener_groups(at_limit),
            'error': entry.get('error'),
        })
    return rows


# Control characters (a newline in a process name) are shown as ps shows them: '?'.
CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def _escape(text):
    return (CONTROL.sub('?', str(text)).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;'))


ROW_HEIGHT = 22
LABEL_WIDTH = 330
BAR_WIDTH = 300
GAP = 90
# The band under the titles where the scales' tick labels go.
AXIS_HEIGHT = 16
# The limit scale's marks: 1, the kernel's default before Linux 5.4 and since, the most a listen()
# got before Linux 4.1 (the backlog was kept in 16 bits, commit becb74f0acca) and the largest of all.
TICKS = ((1, '1'), (128, '128'), (4096, '4096'), (65535, '65535'), (INT_MAX, u'2\u00b3\u00b9\u22121'))


def _limit_width(limit):
    """Bars on a log scale: 0 is empty, INT_MAX is the full width."""
    if not limit or limit <= 0:
        return 0
    return max(2, int(round(BAR_WIDTH * math.log(limit + 1, 2) / math.log(INT_MAX + 1.0, 2))))


def audit_chart(hosts, interval=1):
    """An inline SVG: per host and per namespace, its limit (log scale) and its overflow rate.

    ``hosts`` are the audit's host summaries (``name``, ``limit``, ``overflows_rise`` and
    ``namespaces`` as audit_namespaces returns them); ``interval`` the seconds between
    the two samples.  A namespace below its host's limit is drawn in red; a rate that is
    not known (a sample without the counter) reads "unknown".
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
        rows.append((host.get('name'), host.get('limit'), host.get('overflows_rise'), False, True))
        for namespace in host.get('namespaces') or []:
            rows.append(('  ' + namespace.get('label', ''), namespace.get('limit'),
                         namespace.get('overflows_rise'), namespace.get('below_host'), False))
    top_rate = max([(rise or 0) / interval for _name, _limit, rise, _below, _host in rows] + [1.0])
    width = LABEL_WIDTH + BAR_WIDTH + GAP + BAR_WIDTH + 90
    height = ROW_HEIGHT * (len(rows) + 1) + AXIS_HEIGHT + 10
    left = LABEL_WIDTH + BAR_WIDTH + GAP
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
             'aria-label="Listen backlog limit and overflow rate per host and namespace" '
             'font-family="sans-serif" font-size="12">' % (width, height),
             '<text x="%d" y="15" font-weight="bold">limit (log scale)</text>' % LABEL_WIDTH,
             '<text x="%d" y="15" font-weight="bold">overflows per second</text>' % left]
    # Tick marks with their values, and a faint line down through every row, on both scales.
    ticks = [(LABEL_WIDTH + _limit_width(value), text) for value, text in TICKS]
    ticks += [(left, '0'), (left + BAR_WIDTH, ('%.1f' % top_rate))]
    for x, text in ticks:
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d0d0d0"/>'
                     % (x, AXIS_HEIGHT + 17, x, height - 5))
        parts.append('<text x="%d" y="%d" font-size="10" text-anchor="middle" fill="#555">%s</text>'
                     % (x, AXIS_HEIGHT + 14, _escape(text)))
    for index, (name, limit, rise, below, is_host) in enumerate(rows):
        y = ROW_HEIGHT * (index + 1) + AXIS_HEIGHT + 5
        rate = None if rise is None else rise / interval
        colour = '#c0392b' if below else ('#2c3e50' if is_host else '#7f8c8d')
        rate_width = int(round(BAR_WIDTH * rate / top_rate)) if rate else 0
        parts.append('<text x="4" y="%d"%s>%s</text>' % (y + 14, ' font-weight="bold"' if is_host else '',
                                                         _escape(name)))
        parts.append('<rect x="%d" y="%d" width="%d" height="14" fill="%s"/>'
                     % (LABEL_WIDTH, y + 3, _limit_width(limit), colour))
        parts.append('<text x="%d" y="%d">%s</text>' % (LABEL_WIDTH + _limit_width(limit) + 4, y + 14,
                                                        'unread' if limit is None else _escape(limit)))
        parts.append('<rect x="%d" y="%d" width="%d" height="14" fill="%s"/>'
                     % (left, y + 3, rate_width, '#e67e22' if rate else '#ffffff'))
        parts.append('<text x="%d" y="%d">%s</text>' % (left + rate_width + 4, y + 14,
                                                        'unknown' if rate is None else '%.1f' % rate))
    parts.append('</svg>')
    # ASCII only (the tick 2**31-1 and any name as character references): right in a page of any charset.
    return '\n'.join(parts).encode('ascii', 'xmlcharrefreplace').decode('ascii')
