# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
name: namespace_fixes
short_description: The network namespaces below a limit, each with how to set it for its container runtime
version_added: 1.1.0
author:
  - netstack.backlog maintainers (@netstack)
description:
  - Takes C(ansible_facts.listener_backlog_namespaces) (M(netstack.backlog.listener_backlog_facts) with
    O(netstack.backlog.listener_backlog_facts#module:namespaces=true)) and a limit, and returns every namespace but
    the module's own whose C(net.core.somaxconn) is below it, with a message that names the container and says how to
    set the value where the container is defined, for its runtime (for the machine's own network namespace, seen
    from another one, that it is the machine's).
  - A container's network namespace is made at the kernel's default, not at the host's value, so tuning the host
    does nothing for it. The recipes - C(docker run --sysctl) and compose C(sysctls); Podman's C(--sysctl) and
    Quadlet C(Sysctl=); C(nerdctl run --sysctl); a Kubernetes pod's C(securityContext.sysctls), which the kubelet
    must allow first because C(net.core.somaxconn) is not one of Kubernetes' safe sysctls; systemd-nspawn's own
    C(/etc/sysctl.d); C(ip netns exec) or C(nsenter) for a plain namespace.
  - The role C(netstack.backlog.listener_backlog) warns with these messages after tuning.
options:
  _input:
    description: The namespaces, C(ansible_facts.listener_backlog_namespaces).
    type: list
    elements: dict
    required: true
  limit:
    description: The limit they should have (what the role set on the host), 0 to 2147483647.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Say how to give every container the host's limit
  ansible.builtin.debug:
    msg: "{{ ansible_facts.listener_backlog_namespaces | netstack.backlog.namespace_fixes(ansible_facts.listener_backlog)
             | map(attribute='message') | list }}"
'''

RETURN = r'''
_value:
  description:
    - One dict per namespace below the limit, with C(id), C(label) (the container's runtime and short ID, with its
      pod; else the C(ip netns) name; else the inode), C(limit) (its own), C(runtime), C(initial) and C(message).
    - Namespaces that could not be read (their C(error) is set) are left out.
    - The machine's own network namespace (C(initial), below the limit when Ansible runs in another namespace, as in a
      pod) is listed with C(initial=true) and a message saying so, and no recipe, since it is no container, and
      M(netstack.backlog.namespace_somaxconn) refuses to set it.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.netstack.backlog.plugins.plugin_utils import _namespaces
from ansible_collections.netstack.backlog.plugins.plugin_utils._namespaces import recipe  # noqa: F401  pylint: disable=unused-import


def namespace_fixes(namespaces, limit):
    try:
        return _namespaces.namespace_fixes(namespaces, limit)
    except _namespaces.NamespaceError as exc:
        raise AnsibleFilterError('netstack.backlog.namespace_fixes: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'namespace_fixes': namespace_fixes}
