# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`make bench`: every benchmark in one run, written to docs/benchmarks.md and docs/benchmarks.png.

Ratios of medians of alternating runs, side by side (bench_facts.py: module time,
listeners=true on one host, and namespaces=true in the module and end to end - the whole ad hoc
command and whole role runs; bench_fleet.py: fleets over real SSH; bench_collector.py: the
textfile collector against node_exporter's own scrape), and the burst: a real
Redis's ListenOverflows for the same burst under the stock limit and after the role.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

import bench_collector  # noqa: E402  pylint: disable=wrong-import-position
import bench_facts  # noqa: E402  pylint: disable=wrong-import-position
import bench_fleet  # noqa: E402  pylint: disable=wrong-import-position
from nshost import NamespaceHost  # noqa: E402  pylint: disable=wrong-import-position
from test_burst import BURST, BURST_SCRIPT  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.netstack.backlog.plugins.module_utils._backlog import parse_netstat  # noqa: E402  pylint: disable=wrong-import-position


def overflows(host):
    return parse_netstat(host.read('/proc/net/netstat'))['TcpExt']['ListenOverflows']


def burst_counts():
    """ListenOverflows added by the same burst: stock limit (128), then after the role (4096)."""
    host = NamespaceHost('burst', 128)
    try:
        host.run('service', 'redis-server', 'start')
        host.run('sh', '-c', 'for i in $(seq 50); do ss -ltnH "sport = :6379" | grep -q . && exit 0; sleep 0.1; done')
        before = overflows(host)
        host.run('python3', '-c', BURST_SCRIPT, str(BURST))
        stock = overflows(host) - before
        subprocess.run(host.command([
            os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', 'listener_backlog_somaxconn=4096',
            '-e', '{"listener_backlog_services": [{"name": "redis"}]}',
            os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'role.yml')]),
            check=True, stdout=subprocess.DEVNULL)
        before = overflows(host)
        host.run('python3', '-c', BURST_SCRIPT, str(BURST))
        tuned = overflows(host) - before
    finally:
        host.remove()
    return stock, tuned


# What `make bench` writes, declared without running it: the main table's rows in the order
# main() measures them, the round-trip table's rows, and the sections every run writes.
# main() refuses to write a page that differs; tests/unit/test_docs_current.py holds
# docs/benchmarks.md to it, so a row added to a bench is a stale page until `make bench` runs.
PHASES_TITLE = '## Where listeners=true spends its time (%d sockets)' % bench_facts.SOCKET_COUNTS[-1]
TRIPS_TITLE = '## Module round trips per host of the role'
BURST_TITLE = '## Burst'


def declared_rows():
    return (bench_facts.row_labels() + [label for size in bench_fleet.SIZES for label in bench_fleet.fleet_labels(size)]
            + bench_collector.row_labels() + bench_fleet.converged_labels() + bench_fleet.first_run_labels())


def declared_trips():
    return bench_fleet.round_trip_labels()


def declared_sections():
    return [PHASES_TITLE, bench_facts.controller_title(), TRIPS_TITLE, BURST_TITLE]


def markdown(rows, burst, command, phases=(), trips=(), against=(), controller=None, commit='unknown'):
    lines = ['# Benchmarks', '',
             'Produced by `%s` at commit %s on %s (%s, %d CPUs, Python %s), %s. Every figure is a median of' % (
                 command, commit, platform.node() or 'this machine', platform.platform(), os.cpu_count() or 0,
                 platform.python_version(), datetime.date.today().isoformat()),
             'alternating runs taken side by side in one run; the ratio is the measurement over its baseline.', '',
             '| measurement | median (s) | baseline median (s) | ratio | difference (ms) |',
             '|---|---:|---:|---:|---:|']
    for name, value, baseline in rows:
        ratio, difference_ms = value / baseline, (value - baseline) * 1000
        lines.append('| %s | %.4f | %.4f | %.3f | %+.1f |' % (name, value, baseline, ratio, difference_ms))
    if phases:
        lines += ['', PHASES_TITLE, '',
                  'Each step timed in one process inside the namespace, median of %d rounds:' % bench_facts.PHASE_ROUNDS,
                  '', '| step | median (ms) |', '|---|---:|']
        lines += ['| %s | %.1f |' % (phase, seconds * 1000) for phase, seconds in phases]
        lines += ['', "The steps marked ansible-core are what AnsibleModule.exit_json does with every module's result "
                  '(a scrub for no_log values, then JSON); they grow with the number of values returned '
                  '(8 per listener) and no module can skip them.']
    if against:
        lines += ['', '## The same steps against %s' % os.environ.get('BENCH_BASELINE_REF'), '',
                  "This tree's collection and that revision's, run alternately %d times against the same %d sockets "
                  '(`python tests/bench/bench_facts.py phases REV` gives this table alone):'
                  % (bench_facts.PHASE_PAIRS, bench_facts.SOCKET_COUNTS[-1]), '',
                  '| step | this tree (ms) | baseline (ms) | ratio |', '|---|---:|---:|---:|']
        lines += ['| %s | %.1f | %.1f | %.2f |' % (phase, seconds * 1000, base * 1000, seconds / base)
                  for phase, seconds, base in against]
    if controller:
        lines += bench_facts.controller_markdown(*controller)
    if trips:
        lines += ['', TRIPS_TITLE, '',
                  'Counted by a callback (tests/bench/callback_plugins/round_trips.py) on one host over SSH: every '
                  'module run, each loop item counted; tasks that run on the controller only (the planner, warnings, '
                  'set_fact) and skipped ones are not round trips.', '',
                  'Before: what the role made before its changes were one module run (make bench at commit bc6628b).',
                  '', '| run | round trips | before |', '|---|---:|---:|']
        lines += ['| %s | %d | %s |' % (label, count, bench_fleet.TRIPS_BEFORE.get(label, '')) for label, count in trips]
    lines += ['', BURST_TITLE, '',
              'A burst of %d connections from loopback to a real Redis in a network namespace:' % BURST, '',
              '| kernel limit, Redis backlog | TcpExt ListenOverflows added by the burst |', '|---|---:|',
              '| 128 (stock), 128 | %d |' % burst[0], '| 4096 (after the role), 4096 | %d |' % burst[1], '',
              '![ratios](benchmarks.png)', '']
    return '\n'.join(lines)


def plot(rows, path):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    names = [name for name, value, baseline in rows]
    ratios = [value / baseline for name, value, baseline in rows]
    figure, axes = plt.subplots(figsize=(11, 0.35 * len(rows) + 1.5))
    axes.barh(range(len(rows)), ratios, color='#4a7ab5')
    axes.set_yticks(range(len(rows)), labels=names, fontsize=7)
    axes.invert_yaxis()
    axes.axvline(1.0, color='black', linewidth=0.8)
    axes.axvline(1.05, color='#c0392b', linewidth=0.8, linestyle='--', label='1.05x target')
    axes.set_xlabel('ratio (measurement / baseline, medians)')
    axes.legend(loc='lower right')
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def revision():
    """The commit the bench measures, and whether the tree differs from it (taken when the bench starts; the page
    and its chart, which the bench rewrites, do not count)."""
    head = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                          check=False).stdout.strip() or 'unknown'
    changed = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', '.',
                              ':!docs/benchmarks.md', ':!docs/benchmarks.png'], capture_output=True,
                             text=True, check=False).stdout.strip()
    return head + (' (with uncommitted changes)' if changed else '')


def command():
    """`make bench` with the BENCH_* settings this run was given, so the page says how it was made."""
    settings = ['%s=%s' % (name, value) for name, value in sorted(os.environ.items()) if name.startswith('BENCH_')]
    return ' '.join(settings + ['make bench'])


def main():
    commit = revision()
    rows = bench_facts.main() + bench_facts.namespaces_end_to_end_rows() + bench_fleet.main() + bench_collector.main()
    work = bench_facts.work_directory('nb-bench-role-')
    rows += bench_fleet.converged_rows(work) + bench_fleet.first_run_rows(work)
    trips = bench_fleet.round_trips(work)
    for what, measured, declared in (('rows', [row[0] for row in rows], declared_rows()),
                                     ('round trips', [trip[0] for trip in trips], declared_trips())):
        if measured != declared:
            raise RuntimeError('the bench measured other %s than report.py declares:\n%s\n%s' % (what, measured, declared))
    phases = bench_facts.listener_phases()
    controller = bench_facts.controller_steps()
    against = ()
    if os.environ.get('BENCH_BASELINE_REF'):
        against = bench_facts.listener_phases_against(os.environ['BENCH_BASELINE_REF'])
    burst = burst_counts()
    docs = os.path.join(ROOT, 'docs')
    page = markdown(rows, burst, command(), phases, trips, against, controller, commit)
    with open(os.path.join(docs, 'benchmarks.md'), 'w') as handle:
        handle.write(page)
    plot(rows, os.path.join(docs, 'benchmarks.png'))
    bench_facts.print_table(rows)
    for phase, seconds in phases:
        print('listeners=true, %s: %.1f ms' % (phase, seconds * 1000))
    for phase, seconds, base in against:
        print('listeners=true against %s, %s: %.1f ms, was %.1f ms (ratio %.2f)'
              % (os.environ['BENCH_BASELINE_REF'], phase, seconds * 1000, base * 1000, seconds / base))
    for label, count in trips:
        print('round trips per host, %s: %d' % (label, count))
    print('burst of %d: ListenOverflows +%d at the stock limit, +%d after the role' % ((BURST,) + burst))
    print('written: docs/benchmarks.md, docs/benchmarks.png')


if __name__ == '__main__':
    bench_facts.exit_on_sigterm()
    main()
