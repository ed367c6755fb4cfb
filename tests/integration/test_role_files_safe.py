# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The files the role installs are root's, writable by root only, and a symlink put at one is not followed.

Run under umask 000 (the most permissive a controller can bring): every file the role installs
(the sysctl file, the local fact, the textfile collector, its cron entry, the metrics file) and
every directory above each must be owned by root and writable by no one else, or anyone on the
host could change what root runs or what the kernel is set to at boot.  A symlink placed at a
destination beforehand (pointing out of its directory) must not carry the write elsewhere: the
file it points to stays as it was.
"""

from __future__ import annotations

import os
import stat

import pytest

from nshost import NamespaceHost
from test_role_services import role_runner, run_role  # pylint: disable=unused-import

INSTALLED = ['/etc/sysctl.d/90-listener-backlog.conf', '/etc/ansible/facts.d/listener_backlog.fact',
             '/usr/local/sbin/netstack-backlog-textfile', '/etc/cron.d/netstack-backlog-textfile',
             '/var/lib/prometheus/node-exporter/netstack_backlog.prom']
VARIABLES = {'listener_backlog_somaxconn': 4096, 'listener_backlog_local_fact': 'present',
             'listener_backlog_exporter': 'textfile'}
# The controller (and so every module) under umask 000.
UMASK_000 = ('sh', '-c', 'umask 000 && exec "$@"', 'umask000')


@pytest.fixture
def host():
    made = NamespaceHost('files', 128)
    made.run('mkdir', '-p', '/etc/cron.d')
    made.run('rm', '-rf', '/var/lib/prometheus', '/etc/ansible')
    yield made
    made.remove()


def owner_and_mode(host, path):
    uid, mode = host.run('stat', '-c', '%u %f', path).stdout.split()
    return int(uid), int(mode, 16)


def test_installed_files_and_their_directories_are_roots_and_writable_by_root_only(host, run_role):
    process, tasks, changed = run_role(VARIABLES, wrapper=UMASK_000)
    assert process.returncode == 0, process.stdout + process.stderr
    checked = set()
    for path in INSTALLED:
        assert host.exists(path), path
        current = path
        while current != '/':
            if current not in checked:
                uid, mode = owner_and_mode(host, current)
                assert uid == 0, (current, uid)
                assert not mode & (stat.S_IWGRP | stat.S_IWOTH), (current, oct(mode))
                checked.add(current)
            current = os.path.dirname(current)
    assert len(checked) > len(INSTALLED)


@pytest.mark.parametrize('path', INSTALLED[:4])
def test_a_symlink_at_a_destination_is_not_followed_out_of_its_directory(host, run_role, path):
    outside = '/usr/local/outside'
    host.run('mkdir', '-p', os.path.dirname(path))
    host.write(outside, 'not the role\'s\n')
    host.run('ln', '-s', outside, path)
    process, tasks, changed = run_role(VARIABLES)
    output = process.stdout + process.stderr
    assert host.read(outside) == 'not the role\'s\n', output[-3000:]
    if path.startswith('/etc/sysctl.d/'):
        # ansible.posix.sysctl would write through it: refused before any change, naming it.
        assert process.returncode != 0
        assert ('listener_backlog_sysctl_file: %s is a symbolic link to %s, out of /etc/sysctl.d; the role does not '
                'write through it' % (path, outside)) in output, output[-3000:]
        assert changed == [] and host.sysctl('net/core/somaxconn') == 128
    else:
        # Replaced by a file of the role's own, in its directory.
        assert process.returncode == 0, output[-3000:]
        assert host.run('test', '-L', path, check=False).returncode != 0, path
        assert host.exists(path)
