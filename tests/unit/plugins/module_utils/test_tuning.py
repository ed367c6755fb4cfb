# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tuning table and the host state the role plans from; the docs that state a range agree with it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def reader(files):
    def read_file(path):
        if path not in files:
            raise IOError(2, 'No such file or directory', path)
        return files[path]
    return read_file


def test_setting_lines_keeps_the_last_assignment_of_each_key_and_skips_comments():
    text = ('# net.core.somaxconn = 1\n; net.core.somaxconn = 2\nnet.core.somaxconn=512\n'
            '  net.core.somaxconn  =  1024  \nkernel.pid_max = 4\nnot a setting\n')
    assert _tuning.setting_lines(text, ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog']) == {
        'net.core.somaxconn': '  net.core.somaxconn  =  1024  '}
    assert _tuning.line_value('  net.core.somaxconn  =  1024  ') == '1024'


def test_state_reads_the_file_live_values_writability_and_later_boot_files():
    files = {
        '/etc/sysctl.d/90-listener-backlog.conf': 'net.core.somaxconn = 4096\n',
        '/etc/sysctl.d/99-local.conf': 'net.core.somaxconn = 512\n',
        '/usr/lib/sysctl.d/50-default.conf': 'kernel.sysrq = 16\n',
        '/etc/sysctl.conf': 'net.ipv4.tcp_max_syn_backlog=64\n',
        '/proc/sys/net/core/somaxconn': '4096\n',
    }
    listing = {'/etc/sysctl.d': ['90-listener-backlog.conf', '99-local.conf', 'README'],
               '/usr/lib/sysctl.d': ['50-default.conf']}

    def listdir(path):
        if path not in listing:
            raise OSError(2, 'No such file or directory', path)
        return listing[path]

    state = _tuning.tuning_state('Linux', '6.1.0', None, True, reader(files),
                                 _tuning.linux_live_value(reader(files)), listdir, writable=lambda path: True)
    assert state['file'] == '/etc/sysctl.d/90-listener-backlog.conf' and state['file_exists']
    assert state['file_lines'] == {'net.core.somaxconn': 'net.core.somaxconn = 4096'}
    assert state['live'] == {'net.core.somaxconn': '4096', 'net.ipv4.tcp_max_syn_backlog': None}
    assert state['boot_files'] == [{'path': '/etc/sysctl.conf', 'keys': ['net.ipv4.tcp_max_syn_backlog']},
                                   {'path': '/etc/sysctl.d/99-local.conf', 'keys': ['net.core.somaxconn']}]
    runtime = _tuning.tuning_state('Linux', '6.1.0', None, False, reader(files), lambda key: None, listdir,
                                   writable=lambda path: False)
    assert runtime['file'] == '/run/sysctl.d/90-listener-backlog.conf' and not runtime['file_exists']
    assert runtime['boot_files'] == [] and runtime['writable'] is False
    assert _tuning.tuning_state('SunOS', '5.11', None, True, reader(files), lambda key: None) is None


@pytest.mark.parametrize('text, family, version', [
    # /etc/os-release as Debian 12, Ubuntu 24.04, Rocky 9 and openSUSE Leap 15.5 ship it (ID, ID_LIKE lines).
    ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', 'Debian', '12'),
    ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', 'Debian', '24.04'),
    ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', 'RedHat', '9.4'),
    ('NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\n', 'Suse', '15.5'),
    ('ID=gentoo\n', None, None),
])
def test_distribution_names_the_family_as_setup_does(text, family, version):
    found = _tuning.distribution('Linux', reader({'/etc/os-release': text}))
    assert (found['os_family'], found['version_id']) == (family, version)


def test_off_linux_the_family_is_the_system():
    assert _tuning.distribution('FreeBSD', reader({}))['os_family'] == 'FreeBSD'


def test_linux_before_4_1_holds_16_bits():
    assert _tuning.somaxconn_range('Linux', '3.10.0-1160.el7.x86_64') == (0, 65535)
    assert _tuning.somaxconn_range('Linux', '4.18.0-553.el8_10.x86_64') == (0, 2147483647)


def test_the_argument_spec_states_the_syn_backlog_range_the_table_has():
    specs = yaml.safe_load(open(os.path.join(ROOT, 'roles', 'listener_backlog', 'meta', 'argument_specs.yml')))
    syn = specs['argument_specs']['main']['options']['listener_backlog_syn_backlog']['description']
    assert '%d to %d' % _tuning.TUNING['Linux']['syn_backlog_range'] in syn
