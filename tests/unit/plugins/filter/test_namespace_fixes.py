# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which namespaces are below a limit, and how each runtime sets the value where the container is defined."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.netstack.backlog.plugins.filter import namespace_fixes as fixes

ID = '0123456789abcdef' * 4
POD = '8d2f3c4b-1a2b-4c5d-9e8f-0a1b2c3d4e5f'


def entry(inode, limit, container=None, name=None, pids=(), current=False, error=None, initial=False):
    return {'id': inode, 'current': current, 'initial': initial, 'name': name, 'pids': list(pids),
            'container': container, 'listener_backlog': limit, 'error': error}


def test_the_machines_own_namespace_seen_from_another_is_named_as_such_with_no_recipe():
    # Ansible in a namespace (ip netns exec NS, a pod's agent): the machine's own is below the value set there.
    namespaces = [entry(4026531833, 4096, pids=[1, 2], initial=True), entry(7, 8192, current=True),
                  entry(8, 128, pids=[40])]
    machine, other = fixes.namespace_fixes(namespaces, 8192)
    assert machine['id'] == 4026531833 and machine['initial'] is True and machine['runtime'] is None
    assert machine['label'] == "the machine's own network namespace"
    assert machine['message'] == (
        "the machine's own network namespace (4026531833) has net.core.somaxconn 4096, below the 8192 set here, in "
        "network namespace 7 where this run works: the machine keeps its own value. To tune the machine, run the "
        "role in its own network namespace.")
    assert 'nsenter' not in machine['message'] and 'container' not in machine['message']
    assert other['id'] == 8 and other['initial'] is False and 'nsenter -n -t 40' in other['message']


def test_only_other_readable_namespaces_below_the_limit_are_named():
    namespaces = [entry(1, 128, current=True), entry(2, 128, pids=[40]), entry(3, 4096, pids=[41]),
                  entry(4, None, error='gone during the scan'), entry(5, 8192, name='big')]
    assert [fix['id'] for fix in fixes.namespace_fixes(namespaces, 4096)] == [2]


@pytest.mark.parametrize('container, name, pids, label, says', [
    ({'runtime': 'docker', 'id': ID, 'pod': None}, None, [7], 'docker container 0123456789ab',
     'Set it where the container is defined: docker run --sysctl net.core.somaxconn=4096, or sysctls: '
     '{net.core.somaxconn: 4096} for the service in compose.'),
    ({'runtime': 'podman', 'id': ID, 'pod': None}, None, [7], 'podman container 0123456789ab',
     'podman run --sysctl net.core.somaxconn=4096 (sysctls: in compose, Sysctl=net.core.somaxconn=4096 in a '
     'Quadlet .container file)'),
    ({'runtime': 'containerd', 'id': ID, 'pod': None}, None, [7], 'containerd container 0123456789ab',
     'nerdctl run --sysctl net.core.somaxconn=4096'),
    ({'runtime': 'containerd', 'id': ID, 'pod': POD}, None, [7], 'containerd container 0123456789ab (pod %s)' % POD,
     'securityContext: {sysctls: [{name: net.core.somaxconn, value: "4096"}]}; net.core.somaxconn is not a safe '
     'sysctl, so each node\'s kubelet must allow it first (allowedUnsafeSysctls: ["net.core.somaxconn"]'),
    ({'runtime': None, 'id': ID, 'pod': POD}, None, [7], 'Kubernetes container 0123456789ab (pod %s)' % POD,
     '--allowed-unsafe-sysctls=net.core.somaxconn'),
    ({'runtime': 'systemd-nspawn', 'id': 'web', 'pod': None}, None, [7], 'systemd-nspawn container web',
     '"net.core.somaxconn = 4096" in a file of its /etc/sysctl.d'),
    (None, 'blue', [], 'netns blue', 'ip netns exec blue sysctl -w net.core.somaxconn=4096'),
    (None, None, [71, 72], 'namespace 9', '(processes 71 72): nsenter -n -t 71 sysctl -w net.core.somaxconn=4096'),
])
def test_each_runtime_gets_its_own_recipe(container, name, pids, label, says):
    [fix] = fixes.namespace_fixes([entry(9, 128, container=container, name=name, pids=pids)], 4096)
    assert fix['label'] == label and fix['limit'] == 128
    # A namespace known by its inode alone is named by it once (below).
    named = 'network namespace 9' if label == 'namespace 9' else '%s (network namespace 9)' % label
    assert fix['message'].startswith('%s has net.core.somaxconn 128, below the 4096 set on '
                                     'this host: a container keeps the value its network namespace was made with, '
                                     'so its listeners get at most 128. ' % named)
    assert says in fix['message'], fix['message']


def test_a_namespace_of_no_container_and_no_name_is_named_by_its_inode_once():
    # Issue 23 item 3: it read "namespace 4026533745 (network namespace 4026533745) has ...".
    [fix] = fixes.namespace_fixes([entry(4026533745, 128, pids=[71, 72])], 4096)
    assert fix['label'] == 'namespace 4026533745'
    assert fix['message'].startswith('network namespace 4026533745 has net.core.somaxconn 128, below the 4096 ')
    assert fix['message'].count('4026533745') == 1, fix['message']
    assert '(processes 71 72): nsenter -n -t 71 sysctl -w net.core.somaxconn=4096.' in fix['message']


@pytest.mark.parametrize('limit, match', [('lots', "limit must be an integer, got 'lots'"),
                                          (-1, 'limit must be 0 to 2147483647, got -1')])
def test_bad_limit_is_refused_naming_it(limit, match):
    with pytest.raises(AnsibleFilterError, match=match.replace('(', r'\(').replace(')', r'\)')):
        fixes.namespace_fixes([], limit)
