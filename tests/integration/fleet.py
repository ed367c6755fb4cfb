# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fleet on one machine: simulated hosts reached by Ansible over real SSH.

Each host is a NamespaceHost (its own network namespace, its own /etc, /var and /run).
Ansible reaches it with the ssh connection plugin; the connection's ProxyCommand starts
``sshd -i`` inside the host (docs/contributing.md), so no host needs a network address and every
byte still goes through a real SSH session.  Usable from integration tests and from the
benchmarks; ``Fleet.remove()`` (also called by the context manager on failure) removes
every host, daemons included.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile

from nshost import NamespaceHost

SSHD = '/usr/sbin/sshd'

SSHD_CONFIG = '''\
HostKey {directory}/host_key
AuthorizedKeysFile {directory}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
LogLevel ERROR
'''


class SshAccess:
    """Keys and an sshd config in a directory of this machine, and the Ansible variables that use them.

    Each host gets ``sshd -i`` started inside it by the connection's ProxyCommand, with the
    config its ``install_sshd`` put in place (a host of another release keeps a copy in its own
    root, where its sshd can read it).
    """

    def __init__(self, directory):
        if not os.path.exists(SSHD):
            raise RuntimeError('%s not found: install openssh-server (make packages)' % SSHD)
        self.directory = directory
        self.configs = {}
        for key in ('host_key', 'client_key'):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(directory, key)],
                           check=True)
        shutil.copy(os.path.join(directory, 'client_key.pub'), os.path.join(directory, 'authorized_keys'))
        with open(os.path.join(directory, 'sshd_config'), 'w') as handle:
            handle.write(SSHD_CONFIG.format(directory=directory))

    def add(self, name, host):
        self.configs[name] = (host, host.install_sshd(self.directory))

    def proxy_command(self, name):
        host, config = self.configs[name]
        return ' '.join(shlex.quote(part) for part in host.command([SSHD, '-i', '-f', config]))

    def host_vars(self, name):
        return {
            'ansible_host': name,
            'ansible_user': 'root',
            'ansible_connection': 'ssh',
            'ansible_ssh_private_key_file': os.path.join(self.directory, 'client_key'),
            # The fleet's own SSH control sockets: ssh's default (~/.ansible/cp, keyed by user,
            # host name and port) would hand host000 of one fleet the connection of another.
            'ansible_control_path_dir': os.path.join(self.directory, 'cp'),
            'ansible_ssh_common_args': ('-o ProxyCommand=%s -o StrictHostKeyChecking=no '
                                        '-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'
                                        % shlex.quote(self.proxy_command(name))),
        }


class Fleet:
    """``somaxconns``: one value per host (None keeps the kernel's default for a new namespace).

    ``make_host(label, somaxconn)`` makes each host (a NamespaceHost of this machine's release
    by default; nshost.RootHost for another release).
    """

    def __init__(self, somaxconns, label='fleet', make_host=NamespaceHost):
        self.directory = tempfile.mkdtemp(prefix='nbt-%s-' % label)
        self.hosts = {}
        try:
            self.access = SshAccess(self.directory)
            for index, somaxconn in enumerate(somaxconns):
                name = 'host%03d' % index
                self.hosts[name] = make_host(label, somaxconn)
                self.access.add(name, self.hosts[name])
        except Exception:
            self.remove()
            raise

    def proxy_command(self, name):
        return self.access.proxy_command(name)

    def host_vars(self, name):
        return self.access.host_vars(name)

    def inventory(self, python, extra=None):
        """An inventory dict: every host with its connection and ``python`` as interpreter."""
        hosts = {}
        for name in self.hosts:
            hosts[name] = dict(self.host_vars(name), ansible_python_interpreter=python)
            hosts[name].update((extra or {}).get(name, {}))
        return hosts

    def write_inventory(self, path, python, extra=None):
        with open(path, 'w') as handle:
            json.dump({'all': {'hosts': self.inventory(python, extra)}}, handle)
        return path

    def remove(self):
        for host in self.hosts.values():
            host.remove()
        self.hosts = {}
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()
