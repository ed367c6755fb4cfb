# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Event-Driven Ansible suites run under the newest controller of the matrix, and only there.

ansible-rulebook runs its playbooks with the ansible-core of its own virtualenv (`make eda`,
tests/requirements-eda.txt): that pin is the matrix's newest controller, on its Python.
"""

from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'utils'))

import matrix  # noqa: E402  pylint: disable=wrong-import-position


def test_the_rulebook_runs_its_playbooks_with_the_newest_controller_of_the_matrix():
    with open(os.path.join(ROOT, 'tests', 'requirements-eda.txt')) as handle:
        pins = dict(re.findall(r'^([\w-]+)==(\S+)$', handle.read(), re.M))
    newest, python = max(matrix.CONTROLLERS, key=lambda entry: tuple(int(part) for part in entry[0].split('.')))
    assert pins['ansible-core'] == newest
    with open(os.path.join(ROOT, 'Makefile')) as handle:
        makefile = handle.read()
    assert re.search(r'^PYTHON_EDA \?= .*/%s\.\*/bin/python%s\)\)$' % (re.escape(python), re.escape(python)),
                     makefile, re.M), 'PYTHON_EDA is not Python %s' % python
