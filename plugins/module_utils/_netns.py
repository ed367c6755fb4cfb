# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every network namespace of a Linux host: found, named, and entered in this process.

A container or a pod has a network namespace of its own, with its own
``net.core.somaxconn`` (a new namespace starts at the kernel's default, not at the
host's value), its own TcpExt counters and its own listeners.  This file finds them
all and lets the caller read each one from inside with ``setns(2)``:

- from ``/proc/PID/ns/net`` of every process (the link names the namespace by its
  nsfs inode: ``net:[4026531840]``, what ``lsns -t net`` prints as NS), and
- from the files that bind-mount a namespace with no process in it: ``ip netns``
  and CNI / CRI-O / Podman's ``/run/netns``, Docker's ``/run/docker/netns``,
  rootless Podman's ``/run/user/UID/netns``.  A file there that is not on nsfs
  (a leftover whose mount is gone) is no namespace and is passed over.

Entering is ``setns(fd, CLONE_NEWNET)`` on the calling thread (``os.setns`` from
Python 3.12, ``ctypes`` before); the caller keeps a descriptor of its own namespace
and goes back to it after every visit, whatever failed (:meth:`Visitor.visit`).

``parse_cgroup`` names the container a process belongs to from ``/proc/PID/cgroup``
as the host sees it (``hierarchy-ID:controllers:path``, man 7 cgroups).  It is pure,
as are ``parse_ns_link`` and ``unescape_unit``; the rest touches the host.
Runs on target Pythons 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re

CLONE_NEWNET = 0x40000000

# Where runtimes bind-mount namespaces that may have no process in them.  /var/run is a
# link to /run on current distributions; both are listed for those where it is not.
# ``ip netns`` names are the entries of its own directories (NETNS_RUN_DIR in iproute2's
# ip/ip_common.h: /var/run/netns; CNI's and CRI-O's pinned namespaces are there too).
IP_NETNS_DIRS = ('/run/netns', '/var/run/netns')
RUNTIME_NETNS_DIRS = ('/run/docker/netns', '/var/run/docker/netns')
# Rootless Podman pins its namespaces under the user's runtime directory.
USER_NETNS_GLOB = ('/run/user', 'netns')

# How many process ids an entry lists (the lowest first).
PID_SAMPLE = 16

# The machine's own network namespace (the kernel's init_net, the one PID 1 of the initial PID
# namespace runs in) is never a container's, whichever namespace the module runs in.  Three
# ways to know it, in the order tried (initial_namespace):
# - kernel threads never leave the initial namespaces (kernel/nsproxy.c: they run with
#   init_nsproxy, whose net_ns is init_net), and kthreadd is PID 2 of the initial PID namespace
#   (init/main.c, rest_init()); /proc/2 is a kernel thread only there, which PF_KTHREAD
#   (include/linux/sched.h) in the flags of its /proc/2/stat tells;
# - PID 1, when the module's PID namespace is the initial one (its inode is fixed,
#   PROC_PID_INIT_INO in include/linux/proc_ns.h since Linux 3.8);
# - from Linux 6.18 init_net's inode itself is fixed (NET_NS_INIT_INO in
#   include/uapi/linux/nsfs.h); earlier kernels never hand out an inode below 0xF0000000
#   (PROC_DYNAMIC_FIRST, fs/proc/generic.c), so that number names no other namespace there.
PID_NS_INIT_INO = 0xEFFFFFFC
NET_NS_INIT_INO = 0xEFFFFFF9
NET_NS_INIT_INO_SINCE = (6, 18)
PF_KTHREAD = 0x00200000

_NS_LINK = re.compile(r'^net:\[(\d+)\]$')
_ID = r'([0-9a-f]{64})'
# Container scopes and directories, matched on one segment of a cgroup path, innermost
# first: (pattern, runtime).  Recorded samples of each, with their sources, are the unit
# tests' fixtures (tests/unit/plugins/module_utils/fixtures/cgroup/SOURCES.yml).
_SEGMENT_RULES = (
    (re.compile(r'^docker-%s\.scope$' % _ID), 'docker'),
    (re.compile(r'^cri-containerd-%s\.scope$' % _ID), 'containerd'),
    (re.compile(r'^nerdctl-%s\.scope$' % _ID), 'containerd'),
    (re.compile(r'^crio-%s(?:\.scope)?$' % _ID), 'cri-o'),
    (re.compile(r'^libpod-%s(?:\.scope)?$' % _ID), 'podman'),
)
# runc's "slice:prefix:name" form, a systemd-style name on a cgroupfs path (kubelet with the
# systemd driver, runc with cgroupfs): kubepods-...-pod<uid>.slice:cri-containerd:<id>.
_COLON_PREFIXES = {'docker': 'docker', 'cri-containerd': 'containerd', 'crio': 'cri-o', 'libpod': 'podman'}
_BARE_ID = re.compile(r'^%s$' % _ID)
_NSPAWN_SERVICE = re.compile(r'^systemd-nspawn@(.+)\.service$')
_MACHINE_SCOPE = re.compile(r'^machine-(.+)\.scope$')
# Kubernetes pod cgroups: cgroupfs driver ``pod<uid>``; systemd driver
# ``kubepods[-<qos>]-pod<uid with _ for ->.slice``, which kind nodes prefix with ``kubelet-``
# (the kubelet's pkg/kubelet/cm: GetPodCgroupNameSuffix is "pod" + the UID as it stands,
# escapeSystemdCgroupName turns each "-" into "_", and NewCgroupName refuses a "_" of its own,
# so every "_" goes back to "-").  The kubelet writes two forms of UID there:
# - a pod from the API server: its metadata.uid, a dashed UUID;
# - a static pod (read from a file or a URL: kube-apiserver, etcd... under kubeadm): the hex
#   MD5 the kubelet makes of it, 32 hex digits without dashes, unless the manifest sets
#   metadata.uid itself (pkg/kubelet/config/common.go, applyDefaults:
#   ``pod.UID = types.UID(hex.EncodeToString(hasher.Sum(nil)[0:]))``, also stored as the pod's
#   kubernetes.io/config.hash annotation, kubetypes.ConfigHashAnnotationKey).  RKE2 sets its
#   manifests' metadata.uid to the same kind of MD5 (rancher/rke2 pkg/staticpod/staticpod.go,
#   later pkg/podexecutor/staticpod.go).  Another hand-set UID form is not recognised.
# The mirror pod the kubelet posts for a static pod (pkg/kubelet/pod/mirror_client.go) gets a
# fresh UUID from the API server (k8s.io/apiserver/pkg/registry/rest/meta.go,
# FillObjectMetaSystemFields) and never names a cgroup; its kubernetes.io/config.mirror
# annotation holds the hash found here.  Recorded static-pod paths of both drivers are in the
# unit tests' fixtures (fixtures/cgroup/SOURCES.yml).
_POD_UUID = r'[0-9a-f]{8}%(sep)s[0-9a-f]{4}%(sep)s[0-9a-f]{4}%(sep)s[0-9a-f]{4}%(sep)s[0-9a-f]{12}'
_POD_HASH = r'[0-9a-f]{32}'
_POD_CGROUPFS = re.compile(r'^pod(%s|%s)$' % (_POD_UUID % {'sep': '-'}, _POD_HASH))
_POD_SYSTEMD = re.compile(r'kubepods(?:-[a-z]+)?-pod(%s|%s)\.slice$' % (_POD_UUID % {'sep': '_'}, _POD_HASH))
# libvirt registers its guests with machined as machine-qemu-N-name / machine-lxc-N-name.
_LIBVIRT_MACHINE = re.compile(r'^(?:qemu|lxc)-\d+-')


def parse_ns_link(text):
    """The namespace inode of a ``/proc/PID/ns/net`` link text (``net:[4026531840]``), or None."""
    match = _NS_LINK.match((text or '').strip())
    return int(match.group(1)) if match else None


def is_kernel_thread(stat_text):
    """Whether a ``/proc/PID/stat`` text is a kernel thread's (PF_KTHREAD in its flags field).

    The fields after the command name, which is in parentheses and may hold any character,
    are: state, ppid, pgrp, session, tty_nr, tpgid, flags (man 5 proc).
    """
    fields = (stat_text or '').rpartition(')')[2].split()
    try:
        return bool(int(fields[6]) & PF_KTHREAD)
    except (IndexError, ValueError):
        return False


def initial_namespace(kthreadd=None, pid1=None, own_pid_namespace=None, kernel=None):
    """The inode of the machine's own network namespace, and how it was known; (None, None) if unknown.

    ``kthreadd``: the network namespace inode of PID 2 when /proc/2/stat says it is a kernel
    thread; ``pid1``: that of PID 1; ``own_pid_namespace``: the inode of the module's PID
    namespace; ``kernel``: (major, minor) of the running kernel.  Any may be None (unreadable).
    """
    if kthreadd is not None:
        return kthreadd, 'kernel threads'
    if pid1 is not None and own_pid_namespace == PID_NS_INIT_INO:
        return pid1, 'PID 1'
    if kernel is not None and tuple(kernel) >= NET_NS_INIT_INO_SINCE:
        return NET_NS_INIT_INO, 'fixed inode'
    return None, None


def unescape_unit(name):
    """A systemd unit name part with its ``\\xNN`` escapes undone (systemd-escape(1))."""
    return re.sub(r'\\x([0-9a-fA-F]{2})', lambda match: chr(int(match.group(1), 16)), name)


def _identify_segment(segments, index, in_kubepods):
    """(runtime, id) of the container that cgroup path segment ``index`` names, or None."""
    segment = segments[index]
    for pattern, runtime in _SEGMENT_RULES:
        match = pattern.match(segment)
        if match:
            return runtime, match.group(1)
    parts = segment.split(':')
    if len(parts) == 3 and parts[1] in _COLON_PREFIXES and _BARE_ID.match(parts[2]):
        return _COLON_PREFIXES[parts[1]], parts[2]
    if _BARE_ID.match(segment):
        if index and segments[index - 1] == 'docker':
            return 'docker', segment
        if in_kubepods:
            # Kubernetes' cgroupfs driver: the runtime names the container by its id alone,
            # containerd and cri-dockerd alike, so the path does not say which one ran it.
            return None, segment
    match = _NSPAWN_SERVICE.match(segment)
    if match:
        return 'systemd-nspawn', unescape_unit(match.group(1))
    match = _MACHINE_SCOPE.match(segment)
    if match and index and segments[index - 1] == 'machine.slice':
        machine = unescape_unit(match.group(1))
        if not _LIBVIRT_MACHINE.match(machine):
            return 'systemd-nspawn', machine
    return None


def _identify_path(path):
    """(runtime, id, pod) from one cgroup path, or None."""
    segments = [segment for segment in path.split('/') if segment]
    pod = None
    for segment in segments:
        match = _POD_CGROUPFS.match(segment) or _POD_SYSTEMD.search(segment.split(':')[0])
        if match:
            # As the kubelet writes the UID: dashes back where the systemd driver put "_";
            # a static pod's hash has none and stays as it is.
            pod = match.group(1).replace('_', '-')
    in_kubepods = any('kubepods' in segment for segment in segments)
    # The innermost container wins: Docker in Docker shows /docker/<outer>/docker/<inner>.
    for index in range(len(segments) - 1, -1, -1):
        found = _identify_segment(segments, index, in_kubepods)
        if found:
            return found[0], found[1], pod
    return None


def parse_cgroup(text):
    """The container a process runs in, from its ``/proc/PID/cgroup`` as the host sees it.

    Returns ``{'runtime', 'id', 'pod'}`` or None for a process in no known container.
    ``runtime`` is docker, containerd, cri-o, podman or systemd-nspawn, or None where the
    path does not say (Kubernetes' cgroupfs driver); ``id`` the full container id (the
    machine name for systemd-nspawn); ``pod`` the Kubernetes pod uid or None.  Each line is ``hierarchy-ID:controllers:path`` (cgroup v1 controllers, and
    ``0::path`` for v2); the first line whose path names a container answers.
    """
    for line in (text or '').splitlines():
        parts = line.split(':', 2)
        if len(parts) != 3:
            continue
        found = _identify_path(parts[2].strip())
        if found:
            runtime, identity, pod = found
            return {'runtime': runtime, 'id': identity, 'pod': pod}
    return None


def describe_errno(exc):
    """A short reason for a failed open or setns of a namespace."""
    code = getattr(exc, 'errno', None)
    if code in (errno.ENOENT, errno.ESRCH):
        return 'gone during the scan'
    if code in (errno.EACCES, errno.EPERM):
        return '%s: reading other network namespaces needs root with CAP_SYS_ADMIN' % errno.errorcode[code]
    return '%s' % (getattr(exc, 'strerror', None) or exc)


class _SetnsUnavailable(Exception):
    pass


def _libc_setns():
    """setns(2) through ctypes, for Pythons before 3.12."""
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.setns
    except (OSError, AttributeError):
        # ctypes.util costs more to import than all the rest (it imports subprocess and tempfile):
        # only where the C library is not already in the process.
        import ctypes.util
        name = ctypes.util.find_library('c')
        try:
            function = ctypes.CDLL(name, use_errno=True).setns
        except (OSError, AttributeError, TypeError):
            raise _SetnsUnavailable('the C library has no setns() (glibc 2.14 and later have it)')
    function.argtypes = [ctypes.c_int, ctypes.c_int]
    function.restype = ctypes.c_int

    def setns(fd, nstype):
        if function(fd, nstype) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    return setns


def setns_function():
    """``setns(fd, nstype)`` raising OSError, or raise _SetnsUnavailable."""
    if hasattr(os, 'setns'):
        return os.setns
    return _libc_setns()


class Discovery(object):
    """The network namespaces of a host, by inode, with their processes and pinned files.

    ``namespaces``: {inode: {'pids': [...], 'paths': [...], 'name': str or None}};
    ``pids``: every process id listed (for the socket owner walk, so /proc is listed
    once); ``unreadable``: process ids whose namespace link could not be read.
    """

    def __init__(self, proc_root='/proc', ip_netns_dirs=IP_NETNS_DIRS, runtime_dirs=RUNTIME_NETNS_DIRS,
                 user_root=USER_NETNS_GLOB[0]):
        self.proc_root = proc_root
        self.ip_netns_dirs = ip_netns_dirs
        self.runtime_dirs = runtime_dirs
        self.user_root = user_root
        self.namespaces = {}
        self.pids = []
        self.unreadable = []
        self.initial = None

    def _entry(self, inode):
        entry = self.namespaces.get(inode)
        if entry is None:
            entry = self.namespaces[inode] = {'pids': [], 'paths': [], 'name': None}
        return entry

    def scan(self, kernel=None):
        """List every namespace; ``kernel`` ((major, minor)) helps tell the machine's own (``initial``)."""
        self._scan_processes()
        self.initial = self._initial(kernel)
        nsfs = self._nsfs_device()
        seen = set()
        for directory in self.ip_netns_dirs:
            self._scan_dir(directory, nsfs, seen, named=True)
        for directory in self.runtime_dirs:
            self._scan_dir(directory, nsfs, seen, named=False)
        try:
            users = sorted(os.listdir(self.user_root))
        except OSError:
            users = []
        for user in users:
            self._scan_dir(os.path.join(self.user_root, user, USER_NETNS_GLOB[1]), nsfs, seen, named=False)
        return self

    def _scan_processes(self):
        try:
            self.pids = sorted(int(name) for name in os.listdir(self.proc_root) if name.isdigit())
        except OSError:
            self.pids = []
        for pid in self.pids:
            try:
                inode = parse_ns_link(os.readlink('%s/%d/ns/net' % (self.proc_root, pid)))
            except OSError as exc:
                # A process that ended since the listing is no loss; one we may not read is.
                if exc.errno in (errno.EACCES, errno.EPERM):
                    self.unreadable.append(pid)
                continue
            if inode is not None:
                self._entry(inode)['pids'].append(pid)

    def _inode(self, path):
        try:
            return os.stat(path).st_ino
        except OSError:
            return None

    def _initial(self, kernel):
        """The inode of the machine's own network namespace (see initial_namespace), or None."""
        kthreadd = None
        try:
            with open('%s/2/stat' % self.proc_root) as handle:
                if is_kernel_thread(handle.read()):
                    kthreadd = self._inode('%s/2/ns/net' % self.proc_root)
        except (IOError, OSError):
            pass
        return initial_namespace(kthreadd=kthreadd, pid1=self._inode('%s/1/ns/net' % self.proc_root),
                                 own_pid_namespace=self._inode('%s/self/ns/pid' % self.proc_root),
                                 kernel=kernel)[0]

    def _nsfs_device(self):
        try:
            return os.stat('%s/self/ns/net' % self.proc_root).st_dev
        except OSError:
            return None

    def _scan_dir(self, directory, nsfs, seen, named):
        try:
            real = os.path.realpath(directory)
            names = sorted(os.listdir(directory))
        except OSError:
            return
        if real in seen:
            return
        seen.add(real)
        for name in names:
            path = os.path.join(directory, name)
            try:
                status = os.stat(path)
            except OSError:
                continue
            # A bind-mounted namespace is an nsfs inode; an unmounted leftover is a plain file.
            if nsfs is None or status.st_dev != nsfs:
                continue
            entry = self._entry(status.st_ino)
            entry['paths'].append(path)
            if named and entry['name'] is None:
                entry['name'] = name


class Visitor(object):
    """Enters namespaces from this thread and always comes back.

    ``own`` is a descriptor of the thread's namespace, opened before any visit.
    ``visit(inode, sources, read)`` opens the first source (a ``/proc/PID/ns/net`` or a
    pinned file) that still is namespace ``inode``, enters it, calls ``read()``, and
    returns to ``own`` in a ``finally``.  Returns (result, None) or (None, reason).
    If the way back fails, ``ReturnFailed`` is raised: nothing read after that could
    be trusted to be the module's own namespace.
    """

    def __init__(self, proc_root='/proc'):
        self.proc_root = proc_root
        self.own = None
        self.own_inode = None
        self.setns = None
        self.unavailable = None
        own_path = '%s/thread-self/ns/net' % proc_root
        if not os.path.exists(own_path):  # Linux before 3.17
            own_path = '%s/self/ns/net' % proc_root
        self.own = os.open(own_path, os.O_RDONLY)
        self.own_inode = os.fstat(self.own).st_ino
        try:
            self.setns = setns_function()
        except _SetnsUnavailable as exc:
            self.unavailable = str(exc)

    def close(self):
        if self.own is not None:
            os.close(self.own)
            self.own = None

    def _open(self, inode, sources):
        reason = 'gone during the scan'
        for source in sources:
            try:
                fd = os.open(source, os.O_RDONLY)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ESRCH):
                    reason = describe_errno(exc)
                continue
            if os.fstat(fd).st_ino == inode:
                return fd, None
            # The pid was reused, or the file now pins another namespace.
            os.close(fd)
        return None, reason

    def visit(self, inode, sources, read):
        if self.unavailable:
            return None, 'cannot enter: %s' % self.unavailable
        fd, reason = self._open(inode, sources)
        if fd is None:
            return None, reason
        try:
            try:
                self.setns(fd, CLONE_NEWNET)
            except OSError as exc:
                return None, 'entering it was refused (setns): %s' % describe_errno(exc)
            try:
                try:
                    return read(), None
                except Exception as exc:  # pylint: disable=broad-except
                    # Whatever fails inside stays this namespace's error; the way back runs first.
                    return None, 'reading it failed: %s' % exc
            finally:
                self._return()
        finally:
            os.close(fd)

    def _return(self):
        try:
            self.setns(self.own, CLONE_NEWNET)
        except OSError as exc:
            raise ReturnFailed('could not return to its own network namespace: %s' % exc)


class ReturnFailed(Exception):
    """The thread could not go back to its own network namespace."""
