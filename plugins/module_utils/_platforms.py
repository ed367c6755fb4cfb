# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One record per platform: everything the collection knows of a system's listen backlog limit.

How the limit is read and clamped, how listen() applies it, how the role tunes it and what
lists the listeners: each fact with its source beside it.  The tables the code uses are views
of these records (_backlog.PLATFORMS, _tuning.TUNING, _netstat.COMMANDS, _backlog.LISTEN_RULES),
and the documentation's tables and ranges are generated from them (tests/utils/generate_docs.py;
tests/unit/test_docs_generated.py fails when a committed one differs).  Adding a platform is
adding a record here (docs/contributing.md).

Module code: runs on target Python 2.7 and 3.6+, and in the role's local fact and textfile
collector (embedded verbatim, before the files that import it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

INT_MAX = 2147483647
U16_MAX = 65535
# Widths of the C types the non-Linux kernels keep these numbers in.
INT_MIN = -2147483648
S16_MAX = 32767
U32_MAX = 4294967295

# What the module runs.  -L listen queues, -a include listening sockets (protopr()
# skips TCP LISTEN sockets without it), -n numeric, -W (FreeBSD, DragonFly) full
# addresses; macOS: -l full IPv6 addresses, -W full IPv4 host names, -A the PCB.
FREEBSD_COMMAND = ('netstat', '-LanW', '-p', 'tcp')
DARWIN_INET_COMMAND = ('netstat', '-AanlLW', '-f', 'inet')
DARWIN_INET6_COMMAND = ('netstat', '-AanlLW', '-f', 'inet6')

# Fields (docs/platforms.md has the tables, with links to the sources):
# ``name``: how the documentation names the system (its tables and ranges are generated:
#   tests/utils/generate_docs.py).
# ``summary``: its row of docs/platforms.md's summary table, where {range} (the tuning range),
#   {bounds}, {ceiling} and {default} stand for the record's values; the default cell is
#   {default} unless given.  ASCII only: '...' and '>=' are typeset by the generator.
# ``tuning``: where and how the role tunes the limit (_tuning.TUNING), with ``range_note``,
#   said beside the range wherever the docs state it.
# ``netstat``: the commands that list the listeners with their queues (_netstat.COMMANDS).
# ``reader``: how the value is read (``sysctl``, ``ipadm`` with ``ndd`` as the
#   fall-back, ``no``, or ``none`` where the kernel has no knob at all).
# ``keys``: the knobs tried in order.
# ``bounds``: what a reading can be (the stored C type, or the sysctl handler's
#   range where it has one); a reading outside is not believed.
# ``default``: the kernel's compiled-in value, reported when nothing can be read.
# ``ceiling``: the largest queue limit the kernel can store; a larger stored value
#   is clamped (``capped``).  None where the sysctl handler already keeps the
#   stored value within what the queue limit holds.
# ``short_queue``: the per-socket limit is a C ``short``: a request that gets the
#   knob's value (see ``listen_rule``) is truncated to 16 bits when it is above
#   32767, so such a listener may accept nothing; the gatherer warns.
# ``listen_rule``: how listen(requested) becomes the queue limit the kernel stores
#   (one of the rules described above effective_backlog), or None where no source
#   documents what a request of 0 or less gets.
# ``minimum_key``/``minimum_bounds``: a knob that raises every listen() to at least
#   its value.  ``minimum_wins``: whether it does so after the clamp to the maximum
#   (OpenBSD: a minimum above the maximum raises every listen()) or before it
#   (illumos: the maximum still caps it, so it never changes the largest grant).
RECORDS = {
    'Linux': {
        'name': 'Linux',
        # Read from procfs, then sysctl, then a probe listen() (_backlog.LimitGatherer); its
        # default and the 16-bit width before 4.1 depend on the release
        # (linux_default_somaxconn, linux_width_ceiling).
        'reader': 'procfs',
        'keys': ('net.core.somaxconn',),
        'bounds': (0, INT_MAX),
        'listen_rule': 'unsigned',
        'short_queue': False,
        'minimum_key': None,
        # Listeners come from sock_diag netlink, ss as the fall-back (_sock_diag).
        'netstat': None,
        'tuning': {
            'somaxconn_key': 'net.core.somaxconn',
            # int, proc_dointvec_minmax with minimum 0 (net/core/sysctl_net_core.c).  Before 4.1
            # the queue limit was 16 bits wide (kernel commit becb74f0acca widened it).
            'somaxconn_range': (0, INT_MAX),
            'range_note': 'where the kernel stored the queue limit in 16 bits',
            'somaxconn_max_before_4_1': U16_MAX,
            'syn_backlog_key': 'net.ipv4.tcp_max_syn_backlog',
            # int, proc_dointvec (net/ipv4/sysctl_net_ipv4.c); 0 or less would refuse every SYN
            # once syncookies are off, so the role accepts 1 and up.
            'syn_backlog_range': (1, INT_MAX),
            'persistent_file': '/etc/sysctl.d/90-listener-backlog.conf',
            'runtime_file': '/run/sysctl.d/90-listener-backlog.conf',
            # A container's /proc/sys is mounted read-only: nothing can be set from inside.
            'writable_probe': '/proc/sys/net/core/somaxconn',
            # Set live by writing the knob's file under /proc/sys (what sysctl -w does): no program runs.
            'set_argv': None,
            # Read at boot in this order by systemd-sysctl and `sysctl --system` (sysctl.d(5)): the
            # file name decides across directories, and procps reads /etc/sysctl.conf last.
            'boot_dirs': ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d',
                          '/lib/sysctl.d'),
            'boot_last': '/etc/sysctl.conf',
        },
    },
    'FreeBSD': {
        'name': 'FreeBSD',
        'summary': {
            'platform': 'FreeBSD >= 10.0',
            'knob': '`kern.ipc.soacceptqueue`, then the alias `kern.ipc.somaxconn`',
            'range': '`u_int`, {range} (`UINT_MAX / 3`); 1 ... 65535 up to 10.x',
            'ceiling': 'none needed',
            'minimum': '-',
            'read_with': '`sysctl -n`',
            'source': '`sysctl`',
        },
        'reader': 'sysctl',
        # kern.ipc.soacceptqueue since 10.0; kern.ipc.somaxconn is the same handler
        # (sysctl_somaxconn), hidden by CTLFLAG_SKIP (sys/kern/uipc_socket.c).
        'keys': ('kern.ipc.soacceptqueue', 'kern.ipc.somaxconn'),
        # CTLTYPE_UINT: sysctl(8) prints it unsigned.
        'bounds': (0, U32_MAX),
        # static u_int somaxconn = SOMAXCONN; SOMAXCONN is 128 (sys/sys/socket.h).
        'default': 128,
        # Bounded by the handler only: sysctl_somaxconn() refuses values outside
        # 1..UINT_MAX/3 (1..USHRT_MAX up to 10.x, when so_qlimit was u_short) and the
        # limit lands in a u_int (sol_qlimit, sys/sys/socketvar.h): it always fits.
        'ceiling': None,
        'short_queue': False,
        # solisten_proto(): backlog < 0 || backlog > somaxconn gets somaxconn.
        'listen_rule': 'unsigned',
        'minimum_key': None,
        'tuning': {
            'somaxconn_key': 'kern.ipc.soacceptqueue',
            # sysctl_somaxconn() refuses values outside 1 .. UINT_MAX / 3 (1 .. 65535 up to 10.x).
            'somaxconn_range': (1, U32_MAX // 3),
            'range_note': 'UINT_MAX / 3; 10.x and older refuse more than 65535',
            # How each BSD's sysctl(8) sets a value (as ansible.posix.sysctl runs it: no -w on FreeBSD and OpenBSD).
            'set_argv': ('sysctl', '{key}={value}'),
            'persistent_file': '/etc/sysctl.conf',
            'runtime_file': '/var/run/listener-backlog-sysctl.conf',
        },
        'netstat': (FREEBSD_COMMAND,),
    },


    'Darwin': {
        'name': 'macOS',
        'summary': {
            'platform': 'macOS',
            'knob': '`kern.ipc.somaxconn`',
            'range': '`int`, no bounds',
            'ceiling': '{ceiling} (`short so_qlimit`)',
            'minimum': '-',
            'read_with': '`sysctl -n`',
            'source': '`sysctl`',
        },
        'reader': 'sysctl',
        # SYSCTL_INT(_kern_ipc, KIPC_SOMAXCONN, somaxconn, ...), no handler, no bounds
        # (xnu bsd/kern/uipc_socket.c).
        'keys': ('kern.ipc.somaxconn',),
        'bounds': (INT_MIN, INT_MAX),
        # int somaxconn = SOMAXCONN (128, bsd/sys/socket.h); bsd_scale_setup() raises it
        # to 512 * scale, at most 2048, only in server performance mode (unix_startup.c).
        'default': 128,
        # solisten(): so->so_qlimit = (short)backlog; so_qlimit is a short (bsd/sys/socketvar.h).
        'ceiling': S16_MAX,
        'short_queue': True,
        # solisten(): backlog <= 0 || backlog > somaxconn gets somaxconn.
        'listen_rule': 'darwin',
        'minimum_key': None,
        'tuning': {
            'somaxconn_key': 'kern.ipc.somaxconn',
            # No bounds on the knob, but solisten() stores a short: more than 32767 breaks listen(0).
            'somaxconn_range': (0, S16_MAX),
            'range_note': 'it stores the queue limit in a short',
            'set_argv': ('sysctl', '-w', '{key}={value}'),
            'persistent_file': '/etc/sysctl.conf',
            'runtime_file': '/var/run/listener-backlog-sysctl.conf',
        },
        'netstat': (DARWIN_INET_COMMAND, DARWIN_INET6_COMMAND),
    },


    'OpenBSD': {
        'name': 'OpenBSD',
        'summary': {
            'platform': 'OpenBSD',
            'knob': '`kern.somaxconn`',
            'range': '`int`, {range} (bounded table); any `int` on older releases',
            'ceiling': '{ceiling}',
            'minimum': '`kern.sominconn` (80)',
            'read_with': '`sysctl -n`',
            'source': '`sysctl`',
        },
        'reader': 'sysctl',
        # kern_vars[] in sys/kern/kern_sysctl.c: {KERN_SOMAXCONN, &somaxconn, 0, SHRT_MAX};
        # releases before that bounded table used a plain sysctl_int(): any int.
        'keys': ('kern.somaxconn',),
        'bounds': (INT_MIN, INT_MAX),
        # int somaxconn = SOMAXCONN (128) in sys/kern/uipc_socket.c.
        'default': 128,
        # short so_qlimit (sys/sys/socketvar.h); only an old, unbounded kernel can hold more.
        'ceiling': S16_MAX,
        'short_queue': True,
        # solisten(): backlog < 0 || backlog > somaxconn gets somaxconn, then
        # backlog < sominconn gets sominconn.
        'listen_rule': 'unsigned',
        # {KERN_SOMINCONN, &sominconn, 0, SHRT_MAX}; SOMINCONN 80 (uipc_socket.c).
        'minimum_key': 'kern.sominconn',
        'minimum_bounds': (INT_MIN, INT_MAX),
        'minimum_wins': True,
        'tuning': {
            'somaxconn_key': 'kern.somaxconn',
            # kern_vars[]: {KERN_SOMAXCONN, &somaxconn, 0, SHRT_MAX}.
            'somaxconn_range': (0, S16_MAX),
            'set_argv': ('sysctl', '{key}={value}'),
            'persistent_file': '/etc/sysctl.conf',
            'runtime_file': '/var/run/listener-backlog-sysctl.conf',
        },
    },

    'DragonFly': {
        'name': 'DragonFly',
        'summary': {
            'platform': 'DragonFly',
            'knob': '`kern.ipc.somaxconn`',
            'range': '`int`, no bounds',
            'ceiling': '{ceiling} (`short so_qlimit`)',
            'minimum': '-',
            'read_with': '`sysctl -n`',
            'source': '`sysctl`',
        },
        'reader': 'sysctl',
        # SYSCTL_INT(_kern_ipc, KIPC_SOMAXCONN, somaxconn, CTLFLAG_RW, ...), no bounds
        # (sys/kern/uipc_socket.c).
        'keys': ('kern.ipc.somaxconn',),
        'bounds': (INT_MIN, INT_MAX),
        # static int somaxconn = SOMAXCONN (128).
        'default': 128,
        # short so_qlimit (sys/sys/socketvar.h): 32767, not 65535.
        'ceiling': S16_MAX,
        'short_queue': True,
        # solisten(): backlog < 0 || backlog > somaxconn gets somaxconn.
        'listen_rule': 'unsigned',
        'minimum_key': None,
        'netstat': (FREEBSD_COMMAND,),
    },

    'NetBSD': {
        'name': 'NetBSD',
        'summary': {
            'platform': 'NetBSD',
            'knob': 'none (compiled in)',
            'range': '-',
            'ceiling': '-',
            'minimum': '-',
            'read_with': 'nothing runs',
            'source': '`default`, no warning',
        },
        # No sysctl: `int somaxconn = SOMAXCONN; /* patchable (XXX sysctl) */` and the
        # kern.* nodes of sysctl_kern_socket_setup() do not include it (uipc_socket.c,
        # rev. 1.301).  solisten(): a negative backlog becomes 0, then
        # so_qlimit = uimin(backlog, somaxconn).  The default is the kernel's truth.
        'reader': 'none',
        'keys': (),
        'bounds': None,
        'default': 128,
        'ceiling': None,
        'short_queue': False,
        'listen_rule': 'netbsd',
        'minimum_key': None,
    },
    'SunOS': {
        'name': 'illumos / Solaris',
        'summary': {
            'platform': 'illumos / Solaris',
            'knob': '`_conn_req_max_q` (ndd: `tcp_conn_req_max_q`)',
            'range': '`uint32`, {bounds}',
            'ceiling': '{ceiling} (`listen()` takes an `int`)',
            'minimum': '`_conn_req_min` (1, range 1 ... 1024)',
            'read_with': '`ipadm show-prop -p KEY -co current tcp`, else `ndd -get /dev/tcp tcp...`',
            'source': '`ipadm` / `ndd`',
        },
        # ipadm (Solaris 11, illumos) names the tunable _conn_req_max_q; ndd and older
        # releases tcp_conn_req_max_q.  tcp_propinfo_tbl[] in
        # usr/src/uts/common/inet/tcp/tcp_tunables.c: range {1, UINT32_MAX}, default 128.
        'reader': 'ipadm',
        'keys': ('_conn_req_max_q',),
        'bounds': (1, U32_MAX),
        'default': 128,
        # listen()'s backlog is an int, so no listen() asks for more than INT_MAX.
        'ceiling': INT_MAX,
        'short_queue': False,
        'listen_rule': 'illumos',
        # _conn_req_min {1, 1024, 1}: "the lowest maximum value of listen() an
        # application can use" (Solaris Tunable Parameters Reference Manual).
        # tcp_do_listen() (usr/src/uts/common/inet/tcp/tcp.c) raises the request to it
        # first, then caps at _conn_req_max_q: the maximum is still the largest grant.
        'minimum_key': '_conn_req_min',
        'minimum_bounds': (1, 1024),
        'minimum_wins': False,
    },
    'AIX': {
        'name': 'AIX',
        'summary': {
            'platform': 'AIX',
            'knob': '`somaxconn`',
            'range': '-',
            'ceiling': '-',
            'default': '{default} (unverified lead)',
            'minimum': '-',
            'read_with': '`no -o somaxconn`',
            'source': '`no`',
        },
        # no -o somaxconn prints "somaxconn = 1024" ("Tunable = Value", IBM no(1)).
        'reader': 'no',
        'keys': ('somaxconn',),
        'bounds': (0, INT_MAX),
        # 1024: unverified (docs/platforms.md, AIX); IBM's tunable table was not retrievable to verify.
        'default': 1024,
        'ceiling': None,
        'short_queue': False,
        'listen_rule': None,
        'minimum_key': None,
    },
}


# The view of the readers other than Linux's (its reader is code of its own).
PLATFORMS = dict((system, record) for system, record in RECORDS.items() if system != 'Linux')
# Where the role can tune the limit.
TUNING = dict((system, record['tuning']) for system, record in RECORDS.items() if record.get('tuning'))
# What lists the listeners with their queues where there is no sock_diag.
COMMANDS = dict((system, record['netstat']) for system, record in RECORDS.items() if record.get('netstat'))
