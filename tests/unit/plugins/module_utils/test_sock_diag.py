# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sock_diag netlink and ss parsing against answers recorded from Linux 6.18.

The recording (fixtures/linux/6.18, SOURCES.yml) holds three listeners opened in
a fresh network namespace with somaxconn 1000: 127.0.0.1:8080 listen(511) with one
connection queued, [::1]:6379 listen(2**31-1) and 0.0.0.0:22 listen(128).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import os
import struct

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _sock_diag as sock_diag

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'linux', '6.18')


def recorded_chunks(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return [binascii.unhexlify(line.strip()) for line in handle if line.strip()]


def parse_all(name):
    listeners = []
    done = False
    for chunk in recorded_chunks(name):
        found, done = sock_diag.parse_messages(chunk)
        listeners.extend(found)
    return listeners, done


def test_recorded_ipv4_dump_gives_backlog_and_queue_of_each_listener():
    listeners, done = parse_all('sock-diag-ipv4.hex')
    assert done
    by_port = dict((item['port'], item) for item in listeners)
    assert sorted(by_port) == [22, 8080]
    assert (by_port[8080]['address'], by_port[8080]['backlog'], by_port[8080]['queued']) == ('127.0.0.1', 511, 1)
    assert (by_port[22]['address'], by_port[22]['backlog'], by_port[22]['queued']) == ('0.0.0.0', 128, 0)
    assert all(item['family'] == 'ipv4' and item['state'] == sock_diag.TCP_LISTEN for item in listeners)


def test_recorded_ipv6_dump_shows_the_request_clamped_to_somaxconn():
    listeners, done = parse_all('sock-diag-ipv6.hex')
    assert done
    assert [(item['address'], item['port'], item['backlog'], item['family']) for item in listeners] == \
        [('::1', 6379, 1000, 'ipv6')]


def test_request_asks_for_a_dump_of_tcp_listeners_only():
    message = sock_diag.build_request(sock_diag.AF_INET6, 7)
    length, msg_type, flags, sequence, _pid = sock_diag.NLMSGHDR.unpack_from(message)
    assert length == len(message) == 16 + 56
    assert msg_type == sock_diag.SOCK_DIAG_BY_FAMILY
    assert flags & sock_diag.NLM_F_DUMP == sock_diag.NLM_F_DUMP and sequence == 7
    family, protocol, _ext, _pad, states = struct.unpack_from('=BBBBI', message, 16)
    assert (family, protocol, states) == (sock_diag.AF_INET6, 6, 1 << 10)


def test_netlink_error_message_is_raised_with_its_reason():
    body = struct.pack('=i', -95) + b'\0' * 16
    message = sock_diag.NLMSGHDR.pack(16 + len(body), sock_diag.NLMSG_ERROR, 0, 1, 0) + body
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
