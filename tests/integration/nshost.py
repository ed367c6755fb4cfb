# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A simulated host on this machine: a network, a mount and a PID namespace of its own.

The host has its own ``net.core.*`` (the network namespace) and its own ``/etc``,
``/var``, ``/usr/local`` and ``/run`` (overlays and a tmpfs in a mount namespace kept alive by a bind
mount of its ``ns/mnt`` file), so a role may write ``/etc/sysctl.d``, a service's config
and its pid files, and start real daemons, without touching the machine.  Its own PID
namespace, with a ``/proc`` of its own, makes it see its own processes only, as a real
host does: the fact module's namespaces=true would otherwise find the namespaces of every
other host and test on the machine.  An init process (pid 1 inside, reaping orphans) keeps the
PID namespace alive.  Commands enter it with ``nsenter``; everything it holds lives in
memory and goes when it is removed, daemons included (every process in its network
namespace is killed).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from netns import Namespace

# Directories the host gets a private, writable copy of (overlay over the machine's).
# /usr/local too: the role installs its textfile collector in /usr/local/sbin.
PRIVATE_TREES = ('/etc', '/var', '/usr/local')

# The host's init, pid 1 of its PID namespace: it reaps the orphans it adopts, as a booted
# machine's init does.  An init that reaps nothing (`sleep infinity`) leaves every daemon that
# forked and exited a zombie: an init script that stops by process name (start-stop-daemon
# --name, Debian's uwsgi) still finds it and waits out its whole retry, and a zombie still has
# its name in ps.
INIT = r'''
import os, signal

# SIGCHLD stays blocked and is taken with sigwait: a child that exits between two waits is
# still pending then, where a handler and pause() could miss it until the next signal.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
while True:
    signal.sigwait({signal.SIGCHLD})
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except OSError:
            break
'''


class NamespaceHost:
    """A host of this machine's own release: its programs are the machine's."""

    release = 'debian12'
    python = '/usr/bin/python3'

    def __init__(self, label, somaxconn=None, init_name=None):
        # init_name: the name PID 1 shows in /proc/1/comm (prctl), as a host built by hand whose
        # PID 1 is a shell has it; by default the init is the Python that runs INIT.
        self.init_name = init_name
        self.namespace = Namespace(label, somaxconn)
        self.name = self.namespace.name
        self.directory = tempfile.mkdtemp(prefix='%s-' % self.name)
        self.mount_ns = os.path.join(self.directory, 'mnt')
        self._bound = False
        self.init = None
        self.init_pid = None
        try:
            self._make_mount_namespace()
            self._start_init()
        except Exception:
            self.remove()
            raise

    def _start_init(self):
        # nsenter execs unshare (no --pid to enter, so no fork); unshare forks the init.
        self.init = subprocess.Popen(['nsenter', '--mount=%s' % self.mount_ns, '--net=/run/netns/%s' % self.name,
                                      '--', 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child',
                                      self.python, '-c', self._init_code()])
        self._wait_for_init()

    def _init_code(self):
        if not getattr(self, 'init_name', None):
            return INIT
        return ('import ctypes\nctypes.CDLL(None).prctl(15, %r, 0, 0, 0)  # PR_SET_NAME\n'
                % self.init_name.encode()) + INIT

    def _wait_for_init(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = subprocess.run(['pgrep', '-P', str(self.init.pid)], capture_output=True, text=True,
                                      check=False).stdout.split()
            if children and self._named(int(children[0])):
                self.init_pid = int(children[0])
                return
            time.sleep(0.02)
        raise RuntimeError('the init of host %s did not start' % self.name)

    def _named(self, pid):
        """Whether the init has taken its name yet (it renames itself once its Python has started)."""
        if not getattr(self, 'init_name', None):
            return True
        try:
            with open('/proc/%d/comm' % pid) as handle:
                return handle.read().strip() == self.init_name
        except OSError:
            return False

    def _bind_directory(self):
        # The ns file must sit on a private mount, or the kernel refuses to bind it.
        subprocess.run(['mount', '--bind', self.directory, self.directory], check=True)
        self._bound = True
        subprocess.run(['mount', '--make-private', self.directory], check=True)
        open(self.mount_ns, 'w').close()

    def _make_mount_namespace(self):
        self._bind_directory()
        state = os.path.join(self.directory, 'state')
        os.mkdir(state)
        steps = ['mount -t tmpfs nbt-state %s' % shlex.quote(state),
                 'mount -t tmpfs -o mode=755 nbt-run /run',
                 'mkdir -m 1777 /run/lock']  # as a booted machine has it (apache2ctl needs it)
        for tree in PRIVATE_TREES:
            upper = os.path.join(state, tree.strip('/'), 'upper')
            work = os.path.join(state, tree.strip('/'), 'work')
            steps.append('mkdir -p %s %s' % (shlex.quote(upper), shlex.quote(work)))
            steps.append('mount -t overlay nbt-%s -o lowerdir=%s,upperdir=%s,workdir=%s %s'
                         % (tree.strip('/'), tree, upper, work, tree))
        subprocess.run(['unshare', '--mount=%s' % self.mount_ns, '--propagation', 'private',
                        'sh', '-ec', '; '.join(steps)], check=True, capture_output=True, text=True)

    def cgroup_root(self, hierarchy):
        """(path from the machine, path from the host) of a cgroup hierarchy's root: the same here."""
        path = os.path.join('/sys/fs/cgroup', hierarchy)
        return path, path

    def command(self, argv):
        """The argv that runs ``argv`` on this host."""
        return ['nsenter', '--target', str(self.init_pid), '--mount', '--net', '--pid', '--'] + list(argv)

    def install_sshd(self, directory):
        """Make the host ready for ``sshd -i`` with the keys and config in ``directory``; the config's path there."""
        self.run('mkdir', '-p', '-m', '755', '/run/sshd')  # sshd's privilege separation
        return os.path.join(directory, 'sshd_config')

    def run(self, *argv, check=True, **kwargs):
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        return subprocess.run(self.command(argv), check=check, **kwargs)

    def read(self, path):
        return self.run('cat', path).stdout

    def write(self, path, content):
        self.run('sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'write', path, input=content)

    def exists(self, path):
        return self.run('test', '-e', path, check=False).returncode == 0

    def sysctl(self, path):
        return int(self.read('/proc/sys/' + path))

    def set_sysctl(self, path, value):
        self.namespace.set_sysctl(path, value)

    def listeners(self):
        """{port: (granted backlog, process)} of the TCP listeners, as ss sees them."""
        out = self.run('ss', '-ltnpH').stdout
        found = {}
        for line in out.splitlines():
            fields = line.split()
            port = int(fields[3].rsplit(':', 1)[1])
            process = fields[5].split('"')[1] if len(fields) > 5 and '"' in fields[5] else None
            found.setdefault(port, []).append((int(fields[2]), process))
        return found

    def pids(self):
        out = subprocess.run(['ip', 'netns', 'pids', self.name], capture_output=True, text=True,
                             check=False).stdout
        return [int(pid) for pid in out.split()]

    def _others(self):
        """The host's processes but its init and the unshare that waits for it.

        Both ignore SIGTERM: the init, coming from outside its PID namespace; unshare(1),
        while it waits for the child it forked.  remove() kills them.
        """
        keep = (self.init_pid, self.init.pid if self.init is not None else None)
        return [pid for pid in self.pids() if pid not in keep]

    def stop_processes(self):
        """Stop every process of the host but its init: SIGTERM, then SIGKILL what is left after 5 s."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self._others()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while self._others() and time.monotonic() < deadline:
                time.sleep(0.05)

    def reboot(self, label='boot', somaxconn=None):
        """As the machine restarts: every process gone, a new network namespace at the kernel's defaults
        (or ``somaxconn``), an empty /run; /etc, /var and /usr/local kept, as a disk keeps them.

        Nothing of the boot itself runs: the test runs the host's boot path (boot_sysctl) and starts
        the services it wants.
        """
        self.stop_processes()
        self._stop_init()
        self.namespace.remove()
        self.namespace = Namespace(label, somaxconn)
        self.name = self.namespace.name
        subprocess.run(['nsenter', '--mount=%s' % self.mount_ns, '--', 'sh', '-ec',
                        'umount /run; mount -t tmpfs -o mode=755 nbt-run /run; mkdir -m 1777 /run/lock'],
                       check=True, capture_output=True, text=True)
        self._start_init()

    def boot_sysctl(self):
        """``sysctl --system`` as the boot runs it (procps; systemd-sysctl reads the same directories), kept
        to this host's network namespace: the rest of /proc/sys (kernel.*, vm.*, ... the machine's own) is
        read-only to it, so their lines fail and change nothing.  (The net.* knobs a non-initial
        namespace shows are its own.)  Returns its CompletedProcess.
        """
        return self.run('unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys /proc/sys '
                        '&& mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net '
                        '/proc/sys/net && sysctl --system', check=False)

    def _stop_init(self):
        if self.init_pid is not None:
            try:
                os.kill(self.init_pid, signal.SIGKILL)  # and with it, whatever is left in its PID namespace
            except ProcessLookupError:
                pass
        if self.init is not None:
            self.init.kill()
            self.init.wait()
        self.init_pid = None  # command() then fails: nothing is left to enter

    def remove(self):
        self.stop_processes()
        self._stop_init()
        if self._bound:
            subprocess.run(['umount', self.mount_ns], check=False, capture_output=True)
            subprocess.run(['umount', self.directory], check=False, capture_output=True)
        self.namespace.remove()
        shutil.rmtree(self.directory, ignore_errors=True)


class MachineViewHost(NamespaceHost):
    """A host whose processes share the machine's PID namespace: Ansible run from a network namespace.

    ``ip netns exec NS ansible-playbook -c local``, or an agent in a pod that shares the
    machine's PIDs, sees every process of the machine, the machine's own network namespace among
    them, from a namespace that is not the machine's.  The host keeps its private ``/etc``,
    ``/var`` and ``/run`` (what the role writes lands there), but no PID namespace of its own: its
    init is a plain process of the machine's.
    """

    def _start_init(self):
        # nsenter with no --pid execs the init itself: its pid is the Popen's.
        self.init = subprocess.Popen(['nsenter', '--mount=%s' % self.mount_ns, '--net=/run/netns/%s' % self.name,
                                      '--', self.python, '-c', INIT])
        self.init_pid = self.init.pid

    def command(self, argv):
        return ['nsenter', '--target', str(self.init_pid), '--mount', '--net', '--'] + list(argv)


class SystemdHost(NamespaceHost):
    """A host whose init is systemd: PID 1 of its PID namespace, managing the units the role installs.

    systemd knows only the units of the host's own ``/etc/systemd/system`` (emptied in its
    overlay: the machine's enabled units are not the host's) and the few empty targets written
    here (SYSTEMD_UNIT_PATH), and starts one of them, ``nbt.target``.  The units of the machine's
    ``/lib/systemd/system`` are out of its reach: ``sysinit.target`` there pulls in
    systemd-tmpfiles (which empties /tmp at boot), systemd-sysctl (which writes the machine's
    global sysctls) and the mounts and sockets of /dev, all of which the machine shares with the
    host.  The rest of what it must not touch is kept from it: its cgroups are a subtree of each
    of the machine's hierarchies, made for it, entered with a cgroup namespace and mounted anew
    inside it (one mounted from a cgroup namespace is rooted where the process was), so its
    ``init.scope`` and slices land there and go with it; it has a UTS namespace of its own, so the
    machine's hostname stays; ``container=`` in its environment makes it skip what it does to a
    machine it boots; it logs nowhere.  ``remove()`` checks that the machine's global sysctls,
    ``/dev`` and ``/root`` are as they were before it started, and fails the test otherwise.
    Commands enter its mount namespace (where those cgroups are mounted), network, PID and UTS
    namespaces.
    """

    # The targets a service and a timer depend on by default (systemd.service(5),
    # systemd.timer(5)), empty: nothing is pulled in with them.
    TARGETS = ('nbt', 'sysinit', 'basic', 'timers', 'sockets', 'paths', 'slices', 'shutdown', 'local-fs',
               'multi-user', 'default')
    UNIT_PATH = '/run/nbt-units'

    @staticmethod
    def hierarchies():
        """(directory name, filesystem type, mount options) of each cgroup hierarchy mounted in /sys/fs/cgroup."""
        found = []
        with open('/proc/self/mountinfo') as handle:
            for line in handle:
                fields = line.split()
                separator = fields.index('-')
                point, kind, options = fields[4], fields[separator + 1], fields[separator + 3]
                if kind in ('cgroup', 'cgroup2') and os.path.dirname(point) == '/sys/fs/cgroup':
                    wanted = [option for option in options.split(',') if option not in ('rw', 'ro')]
                    if kind == 'cgroup' and all(option.startswith('name=') for option in wanted):
                        wanted.insert(0, 'none')
                    found.append((os.path.basename(point), kind, ','.join(wanted) or None))
        return found

    @staticmethod
    def machine_state():
        """What of the machine a stray systemd would change: global sysctls, /dev's and /root's entries."""
        sysctls = subprocess.run(['sysctl', '-a'], capture_output=True, text=True, check=False).stdout.splitlines()
        volatile = ('fs.dentry-state', 'fs.inode-', 'fs.file-nr', 'fs.aio-nr', 'fs.quota', 'kernel.random',
                    'kernel.ns_last_pid', 'kernel.pty.nr', 'kernel.sched_domain', 'net.', 'kernel.core_pipe_limit')
        return ([line for line in sysctls if not line.startswith(volatile)], sorted(os.listdir('/dev')),
                sorted(os.listdir('/root')))

    def _start_init(self):
        self.before = self.machine_state()
        # A cgroup of its own in every hierarchy, so that each cgroup namespace root is that subtree.
        self.cgroups = []
        for hierarchy, dummy, dummy in self.hierarchies():
            path = os.path.join('/sys/fs/cgroup', hierarchy, self.name)
            os.mkdir(path)
            self.cgroups.append(path)
            if hierarchy == 'cpuset':  # a cpuset takes no task until it has CPUs and memory nodes
                for name in ('cpuset.cpus', 'cpuset.mems'):
                    with open(os.path.join(os.path.dirname(path), name)) as source:
                        value = source.read()
                    with open(os.path.join(path, name), 'w') as target:
                        target.write(value)
        inside = ['mount -t tmpfs -o mode=755 nbt-cgroup /sys/fs/cgroup']
        for hierarchy, kind, options in self.hierarchies():
            inside.append('mkdir /sys/fs/cgroup/%s' % hierarchy)
            mount_options = '-o %s ' % options if options else ''
            inside.append('mount -t %s %s%s /sys/fs/cgroup/%s' % (kind, mount_options, kind, hierarchy))
        inside += ['rm -rf /etc/systemd/system', 'mkdir -p /etc/systemd/system %s' % self.UNIT_PATH]
        for target in self.TARGETS:
            inside.append('printf "[Unit]\\nDefaultDependencies=no\\n" > %s/%s.target' % (self.UNIT_PATH, target))
        inside.append('exec env container=netstack-backlog-test SYSTEMD_UNIT_PATH=/etc/systemd/system:%s '
                      '/lib/systemd/systemd --system --unit=nbt.target --log-target=null --show-status=false'
                      % self.UNIT_PATH)
        outside = ['echo $$ > %s/cgroup.procs' % shlex.quote(path) for path in self.cgroups]
        outside.append('exec unshare --pid --fork --cgroup --uts --mount-proc --kill-child sh -ec %s'
                       % shlex.quote('; '.join(inside)))
        self.init = subprocess.Popen(['nsenter', '--mount=%s' % self.mount_ns, '--net=/run/netns/%s' % self.name,
                                      '--', 'sh', '-ec', '; '.join(outside)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_for_init()
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline:
            state = self.run('systemctl', 'is-system-running', check=False).stdout.strip()
            if state in ('running', 'degraded'):
                return
            time.sleep(0.1)
        raise RuntimeError('systemd on host %s did not come up (is-system-running: %s)' % (self.name, state))

    def command(self, argv):
        return ['nsenter', '--target', str(self.init_pid), '--mount', '--net', '--pid', '--uts', '--'] + list(argv)

    def cgroup_root(self, hierarchy):
        """The host's subtree of a hierarchy, which its cgroup namespace and its mounts show as the root."""
        return os.path.join('/sys/fs/cgroup', hierarchy, self.name), os.path.join('/sys/fs/cgroup', hierarchy)

    def remove(self):
        super().remove()
        for path in getattr(self, 'cgroups', []):
            deadline = time.monotonic() + 10
            while os.path.isdir(path):
                try:
                    for directory, dummy, dummy in os.walk(path, topdown=False):
                        os.rmdir(directory)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        if hasattr(self, 'before'):
            after = self.machine_state()
            for what, was, now in zip(('sysctls', '/dev', '/root'), self.before, after):
                if was != now:
                    raise RuntimeError('host %s changed the machine\'s %s: %s' % (
                        self.name, what, sorted(set(was) ^ set(now))))


class RootHost(NamespaceHost):
    """A host of another Debian release: the same namespaces, and that release's root filesystem.

    The root (rootfs.root_filesystem: made once with debootstrap and cached) is the lower
    layer of an overlay whose upper layer is the host's own memory, so the host writes where it
    likes and the cache stays as built.  The init runs chrooted into it, and so does every
    command (nsenter --root): the host runs its release's own shell, Python and daemons, and
    Ansible reaches it over SSH with the release's own sshd (fleet.SshAccess).
    """

    def __init__(self, label, somaxconn=None, release='debian13'):
        from rootfs import root_filesystem  # here: debian12 hosts need no debootstrap

        self.release = release
        self.python = '/usr/bin/python3'
        self.lower = root_filesystem(release)
        super().__init__(label, somaxconn)

    def _make_mount_namespace(self):
        self._bind_directory()
        state, self.root = os.path.join(self.directory, 'state'), os.path.join(self.directory, 'root')
        os.mkdir(state)
        os.mkdir(self.root)
        quoted = {'state': shlex.quote(state), 'root': shlex.quote(self.root), 'lower': shlex.quote(self.lower)}
        steps = ['mount -t tmpfs nbt-state {state}',
                 'mkdir {state}/upper {state}/work',
                 'mount -t overlay nbt-root -o lowerdir={lower},upperdir={state}/upper,workdir={state}/work {root}',
                 'mount --rbind /dev {root}/dev',
                 'mount --rbind /sys {root}/sys',
                 'mount -t tmpfs -o mode=755 nbt-run {root}/run',
                 'mkdir -m 1777 {root}/run/lock',
                 'mount -t tmpfs -o mode=1777 nbt-tmp {root}/tmp']
        subprocess.run(['unshare', '--mount=%s' % self.mount_ns, '--propagation', 'private',
                        'sh', '-ec', '; '.join(step.format(**quoted) for step in steps)],
                       check=True, capture_output=True, text=True)

    def _start_init(self):
        # unshare mounts the new PID namespace's /proc inside the root, then chroot execs the
        # init with the release's own Python.
        self.init = subprocess.Popen(['nsenter', '--mount=%s' % self.mount_ns, '--net=/run/netns/%s' % self.name,
                                      '--', 'unshare', '--pid', '--fork', '--mount-proc=%s/proc' % self.root,
                                      '--kill-child', 'chroot', self.root, self.python, '-c', INIT])
        self._wait_for_init()

    def command(self, argv):
        return ['nsenter', '--target', str(self.init_pid), '--mount', '--net', '--pid', '--root', '--wd',
                '--'] + list(argv)

    def install_sshd(self, directory):
        inside = '/etc/ssh/netstack-backlog-test'
        self.run('mkdir', '-p', '-m', '755', '/run/sshd', inside)
        for name in ('host_key', 'authorized_keys'):
            with open(os.path.join(directory, name)) as handle:
                self.write('%s/%s' % (inside, name), handle.read())
        self.run('chmod', '600', '%s/host_key' % inside)
        with open(os.path.join(directory, 'sshd_config')) as handle:
            self.write('%s/sshd_config' % inside, handle.read().replace(directory, inside))
        return '%s/sshd_config' % inside
