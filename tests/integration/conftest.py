# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for tests against the real kernel: root, namespaces, controllers, target Pythons.

Missing prerequisites fail the run with what is missing; they never skip, so a
green run always means the real kernel was asked.
"""

from __future__ import annotations

import os

import pytest

from netns import Namespace


@pytest.fixture(scope='session', autouse=True)
def require_root():
    if os.geteuid() != 0:
        pytest.fail('integration tests need root to make network namespaces')


@pytest.fixture
def namespace_factory():
    made = []

    def make(label, somaxconn=None):
        namespace = Namespace(label, somaxconn)
        made.append(namespace)
        return namespace

    yield make
    for namespace in made:
        namespace.remove()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='session')
def promtool():
    """Debian 12's promtool, unpacked by `make prometheus-tools`, or a failure that says how to get it."""
    path = os.environ.get('NETSTACK_BACKLOG_PROMTOOL') or os.path.join(ROOT, 'build', 'prometheus', 'usr', 'bin', 'promtool')
    if not os.access(path, os.X_OK):
        pytest.fail('promtool not found at %s: `make prometheus-tools` unpacks Debian 12\'s into build/prometheus/, '
                    'or set NETSTACK_BACKLOG_PROMTOOL to another promtool' % path)
    return path
