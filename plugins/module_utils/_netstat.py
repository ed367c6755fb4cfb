# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listening TCP sockets and their queues from BSD ``netstat -L``.

FreeBSD, DragonFly and macOS print, for every socket whose queue limit is not 0,
``qlen/incqlen/maxqlen``: the connections waiting for accept() now, the ones not yet
complete, and the limit the kernel granted.  What each one prints (sources in
docs, and next to the code below):

FreeBSD, ``netstat -LanW -p tcp`` (usr.bin/netstat/inet.c, protopr())::

    Current listen queue sizes (qlen/incqlen/maxqlen)
    Proto Listen                           Local Address
    tcp4  0/0/128                          127.0.0.1.6379
    tcp46 0/0/4096                         *.80

  ``%-3.3s%-2.2s`` protocol with ``4``, ``6`` or ``46`` (a dual-stack socket),
  ``%-32.32s`` queues (``%-14.14s`` before the libxo rewrite), then
  ``host.port``; ``*`` is the wildcard.  A ``tcp46`` socket goes through
  inetprint(), so it shows its IPv4 wildcard.  ``unix`` lines and
  ``Some tcp sockets may have been deleted.`` can follow.

DragonFly, same command: ``tcp4``/``tcp6`` only (no dual-stack sockets) and the
  queues in ``%-13.13s`` of a 15-byte buffer.

macOS (apple-oss-distributions/network_cmds, netstat.tproj/inet.c): no protocol
  column at all, queues in ``%-14.14s`` of ``snprintf(buf, 15, "%d/%d/%d")``;
  with ``-A`` each line starts with the socket's PCB (a per-boot hash of the kernel
  pointer, bsd/netinet/in_pcblist.c) and its flow hash.  A dual-stack socket is in
  both the ``-f inet`` and the ``-f inet6`` list, printed as ``*.port`` in both:
  the PCB is what tells it from two sockets; see :func:`darwin_listeners`.

Addresses: IPv4 ``127.0.0.1.6379``, IPv6 ``::1.6379`` and ``fe80::1%lo0.8080``:
the port is after the last dot.  Without ``-W`` (FreeBSD, DragonFly) or ``-l``
(macOS) netstat cuts an IPv6 address to 16 characters, so the commands here
always ask for full addresses.

The parsers are pure and take the text netstat printed.  Runs on target Pythons
2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.netstack.backlog.plugins.module_utils._platforms import COMMANDS

# What the module runs per system: the ``netstat`` of each record in _platforms.RECORDS.
# OpenBSD's netstat has no -L; NetBSD's -L means "don't show link-level routes".
SYSTEMS = tuple(sorted(COMMANDS))

# The width netstat cuts the queue field to, where the header does not give it:
# DragonFly prints the header with %-14.14s but the data with %-13.13s.
QUEUE_WIDTHS = {'DragonFly': 13}

_QUEUES = re.compile(r'^(-?\d+)/(-?\d+)/(-?\d+)$')
_PROTO = re.compile(r'^(?:tcp|toe)(4|6|46)$')
_HEX = re.compile(r'^[0-9a-fA-F]+$')
_PORT = re.compile(r'^\d{1,5}$')
_IPV4 = re.compile(r'^\d{1,3}(?:\.\d{1,3}){3}$')

_VERSION_FAMILY = {'4': 'ipv4', '6': 'ipv6', '46': 'ipv6'}
_WILDCARD = {'ipv4': '0.0.0.0', 'ipv6': '::'}


def _header_queue_width(line):
    """The width of the ``Listen`` column in a header line, or None."""
    start = line.find('Listen')
    end = line.find('Local Address')
    if start < 0 or end <= start:
        return None
    return end - start - 1


def parse_listen_rows(text, warnings=None, queue_width=None):
    """Rows of ``netstat -L`` as printed, before any address family is decided.

    Each row: ``pcb`` (the ``-A`` column, or None), ``proto`` (``tcp4``, ``tcp6``,
    ``tcp46``, ``toe4``...; None where netstat prints no protocol, as on macOS),
    ``address`` (as printed: ``*``, ``127.0.0.1``, ``::1``; without an IPv6 zone),
    ``port``, ``queued``, ``incomplete``, ``backlog`` and ``cut`` (True when the
    queue field filled its whole width, so the limit may have lost digits).

    Headers, ``unix``/``sctp`` lines and netstat's own notes are skipped.  A line
    that has a queue field but no address and port that can be read is skipped
    with a warning appended to ``warnings``.  ``queue_width`` is the width netstat
    cuts the queue field to; by default it is read from the header.
    """
    rows = []
    width = queue_width
    for line in (text or '').splitlines():
        fields = line.split()
        if not fields:
            continue
        if 'Listen' in fields and 'Local Address' in line:
            if queue_width is None:
                width = _header_queue_width(line)
            continue
        index = None
        for position, field in enumerate(fields):
            if _QUEUES.match(field):
                index = position
                break
        if index is None:
            continue
        proto = pcb = None
        other = False
        for field in fields[:index]:
            if _PROTO.match(field):
                proto = field
            elif pcb is None and proto is None and _HEX.match(field):
                pcb = field.lower()
            elif not _HEX.match(field):
                other = True
        if other:
            continue  # unix, sctp: not a TCP listener
        if len(fields) <= index + 1:
            _warn(warnings, 'skipped a netstat line without a local address: %r' % line.strip())
            continue
        address, sep, port = fields[index + 1].rpartition('.')
        if not sep or not address or not _PORT.match(port) or int(port) > 65535:
            _warn(warnings, 'skipped a netstat line whose local address is not host.port: %r'
                  % line.strip())
            continue
        address = address.split('%', 1)[0]
        queued, incomplete, backlog = (int(value) for value in _QUEUES.match(fields[index]).groups())
        rows.append({
            'pcb': pcb,
            'proto': proto,
            'address': address,
            'port': int(port),
            'queued': queued,
            'incomplete': incomplete,
            'backlog': backlog,
            'cut': width is not None and len(fields[index]) >= width,
            'queues': fields[index],
        })
    return rows


def _warn(warnings, message):
    if warnings is not None:
        warnings.append(message)


def _family_of(row, family):
    if row['proto']:
        return _VERSION_FAMILY[_PROTO.match(row['proto']).group(1)]
    if family:
        return family
    if ':' in row['address']:
        return 'ipv6'
    if _IPV4.match(row['address']):
        return 'ipv4'
    return None


def _listener(row, family, warnings):
    address = row['address']
    if address == '*' and family in _WILDCARD:
        address = _WILDCARD[family]
    where = '%s port %d' % (address, row['port'])
    if row['cut']:
        _warn(warnings, 'netstat printed the queues of %s as %s, the full width of its field: '
                        'the limit may be cut short' % (where, row['queues']))
    if row['backlog'] < 0:
        _warn(warnings, 'netstat shows a negative queue limit %d for %s: the kernel kept a '
                        'backlog above 32767 in 16 bits, and the socket refuses every connection'
                        % (row['backlog'], where))
    return {
        'family': family,
        'address': address,
        'port': row['port'],
        'backlog': row['backlog'],
        'queued': row['queued'],
        'pid': None,
        'process': None,
    }


def parse_netstat_listen_queues(text, family=None, warnings=None, queue_width=None):
    """Listeners in the facts' schema from one ``netstat -L`` output.

    The family comes from the protocol column (``tcp46`` is a dual-stack socket:
    ``ipv6`` with the wildcard ``::``); without one (macOS) from ``family`` (the
    ``-f`` the output was asked with), else from the address; a macOS ``*`` with no
    ``family`` gives None.  The wildcard ``*`` becomes ``0.0.0.0`` or ``::``.
    ``pid`` and ``process`` are None: netstat does not show them.
    """
    listeners = []
    for row in parse_listen_rows(text, warnings, queue_width):
        listeners.append(_listener(row, _family_of(row, family), warnings))
    return listeners


def darwin_listeners(inet_text, inet6_text, warnings=None):
    """Listeners from macOS ``netstat -AanlLW -f inet`` and ``-f inet6``.

    ``-f inet`` lists the sockets with INP_IPV4 set, ``-f inet6`` those with
    INP_IPV6; a dual-stack socket has both and is in both lists.  The ``-A`` PCB
    is the same for one socket in both runs: a PCB in both is one dual-stack socket
    (``ipv6``, ``::``), not two.  Rows without a PCB are taken as they are.
    """
    inet = parse_listen_rows(inet_text, warnings)
    inet6 = parse_listen_rows(inet6_text, warnings)
    inet_pcbs = set(row['pcb'] for row in inet if row['pcb'])
    inet6_pcbs = set(row['pcb'] for row in inet6 if row['pcb'])
    listeners = []
    for row in inet:
        if row['pcb'] and row['pcb'] in inet6_pcbs:
            listeners.append(_listener(row, 'ipv6', warnings))
        else:
            listeners.append(_listener(row, _family_of(row, 'ipv4'), warnings))
    for row in inet6:
        if row['pcb'] and row['pcb'] in inet_pcbs:
            continue
        listeners.append(_listener(row, _family_of(row, 'ipv6'), warnings))
    return listeners


def listeners_from_outputs(system, outputs, warnings=None):
    """Listeners of ``system`` from the outputs of ``COMMANDS[system]``, in order."""
    if system == 'Darwin':
        return darwin_listeners(outputs[0], outputs[1], warnings)
    return parse_netstat_listen_queues(outputs[0], warnings=warnings,
                                       queue_width=QUEUE_WIDTHS.get(system))
