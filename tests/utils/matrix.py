# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compatibility matrix (make matrix): every supported ansible-core, each on a Python it supports.

For each controller in CONTROLLERS, in a virtualenv of its own (build/matrix/):
  1. ansible-test sanity, every test (tests/utils/sanity.sh), with that release's ansible-test;
  2. the unit tests, under that release's ansible-core;
  3. the real-kernel subset (tests/integration/matrix_real_kernel.py): the fact module on every target
     Python that release supports (as its own ansible-test lists them) and that pyenv has, each
     in a network namespace of its own, its answer checked against the kernel's grant; and the
     role tuning a simulated host and a real Redis, then a second run that changes nothing.
Then, under the oldest and the newest controller, the end-to-end suite that the main run
takes with its own controller (EDGE_SUITE, less NOT_UNDER_OLDEST under the oldest: the role with every catalogue service and every fault,
the fleet over SSH with the audit, the burst, the filter against the kernel, the role and containers,
the role's textfile collector under systemd and cron, the role run from a namespace): templating before
2.19 and the results 2.21 returns differ enough to break a role that the subset alone would pass.
Then the support table is written from what passed (build/matrix/support.md) and compared with the
README's: a claim the matrix did not prove fails the run, as does any failed step.

Usage: matrix.py [--only 2.18,2.21] [--write-readme]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
from xml.etree import ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYENV_VERSIONS = os.path.join(os.environ.get('PYENV_ROOT', '/root/.pyenv'), 'versions')
WORK = os.path.join(ROOT, 'build', 'matrix')

# (ansible-core release, controller Python).  The Pythons are spread over what each release
# supports as a controller, so the controller side is exercised on 3.10 to 3.13 too.
CONTROLLERS = [
    ('2.16.19', '3.11'),
    ('2.17.14', '3.10'),
    ('2.18.19', '3.12'),
    ('2.19.14', '3.11'),
    ('2.20.10', '3.12'),
    ('2.21.5', '3.13'),
]
EDGE_SUITE = ['tests/integration/test_role_services.py', 'tests/integration/test_fleet.py',
              'tests/integration/test_burst.py', 'tests/integration/test_filter_real_kernel.py',
              'tests/integration/test_role_namespaces.py', 'tests/integration/test_role_app_servers.py',
              'tests/integration/test_role_exporter.py', 'tests/integration/test_role_from_a_namespace.py']
# Not under the oldest controller: the fleet's audit runs with 2.16 from the newest's run already
# (test_fleet parametrizes its controller), its module and role cases over SSH add nothing that
# the real-kernel subset does not run on every release, and the burst is the kernel's behaviour.
# Keeps CI under its hour.
NOT_UNDER_OLDEST = ['tests/integration/test_fleet.py', 'tests/integration/test_burst.py']
TOOLS = os.path.join(ROOT, 'tests', 'requirements-matrix.txt')
README = os.path.join(ROOT, 'README.md')
START, END = '<!-- support table: start (make matrix writes it) -->', '<!-- support table: end -->'


def python_of(version):
    found = sorted(glob.glob(os.path.join(PYENV_VERSIONS, version + '.*', 'bin', 'python' + version)))
    if not found:
        sys.exit('matrix: Python %s not found under %s' % (version, PYENV_VERSIONS))
    return found[-1]


def venv_for(core, python):
    """The controller's virtualenv, made once per release and requirements."""
    path = os.path.join(WORK, 'ansible-core-%s' % core)
    stamp = os.path.join(path, '.installed')
    wanted = 'ansible-core==%s\n%s' % (core, open(TOOLS).read())
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return path
    subprocess.run([python_of(python), '-m', 'venv', '--clear', path], check=True)
    subprocess.run([os.path.join(path, 'bin', 'pip'), 'install', '--quiet', 'ansible-core==%s' % core, '-r', TOOLS],
                   check=True)
    with open(stamp, 'w') as handle:
        handle.write(wanted)
    return path


def target_versions(venv):
    """The target Pythons this release's ansible-test lists (remote-only and controller ones)."""
    constants = glob.glob(os.path.join(venv, 'lib', 'python*', 'site-packages', 'ansible_test', '_util', 'target',
                                       'common', 'constants.py'))[0]
    namespace = {}
    exec(compile(open(constants).read(), constants, 'exec'), namespace)  # pylint: disable=exec-used
    return list(namespace['REMOTE_ONLY_PYTHON_VERSIONS']) + list(namespace['CONTROLLER_PYTHON_VERSIONS'])


def available(version):
    return bool(glob.glob(os.path.join(PYENV_VERSIONS, version + '.*', 'bin', 'python' + version)))


def step(name, argv, env=None, log=None):
    """Run one step; return (passed, seconds).  Its output goes to ``log`` and, on failure, to stderr."""
    started = time.monotonic()
    with open(log, 'w') as handle:
        process = subprocess.run(argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    seconds = time.monotonic() - started
    passed = process.returncode == 0
    print('matrix: %-58s %s in %4.0f s' % (name, 'passed' if passed else 'FAILED', seconds), flush=True)
    if not passed:
        with open(log) as handle:
            sys.stderr.write(handle.read()[-6000:])
    return passed


def integration_results(junit):
    """{(core, target): passed} for the module runs, {core: passed} for the role, from pytest's junit file."""
    modules, roles = {}, {}
    for case in ElementTree.parse(junit).iter('testcase'):
        passed = not any(child.tag in ('failure', 'error', 'skipped') for child in case)
        match = re.search(r'\[(?P<core>[0-9.]+)-py(?P<target>[0-9.]+)\]$', case.get('name'))
        if match:
            key = (match.group('core'), match.group('target'))
            modules[key] = modules.get(key, True) and passed
            continue
        match = re.search(r'\[(?P<core>[0-9.]+)\]$', case.get('name'))
        if match:
            roles[match.group('core')] = roles.get(match.group('core'), True) and passed
    return modules, roles


def support_table(results):
    lines = ['| ansible-core | controller Python | sanity | unit tests | role on a real kernel | target Pythons the module ran on |',
             '|---|---|---|---|---|---|']
    for row in results:
        proved = [target for target, passed in row['targets'] if passed]
        lines.append('| %s | %s | %s | %s | %s | %s |' % (
            row['core'].rsplit('.', 1)[0], row['python'],
            'passed' if row['sanity'] else 'FAILED', 'passed' if row['units'] else 'FAILED',
            'passed' if row['role'] else 'FAILED', ', '.join(proved) or 'none'))
    return '\n'.join(lines)


def readme_table():
    text = open(README).read()
    if START not in text or END not in text:
        return None, text
    return text.split(START, 1)[1].split(END, 1)[0].strip(), text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', help='comma-separated release prefixes (2.18,2.21); the table is then not checked')
    parser.add_argument('--write-readme', action='store_true', help="write the table into the README")
    parser.add_argument('--edge-suite-ignores', action='store_true',
                        help="print pytest's --ignore options for the end-to-end suite, and stop")
    args = parser.parse_args()
    if args.edge_suite_ignores:
        print(' '.join('--ignore=%s' % path for path in EDGE_SUITE))
        return 0
    controllers = [(core, python) for core, python in CONTROLLERS
                   if not args.only or any(core.startswith(prefix) for prefix in args.only.split(','))]
    os.makedirs(WORK, exist_ok=True)

    venvs = {}
    for core, python in controllers:
        venvs[core] = venv_for(core, python)
    plan = {core: [version for version in target_versions(venvs[core]) if available(version)] for core, dummy in controllers}
    plan_file = os.path.join(WORK, 'plan.json')
    with open(plan_file, 'w') as handle:
        json.dump({core: {'bin': os.path.join(venvs[core], 'bin'), 'targets': plan[core]} for core in plan}, handle)

    results, ok = [], True
    for core, python in controllers:
        bin_dir = os.path.join(venvs[core], 'bin')
        logs = os.path.join(WORK, 'logs-%s' % core)
        os.makedirs(logs, exist_ok=True)
        sanity = step('ansible-core %s (Python %s): sanity' % (core, python),
                      [os.path.join(ROOT, 'tests', 'utils', 'sanity.sh'), os.path.join(bin_dir, 'ansible-test')],
                      log=os.path.join(logs, 'sanity.log'))
        units = step('ansible-core %s (Python %s): unit tests' % (core, python),
                     [os.path.join(bin_dir, 'python'), '-m', 'pytest', '-p', 'no:cacheprovider', '-q', 'tests/unit'],
                     log=os.path.join(logs, 'units.log'))
        results.append({'core': core, 'python': python, 'sanity': sanity, 'units': units})
        ok = ok and sanity and units

    junit = os.path.join(WORK, 'integration.xml')
    environment = dict(os.environ, NETSTACK_BACKLOG_MATRIX=plan_file)
    integration = step('real-kernel subset, every controller and target Python',
                       [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '--junitxml', junit,
                        'tests/integration/matrix_real_kernel.py'], env=environment,
                       log=os.path.join(WORK, 'integration.log'))
    ok = ok and integration
    for core, python in sorted({controllers[0], controllers[-1]}):
        suite = [path for path in EDGE_SUITE if core != CONTROLLERS[0][0] or path not in NOT_UNDER_OLDEST]
        edge = step('ansible-core %s: %s' % (core, ', '.join(os.path.basename(path)[5:-3] for path in suite)),
                    [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q'] + suite,
                    env=dict(os.environ, NETSTACK_BACKLOG_ANSIBLE_BIN=os.path.join(venvs[core], 'bin')),
                    log=os.path.join(WORK, 'logs-%s' % core, 'suite.log'))
        ok = ok and edge
    modules, roles = integration_results(junit) if os.path.exists(junit) else ({}, {})
    for row in results:
        row['targets'] = [(target, modules.get((row['core'], target), False)) for target in plan[row['core']]]
        row['role'] = roles.get(row['core'], False)
        ok = ok and row['role'] and all(passed for dummy, passed in row['targets'])

    table = support_table(results)
    with open(os.path.join(WORK, 'support.md'), 'w') as handle:
        handle.write(table + '\n')
    with open(os.path.join(WORK, 'results.json'), 'w') as handle:
        json.dump(results, handle, indent=1)
    print(table)
    if not args.only:
        current, text = readme_table()
        if args.write_readme:
            head, rest = text.split(START, 1)
            with open(README, 'w') as handle:
                handle.write(head + START + '\n' + table + '\n' + END + rest.split(END, 1)[1])
        elif current != table:
            print('matrix: the README\'s support table is not what this run proved; the proved one is in '
                  'build/matrix/support.md (make matrix-readme writes it into the README)', file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
