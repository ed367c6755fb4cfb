# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Linux listening sockets and their backlogs, straight from the kernel.

The ``sock_diag`` netlink interface (``NETLINK_SOCK_DIAG``, message
``SOCK_DIAG_BY_FAMILY`` with an ``inet_diag_req_v2``) is what ``ss`` uses; asking
it directly needs no program, so it works on minimal images and costs one
round trip per address family.  For a LISTEN socket the kernel fills
``idiag_rqueue`` with the current accept queue and ``idiag_wqueue`` with its
limit (``tcp_diag_get_info`` in ``net/ipv4/tcp_diag.c``).  Layouts follow
``include/uapi/linux/inet_diag.h`` and ``include/uapi/linux/netlink.h``.

The builders and parsers are pure; ``dump_listeners``, ``probe_listen_grant`` and
``socket_owners`` touch the host.  Runs on target Pythons 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10
AF_INET = 2
AF_INET6 = 10

# struct nlmsghdr: len, type, flags, seq, pid
NLMSGHDR = struct.Struct('=IHHII')
# struct inet_diag_req_v2: family, protocol, ext, pad, states, then inet_diag_sockid:
# sport, dport, src[4], dst[4], if, cookie[2] (ports and addresses in network order;
# a dump request leaves them 0)
INET_DIAG_REQ_V2 = struct.Struct('=BBBBIHH16s16sIII')
# struct inet_diag_msg: family, state, timer, retrans, sockid, expires, rqueue, wqueue, uid, inode
INET_DIAG_MSG = struct.Struct('=BBBB2s2s16s16sIIIIIIII')

RECV_BUFFER = 1 << 20
# struct tcp_info starts with 8 bytes of u8 fields, then u32 rto, ato, snd_mss,
# rcv_mss, unacked, sacked ...; for a LISTEN socket unacked is the accept queue
# now and sacked its limit (tcp_get_info in net/ipv4/tcp.c).
TCP_INFO_LISTEN = struct.Struct('=24xII')
TCP_INFO = getattr(socket, 'TCP_INFO', 11)


def build_request(family, sequence):
    """One netlink message asking for every TCP LISTEN socket of ``family``."""
    body = INET_DIAG_REQ_V2.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN,
                                 0, 0, b'\0' * 16, b'\0' * 16, 0, 0xffffffff, 0xffffffff)
    header = NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY,
                           NLM_F_REQUEST | NLM_F_DUMP, sequence, 0)
    return header + body


class NetlinkError(Exception):
    pass


def parse_messages(data):
    """Parse one recv() worth of netlink messages.

    Returns (listeners, done): listeners as dicts with family, address, port,
    backlog, queued, inode; done once NLMSG_DONE is seen.
    """
    listeners = []
    offset = 0
    end = len(data)
    while offset + NLMSGHDR.size <= end:
        length, msg_type, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size:
            raise NetlinkError('malformed netlink message (length %d)' % length)
        if msg_type == NLMSG_DONE:
            return listeners, True
        if msg_type == NLMSG_ERROR:
            code = struct.unpack_from('=i', data, offset + NLMSGHDR.size)[0]
            raise NetlinkError('sock_diag answered error %d (%s)' % (-code, os.strerror(-code)))
        if msg_type == SOCK_DIAG_BY_FAMILY:
            listeners.append(parse_diag_msg(data, offset + NLMSGHDR.size))
        offset += (length + 3) & ~3
    return listeners, False


def parse_diag_msg(data, offset):
    (family, state, _timer, _retrans, sport, _dport, src, _dst, _ifindex, _cookie1, _cookie2,
     _expires, rqueue, wqueue, _uid, inode) = INET_DIAG_MSG.unpack_from(data, offset)
    if family == AF_INET:
        address = socket.inet_ntop(socket.AF_INET, src[:4])
    else:
        address = socket.inet_ntop(socket.AF_INET6, src)
    return {
        'family': 'ipv4' if family == AF_INET else 'ipv6',
        'address': address,
        'port': struct.unpack('>H', sport)[0],
        'backlog': wqueue,
        'queued': rqueue,
        'state': state,
        'inode': inode,
    }


def dump_listeners():
    """Every TCP listener of the calling process's network namespace, IPv4 then IPv6."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    try:
        listeners = []
        for sequence, family in enumerate((AF_INET, AF_INET6), 1):
            sock.send(build_request(family, sequence))
            done = False
            while not done:
                found, done = parse_messages(sock.recv(RECV_BUFFER))
                listeners.extend(found)
        return listeners
    finally:
        sock.close()


def parse_tcp_info_listen(data):
    """(queued, limit) from the TCP_INFO of a LISTEN socket."""
    return TCP_INFO_LISTEN.unpack_from(data, 0)


def probe_listen_grant(request):
    """listen(request) on a fresh loopback socket and return the limit the kernel set.

    Binds 127.0.0.1 port 0 (works even with ``lo`` down) and closes at once;
    no packet is sent.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        sock.listen(request)
        data = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
        return parse_tcp_info_listen(data)[1]
    finally:
        sock.close()


def socket_owners(wanted, proc_root='/proc'):
    """Map each socket inode in ``wanted`` to (pid, process name), where visible.

    Walks ``/proc/PID/fd`` (as ss -p does) in pid order and stops once every
    wanted inode is found; entries of other users' processes are unreadable to
    an unprivileged user and are skipped, so their sockets show no owner.
    The lowest pid wins, which names the parent of forked workers.
    """
    owners = {}
    missing = set(wanted)
    try:
        pids = sorted(int(name) for name in os.listdir(proc_root) if name.isdigit())
    except OSError:
        return owners
    for pid in pids:
        if not missing:
            break
        fd_dir = '%s/%d/fd' % (proc_root, pid)
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        name = None
        for fd in fds:
            try:
                target = os.readlink('%s/%s' % (fd_dir, fd))
            except OSError:
                continue
            if not target.startswith('socket:['):
                continue
            inode = int(target[8:-1])
            if inode not in missing:
                continue
            if name is None:
                name = _process_name(proc_root, pid)
            owners[inode] = (pid, name)
            missing.discard(inode)
    return owners


def _process_name(proc_root, pid):
    try:
        with open('%s/%d/comm' % (proc_root, pid)) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def parse_ss_listeners(text):
    """Parse ``ss -ltnH`` (optionally with ``-p``) output: the fall-back source.

    Lines: ``LISTEN 0 4096 127.0.0.1:631 0.0.0.0:* users:(("cupsd",pid=1,fd=7))``;
    for a LISTEN socket Recv-Q is the queue now and Send-Q its limit.
    """
    listeners = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] != 'LISTEN':
            continue
        local = fields[3]
        address, _sep, port = local.rpartition(':')
        address = address.strip('[]')
        if '%' in address:
            address = address.split('%', 1)[0]
        if address == '*':
            address = '0.0.0.0'
        pid = process = None
        rest = ' '.join(fields[5:])
        if 'users:((' in rest:
            owner = rest.split('users:((', 1)[1].split(')', 1)[0]
            parts = owner.split(',')
            process = parts[0].strip('"')
            for part in parts[1:]:
                if part.startswith('pid='):
                    pid = int(part[4:])
                    break
        listeners.append({
            'family': 'ipv6' if ':' in address else 'ipv4',
            'address': address,
            'port': int(port),
            'backlog': int(fields[2]),
            'queued': int(fields[1]),
            'pid': pid,
            'process': process,
        })
    return listeners
