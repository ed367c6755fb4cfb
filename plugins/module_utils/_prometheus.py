# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The facts as Prometheus metrics, for node_exporter's textfile collector.

``exposition(namespaces, run)`` turns ``listener_backlog_namespaces`` (the fact module's
list, one entry per network namespace) and a few numbers about the collector's run into
the Prometheus text format; ``write_atomically`` puts it in place so that node_exporter,
which reads ``*.prom`` files whenever it is scraped, never sees half a file.  Both are
host-independent; the program that gathers the facts and calls them is the role's.

The metrics (names, types and labels are a contract: the collection's alert rules in
``extensions/prometheus/rules/`` read them):

- per network namespace, labelled ``netns`` (its inode, as ``lsns -t net`` shows it),
  ``netns_name`` (its ``ip netns`` name), ``container_runtime``, ``container_id`` (12
  characters, as ``docker ps`` shows it) and ``pod_uid`` (the Kubernetes pod's UID: the
  label ``pod`` is left to the pod's name, as kube-state-metrics and the kubelet use it);
  a label with nothing to say is empty, which Prometheus treats as absent:
  ``netstack_backlog_limit``, ``netstack_backlog_listen_overflows_total``,
  ``netstack_backlog_listen_drops_total``;
- ``netstack_backlog_host_limit``, without namespace labels: the limit of the machine's own
  namespace (where the collector does not see it, of the one it runs in), so that a rule compares every namespace with its host's with ``ignoring`` the
  namespace labels (whatever the target labels are called);
- per listening TCP socket, with its namespace's labels and ``address``, ``port``,
  ``process``: ``netstack_backlog_listener_backlog``, ``netstack_backlog_listener_queued``,
  capped per host (``netstack_backlog_listeners_omitted`` counts what the cap left out);
- about the run: ``netstack_backlog_namespaces``, ``netstack_backlog_namespaces_unreadable``,
  ``netstack_backlog_collector_duration_seconds``, ``netstack_backlog_collector_success``,
  ``netstack_backlog_collector_errors``,
  ``netstack_backlog_collector_last_success_timestamp_seconds``.

A value the facts do not know (null) gets no sample, never a made-up number.  Samples carry
no timestamps: the textfile collector refuses files that have them.

The text format ("Exposition formats", prometheus.io/docs/instrumenting/exposition_formats/):
UTF-8 with line feeds, the last line ending in one; a label value escapes backslash, double
quote and line feed as ``\\\\``, ``\\"`` and ``\\n``; HELP text escapes backslash and line
feed.  Process names, namespace names and container IDs come from the host and are taken as
hostile: every one is escaped, and text that is not valid Unicode is repaired to U+FFFD,
since node_exporter drops a whole file it cannot parse.

Module code: runs on target Python 2.7 and 3.6+, standard library only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import math
import numbers
import os
import re
import sys

FILE_NAME = 'netstack_backlog.prom'

# A few hundred listeners per host, two series each: a busy host stays a small scrape.
MAX_LISTENERS = 300

NAMESPACE_LABELS = ('netns', 'netns_name', 'container_runtime', 'container_id', 'pod_uid')
LISTENER_LABELS = NAMESPACE_LABELS + ('address', 'port', 'process')

# (name, type, HELP) in the order the file lists them.
FAMILIES = (
    ('netstack_backlog_limit', 'gauge',
     'The largest backlog a listen() gets in the network namespace: net.core.somaxconn after the kernel\'s clamps.'),
    ('netstack_backlog_host_limit', 'gauge',
     'The largest backlog a listen() gets in the host\'s own network namespace (the machine\'s, else the '
     'collector\'s).'),
    ('netstack_backlog_listen_overflows_total', 'counter',
     'TcpExt ListenOverflows of the network namespace: connections dropped because an accept queue was full.'),
    ('netstack_backlog_listen_drops_total', 'counter',
     'TcpExt ListenDrops of the network namespace: connection requests listeners dropped, overflows included.'),
    ('netstack_backlog_listener_backlog', 'gauge',
     'The accept queue limit the kernel granted a listening TCP socket (of sockets sharing these labels, '
     'the one with the least room left).'),
    ('netstack_backlog_listener_queued', 'gauge',
     'Connections waiting in a listening TCP socket\'s accept queue (of sockets sharing these labels, '
     'the one with the least room left).'),
    ('netstack_backlog_listeners_omitted', 'gauge',
     'Listeners left out of netstack_backlog_listener_backlog and _queued by the cap on their number.'),
    ('netstack_backlog_namespaces', 'gauge',
     'Network namespaces found by the last run.'),
    ('netstack_backlog_namespaces_unreadable', 'gauge',
     'Network namespaces the last run could not read whole (their facts carry an error).'),
    ('netstack_backlog_collector_duration_seconds', 'gauge',
     'How long the last run of the collector took.'),
    ('netstack_backlog_collector_success', 'gauge',
     '1 if the last run of the collector gathered the facts, 0 if it failed.'),
    ('netstack_backlog_collector_errors', 'gauge',
     'Errors the last run of the collector reported.'),
    ('netstack_backlog_collector_last_success_timestamp_seconds', 'gauge',
     'When the last successful run of the collector finished, in seconds since the Unix epoch.'),
)

LAST_SUCCESS = 'netstack_backlog_collector_last_success_timestamp_seconds'

_HEX = re.compile(r'^[0-9a-fA-F]+\Z')
_DIGITS = re.compile(r'^[0-9]+\Z')
# Lone UTF-16 surrogates (Python 3's surrogateescape leaves them for undecodable bytes) have
# no UTF-8 encoding.  On a narrow Python 2 build a surrogate may be half of a valid pair, so
# the repair is left out there; the fact module's text never holds one (it decodes with
# 'replace').
_SURROGATE = re.compile(u'[\ud800-\udfff]') if sys.maxunicode > 0xFFFF else None


class WriteError(Exception):
    """The exposition could not be put in place; the message names the path and the cause."""

    def __init__(self, path, cause):
        self.path = path
        self.errno = getattr(cause, 'errno', None)
        reason = getattr(cause, 'strerror', None) or str(cause)
        if self.errno in errno.errorcode:
            reason = '%s (%s)' % (reason, errno.errorcode[self.errno])
        super(WriteError, self).__init__('could not write %s: %s' % (path, reason))


def text(value):
    """``value`` as valid Unicode text: bytes decoded as UTF-8, what cannot be encoded replaced."""
    if value is None:
        return u''
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    elif not isinstance(value, type(u'')):
        value = u'%s' % (value,)
    if _SURROGATE is not None:
        value = _SURROGATE.sub(u'\ufffd', value)
    return value


def escape_label_value(value):
    return text(value).replace(u'\\', u'\\\\').replace(u'"', u'\\"').replace(u'\n', u'\\n')


def escape_help(value):
    return text(value).replace(u'\\', u'\\\\').replace(u'\n', u'\\n')


def format_value(value):
    """A sample value as the text format writes it, or None when ``value`` is not a number."""
    if isinstance(value, bool):
        return u'1' if value else u'0'
    if isinstance(value, numbers.Integral):  # int, and long on Python 2 (whose repr ends in L)
        return u'%d' % value
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return u'NaN'
        if math.isinf(value):
            return u'+Inf' if value > 0 else u'-Inf'
        return text(repr(value))  # the shortest text that reads back as the same float
    return None


def short_id(identity):
    """A container ID as ``docker ps`` shows it: a long hexadecimal ID cut to 12 characters.

    A name that is not hexadecimal (systemd-nspawn names machines) is kept whole: cut, it
    would no longer name anything.
    """
    identity = text(identity)
    if len(identity) > 12 and _HEX.match(identity):
        return identity[:12]
    return identity


def namespace_labels(entry):
    container = entry.get('container') or {}
    return (text(entry['id']), text(entry.get('name')), text(container.get('runtime')),
            short_id(container.get('id')), text(container.get('pod')))


def host_entry(namespaces):
    """The namespace whose limit is the host's: the machine's own (``initial``), else the collector's.

    Where the machine's own namespace is not among those read (the collector runs in a PID
    namespace of its own, as a simulated host or a pod without the host's PIDs does, and sees
    only its own and its children), the namespace the collector runs in (``current``) is the
    host it reports for, as the role's "this host" is the namespace Ansible works in.
    """
    for entry in namespaces:
        if entry.get('initial') is True:
            return entry
    for entry in namespaces:
        if entry.get('current'):
            return entry
    return None


def _headroom(listener):
    """How many more connections fit in its accept queue, then its backlog (smaller is worse)."""
    return (listener['backlog'] - listener['queued'], listener['backlog'])


def _is_full(listener):
    return listener['queued'] > 0 and listener['queued'] >= listener['backlog']


def listener_series(namespaces, max_listeners):
    """The listeners' series and how many the cap left out.

    Returns ``(kept, omitted)``; each kept item is ``(labels, backlog, queued)``, sorted by
    namespace, port, address and process.
    """
    merged = {}
    for entry in namespaces:
        listeners = entry.get('listeners')
        if not isinstance(listeners, list):
            continue
        limit = entry.get('listener_backlog')
        own = namespace_labels(entry)
        for listener in listeners:
            if not isinstance(listener, dict):
                continue
            backlog, queued = listener.get('backlog'), listener.get('queued')
            if format_value(backlog) is None or format_value(queued) is None:
                continue
            labels = own + (text(listener.get('address')), text(listener.get('port')), text(listener.get('process')))
            found = {'backlog': backlog, 'queued': queued, 'limit': limit}
            # Sockets with one label set are one series (node_exporter reports an error for a
            # file that repeats a label set, prometheus/node_exporter issue 1462): SO_REUSEPORT
            # groups, where each process or thread has a socket of its own on one address and
            # port, and sockets whose owner is not visible.  The series is the socket with the
            # least room left in its accept queue (then the smaller backlog): its backlog and
            # queue together, so a full socket shows full; a minimum of one and a maximum of
            # another would make up a socket that does not exist.
            if labels not in merged or _headroom(found) < _headroom(merged[labels]):
                merged[labels] = found
    # The cap keeps first the listeners whose queue is full, then those granted exactly their
    # namespace's limit (clamped, or asking for it), then the ones with the least room.
    ranked = sorted(merged.items(), key=lambda item: (
        not _is_full(item[1]),
        not (item[1]['limit'] is not None and item[1]['backlog'] == item[1]['limit']),
        _headroom(item[1]), _sort_key(item[0])))
    kept = sorted(ranked[:max(int(max_listeners), 0)], key=lambda item: _sort_key(item[0]))
    series = [(labels, found['backlog'], found['queued']) for labels, found in kept]
    return series, len(ranked) - len(kept)


def _numeric(value):
    """A sort key that puts numbers in numeric order (inodes, ports), before other text."""
    return (int(value), value) if _DIGITS.match(value) else (-1, value)


def _sort_key(labels):
    return (_numeric(labels[0]), _numeric(labels[6]), labels)


def _sample(name, label_names, label_values, value):
    formatted = format_value(value)
    if formatted is None:
        return None
    if not label_names:
        return u'%s %s' % (name, formatted)
    pairs = u','.join(u'%s="%s"' % (label, escape_label_value(found))
                      for label, found in zip(label_names, label_values))
    return u'%s{%s} %s' % (name, pairs, formatted)


def _count(value):
    if isinstance(value, (list, tuple)):
        return len(value)
    return value


def exposition(namespaces, run, max_listeners=MAX_LISTENERS):
    """The Prometheus text format for one run of the collector.

    ``namespaces`` is ``listener_backlog_namespaces`` as the fact module returns it (None or
    empty when the run gathered nothing).  ``run`` describes the run:

    - ``success`` (bool): whether the facts were gathered;
    - ``duration_seconds`` (number): how long the run took;
    - ``errors`` (number, or a list of messages counted): errors it reported; 0 when missing;
    - ``last_success_timestamp_seconds`` (number or None): when the last successful run
      finished (this one's end when it succeeded; after a failure the value the previous
      file held, see ``last_success_in``).

    Every family gets HELP and TYPE even when it has no sample, so the file's schema does
    not change with the host.  Returns text (``unicode`` on Python 2).
    """
    namespaces = [entry for entry in (namespaces or []) if isinstance(entry, dict) and entry.get('id') is not None]
    # One entry per namespace: a repeated inode would repeat label sets.
    seen, unique = set(), []
    for entry in sorted(namespaces, key=lambda found: _numeric(text(found['id']))):
        if text(entry['id']) not in seen:
            seen.add(text(entry['id']))
            unique.append(entry)
    namespaces = unique

    samples = dict((name, []) for name, _type, _help in FAMILIES)
    for entry in namespaces:
        labels = namespace_labels(entry)
        info = entry.get('listener_backlog_info') or {}
        for name, value in (('netstack_backlog_limit', entry.get('listener_backlog')),
                            ('netstack_backlog_listen_overflows_total', info.get('listen_overflows')),
                            ('netstack_backlog_listen_drops_total', info.get('listen_drops'))):
            samples[name].append(_sample(name, NAMESPACE_LABELS, labels, value))

    host = host_entry(namespaces)
    if host is not None:
        samples['netstack_backlog_host_limit'].append(
            _sample('netstack_backlog_host_limit', (), (), host.get('listener_backlog')))

    series, omitted = listener_series(namespaces, max_listeners)
    for labels, backlog, queued in series:
        samples['netstack_backlog_listener_backlog'].append(
            _sample('netstack_backlog_listener_backlog', LISTENER_LABELS, labels, backlog))
        samples['netstack_backlog_listener_queued'].append(
            _sample('netstack_backlog_listener_queued', LISTENER_LABELS, labels, queued))

    run = run or {}
    for name, value in (('netstack_backlog_listeners_omitted', omitted),
                        ('netstack_backlog_namespaces', len(namespaces)),
                        ('netstack_backlog_namespaces_unreadable',
                         len([entry for entry in namespaces if entry.get('error')])),
                        ('netstack_backlog_collector_duration_seconds', run.get('duration_seconds')),
                        ('netstack_backlog_collector_success', bool(run.get('success'))),
                        ('netstack_backlog_collector_errors', _count(run.get('errors', 0))),
                        (LAST_SUCCESS, run.get('last_success_timestamp_seconds'))):
        samples[name].append(_sample(name, (), (), value))

    lines = []
    for name, kind, help_text in FAMILIES:
        lines.append(u'# HELP %s %s' % (name, escape_help(help_text)))
        lines.append(u'# TYPE %s %s' % (name, kind))
        lines.extend(sample for sample in samples[name] if sample is not None)
    return u'\n'.join(lines) + u'\n'


def last_success_in(previous):
    """The last-success timestamp an earlier exposition holds, or None (none, or unreadable).

    After a failed run the collector carries it over from the file it replaces, so that the
    metric keeps saying when the facts were last gathered.
    """
    if isinstance(previous, bytes):
        previous = previous.decode('utf-8', 'replace')
    for line in (previous or u'').splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == LAST_SUCCESS:
            try:
                value = float(fields[1])
            except ValueError:
                return None
            return value if not (math.isnan(value) or math.isinf(value)) else None
    return None


def write_atomically(directory, name, content):
    """Put ``content`` in ``directory``/``name`` in one step, mode 0644; return the path.

    The text is written to a temporary file in the same directory (same filesystem, so the
    rename is atomic; its name does not end in ``.prom``, so node_exporter passes over it),
    flushed and fsynced, then renamed over the old file.  On any failure the temporary file
    is removed, the old file is left as it was, and ``WriteError`` says which path and why
    (a read-only directory, no space left, ...).
    """
    if not name or name in ('.', '..') or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError('a file name without a directory is needed, got %r' % (name,))
    path = os.path.join(directory, name)
    data = content.encode('utf-8') if isinstance(content, type(u'')) else content
    try:
        descriptor, temporary = _create_temporary(directory, name)
    except (IOError, OSError) as error:
        raise WriteError(path, error)
    try:
        try:
            handle = os.fdopen(descriptor, 'wb')
        except Exception:
            os.close(descriptor)
            raise
        with handle:
            os.fchmod(handle.fileno(), 0o644)  # made 0600; node_exporter may run as another user
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except (IOError, OSError) as error:
        _remove(temporary)
        raise WriteError(path, error)
    except BaseException:
        _remove(temporary)
        raise
    _sync_directory(directory)
    return path


def _create_temporary(directory, name):
    """(descriptor, path) of a new file ``.<name>.<random>.tmp`` in ``directory``, mode 0600.

    What tempfile.mkstemp does, without importing tempfile (a tenth of a collector run's CPU).
    """
    for dummy in range(100):
        path = os.path.join(directory, '.%s.%s.tmp' % (name, binascii.hexlify(os.urandom(6)).decode('ascii')))
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600), path
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
    raise OSError(errno.EEXIST, 'no unused temporary file name', directory)


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync_directory(directory):
    """Make the rename itself durable; best effort (not every filesystem can sync a directory)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
