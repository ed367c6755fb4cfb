# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What listener_backlog_facts reads on a host, in one place for every program that reads it.

``gather()`` reads the limit and, as asked, the listeners (TCP and named UNIX) and every
network namespace with its own limit, counters and listeners, names each socket's owner with
one walk of /proc, and returns the facts without their ``ansible_`` prefix and the warnings.
The module ``listener_backlog_facts`` returns them as facts; the role's textfile collector
(``files/textfile_collector.py``) turns them into Prometheus metrics.  One implementation:
the collector embeds this file verbatim.

Touches the host; the parsing it relies on is pure and lives in ``_backlog``, ``_netns``,
``_sock_diag`` and ``_netstat``.  Runs on target Pythons 2.7 and 3.6+, outside Ansible too:
it needs nothing but a ``run_command(argv)`` returning (rc, out, err).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import os

from ansible_collections.netstack.backlog.plugins.module_utils._backlog import (
    LINUX_NETSTAT_PATH,
    LimitGatherer,
    parse_kernel_release,
)

# The listener readers (_sock_diag, _netstat) are imported where they are used: a plain
# run needs neither, and a module on a fleet pays for every import on every host.


class GatherError(Exception):
    """What was asked cannot be read on this host (the module fails with it)."""


def read_file(path):
    # Bytes, then text: no text layer per file (with namespaces=true, several files per namespace).
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


def linux_probe(request):
    from ansible_collections.netstack.backlog.plugins.module_utils._sock_diag import probe_listen_grant
    return probe_listen_grant(request)


def linux_listeners(run_command, warnings):
    """TCP listeners; those read through netlink keep their ``inode`` for ``name_owners``."""
    import socket
    from ansible_collections.netstack.backlog.plugins.module_utils._sock_diag import (
        NetlinkError,
        dump_listeners,
        parse_ss_listeners,
    )
    try:
        listeners = dump_listeners()
    except (socket.error, OSError, NetlinkError) as exc:
        rc, out, err = run_command(['ss', '-ltnp'])
        if rc != 0:
            raise RuntimeError('listeners unavailable: sock_diag netlink failed (%s) and `ss -ltnp` '
                               'exited %d: %s' % (exc, rc, (err or out).strip()))
        warnings.append('sock_diag netlink failed (%s); listeners read with ss' % exc)
        return parse_ss_listeners(out)
    return listeners


def linux_unix_listeners(run_command, warnings):
    """Named UNIX listeners; those read through netlink keep their ``inode`` for ``name_owners``."""
    import errno
    import socket
    from ansible_collections.netstack.backlog.plugins.module_utils._sock_diag import (
        NetlinkError,
        dump_unix_listeners,
        parse_ss_unix_listeners,
    )
    try:
        return dump_unix_listeners()
    except (socket.error, OSError, NetlinkError) as exc:
        if isinstance(exc, NetlinkError) and exc.errno == errno.ENOENT:
            # ss would fall back to /proc/net/unix, which has no queue sizes, and print 0s.
            raise RuntimeError('unix_listeners unavailable: the kernel has no sock_diag for AF_UNIX '
                               '(CONFIG_UNIX_DIAG, module unix_diag): %s' % exc)
        rc, out, err = run_command(['ss', '-lxp'])
        if rc != 0:
            raise RuntimeError('unix_listeners unavailable: sock_diag netlink failed (%s) and `ss -lxp` '
                               'exited %d: %s' % (exc, rc, (err or out).strip()))
        warnings.append('sock_diag netlink failed for UNIX sockets (%s); unix listeners read with ss, '
                        'which shows 0 for backlog and queued if its own sock_diag query failed too' % exc)
        return parse_ss_unix_listeners(out)


def name_owners(groups, pids=None):
    """Set pid and process of every entry that still has an ``inode``, with one walk of /proc.

    ``pids``: the process ids already listed (by the namespace scan), so /proc is listed once.
    """
    pending = [item for group in groups for item in group if 'inode' in item]
    if not pending:
        return
    from ansible_collections.netstack.backlog.plugins.module_utils._sock_diag import socket_owners
    owners = socket_owners(set(item['inode'] for item in pending), pids=pids)
    for item in pending:
        item['pid'], item['process'] = owners.get(item.pop('inode'), (None, None))


def netstat_listeners(system, run_command, warnings):
    """Listeners of a BSD or macOS host, from the netstat commands ``_netstat`` names."""
    from ansible_collections.netstack.backlog.plugins.module_utils import _netstat as netstat
    if system not in netstat.COMMANDS:
        raise RuntimeError('listeners=true is not supported on %s; it is supported on %s'
                           % (system, ', '.join(('Linux',) + netstat.SYSTEMS)))
    outputs = []
    for argv in netstat.COMMANDS[system]:
        rc, out, err = run_command(list(argv))
        if rc != 0:
            raise RuntimeError('listeners unavailable: `%s` exited %d: %s'
                               % (' '.join(argv), rc, (err or out or '').strip() or 'no output'))
        outputs.append(out)
    return netstat.listeners_from_outputs(system, outputs, warnings)


def sort_listeners(listeners):
    listeners.sort(key=lambda item: (item['port'], item['family'] or '', item['address']))


def sort_unix_listeners(unix_listeners):
    unix_listeners.sort(key=lambda item: (item['path'], item['type']))


def read_listeners(params, run_command, warnings):
    """(TCP listeners, UNIX listeners) of the calling thread's network namespace, as asked; Linux."""
    listeners = unix_listeners = None
    if params['listeners']:
        listeners = linux_listeners(run_command, warnings)
    if params['unix_listeners']:
        unix_listeners = linux_unix_listeners(run_command, warnings)
    return listeners, unix_listeners


def namespace_label(inode, found, container, initial=False):
    label = 'network namespace %d' % inode
    if initial:
        return "the machine's own %s" % label
    if container:
        # Kubernetes' cgroupfs driver does not name the runtime; the pod is what is known.
        return '%s (%s container %s)' % (label, container['runtime'] or 'Kubernetes', container['id'][:12])
    if found['name']:
        return '%s (%s)' % (label, found['name'])
    return label


def below_limit(value, below):
    """Whether a namespace whose limit reads ``value`` is kept under ``namespaces_below``.

    Kept: every namespace when ``below`` is None, those under it, and those whose limit could
    not be read (unknown is not known to be high enough).
    """
    return below is None or value is None or value < below


def gather_namespaces(params, release, run_command, current, warnings):
    """``listener_backlog_namespaces``: every network namespace, each read from inside.

    ``current`` holds the module's own namespace's facts, already read (reused, not read
    again).  With ``params['below']`` only the namespaces below_limit keeps are returned, and
    only theirs have their listeners read.  Returns (entries, every listener list for the owner
    walk, the pids listed, how many namespaces there are in all).
    """
    from ansible_collections.netstack.backlog.plugins.module_utils import _netns as netns
    discovery = netns.Discovery().scan(parse_kernel_release(release))
    if discovery.unreadable:
        count = len(discovery.unreadable)
        warnings.append('the network namespace of %d process%s could not be read (permission denied; pid%s %s): '
                        'namespaces only they hold are not listed'
                        % (count, 'es' if count > 1 else '', 's' if count > 1 else '',
                           ', '.join(str(pid) for pid in discovery.unreadable[:5]) + (', ...' if count > 5 else '')))
    visitor = netns.Visitor()
    entries, groups = [], []
    try:
        if visitor.own_inode not in discovery.namespaces:
            discovery.namespaces[visitor.own_inode] = {'pids': [], 'paths': [], 'name': None}
        for inode in sorted(discovery.namespaces):
            found = discovery.namespaces[inode]
            pids = found['pids'][:netns.PID_SAMPLE]
            container = lowest_container(pids)
            initial = None if discovery.initial is None else inode == discovery.initial
            entry = {'id': inode, 'current': inode == visitor.own_inode, 'initial': initial, 'name': found['name'],
                     'pids': pids, 'container': None if initial else container, 'listener_backlog': None,
                     'listener_backlog_info': None, 'error': None}
            if params['listeners']:
                entry['listeners'] = None
            if params['unix_listeners']:
                entry['unix_listeners'] = None
            if entry['current']:
                entry.update(current)
                if below_limit(entry['listener_backlog'], params['below']):
                    entries.append(entry)
                continue
            entries.append(entry)
            label = namespace_label(inode, found, container, initial)
            sources = ['/proc/%d/ns/net' % pid for pid in found['pids']] + found['paths']
            read, error = visitor.visit(inode, sources,
                                        functools.partial(read_namespace, params, release, run_command, inode,
                                                          found['pids']))
            if error:
                entry['error'] = error
                continue
            value, info, listeners, unix_listeners, error, own_warnings = read
            entry.update(listener_backlog=value, listener_backlog_info=info, error=error)
            warnings.extend('%s: %s' % (label, warning) for warning in own_warnings)
            if not below_limit(value, params['below']):
                entries.pop()
                continue
            for key, found_listeners in (('listeners', listeners), ('unix_listeners', unix_listeners)):
                if found_listeners is not None:
                    entry[key] = found_listeners
                    groups.append(found_listeners)
    finally:
        visitor.close()
    return entries, groups, discovery.pids, len(discovery.namespaces)


def lowest_container(pids):
    """The container of the namespace's lowest process (the one that made it, or its pause container)."""
    from ansible_collections.netstack.backlog.plugins.module_utils._netns import parse_cgroup
    for pid in pids[:1]:
        try:
            return parse_cgroup(read_file('/proc/%d/cgroup' % pid))
        except (IOError, OSError):
            return None
    return None


def namespace_of(pid):
    """The network namespace inode of process ``pid``, or None once it is gone or unreadable."""
    try:
        return os.stat('/proc/%d/ns/net' % pid).st_ino
    except OSError:
        return None


def read_namespace(params, release, run_command, inode, pids):
    """Everything read inside namespace ``inode`` (the calling thread has entered it).

    The TcpExt counters come from ``/proc/PID/net/netstat`` of a process in the namespace
    where there is one, checked to be in it before and after the read (a process may move):
    ``/proc/self/net`` after setns showed the old namespace's files on kernels with cached
    /proc/net dentries (fixed by kernel commits 1fde6f21d90f and c6c75deda813).  Without a
    process, ``/proc/self/net`` is the only way.
    """
    def read_netstat():
        for pid in pids[:3]:
            if namespace_of(pid) != inode:
                continue
            try:
                text = read_file('/proc/%d/net/netstat' % pid)
            except (IOError, OSError):
                continue
            if namespace_of(pid) == inode:
                return text
        return read_file('/proc/self/net/netstat')

    def read_inside(path):
        return read_netstat() if path == LINUX_NETSTAT_PATH else read_file(path)

    gatherer = LimitGatherer('Linux', release, read_inside, run_command, probe=linux_probe)
    value, info = gatherer.gather()
    listeners = unix_listeners = error = None
    if below_limit(value, params['below']):  # else not returned: its listeners are not read
        try:
            listeners, unix_listeners = read_listeners(params, run_command, gatherer.warnings)
        except RuntimeError as exc:
            error = str(exc)
    for found, sort in ((listeners, sort_listeners), (unix_listeners, sort_unix_listeners)):
        if found is not None:
            sort(found)
    return value, info, listeners, unix_listeners, error, gatherer.warnings


def gather(system, release, run_command, listeners=False, unix_listeners=False, namespaces=False,
           skip_unsupported=False, read=read_file, namespace_listeners=True, namespaces_below=None):
    """The facts (keys without ``ansible_``) and the warnings, as listener_backlog_facts returns them.

    ``read`` reads the top-level limit's files (the module passes its own, which its tests replace).
    ``namespace_listeners``: with ``namespaces``, whether each namespace is read with the listeners
    ``listeners`` and ``unix_listeners`` ask for, or with its limit and counters only.  The textfile
    collector exports every namespace's listeners (the default here); the module passes its option
    of that name, false unless asked, since each listener is some eight values that ansible-core
    then handles on the controller (docs/benchmarks.md).  ``namespaces_below``: return only the
    namespaces whose limit is below it or unknown (below_limit), and how many there are in all
    as ``listener_backlog_namespaces_total``.
    Raises GatherError for what cannot be read here: an option this system does not support
    (unless ``skip_unsupported``), listeners no reader could list, a way back from a namespace
    that failed.
    """
    params = {'listeners': listeners, 'unix_listeners': unix_listeners, 'namespaces': namespaces}
    for option in ('unix_listeners', 'namespaces'):
        if params[option] and system != 'Linux':
            if not skip_unsupported:
                raise GatherError('%s=true is not supported on %s; it is supported on Linux only' % (option, system))
            params[option] = False
    gatherer = LimitGatherer(system, release, read, run_command, probe=linux_probe if system == 'Linux' else None)
    value, info = gatherer.gather()
    facts = {'listener_backlog': value, 'listener_backlog_info': info}

    found_listeners = found_unix = None
    try:
        if system == 'Linux':
            found_listeners, found_unix = read_listeners(params, run_command, gatherer.warnings)
        elif params['listeners']:
            from ansible_collections.netstack.backlog.plugins.module_utils._netstat import COMMANDS
            if system in COMMANDS or not skip_unsupported:
                found_listeners = netstat_listeners(system, run_command, gatherer.warnings)
    except RuntimeError as exc:
        raise GatherError(str(exc))
    groups = [found for found in (found_listeners, found_unix) if found is not None]
    pids = None
    if params['namespaces']:
        from ansible_collections.netstack.backlog.plugins.module_utils._netns import ReturnFailed
        # What is read in each namespace: the listeners asked for only with namespace_listeners.
        inside = dict(params, listeners=params['listeners'] and namespace_listeners,
                      unix_listeners=params['unix_listeners'] and namespace_listeners, below=namespaces_below)
        current = {'listener_backlog': value, 'listener_backlog_info': info}
        if inside['listeners']:
            current['listeners'] = found_listeners
        if inside['unix_listeners']:
            current['unix_listeners'] = found_unix
        try:
            entries, more, pids, total = gather_namespaces(inside, release, run_command, current, gatherer.warnings)
        except ReturnFailed as exc:
            raise GatherError(str(exc))
        groups.extend(more)
        facts['listener_backlog_namespaces'] = entries
        if namespaces_below is not None:
            facts['listener_backlog_namespaces_total'] = total
    name_owners(groups, pids)
    if found_listeners is not None:
        sort_listeners(found_listeners)
        facts['listener_backlog_listeners'] = found_listeners
    if found_unix is not None:
        sort_unix_listeners(found_unix)
        facts['listener_backlog_unix_listeners'] = found_unix
    return facts, gatherer.warnings
