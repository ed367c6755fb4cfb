# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of the listener backlog facts.

Nothing in this file touches the host: every function takes the text a platform
gives (a procfs line, ``sysctl -n`` output, ``/proc/net/netstat``) or a callable
that the caller supplies to read it, and returns plain values.  The module
``listener_backlog_facts`` and the filter ``effective_backlog`` are thin shells
around it, and the unit tests feed it outputs recorded from real systems.

This file runs on target Pythons 2.7 and 3.6+ (it is module_utils).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import numbers

try:
    string_types = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:  # Python 3
    string_types = (str,)

INT_MAX = 2147483647
U16_MAX = 65535

LINUX_SOMAXCONN_PATH = '/proc/sys/net/core/somaxconn'
LINUX_SYN_BACKLOG_PATH = '/proc/sys/net/ipv4/tcp_max_syn_backlog'
LINUX_SYNCOOKIES_PATH = '/proc/sys/net/ipv4/tcp_syncookies'
LINUX_NETSTAT_PATH = '/proc/net/netstat'

# Interfaces a number can come from (``listener_backlog_info.source``).
SOURCES = ('procfs', 'sysctl', 'probe', 'ipadm', 'ndd', 'no', 'registry', 'default')

# What a plain listen() gets on Windows 8 and later (JDK-8330940; Netty's NetUtil);
# winsock2.h's SOMAXCONN is 0x7fffffff, which the provider reduces.
WINDOWS_PLAIN_LISTEN_BACKLOG = 200
WINDOWS_SOMAXCONN = INT_MAX

# Per-platform knowledge as data.  ``keys``: sysctl names tried in order.
# ``ceiling``: the largest value the kernel's stored queue limit can hold
# (a raw value above it is clamped by the kernel; the fact reports the clamp).
# ``minimum_key``: a knob that raises every listen() to at least its value.
# ``reader``: how the value is read on that platform.
# Sources of each entry: docs/platforms.md.
PLATFORMS = {
    'FreeBSD': {
        'reader': 'sysctl',
        # soacceptqueue since FreeBSD 10.0; somaxconn stays as an alias.
        'keys': ('kern.ipc.soacceptqueue', 'kern.ipc.somaxconn'),
        'default': 128,
        'ceiling': None,
        'minimum_key': None,
    },
    'Darwin': {
        'reader': 'sysctl',
        'keys': ('kern.ipc.somaxconn',),
        'default': 128,
        # XNU stores the queue limit in a short: so_qlimit.
        'ceiling': 32767,
        'minimum_key': None,
    },
    'OpenBSD': {
        'reader': 'sysctl',
        'keys': ('kern.somaxconn',),
        'default': 128,
        'ceiling': 32767,
        'minimum_key': 'kern.sominconn',
    },
    'DragonFly': {
        'reader': 'sysctl',
        'keys': ('kern.ipc.somaxconn',),
        'default': 128,
        'ceiling': U16_MAX,
        'minimum_key': None,
    },
    'NetBSD': {
        # No sysctl: SOMAXCONN is a compiled-in, patchable variable.
        'reader': 'none',
        'keys': (),
        'default': 128,
        'ceiling': None,
        'minimum_key': None,
    },
    'SunOS': {
        'reader': 'ipadm',
        'keys': ('_conn_req_max_q',),
        'default': 128,
        'ceiling': None,
        'minimum_key': None,
    },
    'AIX': {
        'reader': 'no',
        'keys': ('somaxconn',),
        'default': 1024,
        'ceiling': None,
        'minimum_key': None,
    },
}

# Any other POSIX system: the traditional BSD SOMAXCONN.
UNKNOWN_PLATFORM_DEFAULT = 128


class ReadFailure(Exception):
    """A source could not give a number; ``reason`` says why, for a warning."""

    def __init__(self, reason):
        super(ReadFailure, self).__init__(reason)
        self.reason = reason


def parse_int(text, lower=None, upper=None):
    """Parse the first line of ``text`` as a decimal integer.

    Raises ReadFailure with 'empty', 'not a number' or 'out of range' reasons.
    """
    if text is None:
        raise ReadFailure('empty')
    lines = text.strip().splitlines()
    if not lines or not lines[0].strip():
        raise ReadFailure('empty')
    first = lines[0].strip()
    try:
        value = int(first, 10)
    except ValueError:
        raise ReadFailure('not a number: %r' % first[:40])
    if (lower is not None and value < lower) or (upper is not None and value > upper):
        raise ReadFailure('out of range: %d' % value)
    return value


def parse_kernel_release(release):
    """Return (major, minor) of a Linux release string such as '6.18.44-fc' or None."""
    head = []
    for part in (release or '').split('.')[:2]:
        digits = ''
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            return None
        head.append(int(digits))
    if len(head) < 2:
        return None
    return tuple(head)


def linux_default_somaxconn(release):
    """The kernel default: 4096 since Linux 5.4 (commit 19f92a030ca6), 128 before."""
    version = parse_kernel_release(release)
    if version is not None and version < (5, 4):
        return 128
    return 4096


def linux_width_ceiling(release):
    """65535 on kernels that stored the queue limit in 16 bits (before 4.1, commit becb74f0acca)."""
    version = parse_kernel_release(release)
    if version is not None and version < (4, 1):
        return U16_MAX
    return None


def clamp_to_kernel(raw, ceiling=None, minimum=None):
    """Return (value, capped): the largest backlog a listen() gets for a stored ``raw``.

    ``ceiling`` is the width of the stored queue limit; ``minimum`` a floor that
    the platform applies to every listen() (OpenBSD's kern.sominconn).
    """
    value = raw
    if ceiling is not None and value > ceiling:
        value = ceiling
    if minimum is not None and value < minimum:
        value = minimum
    return value, value != raw


def effective_backlog(requested, limit, minimum=None):
    """What ``listen(requested)`` gets under a kernel ``limit``.

    Linux and the BSDs compare the request as unsigned, so a negative request
    gets the limit; OpenBSD then raises the result to ``minimum``.
    """
    requested = _require_int(requested, 'requested backlog')
    limit = _require_int(limit, 'limit')
    if limit < 0:
        raise ValueError('limit must be 0 or more, got %d' % limit)
    if minimum is not None:
        minimum = _require_int(minimum, 'minimum')
        if minimum < 0:
            raise ValueError('minimum must be 0 or more, got %d' % minimum)
    granted = limit if requested < 0 else min(requested, limit)
    if minimum is not None and granted < minimum:
        granted = minimum
    return granted


def _require_int(value, name):
    # bool is an int subclass in Python: True must not pass as a backlog of 1.
    if isinstance(value, bool):
        raise ValueError('%s must be an integer, got %r (a boolean)' % (name, value))
    if isinstance(value, numbers.Integral):  # int, and long on Python 2
        return int(value)
    if isinstance(value, string_types):
        text = value.strip()
        digits = text[1:] if text[:1] in ('-', '+') else text
        if digits.isdigit():
            return int(text, 10)
    raise ValueError('%s must be an integer, got %r (%s)' % (name, value, type(value).__name__))


def parse_netstat(text):
    """Parse ``/proc/net/netstat`` into {'TcpExt': {'ListenOverflows': n, ...}, ...}."""
    tables = {}
    pending = {}
    for line in (text or '').splitlines():
        if ':' not in line:
            continue
        prefix, rest = line.split(':', 1)
        fields = rest.split()
        if prefix not in pending:
            pending[prefix] = fields
            continue
        names = pending.pop(prefix)
        values = {}
        for name, field in zip(names, fields):
            try:
                values[name] = int(field)
            except ValueError:
                continue
        tables[prefix] = values
    return tables


def parse_sysctl_value(out):
    """``sysctl -n NAME`` prints the value and a newline on every platform we read."""
    return parse_int(out)


def parse_aix_no(out, key):
    """``no -o somaxconn`` prints ``somaxconn = 1024``."""
    for line in (out or '').splitlines():
        if '=' not in line:
            continue
        name, value = line.split('=', 1)
        if name.strip() == key:
            return parse_int(value)
    raise ReadFailure('no line "%s = N" in the output' % key)


def describe_os_error(exc):
    """A short reason for a failed read, for a warning."""
    code = getattr(exc, 'errno', None)
    if code == errno.ENOENT:
        return 'missing'
    if code in (errno.EACCES, errno.EPERM):
        return 'unreadable (permission denied)'
    if code == errno.EISDIR:
        return 'unreadable (is a directory)'
    return 'unreadable (%s)' % (getattr(exc, 'strerror', None) or exc)


def _command_failure(argv, rc, out, err):
    text = (err or out or '').strip().splitlines()
    detail = text[0] if text else 'no output'
    return ReadFailure('`%s` exited %d: %s' % (' '.join(argv), rc, detail))


class LimitGatherer(object):
    """Finds the listen() backlog limit of one host.

    The host is reached only through the callables given:
    ``read_file(path) -> str`` (raises IOError/OSError), ``run_command(argv) ->
    (rc, out, err)`` where argv[0] is a program name (the caller resolves it and
    returns rc 127 with a reason in err when it is not installed), and
    ``probe(request) -> int`` that listen()s on a fresh socket and returns what
    the kernel granted (raises on failure).  Warnings collect what fell back and why.
    """

    def __init__(self, system, release, read_file, run_command, probe=None):
        self.system = system
        self.release = release
        self.read_file = read_file
        self.run_command = run_command
        self.probe = probe
        self.warnings = []

    def gather(self):
        if self.system == 'Linux':
            info = self._linux_limit()
            info.update(self._linux_health())
        else:
            info = self._other_limit()
            info.update(syn_backlog=None, syncookies=None, listen_overflows=None, listen_drops=None)
        info['system'] = self.system
        value = info.pop('value')
        return value, info

    # -- Linux ---------------------------------------------------------------

    def _linux_limit(self):
        key = 'net.core.somaxconn'
        ceiling = linux_width_ceiling(self.release)
        tried = []
        try:
            raw = parse_int(self.read_file(LINUX_SOMAXCONN_PATH), 0, INT_MAX)
            return self._result(raw, 'procfs', key, ceiling)
        except (IOError, OSError) as exc:
            tried.append('%s is %s' % (LINUX_SOMAXCONN_PATH, describe_os_error(exc)))
        except ReadFailure as exc:
            tried.append('%s is %s' % (LINUX_SOMAXCONN_PATH, exc.reason))
        try:
            raw = self._sysctl(key, 0, INT_MAX)
            self._warn_fallback(tried, 'sysctl')
            return self._result(raw, 'sysctl', key, ceiling)
        except ReadFailure as exc:
            tried.append(exc.reason)
        if self.probe is not None:
            # Go's maxAckBacklog reasoning: on 16-bit kernels ask for what fits.
            request = ceiling if ceiling is not None else INT_MAX
            try:
                granted = self.probe(request)
                self._warn_fallback(tried, 'the backlog the kernel granted a test listen(%d)' % request)
                return {'value': granted, 'source': 'probe', 'key': key, 'raw': None,
                        'capped': False, 'minimum': None}
            except Exception as exc:  # a probe may fail in any way a socket can
                tried.append('the listen() probe failed: %s' % exc)
        default = linux_default_somaxconn(self.release)
        self._warn_fallback(tried, 'the kernel default %d' % default)
        return {'value': default, 'source': 'default', 'key': 'SOMAXCONN', 'raw': None,
                'capped': False, 'minimum': None}

    def _linux_health(self):
        health = {'syn_backlog': None, 'syncookies': None,
                  'listen_overflows': None, 'listen_drops': None}
        missing = []
        for name, path in (('syn_backlog', LINUX_SYN_BACKLOG_PATH),
                           ('syncookies', LINUX_SYNCOOKIES_PATH)):
            try:
                health[name] = parse_int(self.read_file(path))
            except (IOError, OSError, ReadFailure):
                missing.append(path)
        try:
            tcpext = parse_netstat(self.read_file(LINUX_NETSTAT_PATH)).get('TcpExt', {})
            health['listen_overflows'] = tcpext.get('ListenOverflows')
            health['listen_drops'] = tcpext.get('ListenDrops')
            if health['listen_overflows'] is None:
                missing.append(LINUX_NETSTAT_PATH + ' (TcpExt ListenOverflows)')
        except (IOError, OSError):
            missing.append(LINUX_NETSTAT_PATH)
        if missing:
            self.warnings.append('health signals unavailable, reported as null: %s' % ', '.join(missing))
        return health

    # -- other platforms -------------------------------------------------------

    def _other_limit(self):
        platform = PLATFORMS.get(self.system)
        if platform is None:
            self.warnings.append('no known listen backlog knob on %s; reporting the traditional '
                                 'SOMAXCONN %d' % (self.system, UNKNOWN_PLATFORM_DEFAULT))
            return self._default(UNKNOWN_PLATFORM_DEFAULT)
        if platform['reader'] == 'none':
            # The default is the kernel's truth here, not a guess: no warning.
            return self._default(platform['default'])
        tried = []
        reader = getattr(self, '_read_' + platform['reader'])
        for key in platform['keys']:
            try:
                raw, source = reader(key)
            except ReadFailure as exc:
                tried.append(exc.reason)
                continue
            self._warn_fallback(tried, source)
            minimum = None
            if platform['minimum_key']:
                try:
                    minimum = self._sysctl(platform['minimum_key'], 0, INT_MAX)
                except ReadFailure as exc:
                    self.warnings.append('%s unreadable (%s); no minimum applied'
                                         % (platform['minimum_key'], exc.reason))
            return self._result(raw, source, key, platform['ceiling'], minimum)
        self._warn_fallback(tried, 'the platform default %d' % platform['default'])
        return self._default(platform['default'])

    def _read_sysctl(self, key):
        return self._sysctl(key, None, None), 'sysctl'

    def _read_ipadm(self, key):
        argv = ['ipadm', 'show-prop', '-p', key, '-co', 'current', 'tcp']
        rc, out, err = self.run_command(argv)
        if rc == 0:
            return parse_int(out), 'ipadm'
        first = _command_failure(argv, rc, out, err).reason
        # Solaris 10 and older illumos have no ipadm: ndd names the tunable without '_'.
        ndd_key = 'tcp' + key if key.startswith('_') else key
        argv = ['ndd', '-get', '/dev/tcp', ndd_key]
        rc, out, err = self.run_command(argv)
        if rc == 0:
            self.warnings.append('%s; read %s with ndd instead' % (first, ndd_key))
            return parse_int(out), 'ndd'
        raise ReadFailure('%s; %s' % (first, _command_failure(argv, rc, out, err).reason))

    def _read_no(self, key):
        argv = ['no', '-o', key]
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise _command_failure(argv, rc, out, err)
        return parse_aix_no(out, key), 'no'

    # -- shared ------------------------------------------------------------------

    def _sysctl(self, key, lower, upper):
        argv = ['sysctl', '-n', key]
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise _command_failure(argv, rc, out, err)
        try:
            return parse_int(out, lower, upper)
        except ReadFailure as exc:
            raise ReadFailure('`%s` printed %s' % (' '.join(argv), exc.reason))

    def _result(self, raw, source, key, ceiling=None, minimum=None):
        value, capped = clamp_to_kernel(raw, ceiling, minimum)
        return {'value': value, 'source': source, 'key': key, 'raw': raw,
                'capped': capped, 'minimum': minimum}

    def _default(self, value):
        return {'value': value, 'source': 'default', 'key': 'SOMAXCONN', 'raw': None,
                'capped': False, 'minimum': None}

    def _warn_fallback(self, tried, used):
        if tried:
            self.warnings.append('%s; used %s' % ('; '.join(tried), used))
