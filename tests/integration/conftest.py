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
