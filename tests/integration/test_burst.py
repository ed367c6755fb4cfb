# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A burst of connections against a real Redis, before and after the role.

With the old kernel default (128) Redis's 511 is clamped to 128: a burst of 2000
connections from loopback in the same namespace fills the accept queue faster than Redis
accepts, and the kernel's TcpExt ListenOverflows rises, as the fact module reports it.
After the role raised the limit to 4096 and gave it to Redis, the same burst cannot
overflow: 2000 connections fit in the queue even if Redis accepted none.
"""

from __future__ import annotations

import json
import os

import pytest

from netns import controller_bin, dependencies_path, run_playbook
from nshost import NamespaceHost

BURST = 2000

# Opens BURST connections at once (non-blocking connects), waits for the handshakes to
# end, and closes them all when the test says so.
BURST_SCRIPT = r'''
import resource, socket, sys, time
count = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
held = []
for _ in range(count):
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(("127.0.0.1", 6379))
    held.append(sock)
time.sleep(1)
for sock in held:
    sock.close()
'''


@pytest.fixture
def host():
    made = NamespaceHost('burst', 128)
    yield made
    made.remove()


def test_burst_overflows_the_stock_limit_and_nothing_after_the_role(host, tmp_path, collections_root):
    ansible_bin = controller_bin('latest')
    collections = '%s:%s' % (collections_root, dependencies_path())
    inventory = {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}}
    runs = [0]

    def playbook(name, variables=None):
        runs[0] += 1
        directory = tmp_path / ('run%d' % runs[0])
        directory.mkdir()
        (directory / 'vars.json').write_text(json.dumps(variables or {}))
        process, results = run_playbook(ansible_bin, collections, name, inventory, str(directory),
                                        extra_args=['-e', '@%s' % (directory / 'vars.json')],
                                        prefix=host.command([]))
        assert process.returncode == 0, process.stdout + process.stderr
        return results['localhost']

    def overflows():
        [gathered] = [entry for entry in playbook('facts.yml') if entry['task'] == 'Gather the facts']
        return gathered['result']['ansible_facts']['ansible_listener_backlog_info']['listen_overflows']

    def burst():
        host.run('python3', '-c', BURST_SCRIPT, str(BURST))

    host.run('service', 'redis-server', 'start')
    host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done; exit 1')
    assert sorted(entry[0] for entry in host.listeners()[6379]) == [128, 128]

    before = overflows()
    burst()
    after_stock = overflows()
    assert after_stock > before, 'a burst of %d must overflow an accept queue of 128' % BURST

    playbook('role.yml', {'listener_backlog_somaxconn': 4096, 'listener_backlog_services': [{'name': 'redis'}]})
    assert sorted(entry[0] for entry in host.listeners()[6379]) == [4096, 4096]
    tuned = overflows()
    burst()
    assert overflows() == tuned, 'the same burst must fit in an accept queue of 4096'
