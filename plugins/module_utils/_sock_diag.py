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

UNIX stream and seqpacket listeners come from the same interface with a
``unix_diag_req`` (``include/uapi/linux/unix_diag.h``): for a LISTEN socket the
``UNIX_DIAG_RQLEN`` attribute holds the length of its receive queue, where each
pending connection waits as one skb, and ``sk_max_ack_backlog``
(``sk_diag_show_rqlen`` in ``net/unix/diag.c``).  The kernel refuses a connection
only once the queue is longer than the limit (``unix_recvq_full``), so ``queued``
can be the backlog plus one.

The builders and parsers are pure; ``dump_listeners``, ``dump_unix_listeners``,
``probe_listen_grant`` and ``socket_owners`` touch the host.  Runs on target
Pythons 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10
AF_UNIX = 1
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
# The same, with only what a listener needs: family, state, sport, src, rqueue, wqueue, inode
# (x: bytes skipped: timer, retrans, dport, dst, if, cookie, expires, uid).
INET_DIAG_LISTENER = struct.Struct('=BB2x2s2x16s16x4x8x4xII4xI')
PORT = struct.Struct('>H')
# struct unix_diag_req: family, protocol, pad, states, ino, show, cookie[2]
UNIX_DIAG_REQ = struct.Struct('=BBHIIIII')
# struct unix_diag_msg: family, type, state, pad, ino, cookie[2]; rtattrs follow
UNIX_DIAG_MSG = struct.Struct('=BBBBIII')
# struct rtattr: len (header included), type; payloads padded to 4 bytes
RTATTR = struct.Struct('=HH')
# struct unix_diag_rqlen: rqueue, wqueue
UNIX_DIAG_RQLEN = struct.Struct('=II')
UDIAG_SHOW_NAME = 0x01
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_NAME_ATTR = 0
UNIX_DIAG_RQLEN_ATTR = 4
# Socket types that can listen; the names are those of the module's ``type`` key.
UNIX_TYPES = {1: 'stream', 5: 'seqpacket'}

RECV_BUFFER = 1 << 20
# struct tcp_info starts with 8 bytes of u8 fields, then u32 rto, ato, snd_mss,
# rcv_mss, unacked, sacked ...; for a LISTEN socket unacked is the accept queue
# now and sacked its limit (tcp_get_info in net/ipv4/tcp.c).
TCP_INFO_LISTEN = struct.Struct('=24xII')
TCP_INFO = getattr(socket, 'TCP_INFO', 11)


def _dump_request(body, sequence):
    """A SOCK_DIAG_BY_FAMILY dump request carrying ``body`` (the family's request struct)."""
    header = NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY,
                           NLM_F_REQUEST | NLM_F_DUMP, sequence, 0)
    return header + body


def build_request(family, sequence):
    """One netlink message asking for every TCP LISTEN socket of ``family``."""
    return _dump_request(INET_DIAG_REQ_V2.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN,
                                               0, 0, b'\0' * 16, b'\0' * 16, 0, 0xffffffff, 0xffffffff),
                         sequence)


def build_unix_request(sequence):
    """One netlink message asking for every UNIX LISTEN socket, with its name and queue lengths."""
    return _dump_request(UNIX_DIAG_REQ.pack(AF_UNIX, 0, 0, 1 << TCP_LISTEN, 0,
                                            UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN, 0xffffffff, 0xffffffff),
                         sequence)


class NetlinkError(Exception):
    """A sock_diag answer that cannot be used; ``errno`` is the kernel's error number if it sent one."""

    def __init__(self, message, errno=None):
        super(NetlinkError, self).__init__(message)
        self.errno = errno


def parse_diag_msg(data, offset, end=None):
    """One ``inet_diag_msg`` at ``offset`` (``end``, the message's end, is not needed).

    Returns None for a socket not in LISTEN (the dump asks for those only).
    ``parse_messages`` reads listeners with a faster loop of its own that gives the same.
    """
    family, state, sport, src, rqueue, wqueue, inode = INET_DIAG_LISTENER.unpack_from(data, offset)
    if state != TCP_LISTEN:
        return None
    return {
        'family': 'ipv4' if family == AF_INET else 'ipv6',
        'address': socket.inet_ntop(socket.AF_INET, src[:4]) if family == AF_INET
        else socket.inet_ntop(socket.AF_INET6, src),
        'port': PORT.unpack(sport)[0],
        'backlog': wqueue,
        'queued': rqueue,
        'inode': inode,
    }


def parse_rtattrs(data, offset, end):
    """{type: payload} of the netlink attributes between ``offset`` and ``end``."""
    attributes = {}
    while offset + RTATTR.size <= end:
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size or offset + length > end:
            raise NetlinkError('malformed netlink attribute (length %d)' % length)
        attributes[kind] = data[offset + RTATTR.size:offset + length]
        offset += (length + 3) & ~3
    return attributes


def unix_name(raw):
    """The name of a UNIX socket as ss prints it: a path, or ``@name`` for an abstract one.

    A path ends at its NUL; in an abstract name (leading NUL) every NUL is shown as
    ``@``, as ss does.  Bytes that are not UTF-8 become U+FFFD.  None when unnamed.
    """
    if raw[:1] == b'\0':
        name = b'@' + raw[1:].replace(b'\0', b'@')
    else:
        name = raw.split(b'\0', 1)[0]
    if not name:
        return None
    return name.decode('utf-8', 'replace')


def parse_unix_diag_msg(data, offset, end):
    """One ``unix_diag_msg`` and its attributes; None for a socket the module does not report.

    Reported: stream and seqpacket sockets in LISTEN that have a name.
    """
    _family, kind, state, _pad, inode, _cookie1, _cookie2 = UNIX_DIAG_MSG.unpack_from(data, offset)
    attributes = parse_rtattrs(data, offset + UNIX_DIAG_MSG.size, end)
    if state != TCP_LISTEN or kind not in UNIX_TYPES:
        return None
    name = unix_name(attributes.get(UNIX_DIAG_NAME_ATTR, b''))
    if name is None:
        return None
    rqlen = attributes.get(UNIX_DIAG_RQLEN_ATTR)
    if rqlen is None or len(rqlen) < UNIX_DIAG_RQLEN.size:
        raise NetlinkError('sock_diag answered without UNIX_DIAG_RQLEN for %s' % name)
    queued, backlog = UNIX_DIAG_RQLEN.unpack_from(rqlen, 0)
    return {
        'path': name,
        'type': UNIX_TYPES[kind],
        'backlog': backlog,
        'queued': queued,
        'inode': inode,
    }


# A SOCK_DIAG_BY_FAMILY message of a TCP socket, header and body in one unpack (the fast
# path of parse_messages for listeners: a dump of 10 000 of them is 10 000 messages).  The
# port is read as two bytes (it is in network order, the rest in host order).
_LISTENER_FORMAT = '=IHHII' + 'BB2xBB2x16s16x4x8x4xII4xI'
_LISTENER_WHOLE = struct.Struct(_LISTENER_FORMAT)
# Python 3.4+: the run of messages of one length that opens an answer (all of them but
# NLMSG_DONE, as the kernel sends a dump) is read with iter_unpack, without the per-message
# bounds arithmetic; a Struct per message length, padding included.
_ITER_UNPACK = hasattr(_LISTENER_WHOLE, 'iter_unpack')
_RUN_STRUCTS = {}


class _Addresses(object):
    """Each listener's family name and address text, each address converted once."""

    def __init__(self):
        self.caches = {}

    def cache(self, family):
        """(family name, {source bytes: address text}) of ``family``."""
        found = self.caches.get(family)
        if found is None:
            found = self.caches[family] = ('ipv4' if family == AF_INET else 'ipv6', {})
        return found

    def convert(self, family, src, cache):
        address = cache[src] = socket.inet_ntop(socket.AF_INET if family == AF_INET else socket.AF_INET6,
                                                src[:4] if family == AF_INET else src)
        return address


def _parse_listener_run(data, end, found, addresses):
    """Parse the run of SOCK_DIAG_BY_FAMILY messages of the first message's length; where it ends.

    Returns the offset of the first message not parsed (0 if none was), for the
    message-by-message loop to go on from.
    """
    length, msg_type = NLMSGHDR.unpack_from(data, 0)[:2]
    stride = (length + 3) & ~3
    if msg_type != SOCK_DIAG_BY_FAMILY or length < _LISTENER_WHOLE.size or stride > end:
        return 0
    run = _RUN_STRUCTS.get(stride)
    if run is None:
        run = _RUN_STRUCTS[stride] = struct.Struct(_LISTENER_FORMAT + '%dx' % (stride - _LISTENER_WHOLE.size))
    append = found.append
    offset = 0
    last_family = family_name = cache = None
    for (message_length, message_type, _flags, _seq, _pid, family, state, port_high, port_low, src, rqueue,
         wqueue, inode) in run.iter_unpack(memoryview(data)[:end - end % stride]):
        if message_length != length or message_type != SOCK_DIAG_BY_FAMILY:
            break
        offset += stride
        if state != TCP_LISTEN:
            continue
        if family != last_family:
            last_family = family
            family_name, cache = addresses.cache(family)
        address = cache.get(src)
        if address is None:
            address = addresses.convert(family, src, cache)
        append({'family': family_name, 'address': address, 'port': port_high << 8 | port_low,
                'backlog': wqueue, 'queued': rqueue, 'inode': inode})
    return offset


def _parse_listener_messages(data):
    """parse_messages for parse_diag_msg, message by message with one unpack each."""
    found = []
    append = found.append
    offset = 0
    end = len(data)
    whole, whole_size = _LISTENER_WHOLE.unpack_from, _LISTENER_WHOLE.size
    addresses = _Addresses()
    if _ITER_UNPACK and end >= whole_size:
        offset = _parse_listener_run(data, end, found, addresses)
    last_family = family_name = cache = None
    while offset + NLMSGHDR.size <= end:
        if offset + whole_size <= end:
            (length, msg_type, _flags, _seq, _pid, family, state, port_high, port_low, src, rqueue, wqueue,
             inode) = whole(data, offset)
        else:
            length, msg_type, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > end:
            raise NetlinkError('malformed netlink message (length %d)' % length)
        if msg_type == SOCK_DIAG_BY_FAMILY:
            if length < whole_size:
                raise NetlinkError('short sock_diag message (length %d)' % length)
            if state == TCP_LISTEN:
                if family != last_family:
                    last_family = family
                    family_name, cache = addresses.cache(family)
                address = cache.get(src)
                if address is None:
                    address = addresses.convert(family, src, cache)
                append({'family': family_name, 'address': address, 'port': port_high << 8 | port_low,
                        'backlog': wqueue, 'queued': rqueue, 'inode': inode})
        elif msg_type == NLMSG_DONE:
            return found, True
        elif msg_type == NLMSG_ERROR:
            code = struct.unpack_from('=i', data, offset + NLMSGHDR.size)[0]
            raise NetlinkError('sock_diag answered error %d (%s)' % (-code, os.strerror(-code)), -code)
        offset += (length + 3) & ~3
    return found, False


def parse_messages(data, parse_one=parse_diag_msg):
    """Parse one recv() worth of netlink messages.

    ``parse_one(data, offset, end)`` turns the body of each SOCK_DIAG_BY_FAMILY
    message into a dict, or None to leave it out; the default reads TCP listeners
    (dicts with family, address, port, backlog, queued, state, inode).
    Returns (found, done): done once NLMSG_DONE is seen.
    """
    if parse_one is parse_diag_msg:
        return _parse_listener_messages(data)
    found = []
    offset = 0
    end = len(data)
    while offset + NLMSGHDR.size <= end:
        length, msg_type, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > end:
            raise NetlinkError('malformed netlink message (length %d)' % length)
        if msg_type == NLMSG_DONE:
            return found, True
        if msg_type == NLMSG_ERROR:
            code = struct.unpack_from('=i', data, offset + NLMSGHDR.size)[0]
            raise NetlinkError('sock_diag answered error %d (%s)' % (-code, os.strerror(-code)), -code)
        if msg_type == SOCK_DIAG_BY_FAMILY:
            item = parse_one(data, offset + NLMSGHDR.size, offset + length)
            if item is not None:
                found.append(item)
        offset += (length + 3) & ~3
    return found, False


def _dump(requests, parse_one):
    """Send each dump request in turn on one sock_diag socket; every item parsed, in order."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    try:
        items = []
        for request in requests:
            sock.send(request)
            done = False
            while not done:
                data = sock.recv(RECV_BUFFER)
                if not data:
                    raise NetlinkError('sock_diag ended the dump without NLMSG_DONE')
                found, done = parse_messages(data, parse_one)
                items.extend(found)
        return items
    finally:
        sock.close()


def dump_listeners():
    """Every TCP listener of the calling process's network namespace, IPv4 then IPv6."""
    return _dump([build_request(family, sequence) for sequence, family in enumerate((AF_INET, AF_INET6), 1)],
                 parse_diag_msg)


def dump_unix_listeners():
    """Every named UNIX stream or seqpacket listener of the calling process's network namespace.

    UNIX sockets belong to the network namespace of the process that made them,
    whatever their path; the dump shows that namespace's only.
    """
    return _dump([build_unix_request(1)], parse_unix_diag_msg)


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


# Python 3.3 and later read a link relative to a directory descriptor: one path lookup per
# process instead of one per descriptor, which is most of the walk's cost with many sockets.
_READLINK_AT = os.readlink in getattr(os, 'supports_dir_fd', ()) and os.listdir in getattr(os, 'supports_fd', ())


def _fd_links(fd_dir):
    """The link targets of every descriptor in ``fd_dir`` (``/proc/PID/fd``); [] if it is unreadable."""
    if _READLINK_AT:
        try:
            directory = os.open(fd_dir, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
        except OSError:
            return
        try:
            for fd in os.listdir(directory):
                try:
                    yield os.readlink(fd, dir_fd=directory)
                except OSError:
                    continue
        finally:
            os.close(directory)
        return
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return
    for fd in fds:
        try:
            yield os.readlink('%s/%s' % (fd_dir, fd))
        except OSError:
            continue


def socket_owners(wanted, proc_root='/proc', pids=None):
    """Map each socket inode in ``wanted`` to (pid, process name), where visible.

    Walks ``/proc/PID/fd`` (as ss -p does) in pid order and stops once every
    wanted inode is found; entries of other users' processes are unreadable to
    an unprivileged user and are skipped, so their sockets show no owner.
    The lowest pid wins, which names the parent of forked workers.  Socket
    inodes are unique across network namespaces, so one walk serves them all;
    ``pids`` (sorted) spares listing /proc again when the caller already did.
    Each link is matched as text (``socket:[inode]``), not parsed.
    """
    owners = {}
    missing = dict(('socket:[%d]' % inode, inode) for inode in wanted)
    if pids is None:
        try:
            pids = sorted(int(name) for name in os.listdir(proc_root) if name.isdigit())
        except OSError:
            return owners
    for pid in pids:
        if not missing:
            break
        name = None
        for target in _fd_links('%s/%d/fd' % (proc_root, pid)):
            inode = missing.pop(target, None)
            if inode is None:
                continue
            if name is None:
                name = _process_name(proc_root, pid)
            owners[inode] = (pid, name)
    return owners


def _process_name(proc_root, pid):
    try:
        with open('%s/%d/comm' % (proc_root, pid)) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


# One owner in ss -p output: ("name",pid=123,fd=4), or ("name",123,4) from ss
# before iproute2 3.15; the name may hold commas.
SS_OWNER = re.compile(r'\("(.*?)",(?:pid=)?(\d+),(?:fd=)?\d+\)')


def parse_ss_owner(text):
    """(pid, process) of the lowest pid in an ss ``users:((...))`` column, or (None, None).

    ss lists a socket's holders newest process first; the lowest pid is the
    one ``socket_owners`` names too (the parent of forked workers).
    """
    owners = [(int(pid), name) for name, pid in SS_OWNER.findall(text or '')]
    if not owners:
        return None, None
    return min(owners)


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
        pid, process = parse_ss_owner(' '.join(fields[5:]))
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


SS_UNIX_NETIDS = {'u_str': 'stream', 'u_seq': 'seqpacket'}


def parse_ss_unix_listeners(text):
    """Parse ``ss -lxp`` (with or without ``-H``): the fall-back source for UNIX listeners.

    Lines: ``u_str LISTEN 0 4096 /run/php/php8.2-fpm.sock 12345 * 0 users:(("php-fpm8.2",pid=1,fd=8))``;
    Recv-Q is the queue now and Send-Q its limit.  A path may hold spaces, so the
    columns after it (inode, peer, peer inode) are taken from the right.  ``-l``
    also lists unconnected sockets (UNCONN), which are left out, as are the
    unnamed (``*``) and datagram ones.  ss prints 0 for both queues when it could
    not ask sock_diag itself and read ``/proc/net/unix`` instead.
    """
    listeners = []
    for line in (text or '').splitlines():
        main, _sep, owner = line.partition(' users:(')
        head = main.split(None, 4)
        if len(head) < 5 or head[0] not in SS_UNIX_NETIDS or head[1] != 'LISTEN':
            continue
        tail = head[4].rsplit(None, 3)
        if len(tail) < 4 or tail[0] == '*':
            continue
        pid, process = parse_ss_owner(owner)
        listeners.append({
            'path': tail[0],
            'type': SS_UNIX_NETIDS[head[0]],
            'backlog': int(head[3]),
            'queued': int(head[2]),
            'pid': pid,
            'process': process,
        })
    return listeners
