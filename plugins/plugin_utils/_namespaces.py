# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network namespaces below a limit and how each one's runtime sets it: for the role's planner, the
filters netstack.backlog.namespace_fixes (a thin wrapper) and the audit's names of namespaces."""

from __future__ import annotations

INT_MAX = 2147483647
KEY = 'net.core.somaxconn'


class NamespaceError(ValueError):
    """Input the rules cannot read; the message says which."""


def short_id(identity):
    """A container id as ``docker ps`` shows it: its first 12 characters."""
    return identity[:12] if identity else identity


def namespace_label(entry):
    """How reports name a namespace: the machine's own, its container (and pod), its ip netns name, or its inode."""
    if entry.get('initial'):
        # Never a container's, whichever namespace the facts were read from.
        return "the machine's own network namespace"
    container = entry.get('container')
    if container:
        # Kubernetes' cgroupfs driver does not name the runtime: the pod is what is known.
        runtime = container.get('runtime') or ('Kubernetes' if container.get('pod') else 'unnamed runtime')
        label = '%s container %s' % (runtime, short_id(container.get('id')))
        if container.get('pod'):
            label += ' (pod %s)' % container['pod']
        return label
    if entry.get('name'):
        return 'netns %s' % entry['name']
    return 'namespace %s' % entry.get('id')


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
        raise NamespaceError('the input must be the list ansible_facts.listener_backlog_namespaces, got %r'
                             % (namespaces,))
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise NamespaceError('limit must be an integer, got %r' % (limit,))
    if not 0 <= limit <= INT_MAX:
        raise NamespaceError('limit must be 0 to %d, got %d' % (INT_MAX, limit))
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
