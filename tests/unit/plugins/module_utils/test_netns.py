# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Container identity from /proc/PID/cgroup, and namespace discovery on a fake /proc.

The cgroup samples under fixtures/cgroup/ were recorded on real hosts; each has its
source and the identity it holds in fixtures/cgroup/SOURCES.yml.  Shapes no recorded
sample was found for are written below from the naming rule that makes them, with
that rule named; tests/integration/test_namespaces_real_kernel.py puts real processes
into cgroups of those shapes on this machine's kernel.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest
import yaml

from ansible_collections.netstack.backlog.plugins.module_utils import _netns as netns

HERE = os.path.dirname(os.path.abspath(__file__))
CGROUP = os.path.join(HERE, 'fixtures', 'cgroup')
with open(os.path.join(CGROUP, 'SOURCES.yml')) as _handle:
    CGROUP_SOURCES = yaml.safe_load(_handle)

ID_A = 'a' * 64
ID_B = '0123456789abcdef' * 4
POD_HASH = '9f8e7d6c5b4a39281706f5e4d3c2b1a0'


def test_every_cgroup_sample_is_listed_with_a_public_source_and_its_identity():
    files = set(os.path.basename(path) for path in glob.glob(os.path.join(CGROUP, '*.txt')))
    assert files == set(CGROUP_SOURCES)
    for name, entry in CGROUP_SOURCES.items():
        assert entry['source'].startswith('https://'), name
        assert set(entry['expected']) == set(['runtime', 'id', 'pod_uid']), name


@pytest.mark.parametrize('name', sorted(CGROUP_SOURCES))
def test_recorded_cgroup_sample_names_its_container(name):
    with open(os.path.join(CGROUP, name)) as handle:
        text = handle.read()
    expected = CGROUP_SOURCES[name]['expected']
    if CGROUP_SOURCES[name].get('format') == 'cgroup-path':
        # A cgroup path alone (no public /proc/PID/cgroup of that shape): what parse_cgroup
        # reads after the second colon of each line.
        paths = text.splitlines()
        assert len(paths) == 1, name
        found = netns._identify_path(paths[0].strip())
        found = found and {'runtime': found[0], 'id': found[1], 'pod': found[2]}
    else:
        assert CGROUP_SOURCES[name].get('format') is None, name
        found = netns.parse_cgroup(text)
    assert found == {'runtime': expected['runtime'], 'id': expected['id'], 'pod': expected['pod_uid']}


# Shapes without a recorded sample, each from the rule that names it.
CONSTRUCTED = [
    # systemd-nspawn@.service runs a machine in the unit named after it (systemd-nspawn(1)),
    # its payload below; \x2d is systemd's escape of '-' (systemd-escape(1)).
    ('0::/machine.slice/systemd-nspawn@web\\x2dfront.service/payload/system.slice/nginx.service',
     {'runtime': 'systemd-nspawn', 'id': 'web-front', 'pod': None}),
    # systemd-nspawn run by hand registers a scope machine-<name>.scope with machined.
    ('0::/machine.slice/machine-build01.scope/payload', {'runtime': 'systemd-nspawn', 'id': 'build01', 'pod': None}),
    # libvirt guests register with machined too (machine-qemu-1-vm.scope): no container.
    ('0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/emulator', None),
    # Guaranteed pods have no QoS level: kubepods-pod<uid>.slice / kubepods/pod<uid>.
    ('0::/kubepods.slice/kubepods-pod0f0e0d0c_0b0a_4908_8706_050403020100.slice/cri-containerd-%s.scope' % ID_A,
     {'runtime': 'containerd', 'id': ID_A, 'pod': '0f0e0d0c-0b0a-4908-8706-050403020100'}),
    ('11:pids:/kubepods/pod0f0e0d0c-0b0a-4908-8706-050403020100/crio-%s' % ID_A,
     {'runtime': 'cri-o', 'id': ID_A, 'pod': '0f0e0d0c-0b0a-4908-8706-050403020100'}),
    # Podman with the cgroupfs manager puts containers under libpod_parent; rootless
    # Podman under the user's manager.
    ('0::/libpod_parent/libpod-%s' % ID_A, {'runtime': 'podman', 'id': ID_A, 'pod': None}),
    ('0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%s.scope/container' % ID_A,
     {'runtime': 'podman', 'id': ID_A, 'pod': None}),
    # nerdctl with systemd names its scopes nerdctl-<id>.scope.
    ('0::/system.slice/nerdctl-%s.scope' % ID_A, {'runtime': 'containerd', 'id': ID_A, 'pod': None}),
    # Docker in Docker: the innermost container.
    ('0::/docker/%s/docker/%s' % (ID_A, ID_B), {'runtime': 'docker', 'id': ID_B, 'pod': None}),
    # Static pods: the kubelet's own UID, an MD5 in hex without dashes (pkg/kubelet/config/common.go,
    # applyDefaults), named "pod" + UID (pkg/kubelet/cm, GetPodCgroupNameSuffix); the systemd driver
    # (CgroupName.ToSystemd) with runc's systemd manager, as kind nodes prefix it, and cgroupfs
    # for a Guaranteed pod.  The pod is reported as the kubelet wrote it.
    ('0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope'
     % (POD_HASH, ID_A), {'runtime': 'containerd', 'id': ID_A, 'pod': POD_HASH}),
    ('0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/'
     'kubelet-kubepods-burstable-pod%s.slice/cri-containerd-%s.scope' % (POD_HASH, ID_A),
     {'runtime': 'containerd', 'id': ID_A, 'pod': POD_HASH}),
    ('0::/kubepods.slice/kubepods-pod%s.slice/crio-%s.scope' % (POD_HASH, ID_A),
     {'runtime': 'cri-o', 'id': ID_A, 'pod': POD_HASH}),
    ('11:memory:/kubepods/pod%s/%s' % (POD_HASH, ID_A), {'runtime': None, 'id': ID_A, 'pod': POD_HASH}),
    # What is neither a UUID nor a 32-hex hash is no UID the kubelet makes: the container stays, its pod unknown.
    ('0::/kubepods/burstable/pod%s/%s' % (POD_HASH[:31], ID_A), {'runtime': None, 'id': ID_A, 'pod': None}),
    ('0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s_.slice/cri-containerd-%s.scope'
     % (POD_HASH, ID_A), {'runtime': 'containerd', 'id': ID_A, 'pod': None}),
    # CRI-O's conmon runs beside the container, in a scope of its own: not a container.
    ('0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f0e0d0c_0b0a_4908_8706_050403020100.slice/'
     'crio-conmon-%s.scope' % ID_A, None),
    # A process in no container: the root, a service, a cgroup namespace's own view, this
    # machine's sandbox (32 hex digits are no container id).
    ('0::/', None),
    ('0::/system.slice/sshd.service', None),
    ('4:memory:/process_api/82dd89658d57b68daf79911f12085fa2\n0::/', None),
    ('', None),
    ('garbage without colons', None),
]


@pytest.mark.parametrize('text, expected', CONSTRUCTED)
def test_constructed_cgroup_shapes(text, expected):
    assert netns.parse_cgroup(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('net:[4026531840]', 4026531840),
    ('net:[4026531840]\n', 4026531840),
    ('mnt:[4026531841]', None),
    ('', None),
    (None, None),
])
def test_ns_link(text, expected):
    assert netns.parse_ns_link(text) == expected


def test_unit_escapes_are_undone():
    assert netns.unescape_unit('web\\x2dfront\\x2e1') == 'web-front.1'


def test_discovery_on_a_fake_proc_reads_each_link_once_and_skips_what_is_not_nsfs(tmp_path):
    """/proc/PID/ns/net links made as symlinks; the pinned-file folders hold plain files.

    A plain file is not on nsfs (no namespace bind-mounted there), so it is no
    namespace: the real-kernel tests cover real pinned files.
    """
    proc = tmp_path / 'proc'
    for pid, link in ((1, 'net:[100]'), (7, 'net:[200]'), (3, 'net:[100]'), (12, 'mnt:[5]')):
        (proc / str(pid) / 'ns').mkdir(parents=True)
        os.symlink(link, str(proc / str(pid) / 'ns' / 'net'))
    # The nsfs device is taken from /proc/self/ns/net: here the real one.
    (proc / 'self' / 'ns').mkdir(parents=True)
    os.symlink('/proc/self/ns/net', str(proc / 'self' / 'ns' / 'net'))
    (proc / 'not-a-pid').mkdir()
    pinned = tmp_path / 'run-netns'
    pinned.mkdir()
    (pinned / 'leftover').write_text(u'')
    found = netns.Discovery(proc_root=str(proc), ip_netns_dirs=(str(pinned),), runtime_dirs=(),
                            user_root=str(tmp_path / 'no-such-dir')).scan()
    assert found.pids == [1, 3, 7, 12]
    assert found.namespaces == {100: {'pids': [1, 3], 'paths': [], 'name': None},
                                200: {'pids': [7], 'paths': [], 'name': None}}
    assert found.unreadable == []


@pytest.mark.parametrize('errno_name, expected', [
    ('ENOENT', 'gone during the scan'),
    ('ESRCH', 'gone during the scan'),
    ('EPERM', 'EPERM: reading other network namespaces needs root with CAP_SYS_ADMIN'),
    ('EACCES', 'EACCES: reading other network namespaces needs root with CAP_SYS_ADMIN'),
])
def test_errno_reasons(errno_name, expected):
    import errno
    code = getattr(errno, errno_name)
    assert netns.describe_errno(OSError(code, os.strerror(code))) == expected


def test_a_failure_inside_a_namespace_is_its_error_and_the_thread_comes_back():
    """Entering the module's own namespace (the one namespace a unit test may enter) and failing there."""
    visitor = netns.Visitor()
    try:
        def fail():
            raise ValueError('boom')
        result, error = visitor.visit(visitor.own_inode, ['/proc/thread-self/ns/net'], fail)
        assert result is None
        if os.geteuid() == 0:
            assert error == 'reading it failed: boom'
        else:  # setns() needs CAP_SYS_ADMIN even into the thread's own namespace
            assert error.startswith('entering it was refused (setns): EPERM')
        assert os.stat('/proc/thread-self/ns/net').st_ino == visitor.own_inode
        assert visitor.visit(visitor.own_inode + 1, ['/proc/thread-self/ns/net'], fail) == (None, 'gone during the scan')
    finally:
        visitor.close()


# /proc/PID/stat lines read on this project's test machine (Linux 6.18, Debian 12): kthreadd, and a
# user process; the third is the second with a command name that holds ") 2129984 (" itself.
KTHREADD_STAT = ('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 18446744073709551615 0 0 0 0 0 '
                 '0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0')
CAT_STAT = ('3838 (cat) R 3835 3835 1107 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 34636 3133440 361 '
            '18446744073709551615 94086640148480 94086640168361 140725762503520 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0')


@pytest.mark.parametrize('text, expected', [
    (KTHREADD_STAT, True),
    (CAT_STAT, False),
    (CAT_STAT.replace('(cat)', '(x) S 0 0 0 0 -1 2129984 (y)'), False),
    ('', False),
    ('2 (kthreadd) S 0', False),
])
def test_kernel_threads_are_told_by_pf_kthread_after_the_command_name(text, expected):
    assert netns.is_kernel_thread(text) is expected


@pytest.mark.parametrize('evidence, expected', [
    # kthreadd visible: the module sees the machine's processes.
    ({'kthreadd': 4026531992, 'pid1': 4026531992, 'own_pid_namespace': netns.PID_NS_INIT_INO}, 4026531992),
    # PID 1 unreadable (a sandbox's init), kthreadd still tells.
    ({'kthreadd': 4026531833, 'pid1': None, 'own_pid_namespace': netns.PID_NS_INIT_INO, 'kernel': (6, 18)},
     4026531833),
    # No kernel thread (gVisor, say), PID 1 of the initial PID namespace.
    ({'pid1': 4026531992, 'own_pid_namespace': netns.PID_NS_INIT_INO, 'kernel': (5, 10)}, 4026531992),
    # PID 1 of a PID namespace of the module's own is that namespace's init, not the machine's.
    ({'pid1': 4026532300, 'own_pid_namespace': 4026532299, 'kernel': (5, 10)}, None),
    ({'pid1': 4026532300, 'own_pid_namespace': 4026532299, 'kernel': (6, 18)}, netns.NET_NS_INIT_INO),
    ({'kernel': (6, 19)}, 4026531833),
    ({'kernel': (6, 17)}, None),
    ({}, None),
])
def test_the_machines_own_namespace_is_known_from_kernel_threads_pid1_or_its_fixed_inode(evidence, expected):
    assert netns.initial_namespace(**evidence)[0] == expected
