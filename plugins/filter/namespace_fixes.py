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
from ansible_collections.netstack.backlog.plugins.filter.audit import INT_MAX, namespace_label

KEY = 'net.core.somaxconn'


def recipe(entry, limit):
    """How to give namespace ``entry`` the value ``limit`` where it is made, by its runtime."""
    container = entry.get('container') or {}
    runtime = container.get('runtime')
    setting = '%s=%d' % (KEY, limit)
    if container.get('pod'):
        # Kubernetes' safe set does not hold net.core.somaxconn ("Using sysctls in a Kubernetes
        # Cluster", kubernetes.io): a pod asking for it is refused until the kubelet allows it.
        return ('set it in the pod spec, securityContext: {sysctls: [{name: %s, value: "%d"}]}; %s is not a safe '
                'sysctl, so each node\'s kubelet must allow it first (allowedUnsafeSysctls: ["%s"] in its '
                'KubeletConfiguration, or --allowed-unsafe-sysctls=%s)' % (KEY, limit, KEY, KEY, KEY))
    if runtime == 'docker':
        return ('set it where the container is defined: docker run --sysctl %s, or sysctls: {%s: %d} for the '
                'service in compose' % (setting, KEY, limit))
    if runtime == 'podman':
        return ('set it where the container is defined: podman run --sysctl %s (sysctls: in compose, Sysctl=%s '
                'in a Quadlet .container file)' % (setting, setting))
    if runtime == 'containerd':
        return 'set it where the container is defined: nerdctl run --sysctl %s' % setting
    if runtime == 'cri-o':
        return ('set it in the pod spec, securityContext: {sysctls: [{name: %s, value: "%d"}]} (allowed by the '
                'kubelet with allowedUnsafeSysctls)' % (KEY, limit))
    if runtime == 'systemd-nspawn':
        return ('set it inside the machine, "%s = %d" in a file of its /etc/sysctl.d, which its systemd-sysctl '
                'applies at boot' % (KEY, limit))
    if entry.get('name'):
        return ('set it where the namespace is made: ip netns exec %s sysctl -w %s'
                % (entry['name'], setting))
    pids = entry.get('pids') or []
    if pids:
        return ('set it where the namespace is made (processes %s): nsenter -n -t %d sysctl -w %s'
                % (' '.join(str(pid) for pid in pids[:5]), pids[0], setting))
    return 'set it where the namespace is made (sysctl -w %s inside it)' % setting


def namespace_fixes(namespaces, limit):
    if namespaces is None:
        return []
    if not isinstance(namespaces, list):
        raise AnsibleFilterError('netstack.backlog.namespace_fixes: the input must be the list '
                                 'ansible_facts.listener_backlog_namespaces, got %r' % (namespaces,))
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise AnsibleFilterError('netstack.backlog.namespace_fixes: limit must be an integer, got %r' % (limit,))
    if not 0 <= limit <= INT_MAX:
        raise AnsibleFilterError('netstack.backlog.namespace_fixes: limit must be 0 to %d, got %d' % (INT_MAX, limit))
    fixes = []
    current = [entry.get('id') for entry in namespaces if entry.get('current')]
    for entry in namespaces:
        own = entry.get('listener_backlog')
        if entry.get('current') or entry.get('error') or own is None or own >= limit:
            continue
        label = namespace_label(entry)
        if entry.get('initial'):
            # Ansible runs in another namespace (a pod, ip netns exec): "this host" is that one, and
            # the machine's own is no container to fix from there, nor to set live.
            message = ('%s (%s) has %s %d, below the %d set here, in network namespace %s where this run works: '
                       'the machine keeps its own value. To tune the machine, run the role in its own network '
                       'namespace.' % (label, entry.get('id'), KEY, own, limit, current[0] if current else 'unknown'))
        else:
            how = recipe(entry, limit)
            # A namespace of no container and no name is known by its inode alone: named once.
            named = ('%s (network namespace %s)' % (label, entry.get('id'))
                     if entry.get('container') or entry.get('name') else 'network namespace %s' % entry.get('id'))
            message = ('%s has %s %d, below the %d set on this host: a container keeps the value its network '
                       'namespace was made with, so its listeners get at most %d. %s.'
                       % (named, KEY, own, limit, own, how[:1].upper() + how[1:]))
        fixes.append({
            'id': entry.get('id'),
            'label': label,
            'limit': own,
            'runtime': (entry.get('container') or {}).get('runtime'),
            'initial': bool(entry.get('initial')),
            'message': message,
        })
    return fixes


class FilterModule(object):
    def filters(self):
        return {'namespace_fixes': namespace_fixes}
