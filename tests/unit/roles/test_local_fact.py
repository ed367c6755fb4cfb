# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local fact's main: the gatherer's answer without the prefix, and no listen() probe.

The script the role builds from it runs for real in
tests/integration/test_role_services.py (setup, every target Python).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.netstack.backlog.plugins.module_utils import _backlog as backlog
from ansible_collections.netstack.backlog.roles.listener_backlog.files import local_fact as local

from ansible_collections.netstack.backlog.tests.unit.plugins.module_utils.test_backlog_linux import FakeHost


def test_reports_the_gatherers_value_info_and_warnings_unprefixed():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '4096\n'})
    fact = local.local_fact('Linux', '6.18.44', host.read_file, host.run_command)
    value, info, warnings = host.gather()
    assert fact == {'listener_backlog': value, 'listener_backlog_info': info, 'warnings': warnings}
    assert fact['listener_backlog'] == 4096


def test_falls_back_to_the_default_without_probing_when_procfs_and_sysctl_fail():
    host = FakeHost(probe_result=1234)
    fact = local.local_fact('Linux', '6.18.44', host.read_file, host.run_command)
    assert host.probes == []
    assert fact['listener_backlog_info']['source'] == 'default'
    assert fact['listener_backlog'] == 4096  # Linux 5.4 and later compile in 4096
    assert 'sysctl' in fact['warnings'][0]


def test_runs_system_programs_in_the_c_locale_and_names_a_missing_one():
    rc, out, err = local.local_run_command(['sh', '-c', 'echo "$LC_ALL"; echo oops >&2; exit 3'])
    assert (rc, out, err) == (3, 'C\n', 'oops\n')
    rc, out, err = local.local_run_command(['no-such-program-here'])
    assert rc == 127 and 'no-such-program-here: program not found' in err
