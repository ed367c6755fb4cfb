# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The documentation's generated parts are what the data gives today (tests/utils/generate_docs.py).

A platform's numbers are data once (plugins/module_utils/_platforms.py); the tables and the
ranges the docs state are written from it, so a committed part that differs from what the
generator writes now is stale: run `make generated-docs`.
"""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'utils'))

import generate_docs  # noqa: E402 pylint: disable=wrong-import-position


@pytest.mark.parametrize('path', generate_docs.FILES)
def test_each_generated_part_is_what_the_data_gives_today(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        text = handle.read()
    assert generate_docs.parts_in(text, path), '%s has no generated part: drop it from FILES' % path
    assert generate_docs.render(path, text) == text, '%s is stale: run make generated-docs' % path


def test_every_part_appears_in_the_docs():
    used = set()
    for path in generate_docs.FILES:
        with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
            used.update(name for indent, name in generate_docs.parts_in(handle.read(), path))
    assert used == set(generate_docs.PARTS)


def test_the_ranges_are_the_kernels_written_out():
    # Linux net/core/sysctl_net_core.c (0 .. INT_MAX, 16 bits before 4.1); FreeBSD sysctl_somaxconn()
    # (1 .. UINT_MAX / 3); XNU and OpenBSD store the queue limit in a short.
    assert generate_docs.somaxconn_ranges('.md') == (
        'Linux 0 to 2147483647 (0 to 65535 before 4.1, where the kernel stored the queue limit in 16 bits); '
        'FreeBSD 1 to 1431655765 (UINT_MAX / 3; 10.x and older refuse more than 65535); '
        'macOS 0 to 32767 (it stores the queue limit in a short); OpenBSD 0 to 32767.')


def test_a_changed_record_makes_the_part_stale_and_the_generator_says_which(monkeypatch):
    text = 'before\n<!-- BEGIN GENERATED somaxconn-ranges -->\nSTALE TEXT\n<!-- END GENERATED somaxconn-ranges -->\nafter\n'
    rendered = generate_docs.render('x.md', text)
    assert rendered.startswith('before\n<!-- BEGIN GENERATED somaxconn-ranges: ') and rendered.endswith(
        '\n<!-- END GENERATED somaxconn-ranges -->\nafter\n')
    assert 'Linux 0 to 2147483647' in rendered and 'STALE TEXT' not in rendered
    assert generate_docs.render('x.md', rendered) == rendered
    monkeypatch.setitem(generate_docs.PARTS, 'somaxconn-ranges', lambda style: 'Linux 0 to 7.')
    assert 'Linux 0 to 7.' in generate_docs.render('x.md', rendered)


@pytest.mark.parametrize('text, said', [
    ('<!-- BEGIN GENERATED no-such-part -->\n<!-- END GENERATED no-such-part -->\n', 'unknown generated part'),
    ('<!-- BEGIN GENERATED somaxconn-ranges -->\nno end\n', 'has no end marker'),
])
def test_a_broken_marker_is_said(text, said):
    with pytest.raises(ValueError, match=said):
        generate_docs.render('x.md', text)
