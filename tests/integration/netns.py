# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network namespaces for tests against the real kernel, and ways to run Ansible in them.

Every namespace is made here and removed here (also when a test fails).  The
machine's own sysctls are never written: values are set inside the namespace.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import sys
import uuid

import pytest

INT_MAX = 2**31 - 1
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLBACKS = os.path.join(ROOT, 'tests', 'integration', 'callback_plugins')
PLAYBOOKS = os.path.join(ROOT, 'tests', 'integration', 'playbooks')

PYENV_VERSIONS = os.path.join(os.environ.get('PYENV_ROOT', '/root/.pyenv'), 'versions')

# ansible-core 2.17 dropped target Pythons 2.7 and 3.6, so those run under the oldest
# controller the collection supports (2.16); the others under the newest installed.
CONTROLLERS = {
    '2.16': os.environ.get('NETSTACK_BACKLOG_ANSIBLE_216_BIN', os.path.join(ROOT, '.venv-2.16', 'bin')),
    'latest': os.environ.get('NETSTACK_BACKLOG_ANSIBLE_BIN', os.path.join(ROOT, '.venv', 'bin')),
}
TARGETS = [('2.7', '2.16'), ('3.6', '2.16'), ('3.9', 'latest'), ('3.13', 'latest')]


# Each Debian release's own Python, as its hosts run it: Debian 12 is this machine's release
# (Python 3.11); Debian 13's (3.13) runs from its root (rootfs.py), chrooted by interpreter().
RELEASE_TARGETS = [('debian12', 'latest'), ('debian13', 'latest')]
RELEASE_PYTHON = '/usr/bin/python3'


def target_python(version):
    if version.startswith('debian'):
        return RELEASE_PYTHON
    found = sorted(glob.glob(os.path.join(PYENV_VERSIONS, version + '.*', 'bin', 'python' + version)))
    if not found:
        pytest.fail('target Python %s not found under %s (pyenv)' % (version, PYENV_VERSIONS))
    return found[-1]


def controller_bin(name):
    path = CONTROLLERS[name]
    if not os.path.exists(os.path.join(path, 'ansible-playbook')):
        pytest.fail('controller ansible-core %s not found at %s: run `make venv`' % (name, path))
    return path


def controller_version(name):
    """The ansible-core version of a controller, as a tuple: (2, 19)."""
    out = subprocess.run([os.path.join(controller_bin(name), 'python'), '-c',
                          'import ansible.release; print(ansible.release.__version__)'],
                         capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in out.split('.')[:2])


def distinct_controllers(*names):
    """The named controllers less those whose ansible-core release an earlier name already is.

    The end-to-end suite runs with 'latest' set to the oldest release too (tests/utils/matrix.py):
    a test parametrized over 'latest' and '2.16' would then run the same thing twice.  A controller
    that is missing is kept, so that its test fails saying so.
    """
    kept, seen = [], set()
    for name in names:
        try:
            version = subprocess.run([os.path.join(CONTROLLERS[name], 'python'), '-c',
                                      'import ansible.release; print(ansible.release.__version__)'],
                                     capture_output=True, text=True, check=True).stdout.split('.')[:2]
        except (OSError, subprocess.CalledProcessError):
            version = name
        if tuple(version) not in seen:
            kept.append(name)
            seen.add(tuple(version))
    return kept


# Python that the test helpers run inside namespaces (any will do: it is not under test).
HELPER_PYTHON = sys.executable

# The kernel's grant, read back by ss (sock_diag, tcp_diag_get_info), never from procfs.
# listen(2) is called through libc: Python's socket.listen() turns a negative backlog
# into 0 before the kernel sees it (CPython sock_listen()).
GRANT_SCRIPT = r'''
import ctypes, os, socket, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket()
s.bind(("127.0.0.1", 0))
if libc.listen(s.fileno(), ctypes.c_int(int(sys.argv[1]))) != 0:
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
port = s.getsockname()[1]
out = subprocess.check_output(["ss", "-ltnH", "sport = :%d" % port]).decode()
print(out.split()[2])
'''


class Namespace:
    def __init__(self, label, somaxconn=None):
        self.name = 'nbt-%s-%s' % (label, uuid.uuid4().hex[:8])
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        try:
            self.run('ip', 'link', 'set', 'lo', 'up')
            if somaxconn is not None:
                self.set_sysctl('net/core/somaxconn', somaxconn)
        except Exception:
            self.remove()
            raise

    def run(self, *argv, **kwargs):
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        check = kwargs.pop('check', True)
        return subprocess.run(['ip', 'netns', 'exec', self.name] + list(argv), check=check, **kwargs)

    def set_sysctl(self, path, value):
        self.run('sh', '-c', 'echo %d > /proc/sys/%s' % (value, path))

    def read_sysctl(self, path):
        return int(self.run('cat', '/proc/sys/' + path).stdout)

    def kernel_grant(self, request=INT_MAX):
        """What the kernel grants listen(request) here, as ss shows it."""
        return int(self.run(HELPER_PYTHON, '-c', GRANT_SCRIPT, str(request)).stdout)

    def remove(self):
        subprocess.run(['ip', 'netns', 'delete', self.name], check=False, capture_output=True)


# How to break /proc/sys/net/core/somaxconn for the module only: a private mount
# namespace entered after the network namespace (``ip netns exec`` makes its own).
FAULTS = {
    # A file of garbage bound over the knob; sysctl then reads the garbage too.
    'garbage': {'content': 'garbage\n', 'mode': 0o644,
                'setup': 'mount --bind {file} /proc/sys/net/core/somaxconn'},
    # The knob gone, as in rootless containers (kernel commit 464dc801c76a).
    'missing': {'setup': 'mount -t tmpfs nbt-empty /proc/sys/net/core'},
    # A file nobody may read; the module runs as root without DAC override.
    'unreadable': {'content': '4096\n', 'mode': 0o000,
                   'setup': 'mount --bind {file} /proc/sys/net/core/somaxconn',
                   'prefix': ['setpriv', '--inh-caps', '-dac_override,-dac_read_search',
                              '--bounding-set', '-dac_override,-dac_read_search', '--']},
}


def interpreter(namespace, python, directory, fault=None, prefix=(), release=None):
    """Write a script that runs ``python`` inside ``namespace`` (with ``fault``) and return its path.

    Used as ``ansible_python_interpreter``: Ansible runs ``<it> AnsiballZ_x.py``.
    ``prefix`` is a command that wraps the interpreter (strace, for example).  With
    ``release`` other than this machine's ('debian13'), ``python`` is that release's, run
    chrooted into its cached root with a /tmp and a /proc of its own mount namespace (the
    root itself is never written): the module file is copied in, and so is a fault's file.
    """
    setup = 'true'
    prefix = list(prefix)
    fault_file = None
    chrooted = release not in (None, 'debian12')
    if fault:
        spec = FAULTS[fault]
        path = os.path.join(directory, 'somaxconn-%s' % fault)
        if 'content' in spec:
            with open(path, 'w') as handle:
                handle.write(spec['content'])
            os.chmod(path, spec['mode'])
            fault_file = path
        setup = spec['setup'].format(file='/tmp/nbt-fault' if chrooted else shlex.quote(path))
        prefix = spec.get('prefix', []) + prefix
    script = os.path.join(directory, 'python-%s-%s' % (namespace.name, fault or 'plain'))
    inner = ['sh', '-c', setup + ' && exec "$@"', 'nbt-wrapper'] + prefix + [python]
    command = ['ip', 'netns', 'exec', namespace.name, 'unshare', '--mount', '--propagation', 'private']
    if chrooted:
        from rootfs import root_filesystem

        root = shlex.quote(root_filesystem(release))
        steps = ['mount -t tmpfs nbt-tmp %s/tmp' % root, 'mount -t proc nbt-proc %s/proc' % root,
                 'cp "$1" %s/tmp/module.py' % root]
        if fault_file:
            steps.append('cp -p %s %s/tmp/nbt-fault' % (shlex.quote(fault_file), root))
        steps.append('shift; exec chroot %s %s /tmp/module.py "$@"' % (root, ' '.join(shlex.quote(part) for part in inner)))
        inner = ['sh', '-ec', '; '.join(steps), 'nbt-root']
    body = 'exec %s "$@"\n' % ' '.join(shlex.quote(part) for part in command + inner)
    with open(script, 'w') as handle:
        handle.write('#!/bin/sh\n' + body)
    os.chmod(script, 0o755)
    return script


# Other collections on the controller's path (the role needs none; the benchmarks' playbooks written by
# hand use ansible.posix, which `make deps` puts there without Galaxy).
DEPENDENCIES = os.environ.get('NETSTACK_BACKLOG_DEPENDENCIES', os.path.join(ROOT, 'build', 'collections'))


def dependencies_path():
    return DEPENDENCIES


def run_playbook(ansible_bin, collections_root, playbook, hosts, directory, env=None, extra_args=(), prefix=()):
    """Run ``playbook`` on ``hosts`` ({name: {var: value}}) and return {host: [task results]}.

    ``prefix`` wraps the controller (to run it inside a simulated host, for example).
    """
    process = start_playbook(ansible_bin, collections_root, playbook, hosts, directory, env, extra_args, prefix,
                             session=False)
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), recorded_results(directory)


def recorded_results(directory):
    """{host: [task results]} that the record_results callback wrote so far in ``directory``."""
    recorded = {}
    results = os.path.join(directory, 'results.jsonl')
    if os.path.exists(results):
        with open(results) as handle:
            for line in handle:
                entry = json.loads(line)
                recorded.setdefault(entry['host'], []).append(entry)
    return recorded


def start_playbook(ansible_bin, collections_root, playbook, hosts, directory, env=None, extra_args=(), prefix=(),
                   session=True):
    """run_playbook's controller, started and not waited for: a subprocess.Popen, by default in a session
    of its own (its process group is the controller and its workers, to kill together)."""
    inventory = os.path.join(directory, 'inventory.json')
    with open(inventory, 'w') as handle:
        json.dump({'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local'}}}, handle)
    results = os.path.join(directory, 'results.jsonl')
    if os.path.exists(results):
        os.unlink(results)
    environment = dict(os.environ)
    environment.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_root,
        'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
        'ANSIBLE_CALLBACKS_ENABLED': 'record_results',
        'NETSTACK_BACKLOG_RESULTS': results,
        'ANSIBLE_HOME': os.path.join(directory, 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': os.path.join(directory, 'ansible-local'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORKS': '10',
    })
    environment.update(env or {})
    command = list(prefix) + [os.path.join(ansible_bin, 'ansible-playbook'), '-i', inventory]
    # A collection playbook by its name (netstack.backlog.audit), else a test playbook.
    is_fqcn = playbook.startswith('netstack.backlog.')
    command += [playbook if is_fqcn else os.path.join(PLAYBOOKS, playbook)] + list(extra_args)
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=directory, start_new_session=session)
