# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
name: effective_backlog
short_description: The backlog a listen() really gets under a kernel limit
version_added: 1.0.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Computes what a C(listen) call asking for the input gets when the kernel's limit is O(limit), that is the smaller
    of the two, for a request of 1 or more, on every platform but illumos.
  - Without O(system), a negative request gets the limit, as on Linux, FreeBSD, OpenBSD and DragonFly, which
    compare the request as unsigned or test for a negative one; with O(minimum) (OpenBSD's C(kern.sominconn),
    reported as C(listener_backlog_info.minimum)) the result is then raised to at least that value, as the
    OpenBSD kernel function C(solisten) does.
  - With O(system), the platform's own rule applies, as its kernel source or vendor reference gives it
    (the collection's C(docs/platforms.md) quotes each one).
    On C(Darwin) (macOS) a request of 0 gets the limit too.
    On C(NetBSD) a negative request becomes 0.
    On C(SunOS) (illumos) the socket layer stores C(backlog * 3 / 2 + 1) (a negative request counting as 0),
    which O(minimum) (C(_conn_req_min)) raises and the limit caps, in that order, so C(listen(100)) gets 128
    under the default limit of 128 and C(listen(10)) gets 16.
    On C(Windows) a negative request is a C(SOMAXCONN_HINT(N)) (C(winsock2.h) defines it as C(-N)) and gets
    N kept within 200 to 65535, whatever the limit.
  - On a platform whose handling of a request of 0 or less no source documents (C(AIX), any platform not named
    here, and C(listen(0)) on Windows), such a request is an error that says so, rather than a guess.
  - Integers written as decimal strings (as INI inventories give them) are accepted; anything else,
    booleans included, is an error that names the value.
options:
  _input:
    description: The backlog the service asks for.
    type: int
    required: true
  limit:
    description: The kernel's limit, usually C(ansible_facts.listener_backlog).
    type: int
    required: true
  minimum:
    description:
      - A floor the platform applies to every C(listen) call, usually C(ansible_facts.listener_backlog_info.minimum);
        omit it where there is none.
    type: int
  system:
    description:
      - The platform whose rule applies, usually C(ansible_facts.listener_backlog_info.system), compared without
        regard to case.
      - Omitted, the rule of Linux and the BSDs but NetBSD and macOS applies, which is right for any request of
        1 or more on every platform but illumos.
    type: str
seealso:
  - module: netstack.backlog.listener_backlog_facts
'''

EXAMPLES = r'''
- name: What nginx's default backlog really is on this host
  ansible.builtin.debug:
    msg: "{{ 511 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog) }}"

- name: On any platform, with its floor (OpenBSD, illumos) and its own rule
  ansible.builtin.debug:
    msg: >-
      {{ 1024 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog,
                                                   minimum=ansible_facts.listener_backlog_info.minimum,
                                                   system=ansible_facts.listener_backlog_info.system) }}

- name: What nginx's own default on FreeBSD, listen(-1), gets on this host
  ansible.builtin.debug:
    msg: "{{ -1 | netstack.backlog.effective_backlog(ansible_facts.listener_backlog, system=ansible_facts.listener_backlog_info.system) }}"
'''

RETURN = r'''
_value:
  description: The backlog the kernel grants.
  type: int
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.module_utils._backlog import effective_backlog as _effective_backlog


def effective_backlog(requested, limit, minimum=None, system=None):
    try:
        return _effective_backlog(requested, limit, minimum, system)
    except ValueError as exc:
        raise AnsibleFilterError('netstack.backlog.effective_backlog: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'effective_backlog': effective_backlog}
