# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.filter.effective_backlog import FilterModule

effective_backlog = FilterModule().filters()['effective_backlog']


@pytest.mark.parametrize('requested, limit, expected', [
    (511, 4096, 511), (511, 128, 128), (511, 0, 0), (0, 4096, 0),
    (-1, 4096, 4096), (2147483647, 70000, 70000), ('511', '128', 128), (' 64 ', 100, 64),
])
def test_request_is_capped_by_the_limit(requested, limit, expected):
    assert effective_backlog(requested, limit) == expected


def test_openbsd_minimum_raises_small_requests():
    assert effective_backlog(5, 128, minimum=80) == 80
    assert effective_backlog(511, 128, minimum=80) == 128
    assert effective_backlog(5, 128, minimum=None) == 5


@pytest.mark.parametrize('requested, limit, message', [
    ('many', 128, "requested backlog must be an integer, got 'many'"),
    (5.5, 128, 'requested backlog must be an integer, got 5.5'),
    (True, 128, 'got True (a boolean)'),
    (None, 128, 'got None'),
    (511, -1, 'limit must be 0 or more, got -1'),
    (511, '1e3', "limit must be an integer, got '1e3'"),
    (511, [128], 'limit must be an integer, got [128]'),
])
def test_bad_input_names_the_value(requested, limit, message):
    with pytest.raises(AnsibleFilterError) as caught:
        effective_backlog(requested, limit)
    assert message in str(caught.value)
    assert 'netstack.backlog.effective_backlog' in str(caught.value)


def test_negative_minimum_is_rejected():
    with pytest.raises(AnsibleFilterError, match='minimum must be 0 or more, got -3'):
        effective_backlog(5, 128, minimum=-3)


# Each platform's rule, from the kernel lines docs/platforms.md quotes:
# Linux __sys_listen_socket(), FreeBSD solisten_proto(), OpenBSD/DragonFly/NetBSD/XNU
# solisten(), illumos socket_listen() + tcp_do_listen(), Microsoft's listen() reference.
REQUESTS = (-2147483648, -70000, -1, 0, 1, 10, 85, 86, 100, 128, 129, 2147483647)
RULES = {
    'Linux': (128, 128, 128, 0, 1, 10, 85, 86, 100, 128, 128, 128),
    'FreeBSD': (128, 128, 128, 0, 1, 10, 85, 86, 100, 128, 128, 128),
    'DragonFly': (128, 128, 128, 0, 1, 10, 85, 86, 100, 128, 128, 128),
    'Darwin': (128, 128, 128, 128, 1, 10, 85, 86, 100, 128, 128, 128),
    'NetBSD': (0, 0, 0, 0, 1, 10, 85, 86, 100, 128, 128, 128),
    # backlog * 3 / 2 + 1, capped at 128: 85 -> 128, 86 -> 130 -> 128.
    'SunOS': (1, 1, 1, 1, 2, 16, 128, 128, 128, 128, 128, 128),
}


@pytest.mark.parametrize('system', sorted(RULES))
def test_each_platform_applies_its_own_rule(system):
    assert [effective_backlog(n, 128, system=system) for n in REQUESTS] == list(RULES[system])


def test_system_is_compared_without_regard_to_case_and_omitting_it_is_the_linux_rule():
    assert [effective_backlog(n, 128, system='darwin') for n in REQUESTS] == list(RULES['Darwin'])
    assert [effective_backlog(n, 128) for n in REQUESTS] == list(RULES['Linux'])


def test_openbsd_raises_after_the_cap_illumos_caps_after_the_raise():
    # OpenBSD solisten(): cap at somaxconn, then raise to sominconn: 0 gets 80, and a
    # minimum above the limit raises every request.
    assert [effective_backlog(n, 128, minimum=80, system='OpenBSD') for n in (-1, 0, 1, 100, 500)] == \
        [128, 80, 80, 100, 128]
    assert effective_backlog(5, 128, minimum=200, system='OpenBSD') == 200
    # illumos tcp_do_listen(): raise to _conn_req_min, then cap at _conn_req_max_q.
    assert [effective_backlog(n, 128, minimum=50, system='SunOS') for n in (-1, 0, 10, 40, 100)] == \
        [50, 50, 50, 61, 128]
    assert effective_backlog(5, 128, minimum=1024, system='SunOS') == 128


def test_illumos_large_requests_do_not_overflow():
    # socket_listen(): from (INT_MAX - 1) / 3 up the stored value is INT_MAX.
    assert effective_backlog(715827882, 2147483647, system='SunOS') == 2147483647
    assert effective_backlog(715827881, 2147483647, system='SunOS') == 1073741822


def test_windows_hint_is_kept_within_200_and_65535_whatever_the_limit():
    # SOMAXCONN_HINT(N) is -(N); SOMAXCONN (0x7fffffff) gets the provider's limit.
    granted = [effective_backlog(n, 200, system='Windows') for n in (-1, -500, -100000, -2147483648, 50, 2147483647)]
    assert granted == [200, 500, 65535, 65535, 50, 200]


@pytest.mark.parametrize('requested, system', [(0, 'AIX'), (-1, 'AIX'), (-1, 'HP-UX'), (0, 'Windows')])
def test_undocumented_requests_are_an_error_not_a_guess(requested, system):
    with pytest.raises(AnsibleFilterError) as caught:
        effective_backlog(requested, 1024, system=system)
    assert 'what listen(%d) gets on %s is not documented' % (requested, system) in str(caught.value)


def test_positive_requests_on_aix_and_unknown_systems_get_the_smaller():
    # IBM's listen subroutine: "either backlog or somaxconn, whichever is smaller".
    assert effective_backlog(4096, 1024, system='AIX') == 1024
    assert effective_backlog(100, 1024, system='Haiku') == 100


@pytest.mark.parametrize('system', ['', '  ', 5, ['Linux']])
def test_bad_system_is_named(system):
    with pytest.raises(AnsibleFilterError, match='system must be a platform name'):
        effective_backlog(511, 128, system=system)
