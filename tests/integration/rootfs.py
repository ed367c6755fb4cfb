# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Root filesystems of other Debian releases, made with debootstrap once and reused.

A simulated host of another release (nshost.RootHost) runs that release's own Python and
daemons from such a root.  The root is built from the Debian mirror this machine's apt is
configured with (no mirror is named here), cached under NETSTACK_BACKLOG_ROOTFS_CACHE
(default /var/cache/netstack-backlog/rootfs) and rebuilt when it is missing or when the
release's package list changes (the list's hash is in the directory's name).  Hosts never
write to it: each gets an overlay of its own.

The packages are installed in two stages: debootstrap downloads and unpacks them (the only
step that needs the mirror), then the second stage configures them inside a new network and
PID namespace with a policy-rc.d that forbids starting services, so no maintainer script can
start a daemon on this machine's network.

Run as a script (`make rootfs`) it builds the roots ahead of the tests and prints their paths.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys

CACHE = os.environ.get('NETSTACK_BACKLOG_ROOTFS_CACHE', '/var/cache/netstack-backlog/rootfs')

# What a test host of each release needs: its Python, sshd, ss and ps, `service`, and the
# daemons of the catalogue as that release packages them.
RELEASES = {
    'debian13': {
        'suite': 'trixie',
        'packages': ['python3', 'openssh-server', 'iproute2', 'procps', 'sysvinit-utils',
                     'nginx', 'redis-server', 'valkey-server', 'haproxy', 'memcached', 'apache2', 'php-fpm',
                     'mariadb-server', 'uwsgi', 'uwsgi-plugin-python3', 'gunicorn'],
    },
    # A minimal fresh Debian 12, as an image or a cloud's smallest install has it: no make, git or
    # python3-venv (tests/integration/test_fresh_debian12.py runs the README's commands in it).
    'debian12-minimal': {
        'suite': 'bookworm',
        'packages': [],
    },
}

# Bumped when the way a root is built changes, so that old caches are rebuilt.
BUILD_VERSION = 1


def mirror():
    """The Debian archive URI this machine's apt uses (deb822 sources first, then sources.list)."""
    for path in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
        with open(path) as handle:
            for stanza in handle.read().split('\n\n'):
                fields = {}
                for line in stanza.splitlines():
                    if ':' in line and not line.startswith(('#', ' ')):
                        key, value = line.split(':', 1)
                        fields[key.strip().lower()] = value.strip()
                suites = fields.get('suites', '').split()
                if 'deb' in fields.get('types', '').split() and suites and not any(
                        suite.endswith('-security') for suite in suites):
                    return fields['uris'].split()[0]
    for path in ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list')):
        if os.path.exists(path):
            with open(path) as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) >= 3 and fields[0] == 'deb' and not fields[2].endswith('-security'):
                        return fields[1] if not fields[1].startswith('[') else fields[2]
    raise RuntimeError('no Debian mirror found in /etc/apt/sources.list.d/*.sources or sources.list')


def path_of(release):
    spec = RELEASES[release]
    key = hashlib.sha256(repr((BUILD_VERSION, spec['suite'], sorted(spec['packages']))).encode()).hexdigest()[:12]
    return os.path.join(CACHE, '%s-%s' % (release, key))


def _build(release, target):
    spec = RELEASES[release]
    if not shutil.which('debootstrap'):
        raise RuntimeError('debootstrap not found: install it (make packages)')
    include = ['--include=' + ','.join(spec['packages'])] if spec['packages'] else []
    subprocess.run(['debootstrap', '--foreign', '--variant=minbase'] + include + [spec['suite'], target, mirror()],
                   check=True, capture_output=True, text=True)
    policy = os.path.join(target, 'usr', 'sbin', 'policy-rc.d')
    with open(policy, 'w') as handle:
        handle.write('#!/bin/sh\nexit 101\n')
    os.chmod(policy, 0o755)
    # No network but a loopback that is down, its own PIDs (whatever is left is killed with
    # it) and its own mounts (the /proc the second stage mounts goes with them).
    subprocess.run(['unshare', '--net', '--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private',
                    'chroot', target, '/debootstrap/debootstrap', '--second-stage'],
                   check=True, capture_output=True, text=True)
    if os.path.exists(policy):  # the base system's install may have replaced /usr/sbin already
        os.unlink(policy)
    for deb in glob.glob(os.path.join(target, 'var', 'cache', 'apt', 'archives', '*.deb')):
        os.unlink(deb)


def root_filesystem(release):
    """The path of ``release``'s root filesystem, built first when it is not in the cache."""
    path = path_of(release)
    done = os.path.join(path, '.netstack-backlog-complete')
    if os.path.exists(done):
        return path
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, '%s.lock' % release), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(done):
            return path
        for stale in glob.glob(os.path.join(CACHE, '%s-*' % release)):
            shutil.rmtree(stale, ignore_errors=True)  # an older package list, or a build cut short
        building = path + '.building'
        try:
            _build(release, building)
        except subprocess.CalledProcessError as error:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError('building the %s root with debootstrap failed: %s\n%s' % (
                release, ' '.join(error.cmd), (error.stdout or '') + (error.stderr or ''))) from error
        os.rename(building, path)
        open(done, 'w').close()
    return path


if __name__ == '__main__':
    for name in sys.argv[1:] or sorted(RELEASES):
        print(root_filesystem(name))
