#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation only: the module is win_listener_backlog_facts.ps1.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: win_listener_backlog_facts
short_description: Report the listen() backlog a Windows host grants, in the schema of listener_backlog_facts
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - The Windows side of M(netstack.backlog.listener_backlog_facts). Playbooks normally call
    M(netstack.backlog.listener_backlog_facts) on every host; its action plugin looks at the
    connection's shell family and runs this module on Windows hosts and the Python module elsewhere.
  - C(gather_facts) with C(FACTS_MODULES) runs modules directly, without their action plugins, so
    for Windows hosts list this module there, for example C(ansible_facts_modules) in the Windows
    group's variables.
  - The fact is the number a plain listen() call gets, C(200). C(winsock2.h) defines C(SOMAXCONN) as
    C(0x7fffffff), which asks the service provider for "a maximum reasonable value"; the provider
    reduces it, and on Windows 8 and later a plain listen() call gets 200 (JDK-8330940; Netty's C(NetUtil)
    falls back to 200 on Windows for the same reason). So RV(ansible_facts.ansible_listener_backlog_info.raw)
    is C(2147483647) and RV(ansible_facts.ansible_listener_backlog_info.capped) is true.
  - A program that needs more passes C(SOMAXCONN_HINT) of its number to listen(), which the provider adjusts
    into the range 200 to 65535; that is the program's choice, not a host setting, so it is not the fact.
  - No registry value sets the limit. The AFD values C(EnableDynamicBacklog), C(MinimumDynamicBacklog),
    C(MaximumDynamicBacklog) and C(DynamicBacklogGrowthDelta) were removed as of Windows Vista and
    Server 2008, so the source is always C(default) with key C(SOMAXCONN); the source C(registry) stays
    reserved.
options:
  listeners:
    description:
      - Also report every listening TCP socket (IPv4 and IPv6), read with C(Get-NetTCPConnection -State Listen)
        (Windows 8 and Server 2012 or later), in RV(ansible_facts.ansible_listener_backlog_listeners).
      - Windows has no standard way to read the backlog a socket was granted or its queue now, so
        C(backlog) and C(queued) are null.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Reads only, so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
    details: Changes nothing, so there is nothing to diff.
  facts:
    support: full
    details: Returns C(ansible_listener_backlog), C(ansible_listener_backlog_info) and, on request, C(ansible_listener_backlog_listeners).
  platform:
    platforms: windows
    support: full
notes:
  - Platform details and their sources are in the collection's C(docs/platforms.md).
seealso:
  - module: netstack.backlog.listener_backlog_facts
  - plugin: netstack.backlog.effective_backlog
    plugin_type: filter
'''

EXAMPLES = r'''
# Normally through the one name for every platform; on Windows hosts it runs this module.
- name: Gather the listen backlog facts
  netstack.backlog.listener_backlog_facts:

- name: Gather the facts with every listening socket, calling the Windows module directly
  netstack.backlog.win_listener_backlog_facts:
    listeners: true

- name: What nginx's 511 becomes on this host
  ansible.builtin.debug:
    msg: "{{ 511 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog) }}"

# gather_facts does not go through action plugins: for Windows hosts, e.g. in group_vars/windows.yml:
# ansible_facts_modules: [smart, netstack.backlog.win_listener_backlog_facts]
'''

RETURN = r'''
ansible_facts:
  description: The facts, under C(ansible_facts) with the C(ansible_) prefix that Ansible strips.
  returned: always
  type: dict
  contains:
    ansible_listener_backlog:
      description: The backlog a plain listen() call on this host gets.
      returned: always
      type: int
      sample: 200
    ansible_listener_backlog_info:
      description: Where the number came from; the same keys as M(netstack.backlog.listener_backlog_facts) returns.
      returned: always
      type: dict
      contains:
        source:
          description: The interface the number came from; always C(default) on Windows.
          type: str
          returned: always
          sample: default
        key:
          description: The knob read; always C(SOMAXCONN) on Windows.
          type: str
          returned: always
          sample: SOMAXCONN
        raw:
          description: C(SOMAXCONN) as C(winsock2.h) defines it, before the provider reduces it.
          type: int
          returned: always
          sample: 2147483647
        capped:
          description: Whether the number differs from RV(ansible_facts.ansible_listener_backlog_info.raw); true on Windows.
          type: bool
          returned: always
          sample: true
        minimum:
          description: A floor every listen() call is raised to; null on Windows.
          type: int
          returned: always
          sample: null
        system:
          description: The platform it was read on.
          type: str
          returned: always
          sample: Windows
        syn_backlog:
          description: Linux C(net.ipv4.tcp_max_syn_backlog); null on Windows.
          type: int
          returned: always
          sample: null
        syncookies:
          description: Linux C(net.ipv4.tcp_syncookies); null on Windows.
          type: int
          returned: always
          sample: null
        listen_overflows:
          description: Linux TcpExt C(ListenOverflows); null on Windows.
          type: int
          returned: always
          sample: null
        listen_drops:
          description: Linux TcpExt C(ListenDrops); null on Windows.
          type: int
          returned: always
          sample: null
    ansible_listener_backlog_listeners:
      description: Every listening TCP socket, sorted by port, family, address.
      returned: when O(listeners=true)
      type: list
      elements: dict
      contains:
        family:
          description: C(ipv4) or C(ipv6).
          type: str
          returned: always
          sample: ipv4
        address:
          description: The local address it listens on.
          type: str
          returned: always
          sample: 0.0.0.0
        port:
          description: The local port.
          type: int
          returned: always
          sample: 5985
        backlog:
          description: The accept queue limit granted to this socket; always null on Windows, which has no standard way to read it.
          type: int
          returned: always
          sample: null
        queued:
          description: Connections waiting in its accept queue now; always null on Windows.
          type: int
          returned: always
          sample: null
        pid:
          description: The process ID owning the socket (C(OwningProcess)).
          type: int
          returned: always
          sample: 4
        process:
          description: That process's name; null when the process has gone.
          type: str
          returned: always
          sample: System
'''
