# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sysctl file is never written through a symlink that leads out of its directory.

The real case (ansible.posix.sysctl writing through the link) is run in
tests/integration/test_role_files_safe.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.netstack.backlog.plugins.plugin_utils import _plan

FILE = '/etc/sysctl.d/90-listener-backlog.conf'


@pytest.mark.parametrize('link', [None, '', '90-listener-backlog.conf.real', './other.conf',
                                  '/etc/sysctl.d/elsewhere.conf'])
def test_no_link_or_a_link_within_the_directory_passes(link):
    _plan.check_link(FILE, link, 'listener_backlog_sysctl_file')


@pytest.mark.parametrize('link', ['/tmp/x', '../sysctl.conf', 'sub/x.conf', '/etc/sysctl.d/../passwd'])
def test_a_link_out_of_the_directory_is_refused_naming_it(link):
    with pytest.raises(_plan.PlanError) as caught:
        _plan.check_link(FILE, link, 'listener_backlog_sysctl_file')
    assert str(caught.value).startswith('listener_backlog_sysctl_file: %s is a symbolic link to %s, out of '
                                        '/etc/sysctl.d; the role does not write through it' % (FILE, link))
