# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sock_diag netlink and ss parsing against answers recorded from Linux 6.18.

The recording (fixtures/linux/6.18, SOURCES.yml) holds three listeners opened in
a fresh network namespace with somaxconn 1000: 127.0.0.1:8080 listen(511) with one
connection queued, [::1]:6379 listen(2**31-1) and 0.0.0.0:22 listen(128).

The UNIX recording (unix-diag.hex, unix-ss-lxp.txt) was made in another such
namespace: five UNIX listeners (stream and seqpacket, paths and abstract names, one
path with a space, one listen(1) holding two connections), a bound datagram socket
and an unbound stream socket.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import functools
import os
import struct

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _sock_diag as sock_diag

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'linux', '6.18')


def recorded_chunks(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return [binascii.unhexlify(line.strip()) for line in handle if line.strip()]


def parse_all(name, parse_one=sock_diag.parse_diag_msg):
    listeners = []
    done = False
    for chunk in recorded_chunks(name):
        found, done = sock_diag.parse_messages(chunk, parse_one)
        listeners.extend(found)
    return listeners, done


def recorded_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_recorded_ipv4_dump_gives_backlog_and_queue_of_each_listener():
    listeners, done = parse_all('sock-diag-ipv4.hex')
    assert done
    by_port = dict((item['port'], item) for item in listeners)
    assert sorted(by_port) == [22, 8080]
    assert (by_port[8080]['address'], by_port[8080]['backlog'], by_port[8080]['queued']) == ('127.0.0.1', 511, 1)
    assert (by_port[22]['address'], by_port[22]['backlog'], by_port[22]['queued']) == ('0.0.0.0', 128, 0)
    assert all(item['family'] == 'ipv4' and 'state' not in item for item in listeners)


def test_a_socket_not_in_listen_is_left_out():
    # AF_INET 2 (include/linux/socket.h); states 1 TCP_ESTABLISHED, 10 TCP_LISTEN (include/net/tcp_states.h).
    body = sock_diag.INET_DIAG_MSG.pack(2, 1, 0, 0, b'\0\x50', b'\0\0', b'\x7f\0\0\x01' + b'\0' * 12,
                                        b'\0' * 16, 0, 0, 0, 0, 0, 5, 0, 42)
    assert sock_diag.parse_diag_msg(body, 0) is None
    listening = body[:1] + struct.pack('B', 10) + body[2:]
    assert sock_diag.parse_diag_msg(listening, 0) == {'family': 'ipv4', 'address': '127.0.0.1', 'port': 80,
                                                      'backlog': 5, 'queued': 0, 'inode': 42}


def test_recorded_ipv6_dump_shows_the_request_clamped_to_somaxconn():
    listeners, done = parse_all('sock-diag-ipv6.hex')
    assert done
    assert [(item['address'], item['port'], item['backlog'], item['family']) for item in listeners] == \
        [('::1', 6379, 1000, 'ipv6')]


def test_request_asks_for_a_dump_of_tcp_listeners_only():
    # The kernel's numbers, not the module's: SOCK_DIAG_BY_FAMILY 20 (include/uapi/linux/sock_diag.h),
    # NLM_F_REQUEST 0x01 | NLM_F_DUMP 0x300 (include/uapi/linux/netlink.h), AF_INET6 10
    # (include/linux/socket.h), IPPROTO_TCP 6, TCP_LISTEN 10 (include/net/tcp_states.h).
    message = sock_diag.build_request(10, 7)
    length, msg_type, flags, sequence, _pid = sock_diag.NLMSGHDR.unpack_from(message)
    assert length == len(message) == 16 + 56
    assert (msg_type, flags, sequence) == (20, 0x01 | 0x300, 7)
    family, protocol, _ext, _pad, states = struct.unpack_from('=BBBBI', message, 16)
    assert (family, protocol, states) == (10, 6, 1 << 10)


def test_netlink_error_message_is_raised_with_its_reason():
    body = struct.pack('=i', -95) + b'\0' * 16
    message = sock_diag.NLMSGHDR.pack(16 + len(body), 2, 0, 1, 0) + body  # NLMSG_ERROR (linux/netlink.h)
    with pytest.raises(sock_diag.NetlinkError, match='error 95'):
        sock_diag.parse_messages(message)


def test_truncated_header_length_is_rejected():
    with pytest.raises(sock_diag.NetlinkError, match='malformed'):
        sock_diag.parse_messages(sock_diag.NLMSGHDR.pack(4, 20, 0, 1, 0))


def test_tcp_info_of_a_listener_gives_queue_and_limit():
    data = struct.pack('=8B6I', 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 100) + b'\0' * 80
    assert sock_diag.parse_tcp_info_listen(data) == (3, 100)


def test_recorded_ss_output_parses_like_the_netlink_dump():
    with open(os.path.join(FIXTURES, 'ss-ltnp.txt')) as handle:
        listeners = sock_diag.parse_ss_listeners(handle.read())
    assert [(item['address'], item['port'], item['backlog'], item['queued'], item['process'])
            for item in listeners] == [('0.0.0.0', 22, 128, 0, 'python'),
                                       ('127.0.0.1', 8080, 511, 1, 'python'),
                                       ('::1', 6379, 1000, 0, 'python')]
    assert all(isinstance(item['pid'], int) for item in listeners)


@pytest.mark.parametrize('line, address', [
    ('LISTEN 0 4096 *:80 *:*', '0.0.0.0'),
    ('LISTEN 0 4096 [::ffff:127.0.0.1]:80 *:*', '::ffff:127.0.0.1'),
    ('LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*', '127.0.0.53'),
])
def test_ss_address_forms(line, address):
    assert sock_diag.parse_ss_listeners(line)[0]['address'] == address


def test_ss_owner_is_the_lowest_pid_as_socket_owners_names_it():
    # ss lists the newest holder first (user_ent_add prepends); a forked server's parent has the lowest pid.
    text = 'users:(("nginx",pid=1202,fd=6),("nginx",pid=1201,fd=6),("nginx",pid=1200,fd=6))'
    assert sock_diag.parse_ss_owner(text) == (1200, 'nginx')
    assert sock_diag.parse_ss_listeners('LISTEN 0 511 0.0.0.0:80 0.0.0.0:* ' + text)[0]['pid'] == 1200


@pytest.mark.parametrize('text, owner', [
    ('users:(("a,b",pid=7,fd=3))', (7, 'a,b')),
    ('users:(("sshd",812,3))', (812, 'sshd')),  # ss before iproute2 3.15
    ('', (None, None)),
])
def test_ss_owner_forms(text, owner):
    assert sock_diag.parse_ss_owner(text) == owner


# -- UNIX listeners ------------------------------------------------------------------

RECORDED_UNIX = [
    # (path, type, backlog, queued)
    ('/tmp/nbt-unix-rec/php-fpm.sock', 'stream', 50, 1),
    ('/tmp/nbt-unix-rec/mariadb.sock', 'seqpacket', 1, 2),
    ('/tmp/nbt-unix-rec/with space.sock', 'stream', 7, 0),
    ('@nbt@nul', 'stream', 3, 0),
    ('@nbt-test', 'stream', 1000, 0),
]


def test_recorded_unix_dump_gives_name_type_backlog_and_queue_of_each_listener():
    listeners, done = parse_all('unix-diag.hex', sock_diag.parse_unix_diag_msg)
    assert done
    assert [(item['path'], item['type'], item['backlog'], item['queued']) for item in listeners] == RECORDED_UNIX
    # listen(2**31-1) clamped to the namespace's somaxconn; a listen(1) queue holds two.
    assert all(isinstance(item['inode'], int) and item['inode'] > 0 for item in listeners)
    assert len(set(item['inode'] for item in listeners)) == len(listeners)


def test_recorded_unix_ss_output_is_the_netlink_dump():
    listeners = sock_diag.parse_ss_unix_listeners(recorded_text('unix-ss-lxp.txt'))
    # ss orders by its own walk; the dump's order is the kernel's hash order.
    assert sorted((item['path'], item['type'], item['backlog'], item['queued']) for item in listeners) == \
        sorted(RECORDED_UNIX)
    assert set((item['pid'], item['process']) for item in listeners) == set([(5223, 'python3')])


def test_recorded_unix_ss_inodes_are_those_of_the_dump():
    dumped, _done = parse_all('unix-diag.hex', sock_diag.parse_unix_diag_msg)
    by_path = dict((item['path'], item['inode']) for item in dumped)
    shown = {}
    for line in recorded_text('unix-ss-lxp.txt').splitlines():
        main = line.partition(' users:(')[0]
        path, inode = main.split(None, 4)[4].rsplit(None, 3)[:2]
        shown[path] = int(inode)
    # The same sockets: ss's Port column of a UNIX socket is its inode.
    assert dict((path, shown[path]) for path in by_path) == by_path


def test_unix_request_asks_for_a_dump_of_listeners_with_name_and_queue_lengths():
    message = sock_diag.build_unix_request(3)
    length, msg_type, flags, sequence, _pid = sock_diag.NLMSGHDR.unpack_from(message)
    assert length == len(message) == 16 + 24
    assert (msg_type, flags, sequence) == (20, 0x01 | 0x300, 3)
    assert struct.unpack_from('=BBHIIIII', message, 16) == (1, 0, 0, 1 << 10, 0, 0x01 | 0x10, 0xffffffff, 0xffffffff)


def unix_message(kind=1, state=10, inode=42, name=None, rqlen=(0, 128), extra=b''):
    """A SOCK_DIAG_BY_FAMILY message as net/unix/diag.c sk_diag_fill() lays it out."""
    def attribute(kind, payload):
        padded = payload + b'\0' * (-len(payload) % 4)
        return struct.pack('=HH', 4 + len(payload), kind) + padded
    body = struct.pack('=BBBBIII', 1, kind, state, 0, inode, 1, 2)
    if name is not None:
        body += attribute(0, name)
    if rqlen is not None:
        body += attribute(4, struct.pack('=II', *rqlen))
    body += attribute(6, b'\0') + extra
    return sock_diag.NLMSGHDR.pack(16 + len(body), 20, 2, 1, 0) + body


def parse_unix(message):
    return sock_diag.parse_messages(message, sock_diag.parse_unix_diag_msg)[0]


def test_unix_message_of_a_path_listener():
    found = parse_unix(unix_message(name=b'/run/php/php8.2-fpm.sock\0', rqlen=(3, 511), inode=77))
    assert found == [{'path': '/run/php/php8.2-fpm.sock', 'type': 'stream', 'backlog': 511, 'queued': 3,
                      'inode': 77}]


@pytest.mark.parametrize('kind, state, name', [
    (1, 10, None),            # no name: left out
    (1, 10, b''),             # empty name: left out
    (2, 10, b'/run/x\0'),     # datagram
    (1, 1, b'/run/x\0'),      # not listening (TCP_ESTABLISHED)
])
def test_unix_messages_the_module_does_not_report(kind, state, name):
    assert parse_unix(unix_message(kind=kind, state=state, name=name)) == []


def test_unix_seqpacket_listener_is_reported_with_its_type():
    assert parse_unix(unix_message(kind=5, name=b'/run/mysqld/mysqld.sock\0'))[0]['type'] == 'seqpacket'


@pytest.mark.parametrize('raw, name', [
    (b'/run/a.sock\0', '/run/a.sock'),
    (b'/run/a.sock', '/run/a.sock'),
    (b'\0nbt-test', '@nbt-test'),
    (b'\0pad\0\0', '@pad@@'),          # as ss shows a name bound with its padding
    (b'/run/caf\xc3\xa9.sock\0', u'/run/caf\xe9.sock'),
    (b'/run/\xff.sock\0', u'/run/\ufffd.sock'),
    (b'', None),
    (b'\0', '@'),
])
def test_unix_name_forms(raw, name):
    assert sock_diag.unix_name(raw) == name


def test_unix_message_without_queue_lengths_is_an_error():
    with pytest.raises(sock_diag.NetlinkError, match='UNIX_DIAG_RQLEN for /run/x'):
        parse_unix(unix_message(name=b'/run/x\0', rqlen=None))


def test_unix_attribute_running_past_its_message_is_rejected():
    with pytest.raises(sock_diag.NetlinkError, match='malformed netlink attribute'):
        parse_unix(unix_message(name=b'/run/x\0', extra=struct.pack('=HH', 64, 9)))


def test_message_running_past_the_data_is_rejected():
    message = unix_message(name=b'/run/x\0')
    with pytest.raises(sock_diag.NetlinkError, match='malformed'):
        sock_diag.parse_messages(message[:-4], sock_diag.parse_unix_diag_msg)


def test_netlink_error_keeps_the_kernel_errno():
    body = struct.pack('=i', -2) + b'\0' * 16
    message = sock_diag.NLMSGHDR.pack(16 + len(body), 2, 0, 1, 0) + body  # NLMSG_ERROR (linux/netlink.h)
    with pytest.raises(sock_diag.NetlinkError) as raised:
        sock_diag.parse_messages(message, sock_diag.parse_unix_diag_msg)
    assert raised.value.errno == 2 and 'error 2' in str(raised.value)


@pytest.mark.parametrize('line, expected', [
    ('u_str LISTEN 0 4096 /run/php/php8.2-fpm.sock 12345 * 0 users:(("php-fpm8.2",pid=1,fd=8))',
     ('/run/php/php8.2-fpm.sock', 'stream', 4096, 0, 1, 'php-fpm8.2')),
    ('u_seq LISTEN 2 1 /run/s 9 * 0', ('/run/s', 'seqpacket', 1, 2, None, None)),
    ('u_str  LISTEN  0  80   /run/two  spaces.sock  123   *  0   ', ('/run/two  spaces.sock', 'stream', 80, 0, None, None)),
])
def test_ss_unix_line_forms(line, expected):
    item = sock_diag.parse_ss_unix_listeners(line)[0]
    assert (item['path'], item['type'], item['backlog'], item['queued'], item['pid'], item['process']) == expected


@pytest.mark.parametrize('line', [
    'Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
    'u_dgr UNCONN 0 0 /run/systemd/notify 1 * 0',
    'u_str UNCONN 0 0 * 2 * 0',
    'u_str LISTEN 0 5 * 3 * 0',
    'u_str ESTAB 0 0 /run/x 4 * 5',
    '',
])
def test_ss_unix_lines_that_are_not_named_listeners(line):
    assert sock_diag.parse_ss_unix_listeners(line) == []


@pytest.mark.parametrize('name', ['sock-diag-ipv4.hex', 'sock-diag-ipv6.hex'])
def test_the_fast_listener_loop_gives_what_the_message_by_message_parse_gives(name):
    fast, fast_done = parse_all(name)
    # Any parse_one other than parse_diag_msg itself takes the message-by-message loop.
    generic, generic_done = parse_all(name, functools.partial(sock_diag.parse_diag_msg))
    assert (fast, fast_done) == (generic, generic_done) and fast


def fake_proc(root, processes):
    """A /proc holding ``{pid: (comm, {fd: link target})}``; a comm of None leaves the fd directory out."""
    for pid, (comm, links) in processes.items():
        directory = root / str(pid)
        directory.mkdir()
        (directory / 'comm').write_text(u'%s\n' % comm)
        if links is None:
            continue
        (directory / 'fd').mkdir()
        for fd, target in links.items():
            os.symlink(target, str(directory / 'fd' / str(fd)))
    return str(root)


def test_owner_walk_names_the_lowest_pid_and_stops_once_every_socket_has_one(tmp_path, monkeypatch):
    # pid 7 is a parent holding both listeners; 12 is a forked worker holding one of them; 30
    # (walked only if the walk went on) holds the other too, and 40 holds nothing wanted.
    proc = fake_proc(tmp_path, {
        3: ('kthreadd', None),
        7: ('nginx', {0: '/dev/null', 3: 'socket:[1001]', 4: 'pipe:[5]', 6: 'socket:[1002]'}),
        12: ('nginx', {5: 'socket:[1001]'}),
        30: ('sshd', {3: 'socket:[1002]', 4: 'socket:[1003]'}),
        40: ('bash', {0: '/dev/pts/0'}),
    })
    walked = []
    fd_links = sock_diag._fd_links

    def recording(fd_dir):
        walked.append(fd_dir)
        return fd_links(fd_dir)

    monkeypatch.setattr(sock_diag, '_fd_links', recording)
    assert sock_diag.socket_owners(set([1001, 1002]), proc_root=proc) == {1001: (7, 'nginx'), 1002: (7, 'nginx')}
    assert walked == ['%s/3/fd' % proc, '%s/7/fd' % proc]

    del walked[:]
    # 1003 only pid 30 holds: the walk reads every process up to it, and a socket no one
    # holds (1004) makes it read them all and leaves that one out.
    owners = sock_diag.socket_owners(set([1002, 1003, 1004]), proc_root=proc)
    assert owners == {1002: (7, 'nginx'), 1003: (30, 'sshd')}
    assert walked == ['%s/%d/fd' % (proc, pid) for pid in (3, 7, 12, 30, 40)]


def test_owner_walk_follows_the_pids_it_is_given_and_wants_nothing_for_nothing(tmp_path):
    proc = fake_proc(tmp_path, {
        7: ('nginx', {3: 'socket:[1001]'}),
        12: ('worker', {5: 'socket:[1001]'}),
    })
    assert sock_diag.socket_owners(set([1001]), proc_root=proc, pids=[12]) == {1001: (12, 'worker')}
    assert sock_diag.socket_owners(set(), proc_root=proc) == {}
    assert sock_diag.socket_owners(set([1001]), proc_root=str(tmp_path / 'no-such-proc')) == {}


def listener_message(family, address, port, inode, state=sock_diag.TCP_LISTEN, attributes=b''):
    body = sock_diag.INET_DIAG_MSG.pack(family, state, 0, 0, struct.pack('>H', port), b'\0\0',
                                        address.ljust(16, b'\0'), b'\0' * 16, 0, 0, 0, 0, 1, 511, 0, inode)
    body += attributes
    return sock_diag.NLMSGHDR.pack(sock_diag.NLMSGHDR.size + len(body), sock_diag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


def test_the_fast_listener_loop_on_both_families_and_every_port_byte_in_one_answer():
    loopback6 = b'\0' * 15 + b'\1'
    data = b''.join([listener_message(sock_diag.AF_INET, b'\x7f\0\0\1', 65535, 1),
                     listener_message(sock_diag.AF_INET6, loopback6, 256, 2),
                     listener_message(sock_diag.AF_INET, b'\x7f\0\0\1', 1, 3),
                     # The same 16 bytes as an IPv4 source and as an IPv6 one are two addresses.
                     listener_message(sock_diag.AF_INET6, b'\x7f\0\0\1', 255, 4)])
    fast = sock_diag.parse_messages(data)
    assert fast == sock_diag.parse_messages(data, functools.partial(sock_diag.parse_diag_msg))
    assert [(item['family'], item['address'], item['port']) for item in fast[0]] == [
        ('ipv4', '127.0.0.1', 65535), ('ipv6', '::1', 256), ('ipv4', '127.0.0.1', 1), ('ipv6', '7f00:1::', 255)]


def test_the_fast_listener_loop_where_the_messages_change_length_or_are_not_listeners():
    # The kernel sends a dump's messages at one length; a message with another attribute, one not
    # in LISTEN, a padded length and the closing NLMSG_DONE are all read as message by message.
    shutdown = sock_diag.RTATTR.pack(5, 8) + b'\0\0\0\0'
    done = sock_diag.NLMSGHDR.pack(20, sock_diag.NLMSG_DONE, 2, 1, 0) + b'\0' * 4
    data = b''.join([listener_message(sock_diag.AF_INET, b'\x7f\0\0\1', 80, 1, attributes=shutdown),
                     listener_message(sock_diag.AF_INET, b'\x7f\0\0\2', 81, 2, attributes=shutdown),
                     listener_message(sock_diag.AF_INET, b'\x7f\0\0\3', 82, 3, state=1, attributes=shutdown),
                     listener_message(sock_diag.AF_INET, b'\x7f\0\0\4', 83, 4),
                     listener_message(sock_diag.AF_INET, b'\x7f\0\0\5', 84, 5, attributes=shutdown),
                     done])
    fast = sock_diag.parse_messages(data)
    assert fast == sock_diag.parse_messages(data, functools.partial(sock_diag.parse_diag_msg))
    assert fast[1] and [item['inode'] for item in fast[0]] == [1, 2, 4, 5]
    # A message running past the answer is refused wherever it is.
    for cut in (len(data) - 30, len(data) - len(done) - 10):
        with pytest.raises(sock_diag.NetlinkError):
            sock_diag.parse_messages(data[:cut])
