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
