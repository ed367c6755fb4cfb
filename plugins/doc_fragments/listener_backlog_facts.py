# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The options of the listen backlog read, shared by listener_backlog_facts and listener_backlog_read.

    Their argument spec is one too: plugins/module_utils/_facts.py.
    """

    DOCUMENTATION = r'''
options:
  listeners:
    description:
      - Also report every listening TCP socket (IPv4 and IPv6) of the host's network namespace, with the backlog the
        kernel granted it and its queue now, in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_listeners).
      - On Linux they are read through the kernel's C(sock_diag) netlink interface (no program
        needed); the C(ss) program is the fall-back.
      - On FreeBSD and DragonFly they are read from C(netstat -LanW -p tcp), on macOS from
        C(netstat -AanlLW -f inet) and C(netstat -AanlLW -f inet6); a macOS socket in both lists
        (same PCB) is one dual-stack socket. netstat shows no owner, so C(pid) and C(process) are
        null there, and it leaves out a socket whose queue limit is 0.
      - OpenBSD and NetBSD have no C(netstat) view of listen queues (NetBSD's C(-L) is about routes);
        there, as on any other system, O(listeners=true) fails and names the supported systems.
    type: bool
    default: false
  unix_listeners:
    description:
      - Also report every listening UNIX socket (stream and seqpacket) that has a name, with the backlog the kernel
        granted it and its queue now, in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_unix_listeners). They
        are kept apart from
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_listeners), whose
        entries are TCP.
      - For services that listen on a socket file or an abstract name, such as php-fpm or MariaDB.
      - Linux only; on any other system O(unix_listeners=true) fails and names that system.
      - Read through the kernel's C(sock_diag) netlink interface for C(AF_UNIX) (no program needed);
        C(ss -lxp) is the fall-back. A kernel built without C(CONFIG_UNIX_DIAG) gives the queue sizes
        to neither (C(ss) then prints 0 for them), so there the module fails instead of reporting zeros.
      - UNIX sockets belong to the network namespace of the process that made them, whatever their path;
        the module sees those of its own network namespace (inside a container, the container's).
    type: bool
    default: false
  namespaces:
    description:
      - Also report every network namespace of the host (containers, pods, C(ip netns) namespaces), each with its own
        limit and health signals and, with O(namespace_listeners), its own listeners, in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_namespaces). A
        container or a pod has a namespace of its own, which starts at the kernel's default (128 before Linux 5.4,
        4096 since), not at the host's value.
      - The top-level facts stay those of the module's own namespace.
      - Namespaces are found from C(/proc/PID/ns/net) of every process and from the files that pin
        namespaces with no process in them (C(/run/netns) of C(ip netns), CNI, CRI-O and Podman,
        C(/run/docker/netns), rootless Podman's C(/run/user/UID/netns)).
      - Each is entered with C(setns) in the module's own process, never by running a program in it,
        and the module goes back to its own namespace after each one, whatever failed.
      - Reading other namespaces needs root (C(CAP_SYS_ADMIN) to enter them, and the right to read other
        users' C(/proc/PID/ns/net)); a namespace that cannot be read is listed with the reason in its C(error).
      - Linux only; on any other system O(namespaces=true) fails and names that system.
    type: bool
    default: false
    version_added: 1.1.0
  namespace_listeners:
    description:
      - With O(namespaces=true), also read each namespace's own listeners - TCP with O(listeners=true), named UNIX
        with O(unix_listeners=true) - into
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_namespaces[].listeners)
        and
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_namespaces[].unix_listeners).
        Without it, O(listeners) and O(unix_listeners) are read in the module's own namespace only, as for the
        top-level facts.
      - Off unless asked because of what it costs on the controller, not on the host - each listener is eight values
        that ansible-core copies, checks and, for an ad hoc command, prints. Over 100 namespaces of 10 listeners the
        module takes about 0.1 s more with them, but the whole C(ansible) command 0.35 to 0.5 s more; with only
        each namespace's limit and counters, 0.2 s at most (the collection's C(docs/benchmarks.md)). The role
        C(netstack.backlog.listener_backlog) reads no namespace's listeners.
    type: bool
    default: false
    version_added: 1.2.0
  namespaces_below:
    description:
      - With O(namespaces=true), return only the namespaces whose limit is below this value, and those whose limit
        could not be read (their
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_namespaces[].error)
        says why), with how many namespaces there are in all in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_namespaces_total).
        Every namespace is still read; the listeners of those left out are not (O(namespace_listeners)).
      - For a caller that needs only the namespaces below a limit - the role C(netstack.backlog.listener_backlog)
        passes the limit it sets. Facts stay in every later task's variables, which ansible-core copies for each
        task, so the namespaces already at the limit are left out rather than carried through a play.
    type: int
    version_added: 1.2.0
  skip_unsupported:
    description:
      - With V(true), O(listeners), O(unix_listeners) and O(namespaces) are left out on a system that does not support
        them instead of failing, and their facts are not returned there (listeners - OpenBSD, NetBSD, illumos, Solaris,
        AIX; UNIX listeners and namespaces - any system but Linux); on Windows O(tuning) is left out too. A fact that is
        returned was read; one that is missing was not supported.
      - For a play over a mixed fleet that has not gathered facts (the role C(netstack.backlog.listener_backlog)
        uses it so that it needs no M(ansible.builtin.setup) run).
    type: bool
    default: false
    version_added: 1.1.0
'''

    # What the role listener_backlog reads besides the facts, to plan from one read.
    ROLE_READ = r'''
options:
  files:
    description:
      - Also report, for each of these files, whether it exists, where it links to, and its lines that match any of
        its O(files[].patterns), in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_files).
      - The role C(netstack.backlog.listener_backlog) reads its services' config files this way (with
        M(netstack.backlog.listener_backlog_read)), with the
        patterns of the directives it edits, to tell without another look at the host whether an edit would change
        anything. Only matching lines are returned, never a whole file (configs can hold secrets).
    type: list
    elements: dict
    version_added: 1.1.0
    suboptions:
      path:
        description:
          - The file. A path with wildcards (C(*), C(?), C([)) stands for every file it matches (shell-style, sorted)
            - one entry per match, each with
            RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_files[].pattern)
            set to this path; with no match, one entry for the path itself, which does not exist.
        type: path
        required: true
      patterns:
        description: Python regular expressions, searched in each line.
        type: list
        elements: str
        default: []
  tuning:
    description:
      - Also report what tuning the kernel limit involves on this host, in
        RV(netstack.backlog.listener_backlog_facts#module:ansible_facts.ansible_listener_backlog_tuning) - the values
        the knob accepts, the sysctl file's lines for the knobs, their live values, whether they can be written, and
        the other files read at boot that set them - and which distribution the host runs.
      - The role C(netstack.backlog.listener_backlog) plans its changes from this read (with
        M(netstack.backlog.listener_backlog_read)), so a run that has nothing
        to change runs no other module on the host.
      - Leave it unset to report none of this.
    type: dict
    suboptions:
      sysctl_file:
        description:
          - The file the values are kept in; by default the platform's (C(/etc/sysctl.d/90-listener-backlog.conf) on
            Linux, C(/etc/sysctl.conf) on the BSDs and macOS), or its runtime one with O(tuning.persist=false).
        type: path
      persist:
        description:
          - Whether the values are kept where they survive a reboot; only then are the other files read at boot
            looked at.
        type: bool
        default: true
    version_added: 1.1.0
'''
