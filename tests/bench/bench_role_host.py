# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's wall time on one namespace host: first run (tune, configure, restart, verify
nginx and Redis) and second run (nothing to change), medians of BENCH_ROLE_ROUNDS fresh hosts.

    .venv/bin/python tests/bench/bench_role_host.py   (root; after `make venv collection packages`)
"""

from __future__ import annotations

import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from bench_facts import exit_on_sigterm, timed, work_directory  # noqa: E402  pylint: disable=wrong-import-position
from nshost import NamespaceHost  # noqa: E402  pylint: disable=wrong-import-position

ROUNDS = int(os.environ.get('BENCH_ROLE_ROUNDS', '5'))
VARIABLES = {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'nginx'}, {'name': 'redis'}]}


def main():
    work = work_directory('nb-bench-role-')
    vars_file = os.path.join(work, 'vars.json')
    with open(vars_file, 'w') as handle:
        json.dump(VARIABLES, handle)
    env = dict(os.environ, ANSIBLE_HOME=os.path.join(work, 'home'),
               ANSIBLE_COLLECTIONS_PATH=os.environ.get('ANSIBLE_COLLECTIONS_PATH',
                                                       os.path.join(ROOT, 'build', 'collections')))
    playbook = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % vars_file,
                os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml')]
    first, second = [], []
    for dummy in range(ROUNDS):
        host = NamespaceHost('benchrole', 128)
        try:
            first.append(timed(host.command(playbook), env))
            second.append(timed(host.command(playbook), env))
        finally:
            host.remove()
    first_median, second_median = statistics.median(first), statistics.median(second)
    print('role on one namespace host (nginx + redis), %d fresh hosts: first run median %.2f s, '
          'second run median %.2f s (ratio %.3f)' % (ROUNDS, first_median, second_median, second_median / first_median))


if __name__ == '__main__':
    exit_on_sigterm()
    main()
