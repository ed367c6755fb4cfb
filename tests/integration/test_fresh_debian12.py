# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The README's two commands on a minimal fresh Debian 12, as root, with only the registries reachable.

The root is Debian 12 as debootstrap's minbase makes it (rootfs.py, `debian12-minimal`: no make,
git or python3-venv), with what a machine of this kind adds to reach the package registries: its
apt sources and settings, its pip configuration, its CA certificates and its local package
indexes (bound read-only).  Each command runs in it, in a mount and PID namespace of its
own (whatever it starts dies with it) whose root it is, over an overlay that goes with the test; the repository is
copied in as a clone has it.  The commands are read from the README's first code block, so that
what this proves is what the README says.

- The test command stops at once, before anything changes, naming the target Pythons it cannot
  install (Debian does not package them) and how to get them.
- The demo command installs what it needs and no more (saying so), runs, and leaves no policy-rc.d
  behind.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess

import pytest

from rootfs import root_filesystem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSIDE = '/root/netstack-backlog'
# What a machine of this kind has that lets it reach the registries, copied into the root.
MACHINE_CONFIG = ['/etc/apt/sources.list.d', '/etc/apt/apt.conf.d/99artifact-registry', '/etc/pip.conf',
                  '/root/.config/pip/pip.conf', '/etc/xdg/pip', '/usr/local/share/ca-certificates',
                  '/etc/ssl/certs/ca-certificates.crt']
PIP_INDEXES = ['/opt/wheels', '/opt/pypi', '/opt/pypi-more']


def readme_commands():
    """The commands of the README's first code block: {first word after ./run or make: command line}."""
    with open(os.path.join(ROOT, 'README.md')) as handle:
        block = re.search(r'```sh\n(.*?)```', handle.read(), re.S).group(1)
    commands = [line.split('#', 1)[0].strip() for line in block.splitlines() if line.strip()]
    return dict((command.split()[-1], command) for command in commands)


class FreshRoot:
    """An overlay over the cached minimal root, the repository and the machine's registry settings in it."""

    def __init__(self, directory):
        self.lower = root_filesystem('debian12-minimal')
        self.directory = directory
        for name in ('upper', 'work', 'merged'):
            os.mkdir(os.path.join(directory, name))
        self.upper = os.path.join(directory, 'upper')
        files = subprocess.run(['git', '-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                               capture_output=True, check=True).stdout.split(b'\0')
        self.files = [name.decode() for name in files if name and os.path.exists(os.path.join(ROOT, name.decode()))]
        copies = ['mkdir -p "$M%s"' % INSIDE]
        copies.append('tar -C %s -cf - --null -T %s | tar -C "$M%s" -xf -'
                      % (shlex.quote(ROOT), shlex.quote(self._list()), INSIDE))
        for path in MACHINE_CONFIG:
            if os.path.exists(path):
                copies.append('mkdir -p "$M%s" && cp -a %s "$M%s"' % (
                    os.path.dirname(path), shlex.quote(path), os.path.dirname(path)))
        copies.append('rm -f "$M/etc/apt/sources.list"')  # the machine's sources replace debootstrap's
        self.enter(copies)

    def _list(self):
        path = os.path.join(self.directory, 'files')
        with open(path, 'w') as handle:
            handle.write('\0'.join(self.files))
        return path

    def enter(self, steps, command=None, timeout=1800):
        """Run shell ``steps`` with $M the mounted root, then ``command`` in it, as its root."""
        merged = os.path.join(self.directory, 'merged')
        work = os.path.join(self.directory, 'work')
        mounts = ['M=%s' % shlex.quote(merged),
                  'mount -t overlay nbt-fresh -o lowerdir=%s,upperdir=%s,workdir=%s "$M"' % (
                      shlex.quote(self.lower), shlex.quote(self.upper), shlex.quote(work)),
                  'mount -t proc proc "$M/proc"', 'mount --rbind /sys "$M/sys"', 'mount --rbind /dev "$M/dev"',
                  'mount -t tmpfs -o mode=755 nbt-run "$M/run"', 'mkdir -m 1777 "$M/run/lock"']
        for path in PIP_INDEXES:
            if os.path.isdir(path):
                mounts += ['mkdir -p "$M%s"' % path, 'mount --bind -o ro %s "$M%s"' % (path, path)]
        script = mounts + list(steps)
        if command is not None:
            environment = ['HOME=/root', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                           'LANG=C.UTF-8'] + ['%s=%s' % (key, value) for key, value in os.environ.items()
                                              if key.startswith('PIP_')]
            # The root becomes the namespace's own (pivot_root), not a chroot: a process that enters
            # a mount namespace made from here (the demo's throwaway host) gets that namespace's
            # root, which a chroot would not be.
            script += ['cd "$M"', 'mkdir -p .nbt-machine', 'pivot_root . .nbt-machine',
                       'exec /usr/bin/env -i %s sh -c %s' % (
                           ' '.join(shlex.quote(item) for item in environment),
                           shlex.quote('umount -l /.nbt-machine && rmdir /.nbt-machine && cd %s && %s'
                                       % (INSIDE, command)))]
        return subprocess.run(['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child',
                               'sh', '-ec', '\n'.join(script)], capture_output=True, text=True, timeout=timeout,
                              check=command is None)

    def exists(self, path):
        return self.enter([], 'test -e %s' % shlex.quote(path), timeout=60).returncode == 0

    def installed(self):
        """The packages dpkg has installed in the root."""
        return self.enter([], "dpkg-query -W -f '${Package} ${Status}\\n'").stdout


@pytest.fixture(scope='module')
def fresh(tmp_path_factory):
    return FreshRoot(str(tmp_path_factory.mktemp('fresh-debian12')))


def test_the_readme_test_command_stops_at_once_naming_the_pythons_it_cannot_install(fresh):
    before = fresh.installed()
    assert ' make ' not in before and 'python3-venv ' not in before  # the root is as minimal as said
    process = fresh.enter([], readme_commands()['test'], timeout=120)
    assert process.returncode == 3, process.stdout + process.stderr
    first = process.stderr.splitlines()[0]
    assert re.match(r'\./run: Python 2\.7 3\.6 3\.7 3\.8 3\.9 3\.10 3\.11 3\.12 3\.13 not found under '
                    r'/root/\.pyenv/versions; nothing was changed\.$', first), process.stderr
    assert 'pyenv install 2.7 3.6' in process.stderr
    assert fresh.installed() == before
    assert not glob.glob(os.path.join(fresh.upper, INSIDE.lstrip('/'), '.venv*'))


def test_the_readme_demo_command_sets_itself_up_and_runs(fresh):
    process = fresh.enter([], readme_commands()['demo'])
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-6000:]
    assert "./run: installing from Debian's packages: make python3 python3-venv git" in output
    # Once the role has tuned the throwaway host to 4096 and written Redis's backlog, Redis has it.
    assert re.search(r'^after\b.*\b4096\b.*redis-server.*\b4096\b', output, re.M), '\n'.join(
        line for line in output.splitlines() if 'somaxconn' in line or 'backlog' in line)
    assert 'template error' not in output  # a skipped task's name is templated too
    # Every line says where it acts and what each number is (issue: the tuning read as localhost's).
    assert re.search(r"^before demo-namespace: net\.core\.somaxconn \(the namespace's limit\) = 128; redis-server asks "
                     r"for 511 \(tcp-backlog in /etc/redis/redis\.conf\); the kernel granted its listeners on port "
                     r"6379 \(IPv4, IPv6\): 128, 128$", output, re.M), output[-6000:]
    tuning = output.split('PLAY [Tune the listen backlog', 1)[1]
    assert '[localhost]' not in tuning and re.search(
        r'Take the run lock and make the planned changes to the kernel and the configs\] \**\nchanged: \[demo-namespace\]',
        tuning), tuning
    assert 'skipping:' not in tuning  # what does not apply in the demo stays quiet
    snippet = re.search(r'backlog this snippet asks for: (\d+).*?this host\'s limit: (\d+).*?written below: (\d+).*?'
                        r'listen 8080 backlog=(\d+);', output, re.S)
    assert snippet and snippet.group(3) == snippet.group(4) == str(min(int(snippet.group(1)), int(snippet.group(2))))
    assert re.search(r"^installing from Debian's packages \(not started on this machine\):.*\bredis-server nginx$",
                     output, re.M), output[:4000]
    installed = fresh.installed()
    for package in ('make', 'python3-venv', 'redis-server', 'nginx'):
        assert re.search(r'^%s install ok installed$' % package, installed, re.M), package
    # Only the demo's two daemons, not the fourteen of the test suite; one controller.
    for package in ('haproxy', 'mariadb-server', 'apache2', 'memcached', 'php-fpm'):
        assert not re.search(r'^%s install ok installed$' % package, installed, re.M), package
    assert not os.path.exists(os.path.join(fresh.upper, INSIDE.lstrip('/'), '.venv-2.16'))
    # What the demo put in place to keep the daemons from starting is gone.
    assert not fresh.exists('/usr/sbin/policy-rc.d')
