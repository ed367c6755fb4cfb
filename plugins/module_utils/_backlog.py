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

from ansible_collections.netstack.backlog.plugins.module_utils._platforms import INT_MAX, PLATFORMS, S16_MAX, U16_MAX

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

# Per-platform knowledge (readers, bounds, defaults, clamps, listen rules) is one record per
# platform in _platforms.RECORDS; PLATFORMS is its view for the readers other than Linux's.

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


def limit_after(system, release, raw, minimum=None):
    """The maximum a listen() gets once the knob is set to ``raw``, as the fact module will read it.

    The same clamps as the readers apply: Linux's 16-bit queue limit before 4.1, each other
    platform's ``ceiling``, and a minimum that wins over the maximum (OpenBSD's kern.sominconn,
    read with the facts and unchanged by tuning).
    """
    if system == 'Linux':
        return clamp_to_kernel(raw, linux_width_ceiling(release))[0]
    platform = PLATFORMS.get(system, {})
    wins = platform.get('minimum_wins', True)
    return max(clamp_to_kernel(raw, platform.get('ceiling'), minimum if wins else None)[0], 0)


# How each kernel turns listen(requested) into the queue limit it stores, for
# effective_backlog(system=...): the ``listen_rule`` of each PLATFORMS entry, plus Linux
# and Windows, which have readers of their own.  Keys are ``listener_backlog_info.system``
# in lower case; docs/platforms.md quotes each line with its source.
#   ``unsigned``: a negative request gets the limit, 0 stays 0 (Linux
#     __sys_listen_socket(): ``(unsigned int)backlog > somaxconn``; FreeBSD
#     solisten_proto(), OpenBSD and DragonFly solisten(): ``backlog < 0 ||
#     backlog > somaxconn``), then OpenBSD raises it to kern.sominconn.
#   ``darwin``: 0 gets the limit too (XNU solisten(): ``backlog <= 0 || ...``).
#   ``netbsd``: a negative request becomes 0 (solisten(): ``if (backlog < 0)
#     backlog = 0; so_qlimit = uimin(backlog, somaxconn)``).
#   ``illumos``: sockfs socket_listen() makes a negative request 0 and stores
#     ``backlog * 3 / 2 + 1`` (INT_MAX from (INT_MAX - 1) / 3 up); tcp_do_listen()
#     raises that to _conn_req_min, then caps it at _conn_req_max_q.
#   ``winsock``: winsock2.h defines SOMAXCONN_HINT(b) as -(b), and listen() keeps a
#     hint "within the range (200, 65535)" (Microsoft's listen() reference); what
#     listen(0) does is not documented.
LISTEN_RULES = dict(((name.lower(), platform['listen_rule']) for name, platform in PLATFORMS.items()
                     if platform['listen_rule']), linux='unsigned', windows='winsock')
# Which requests get the knob's value itself, by rule (the short_queue warning names them).
GETS_LIMIT = {'unsigned': 'a negative backlog', 'darwin': 'a backlog of 0 or less'}
WINSOCK_HINT_BOUNDS = (200, U16_MAX)


def effective_backlog(requested, limit, minimum=None, system=None):
    """What ``listen(requested)`` gets under a kernel ``limit``.

    Without ``system``: the rule of Linux and the BSDs but NetBSD and macOS, which
    compare the request as unsigned, so a negative request gets the limit; a
    ``minimum`` (OpenBSD's kern.sominconn) then raises the result.  With
    ``system``, that platform's own rule (``LISTEN_RULES``); on a platform whose
    handling of a request of 0 or less is not documented (AIX, any other), such a
    request is an error rather than a guess.
    """
    requested = _require_int(requested, 'requested backlog')
    limit = _require_int(limit, 'limit')
    if limit < 0:
        raise ValueError('limit must be 0 or more, got %d' % limit)
    if minimum is not None:
        minimum = _require_int(minimum, 'minimum')
        if minimum < 0:
            raise ValueError('minimum must be 0 or more, got %d' % minimum)
    rule = 'unsigned'
    if system is not None:
        if not isinstance(system, string_types) or not system.strip():
            raise ValueError('system must be a platform name such as listener_backlog_info.system '
                             'reports (Linux, FreeBSD, Darwin, ...), got %r' % (system,))
        rule = LISTEN_RULES.get(system.strip().lower())
        if rule is None or (rule == 'winsock' and requested == 0):
            if requested <= 0:
                raise ValueError('what listen(%d) gets on %s is not documented; ask for 1 or more '
                                 '(documented rules: %s)'
                                 % (requested, system, ', '.join(sorted(LISTEN_RULES))))
            rule = 'unsigned'
    if rule == 'illumos':
        stored = INT_MAX if requested >= (INT_MAX - 1) // 3 else max(requested, 0) * 3 // 2 + 1
        if minimum is not None and stored < minimum:
            stored = minimum
        return min(stored, limit)
    if rule == 'winsock' and requested < 0:
        lower, upper = WINSOCK_HINT_BOUNDS
        return max(lower, min(-requested, upper))
    if requested < 0 or (rule == 'darwin' and requested == 0):
        granted = 0 if rule == 'netbsd' else limit
    else:
        granted = min(requested, limit)
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


def parse_tcpext(text, names=('ListenOverflows', 'ListenDrops')):
    """{name: value} of the TcpExt counters ``names`` in ``/proc/net/netstat``; a missing one is left out.

    What parse_netstat(text)['TcpExt'] holds for them, without converting every field of
    every table (the module reads this once per network namespace).
    """
    header = None
    for line in (text or '').splitlines():
        if not line.startswith('TcpExt:'):
            continue
        if header is None:
            header = line.split()
            continue
        values = line.split()
        found = {}
        for name in names:
            if name in header:
                index = header.index(name)
                try:
                    found[name] = int(values[index])
                except (IndexError, ValueError):
                    continue
        return found
    return {}


def parse_sysctl_value(out):
    """``sysctl -n NAME`` prints the value and a newline on every platform we read."""
    return parse_int(out)


def parse_aix_no(out, key, lower=None, upper=None):
    """``no -o somaxconn`` prints ``somaxconn = 1024``.

    IBM's no(1): values are shown "one per line in pairs Tunable = Value"; ``no -a``
    pads the names, so the name is compared without the surrounding blanks.
    """
    for line in (out or '').splitlines():
        if '=' not in line:
            continue
        name, value = line.split('=', 1)
        if name.strip() == key:
            return parse_int(value, lower, upper)
    raise ReadFailure('no line "%s = N"' % key)


def short_of(value):
    """``(short)value`` in C on the two's-complement machines these kernels run on."""
    return (value + 32768) % 65536 - 32768


def ndd_name(key):
    """ndd's name of an ipadm TCP tunable: ``_conn_req_max_q`` is ``tcp_conn_req_max_q``."""
    return 'tcp' + key if key.startswith('_') else key


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
            tcpext = parse_tcpext(self.read_file(LINUX_NETSTAT_PATH))
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
                raw, source = reader(key, platform['bounds'])
            except ReadFailure as exc:
                tried.append(exc.reason)
                continue
            # Name the knob that answered: an alias answering is worth knowing.
            self._warn_fallback(tried, '%s %s' % (source, key))
            minimum = self._read_minimum(platform, source)
            return self._other_result(platform, raw, source, key, minimum)
        self._warn_fallback(tried, 'the platform default %d' % platform['default'])
        return self._default(platform['default'])

    def _other_result(self, platform, raw, source, key, minimum):
        info = self._result(raw, source, key, platform['ceiling'], minimum,
                            raises_maximum=platform.get('minimum_wins', True))
        if info['value'] < 0:
            # Darwin, DragonFly and old OpenBSD accept a negative knob; every listen()
            # then stores a negative limit and the socket queues no connection.
            info.update(value=0, capped=True)
            self.warnings.append('%s is %d: every listen() gets a negative queue limit and '
                                 'accepts no connection; reported as 0' % (key, raw))
        elif platform['short_queue'] and raw > S16_MAX:
            stored = short_of(raw if minimum is None else max(raw, minimum))
            self.warnings.append(
                '%s is %d but the kernel keeps a listen queue limit in a short: listen(N) gets at '
                'most %d (for N up to %d); %s gets (short)%d = %d%s, and any other request above '
                '%d is truncated to 16 bits as well'
                % (key, raw, S16_MAX, S16_MAX, GETS_LIMIT[platform['listen_rule']], raw, stored,
                   ' and accepts no connection' if stored <= 0 else '', S16_MAX))
        return info

    def _read_minimum(self, platform, source):
        key = platform['minimum_key']
        if not key:
            return None
        lower, upper = platform['minimum_bounds']
        try:
            if source == 'ipadm':
                return self._ipadm(key, lower, upper)
            if source == 'ndd':
                return self._ndd(ndd_name(key), lower, upper)
            return self._sysctl(key, lower, upper)
        except ReadFailure as exc:
            self.warnings.append('%s unreadable (%s); no minimum applied' % (key, exc.reason))
            return None

    def _read_sysctl(self, key, bounds):
        return self._sysctl(key, bounds[0], bounds[1]), 'sysctl'

    def _read_ipadm(self, key, bounds):
        try:
            return self._ipadm(key, bounds[0], bounds[1]), 'ipadm'
        except ReadFailure as exc:
            first = exc.reason
        # Solaris 10 has no ipadm; ndd names the tunable with a tcp prefix.
        try:
            value = self._ndd(ndd_name(key), bounds[0], bounds[1])
        except ReadFailure as exc:
            raise ReadFailure('%s; %s' % (first, exc.reason))
        self.warnings.append('%s; read %s with ndd instead' % (first, ndd_name(key)))
        return value, 'ndd'

    def _read_no(self, key, bounds):
        argv = ['no', '-o', key]
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise _command_failure(argv, rc, out, err)
        try:
            return parse_aix_no(out, key, bounds[0], bounds[1]), 'no'
        except ReadFailure as exc:
            raise ReadFailure('`%s` printed %s' % (' '.join(argv), exc.reason))

    def _ipadm(self, key, lower, upper):
        # -c: parsable output, one value per line; -o current: only the value in effect
        # (illumos ipadm(8), show-prop).
        return self._command_int(['ipadm', 'show-prop', '-p', key, '-co', 'current', 'tcp'],
                                 lower, upper)

    def _ndd(self, name, lower, upper):
        # ndd [-get] device_name name: prints the value; rc 1 and a message on stdout for
        # an unknown name (illumos usr/src/cmd/cmd-inet/usr.sbin/ndd.c).
        return self._command_int(['ndd', '-get', '/dev/tcp', name], lower, upper)

    def _command_int(self, argv, lower, upper):
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise _command_failure(argv, rc, out, err)
        try:
            return parse_int(out, lower, upper)
        except ReadFailure as exc:
            raise ReadFailure('`%s` printed %s' % (' '.join(argv), exc.reason))

    # -- shared ------------------------------------------------------------------

    def _sysctl(self, key, lower, upper):
        return self._command_int(['sysctl', '-n', key], lower, upper)

    def _result(self, raw, source, key, ceiling=None, minimum=None, raises_maximum=True):
        value, capped = clamp_to_kernel(raw, ceiling, minimum if raises_maximum else None)
        return {'value': value, 'source': source, 'key': key, 'raw': raw,
                'capped': capped, 'minimum': minimum}

    def _default(self, value):
        return {'value': value, 'source': 'default', 'key': 'SOMAXCONN', 'raw': None,
                'capped': False, 'minimum': None}

    def _warn_fallback(self, tried, used):
        if tried:
            self.warnings.append('%s; used %s' % ('; '.join(tried), used))
