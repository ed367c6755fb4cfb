# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""effective_backlog against the real kernel.

In namespaces with their own somaxconn, a playbook gathers the fact and renders
the filter for a range of requests, negative and zero among them; the kernel's
grant for each request is read back with ss from a socket the test opens.
"""

from __future__ import annotations

from netns import HELPER_PYTHON, INT_MAX, controller_bin, interpreter, run_playbook

SOMAXCONN = [0, 300, 70000]
REQUESTS = [-INT_MAX - 1, -70000, -1, 0, 1, 299, 300, 301, 65535, 65536, 69999, 70001, INT_MAX]


def test_the_filter_says_what_the_kernel_grants(namespace_factory, tmp_path, collections_root):
    namespaces = {'somaxconn-%d' % value: namespace_factory('flt%d' % (value % 1000), value)
                  for value in SOMAXCONN}
    hosts = {name: {'ansible_python_interpreter': interpreter(namespace, HELPER_PYTHON, str(tmp_path)),
                    'requests': REQUESTS}
             for name, namespace in namespaces.items()}
    process, results = run_playbook(controller_bin('latest'), collections_root, 'effective_backlog.yml',
                                    hosts, str(tmp_path))
    assert process.returncode == 0, process.stdout + process.stderr
    for name, namespace in namespaces.items():
        kernel = [namespace.kernel_grant(request) for request in REQUESTS]
        computed = [entry for entry in results[name] if entry['task'] == 'Compute what each request gets']
        assert computed and computed[0]['status'] == 'ok', results[name]
        facts = computed[0]['result']['ansible_facts']
        assert [int(value) for value in facts['granted']] == kernel, name
        # Linux follows the rule the filter applies when no system is named.
        assert [int(value) for value in facts['granted_without_system']] == kernel, name
    # The requests cover every branch of Linux's unsigned compare.
    assert namespaces['somaxconn-300'].kernel_grant(-1) == 300
    assert namespaces['somaxconn-300'].kernel_grant(0) == 0
