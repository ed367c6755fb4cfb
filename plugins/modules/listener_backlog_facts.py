#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: listener_backlog_facts
short_description: Report the largest listen() backlog a host grants, and the health around it
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Reads the kernel's own limit on the accept queue of a listening socket (C(net.core.somaxconn)
    on Linux, C(kern.ipc.soacceptqueue) on FreeBSD, C(kern.ipc.somaxconn) on macOS, C(kern.somaxconn)
    on OpenBSD, C(_conn_req_max_q) on illumos and Solaris, C(somaxconn) on AIX) and applies every
    clamp the kernel applies, so the fact is what a C(listen) call asking for the maximum really gets.
  - On Linux it reads C(/proc/sys/net/core/somaxconn), then asks the C(sysctl) program, then asks
    the kernel directly by a C(listen) call on a throw-away loopback socket and reading the granted limit
    back with C(TCP_INFO), then falls back to the kernel's default. Each fall-back succeeds with a
    warning that says what failed. No program is run when procfs answers and O(listeners) and
    O(unix_listeners) are false.
  - Values are per network namespace; inside a container the container's value is reported.
  - On Windows the same task name runs M(netstack.backlog.win_listener_backlog_facts) through this
    module's action plugin. With C(gather_facts) and C(FACTS_MODULES) (which do not go through
    action plugins) list M(netstack.backlog.win_listener_backlog_facts) for Windows hosts instead.
  - Usable in C(FACTS_MODULES), so that C(gather_facts) brings the facts with the others.
extends_documentation_fragment:
  - netstack.backlog.listener_backlog_facts
  - netstack.backlog.listener_backlog_facts.role_read
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  facts:
    support: full
    description:
      - Returns C(ansible_listener_backlog), C(ansible_listener_backlog_info) and, on request,
        C(ansible_listener_backlog_listeners), C(ansible_listener_backlog_unix_listeners),
        C(ansible_listener_backlog_namespaces) and C(ansible_listener_backlog_namespaces_total).
  platform:
    platforms: [posix, windows]
    support: full
    description: Linux, FreeBSD, macOS, OpenBSD, NetBSD, DragonFly, illumos, Solaris and AIX in Python; Windows through the action plugin.
notes:
  - O(files) and O(tuning) are deprecated here and will be removed in 2.0.0; the role C(netstack.backlog.listener_backlog)
    reads them with M(netstack.backlog.listener_backlog_read).
  - The C(source) of the number is C(procfs), C(sysctl), C(probe) (the kernel's grant to a test C(listen) call,
    used on Linux when procfs and C(sysctl) both fail), C(ipadm) or C(ndd) (illumos, Solaris), C(no) (AIX),
    C(registry) (reserved; no Windows registry value sets the limit today) or C(default).
  - Platform details and their sources are in the collection's C(docs/platforms.md).
seealso:
  - module: netstack.backlog.win_listener_backlog_facts
  - plugin: netstack.backlog.effective_backlog
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Gather the listen backlog facts
  netstack.backlog.listener_backlog_facts:

- name: Show the limit and where it came from
  ansible.builtin.debug:
    msg: "{{ ansible_facts.listener_backlog }} from {{ ansible_facts.listener_backlog_info.source }}"

- name: Gather the facts with every listening socket
  netstack.backlog.listener_backlog_facts:
    listeners: true

- name: Listeners whose backlog sits at the host's limit (likely clamped)
  ansible.builtin.debug:
    msg: "{{ ansible_facts.listener_backlog_listeners | selectattr('backlog', 'eq', ansible_facts.listener_backlog) }}"

- name: Gather the facts with the listening UNIX sockets (Linux)
  netstack.backlog.listener_backlog_facts:
    unix_listeners: true

- name: The backlog php-fpm got on its socket
  ansible.builtin.debug:
    msg: "{{ (ansible_facts.listener_backlog_unix_listeners | selectattr('path', 'eq', '/run/php/php8.2-fpm.sock') | first).backlog }}"

- name: Gather the facts of every network namespace (containers, pods) with their listeners
  netstack.backlog.listener_backlog_facts:
    namespaces: true
    listeners: true
    namespace_listeners: true

- name: Containers whose namespace grants less than the host
  ansible.builtin.debug:
    msg: >-
      {{ ansible_facts.listener_backlog_namespaces
         | selectattr('container') | selectattr('listener_backlog', 'lt', ansible_facts.listener_backlog)
         | map(attribute='container.id') | list }}

# In ansible.cfg, to bring the facts with gather_facts:
# [defaults]
# facts_modules = ansible.builtin.setup, netstack.backlog.listener_backlog_facts
'''

RETURN = r'''
ansible_facts:
  description: The facts, under C(ansible_facts) with the C(ansible_) prefix that Ansible strips.
  returned: always
  type: dict
  contains:
    ansible_listener_backlog:
      description:
        - The largest backlog a C(listen) call on this host gets right now, after every clamp the kernel
          applies. C(0) is a real answer on Linux.
      returned: always
      type: int
      sample: 4096
    ansible_listener_backlog_info:
      description: Where the number came from and the health signals around it.
      returned: always
      type: dict
      contains:
        source:
          description: The interface the number came from.
          type: str
          choices: [procfs, sysctl, probe, ipadm, ndd, 'no', registry, default]
          returned: always
          sample: procfs
        key:
          description: The knob read, or C(SOMAXCONN) for a default.
          type: str
          returned: always
          sample: net.core.somaxconn
        raw:
          description: The value as the kernel stores it, before clamps; null when not read from a knob.
          type: int
          returned: always
          sample: 4096
        capped:
          description: Whether a clamp changed RV(ansible_facts.ansible_listener_backlog_info.raw).
          type: bool
          returned: always
          sample: false
        minimum:
          description:
            - A floor every C(listen) call is raised to, where the platform has one (OpenBSD C(kern.sominconn),
              illumos and Solaris C(_conn_req_min)); null elsewhere.
            - On OpenBSD a minimum above the maximum raises RV(ansible_facts.ansible_listener_backlog); on illumos
              the kernel caps after raising, so it never does.
          type: int
          returned: always
          sample: null
        system:
          description: The platform it was read on (as C(uname -s) names it).
          type: str
          returned: always
          sample: Linux
        syn_backlog:
          description: Linux C(net.ipv4.tcp_max_syn_backlog); null elsewhere or when unreadable.
          type: int
          returned: always
          sample: 512
        syncookies:
          description: Linux C(net.ipv4.tcp_syncookies); null elsewhere or when unreadable.
          type: int
          returned: always
          sample: 1
        listen_overflows:
          description: Linux TcpExt C(ListenOverflows) of this network namespace; null elsewhere.
          type: int
          returned: always
          sample: 0
        listen_drops:
          description: Linux TcpExt C(ListenDrops) of this network namespace; null elsewhere.
          type: int
          returned: always
          sample: 0
    ansible_listener_backlog_listeners:
      description:
        - Every listening TCP socket, sorted by port, family, address.
        - Linux, FreeBSD, DragonFly and macOS only.
      returned: when O(listeners=true)
      type: list
      elements: dict
      contains:
        family:
          description:
            - C(ipv4) or C(ipv6).
            - A dual-stack socket (FreeBSD C(tcp46), or a macOS socket in both netstat lists) is C(ipv6).
          type: str
          returned: always
        address:
          description:
            - The local address it listens on; the wildcard is C(0.0.0.0) or C(::).
            - From netstat without an IPv6 zone (C(fe80::1), not C(fe80::1%lo0)).
          type: str
          returned: always
          sample: 127.0.0.1
        port:
          description: The local port.
          type: int
          returned: always
          sample: 6379
        backlog:
          description:
            - The accept queue limit the kernel granted this socket (netstat's C(maxqlen)).
            - Negative on macOS or DragonFly when a backlog above 32767 was kept in 16 bits; such
              a socket refuses every connection, and the module warns.
          type: int
          returned: always
          sample: 511
        queued:
          description:
            - Connections waiting in its accept queue now (netstat's C(qlen)).
            - FreeBSD refuses a connection only when the queue is above one and a half times its
              C(backlog) (C(sonewconn)), so there it can exceed C(backlog).
          type: int
          returned: always
          sample: 0
        pid:
          description: The lowest process ID holding the socket, where visible to the module's user; else null.
          type: int
          returned: always
          sample: 1234
        process:
          description: That process's name, where visible; else null.
          type: str
          returned: always
          sample: redis-server
    ansible_listener_backlog_unix_listeners:
      description:
        - Every listening UNIX stream or seqpacket socket of the network namespace that has a name, sorted by
          RV(ansible_facts.ansible_listener_backlog_unix_listeners[].path).
        - Linux only.
      returned: when O(unix_listeners=true)
      type: list
      elements: dict
      contains:
        path:
          description:
            - The name it is bound to, as C(ss) prints it - a file path, or C(@) and the name for an abstract
              socket (a NUL inside an abstract name is shown as C(@) too).
            - A file path is the one given at bind time; it does not follow a later rename or unlink of the file.
          type: str
          returned: always
          sample: /run/php/php8.2-fpm.sock
        type:
          description: The socket type.
          type: str
          choices: [stream, seqpacket]
          returned: always
          sample: stream
        backlog:
          description: The accept queue limit the kernel granted this socket (C(ss) Send-Q).
          type: int
          returned: always
          sample: 511
        queued:
          description:
            - Connections waiting in its accept queue now (C(ss) Recv-Q).
            - The kernel refuses a connection only once more than RV(ansible_facts.ansible_listener_backlog_unix_listeners[].backlog)
              are waiting, so it can be one above it.
          type: int
          returned: always
          sample: 0
        pid:
          description: The lowest process ID holding the socket, where visible to the module's user; else null.
          type: int
          returned: always
          sample: 1234
        process:
          description: That process's name, where visible; else null.
          type: str
          returned: always
          sample: php-fpm8.2
    ansible_listener_backlog_files:
      description: Each file of O(files), in the order given.
      returned: when O(files) is set
      type: list
      elements: dict
      contains:
        path:
          description: The file, as given or as a wildcard path matched it.
          type: str
          returned: always
        pattern:
          description: The wildcard path it matched, or null for a path given without wildcards.
          type: str
          returned: always
        exists:
          description: Whether it exists (for a link, whether its target exists).
          type: bool
          returned: always
        islnk:
          description: Whether it is a symbolic link.
          type: bool
          returned: always
        lnk_source:
          description: Where a link finally points (as M(ansible.builtin.stat) reports it); null for a file.
          type: str
          returned: always
        lines:
          description:
            - Its lines that match one of the patterns, in order, each with its line ending as in the file.
            - Null when the file could not be read whole as UTF-8 text (a directory, unreadable, larger than 1 MiB).
          type: list
          elements: str
          returned: always
          sample: ["tcp-backlog 511\n"]
    ansible_listener_backlog_tuning:
      description: What tuning the kernel limit involves here, and the host's distribution.
      returned: when O(tuning) is set
      type: dict
      contains:
        tunable:
          description: Whether the collection knows how to tune this system's limit (Linux, FreeBSD, macOS, OpenBSD).
          type: bool
          returned: always
          sample: true
        release:
          description: The kernel's release (C(uname -r)).
          type: str
          returned: when tunable
          sample: 6.1.0-27-amd64
        somaxconn_range:
          description: The lowest and the highest value this kernel's limit accepts.
          type: list
          elements: int
          returned: when tunable
          sample: [0, 2147483647]
        file:
          description: The sysctl file the values are kept in.
          type: str
          returned: when tunable
          sample: /etc/sysctl.d/90-listener-backlog.conf
        file_exists:
          description: Whether that file exists (and could be read).
          type: bool
          returned: when tunable
        file_link:
          description: Where that file is a symbolic link, the link's target as it is written; null otherwise.
          type: str
          returned: when tunable
          sample: null
        file_lines:
          description: For each knob that file sets, the last line that sets it.
          type: dict
          returned: when tunable
          sample: {net.core.somaxconn: net.core.somaxconn = 4096}
        live:
          description: Each knob's value in the running kernel, as text; null when unreadable.
          type: dict
          returned: when tunable
          sample: {net.core.somaxconn: '4096', net.ipv4.tcp_max_syn_backlog: '512'}
        writable:
          description: Whether the limit's procfs file can be written (false on a read-only C(/proc/sys)); null off Linux.
          type: bool
          returned: when tunable
        boot_files:
          description:
            - The other files read at boot (C(sysctl.d) directories, C(/etc/sysctl.conf)) that set a knob, with
              the knobs each sets, sorted by path. Empty with O(tuning.persist=false).
          type: list
          elements: dict
          returned: when tunable
          sample: [{path: /etc/sysctl.d/99-local.conf, keys: [net.core.somaxconn]}]
        distribution:
          description:
            - The distribution from C(/etc/os-release) - C(id), C(id_like), C(version_id) - and C(os_family) as
              M(ansible.builtin.setup) names it (C(Debian), C(RedHat), C(Suse), C(Archlinux), C(Alpine); the system's
              name off Linux; null when unknown).
          type: dict
          returned: always
          sample: {os_family: Debian, id: debian, id_like: [], version_id: '12'}
        init:
          description:
            - What decides which service manager restarts services here, as M(ansible.builtin.service) picks it
              from the C(service_mgr) fact, and whether that manager runs here - C(pid1) (PID 1's name, null when
              unreadable), C(pid1_same_network) (PID 1 is in this network namespace; null when unreadable),
              C(systemd_booted) (C(/run/systemd/system/) or an older canary exists), C(sbin_init) (the name
              C(/sbin/init) links to), C(systemctl), C(upstart), C(openrc), C(init_d).
            - The role refuses to restart services with a manager that does not run here, before any change.
          type: dict
          returned: on Linux
          sample: {pid1: systemd, pid1_same_network: true, systemd_booted: true, sbin_init: systemd, systemctl: true,
                   upstart: false, openrc: false, init_d: true}
    ansible_listener_backlog_namespaces:
      description:
        - Every network namespace of the host, sorted by RV(ansible_facts.ansible_listener_backlog_namespaces[].id);
          the module's own is among them.
        - With O(namespaces_below), only those below it or not read.
        - Linux only.
      returned: when O(namespaces=true)
      type: list
      elements: dict
      contains:
        id:
          description: The namespace's inode number, as C(lsns -t net) and C(readlink /proc/PID/ns/net) show it.
          type: int
          returned: always
          sample: 4026532281
        current:
          description: Whether it is the module's own namespace (the one the top-level facts describe).
          type: bool
          returned: always
          sample: false
        initial:
          description:
            - Whether it is the machine's own network namespace (the kernel's first, where PID 1 of the initial PID
              namespace and every kernel thread run), which is never a container's, whichever namespace the module
              runs in. Its RV(ansible_facts.ansible_listener_backlog_namespaces[].container) is always null.
            - Known from the kernel threads or PID 1 when the module sees the machine's processes, and on Linux 6.18 and
              later, where the kernel gives that namespace a fixed inode (4026531833), from anywhere.
            - Null when the module runs in a PID namespace of its own on an older kernel, where neither is visible and
              so nothing tells which namespace is the machine's.
          type: bool
          returned: always
          sample: false
          version_added: 1.2.0
        name:
          description: Its C(ip netns) name (a file in C(/run/netns)), or null.
          type: str
          returned: always
          sample: cni-5e6a4c1f-3b2d-7a8e-91c0-2f4d6b8e0a13
        pids:
          description: The lowest process IDs in it, at most 16; empty when only a pinned file holds it.
          type: list
          elements: int
          returned: always
          sample: [4121, 4188]
        container:
          description:
            - The container its lowest process runs in, read from that process's C(/proc/PID/cgroup) (Docker,
              containerd and Kubernetes with either cgroup driver, CRI-O, Podman, systemd-nspawn; cgroup v1 and v2);
              null for a namespace of no known container.
          type: dict
          returned: always
          contains:
            runtime:
              description:
                - The runtime that names the container's cgroup - C(docker), C(containerd), C(cri-o), C(podman) or
                  C(systemd-nspawn).
                - Null under Kubernetes' cgroupfs driver, whose paths (C(/kubepods/<qos>/pod<uid>/<id>)) are the same
                  for containerd and cri-dockerd.
              type: str
              sample: docker
            id:
              description: The full container ID (the machine name for systemd-nspawn).
              type: str
              sample: 3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211
            pod:
              description: The Kubernetes pod UID as the kubelet writes it, or null; a static pod's is the kubelet's
                32-hex hash (its mirror pod's C(kubernetes.io/config.mirror) annotation), not a UUID.
              type: str
              sample: 8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f
        listener_backlog:
          description:
            - The namespace's own limit, read as RV(ansible_facts.ansible_listener_backlog) is (same clamps and
              fall-backs; warnings name the namespace); null when RV(ansible_facts.ansible_listener_backlog_namespaces[].error)
              says it could not be read.
          type: int
          returned: always
          sample: 128
        listener_backlog_info:
          description:
            - The namespace's own RV(ansible_facts.ansible_listener_backlog_info), same keys; its C(listen_overflows)
              and C(listen_drops) are that namespace's counters. Null when it could not be read.
          type: dict
          returned: always
        listeners:
          description:
            - Its listening TCP sockets, as RV(ansible_facts.ansible_listener_backlog_listeners) has them; null when
              they could not be read.
          type: list
          elements: dict
          returned: when O(namespace_listeners=true) and O(listeners=true)
        unix_listeners:
          description:
            - Its named UNIX listeners, as RV(ansible_facts.ansible_listener_backlog_unix_listeners) has them; null
              when they could not be read.
          type: list
          elements: dict
          returned: when O(namespace_listeners=true) and O(unix_listeners=true)
        error:
          description:
            - Null, or why the namespace (or its listeners) could not be read - gone during the scan, not permitted
              (not root, or without C(CAP_SYS_ADMIN)), entering it refused. What could be read is still reported.
          type: str
          returned: always
          sample: null
    ansible_listener_backlog_namespaces_total:
      description:
        - How many network namespaces there are in all, the module's own included - the length
          RV(ansible_facts.ansible_listener_backlog_namespaces) has without O(namespaces_below).
        - Linux only.
      returned: when O(namespaces=true) and O(namespaces_below) is set
      type: int
      sample: 101
      version_added: 1.2.0
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netstack.backlog.plugins.module_utils._facts import FACT_OPTIONS, ROLE_READ_OPTIONS, read

# files and tuning were the role's; it reads them with listener_backlog_read now.
DEPRECATED = dict(removed_in_version='2.0.0', removed_from_collection='netstack.backlog')


def main():
    argument_spec = dict(FACT_OPTIONS)
    argument_spec.update((name, dict(option, **DEPRECATED)) for name, option in ROLE_READ_OPTIONS.items())
    read(AnsibleModule(argument_spec=argument_spec, supports_check_mode=True))


if __name__ == '__main__':
    main()
