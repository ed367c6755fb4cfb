# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A container on a simulated host, made the way a runtime makes one, without a runtime.

No container engine runs on these machines.  What the collection sees of a container is
what a runtime leaves on the host: a network namespace of its own, made at the kernel's
default and registered nowhere (``unshare -n``), held by its first process (a pause or init
process, here ``sleep``), and a cgroup named as the runtime names it (Docker's cgroupfs
driver: ``/docker/<64 hex>``; a Kubernetes pod under the systemd driver:
``kubepods.slice/.../kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope``).
tests/unit/plugins/module_utils/fixtures/cgroup/ has real hosts' /proc/PID/cgroup of each.
Daemons started in it (``run``) join its namespace and its cgroup.  ``remove()`` kills
every process of its cgroup and removes the cgroup.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
import uuid

# (hierarchy under /sys/fs/cgroup, path with {id} and {pod}, runtime as the module names it)
SHAPES = {
    'docker': ('pids', 'docker/{id}', 'docker'),
    'kubernetes': ('unified', 'kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_}.slice/'
                   'cri-containerd-{id}.scope', 'containerd'),
}

HOLDER = '''set -e
ip link set lo up
echo {somaxconn} > /proc/sys/net/core/somaxconn
echo $$ > {cgroup}/cgroup.procs
echo $$ > {pidfile}
exec sleep infinity
'''


class Container:
    def __init__(self, host, directory, shape='docker', somaxconn=128):
        self.host = host
        self.directory = directory
        self.id = uuid.uuid4().hex + uuid.uuid4().hex
        self.pod = str(uuid.uuid4()) if shape == 'kubernetes' else None
        hierarchy, path, self.runtime = SHAPES[shape]
        # The hierarchy's root as this test sees it, and as processes on the host see it (they
        # differ on a host with a cgroup namespace of its own, nshost.SystemdHost).
        self.root, inside = host.cgroup_root(hierarchy)
        relative = path.format(id=self.id, pod_=(self.pod or '').replace('-', '_'))
        self.cgroup = os.path.join(self.root, relative)
        self.cgroup_inside = os.path.join(inside, relative)
        os.makedirs(self.cgroup)
        pidfile = os.path.join(directory, 'container-%s.pid' % self.id[:12])
        subprocess.Popen(host.command(['unshare', '-n', 'sh', '-c', HOLDER.format(
            somaxconn=somaxconn, cgroup=shlex.quote(self.cgroup_inside), pidfile=shlex.quote(pidfile))]))
        deadline = time.monotonic() + 10
        while not (os.path.exists(pidfile) and open(pidfile).read().strip()):
            if time.monotonic() > deadline:
                self.remove()
                raise RuntimeError('the container did not start')
            time.sleep(0.02)
        with open(pidfile) as handle:
            # Its pid in the host's PID namespace (the host has one of its own), as the host's
            # own tools and the fact module see it.
            self.pid = int(handle.read())

    @property
    def short_id(self):
        return self.id[:12]

    def command(self, argv):
        """The argv that runs ``argv`` in the container (its network namespace and its cgroup)."""
        return self.host.command(['nsenter', '-n', '-t', str(self.pid), 'sh', '-c',
                                  'echo $$ > %s/cgroup.procs && exec "$@"' % shlex.quote(self.cgroup_inside),
                                  'container']
                                 + list(argv))

    def run(self, *argv, check=True):
        return subprocess.run(self.command(argv), capture_output=True, text=True, check=check)

    def somaxconn(self):
        return int(self.run('cat', '/proc/sys/net/core/somaxconn').stdout)

    def start_redis(self, log):
        """Redis (Debian's) in the container, asking for its default 511; returns its pid on the host."""
        pidfile = log + '.pid'
        for path in (log, pidfile):
            if os.path.exists(path):
                os.unlink(path)
        subprocess.Popen(self.command(['redis-server', '--bind', '127.0.0.1', '--port', '6379', '--save', '',
                                       '--appendonly', 'no', '--logfile', log, '--pidfile', pidfile]))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(pidfile) and os.path.exists(log) and 'Ready to accept connections' in open(log).read():
                with open(pidfile) as handle:
                    return int(handle.read())
            time.sleep(0.05)
        raise RuntimeError('Redis did not start in the container: %s'
                           % (open(log).read() if os.path.exists(log) else 'no log'))

    def stop(self, pid):
        """Stop one process of the container (by its pid on the host) and wait until it is gone."""
        self.host.run('kill', str(pid), check=False)
        self.host.run('sh', '-c', 'while kill -0 %d 2>/dev/null; do sleep 0.05; done' % pid, check=False)

    def remove(self):
        if not os.path.isdir(self.cgroup):
            return
        for dummy in range(100):
            with open(os.path.join(self.cgroup, 'cgroup.procs')) as handle:
                pids = [int(pid) for pid in handle.read().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        path = self.cgroup
        while path != self.root:
            try:
                os.rmdir(path)
            except OSError:
                break  # still shared with another container
            path = os.path.dirname(path)
