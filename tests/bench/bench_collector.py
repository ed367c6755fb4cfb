# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The textfile collector's cost, side by side with node_exporter's own scrape of the same host.

Not part of `make test` (`make bench`; `python tests/bench/bench_collector.py` alone).  Medians
of alternating runs, reported as ratios; nothing here asserts a time.

1. A simulated host (nshost.NamespaceHost) with one network namespace holding 100 listeners
   runs Debian 12's node_exporter with its default collectors and the textfile one.  One run of
   the collector script (rendered from the role's template by ansible-core, as the role installs
   it), its CPU time (user and system, from wait4) and its wall time, against one scrape of
   node_exporter: the CPU its threads spent on that scrape (the sum of
   /proc/PID/task/*/schedstat before and after, in nanoseconds) and the scrape's wall time; and
   against what a user would write instead for that namespace alone (SHELL_COLLECTOR: ss and awk).
2. 100 network namespaces (``ip netns``) of 10 listeners each: the CPU time of one collector
   run (``--validate``: it gathers and renders, and writes nothing) against the 0.5 s target.
"""

from __future__ import annotations

import glob
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

import bench_facts  # noqa: E402  pylint: disable=wrong-import-position
from netns import Namespace, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from nshost import NamespaceHost  # noqa: E402  pylint: disable=wrong-import-position

PAIRS = int(os.environ.get('BENCH_COLLECTOR_PAIRS', '15'))
NODE_EXPORTER = os.path.join(ROOT, 'build', 'prometheus', 'usr', 'bin', 'prometheus-node-exporter')
CPU_TARGET = 0.5

SCRAPE = r'''
import sys, time, urllib.request
start = time.perf_counter()
body = urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=10).read().decode()
wall = time.perf_counter() - start
total = sum(float(line.split()[-1]) for line in body.splitlines()
            if line.startswith("node_scrape_collector_duration_seconds{"))
print(wall, total)
'''


def render_script(directory):
    """The collector script, rendered from the role's template with ansible-core."""
    dest = os.path.join(directory, 'netstack-backlog-textfile')
    process, dummy = run_playbook(
        bench_facts.ANSIBLE_BIN, os.path.join(ROOT, 'build', 'collections'), 'textfile_collector.yml',
        {'localhost': {'ansible_python_interpreter': sys.executable,
                       'role_path': os.path.join(ROOT, 'roles', 'listener_backlog'), 'dest': dest}}, directory)
    if process.returncode != 0:
        raise RuntimeError('rendering the collector failed: %s' % (process.stdout + process.stderr))
    return dest


# What a user would write instead for one namespace: the limit, the two counters and each
# listener's backlog and queue with ss and awk, into a file renamed into place.  It reads no other
# namespace, names no process and escapes nothing: a floor for a program started per run.
SHELL_COLLECTOR = r'''set -e
t=$(mktemp "$1/.shell.prom.XXXXXX")
{
printf '# TYPE shell_limit gauge\nshell_limit %s\n' "$(cat /proc/sys/net/core/somaxconn)"
awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++)
  if (n[i] == "ListenOverflows" || n[i] == "ListenDrops") printf "shell_%s_total %s\n", n[i], $i } }' /proc/net/netstat
ss -ltnH | awk '{ i = match($4, /:[0-9]+$/); a = substr($4, 1, i - 1); p = substr($4, i + 1);
  printf "shell_listener_backlog{address=\"%s\",port=\"%s\"} %s\nshell_listener_queued{address=\"%s\",port=\"%s\"} %s\n",
  a, p, $3, a, p, $2 }'
} > "$t"
chmod 644 "$t"
mv "$t" "$1/shell.prom"
'''


def collector_run(argv):
    """(CPU seconds, wall seconds) of one run of ``argv``, its children included."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dummy, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError('%s exited %d' % (argv, process.returncode))
    return usage.ru_utime + usage.ru_stime, wall


def cpu_ns(pid):
    """CPU time of every thread of ``pid`` so far (schedstat's first field), in nanoseconds."""
    total = 0
    for path in glob.glob('/proc/%d/task/*/schedstat' % pid):
        try:
            with open(path) as handle:
                total += int(handle.read().split()[0])
        except (IOError, OSError):
            pass
    return total


# The rows' labels, declared here and used by the functions that measure them (report.declared_rows).
ONE_NAMESPACE_LABELS = [
    'textfile collector run, 1 namespace of 100 listeners, CPU / node_exporter CPU for one scrape of the same '
    'host (default collectors)',
    'textfile collector run, 1 namespace of 100 listeners, wall / one node_exporter scrape, wall',
    'textfile collector run, wall / node_exporter scrape, its collectors\' own durations summed',
    'textfile collector run, 1 namespace of 100 listeners, CPU / a shell collector (ss, awk) of that namespace '
    'alone, CPU']
MANY_NAMESPACES_LABEL = ('textfile collector run over %d namespaces of %d listeners, CPU / the %.1f s target'
                         % (bench_facts.NAMESPACE_COUNT, bench_facts.LISTENERS_PER_NAMESPACE, CPU_TARGET))


def row_labels():
    return ONE_NAMESPACE_LABELS + [MANY_NAMESPACES_LABEL]


def one_namespace_rows(script):
    """Collector run against one node_exporter scrape, 1 namespace of 100 listeners."""
    host = NamespaceHost('bcol')
    opener = exporter = None
    try:
        opener = subprocess.Popen(host.command(['python3', '-c', bench_facts.OPENER, '100']), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        host.run('mkdir', '-p', '/var/lib/prometheus/node-exporter')
        exporter = subprocess.Popen(host.command([NODE_EXPORTER, '--web.listen-address=127.0.0.1:9100',
                                                  '--collector.textfile.directory=/var/lib/prometheus/node-exporter']),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while host.run('python3', '-c', SCRAPE, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError('node_exporter did not answer')
            time.sleep(0.2)
        # nsenter forks into the host's PID namespace: node_exporter is its child, by the machine's pid.
        [pid] = [int(found) for found in subprocess.run(['pgrep', '-P', str(exporter.pid)], capture_output=True,
                                                        text=True, check=True).stdout.split()]
        run = host.command(['/usr/bin/python3', '-E', '-S', script, '--directory', '/var/lib/prometheus/node-exporter'])
        shell = host.command(['sh', '-c', SHELL_COLLECTOR, 'shell', '/var/lib/prometheus/node-exporter'])
        collector_cpu, collector_wall, scrape_cpu, scrape_wall, scrape_reported, shell_cpu = [], [], [], [], [], []
        collector_run(run)  # the first run writes the file the scrapes read
        for dummy in range(PAIRS):
            cpu, wall = collector_run(run)
            collector_cpu.append(cpu)
            collector_wall.append(wall)
            shell_cpu.append(collector_run(shell)[0])
            before = cpu_ns(pid)
            wall, reported = (float(value) for value in host.run('python3', '-c', SCRAPE).stdout.split())
            scrape_cpu.append((cpu_ns(pid) - before) / 1e9)
            scrape_wall.append(wall)
            scrape_reported.append(reported)
    finally:
        for process in (exporter, opener):
            if process is not None:
                process.kill()
                process.wait()
        host.remove()
    median = statistics.median
    measured = [(collector_cpu, scrape_cpu), (collector_wall, scrape_wall), (collector_wall, scrape_reported),
                (collector_cpu, shell_cpu)]
    return [(label, median(value), median(baseline)) for label, (value, baseline) in zip(ONE_NAMESPACE_LABELS, measured)]


def many_namespaces_row(script):
    """CPU of one collector run over NAMESPACE_COUNT namespaces of LISTENERS_PER_NAMESPACE listeners."""
    namespaces = [Namespace('bcn%d' % index) for index in range(bench_facts.NAMESPACE_COUNT)]
    opener = None
    try:
        opener = subprocess.Popen([sys.executable, '-c', bench_facts.NAMESPACE_OPENER,
                                   str(bench_facts.LISTENERS_PER_NAMESPACE)] + [ns.name for ns in namespaces],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert opener.stdout.readline().strip() == 'ready'
        times = [collector_run(['/usr/bin/python3', '-E', '-S', script, '--validate'])[0] for dummy in range(PAIRS)]
    finally:
        if opener is not None:
            opener.kill()
            opener.wait()
        for namespace in namespaces:
            namespace.remove()
    return [(MANY_NAMESPACES_LABEL, statistics.median(times), CPU_TARGET)]


def main():
    if not os.access(NODE_EXPORTER, os.X_OK):
        raise RuntimeError('%s not found: run `make prometheus-tools`' % NODE_EXPORTER)
    directory = bench_facts.work_directory('nb-bench-collector-')
    script = render_script(directory)
    return one_namespace_rows(script) + many_namespaces_row(script)


if __name__ == '__main__':
    bench_facts.exit_on_sigterm()
    bench_facts.print_table(main())
