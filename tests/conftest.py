# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make ``ansible_collections.netstack.backlog`` importable from a plain checkout.

The plugins import themselves by their collection path.  When pytest runs from
the repository (not from an ``ansible_collections/netstack/backlog`` tree, as
ansible-test arranges), link the checkout into a temporary collection root.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root():
    if ROOT.endswith(os.path.join('ansible_collections', 'netstack', 'backlog')):
        return os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))
    base = tempfile.mkdtemp(prefix='netstack-backlog-')
    atexit.register(shutil.rmtree, base, True)
    os.makedirs(os.path.join(base, 'ansible_collections', 'netstack'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'netstack', 'backlog'))
    return base


COLLECTIONS_ROOT = _collection_root()
sys.path.insert(0, COLLECTIONS_ROOT)


@pytest.fixture(scope='session')
def collections_root():
    """A directory holding ansible_collections/netstack/backlog (for ANSIBLE_COLLECTIONS_PATH)."""
    return COLLECTIONS_ROOT
