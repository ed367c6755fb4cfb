# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prose that repeats a fact kept elsewhere says what that source says today.

The README's tables are generated and checked where they are made (the support table by
tests/utils/matrix.py, the platform table by test_releases.py); this file holds the prose around
them and the versions to their sources: galaxy.yml for the version, changelogs/changelog.yaml for
what has been released, the platform table for the releases the role runs against.
"""

from __future__ import annotations

import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return handle.read()


def version(text):
    return tuple(int(part) for part in text.split('.'))


GALAXY_VERSION = yaml.safe_load(read('galaxy.yml'))['version']
RELEASED = sorted(yaml.safe_load(read('changelogs/changelog.yaml'))['releases'], key=version)


def test_the_readme_names_the_version_galaxy_yml_holds_and_whether_it_is_released():
    stated = re.findall(r'The (version in preparation|current release) is (\d+\.\d+\.\d+)', read('README.md'))
    assert len(stated) == 1, stated
    kind, number = stated[0]
    assert number == GALAXY_VERSION
    expected = 'current release' if GALAXY_VERSION in RELEASED else 'version in preparation'
    assert kind == expected, 'galaxy.yml %s, released: %s' % (GALAXY_VERSION, ', '.join(RELEASED))


def test_galaxy_yml_is_not_behind_the_last_release():
    assert version(GALAXY_VERSION) >= version(RELEASED[-1])


def documented_versions():
    """(file, version) of every version_added in the plugins' and the role's documentation."""
    paths = glob.glob(os.path.join(ROOT, 'plugins', '*', '*.py')) + glob.glob(os.path.join(ROOT, 'plugins', '*', '*.yml'))
    paths += glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml'))
    paths += glob.glob(os.path.join(ROOT, 'extensions', 'eda', 'plugins', '*', '*.py'))
    for path in paths:
        with open(path, encoding='utf-8') as handle:
            for number in re.findall(r'''\bversion_added:\s*['"]?(\d+\.\d+\.\d+)''', handle.read()):
                yield os.path.relpath(path, ROOT), number


def test_no_documentation_claims_a_version_after_the_one_in_preparation():
    found = list(documented_versions())
    assert len(found) > 5  # the pattern finds the modules' and the role's version_added
    later = [(path, number) for path, number in found if version(number) > version(GALAXY_VERSION)]
    assert not later, 'galaxy.yml is %s' % GALAXY_VERSION


def test_the_readme_names_every_release_the_platform_table_marks_as_run():
    readme = read('README.md')
    table = readme.split('<!-- BEGIN GENERATED platform-table', 1)[1].split('<!-- END GENERATED platform-table -->', 1)[0]
    run = [row.split('|')[1].strip() for row in table.splitlines()
           if row.startswith('| ') and re.search(r'\| run\b', row)]
    assert run, 'no release marked run in the platform table'
    sentence = re.search(r"The role's tuning and\s+catalogue run against the real daemons of ([^(]*)\(", readme)
    assert sentence, "the README's sentence on where the role runs is gone"
    named = re.sub(r'\s+', ' ', sentence.group(1))
    for release in run:
        assert release.split(' (')[0] in named, (release, named)


def table_after(lines, header):
    """The first column of the Markdown table whose header line starts with ``header``."""
    start = next(index for index, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        rows.append(line.split(' | ')[0][2:])
    return rows


def test_the_benchmarks_page_holds_every_row_the_bench_measures_today():
    """docs/benchmarks.md is written by `make bench` (tests/bench/report.py); a row added to, renamed
    in or removed from a bench without running it again leaves the page stale, and fails here."""
    import sys  # pylint: disable=import-outside-toplevel
    saved = list(sys.path)  # report.py puts tests/integration and build/collections first
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'bench'))
    try:
        import report  # pylint: disable=import-outside-toplevel
    finally:
        sys.path[:] = saved
    lines = read('docs/benchmarks.md').splitlines()
    python = re.compile(r'Python \d+\.\d+')

    def same_python(labels):
        return [python.sub('Python X.Y', label) for label in labels]

    assert same_python(table_after(lines, '| measurement |')) == same_python(report.declared_rows())
    assert table_after(lines, '| run | round trips |') == report.declared_trips()
    assert [title for title in report.declared_sections() if title not in lines] == []
    assert re.search(r'^Produced by `(BENCH_\w+=\S+ )*make bench` at commit [0-9a-f]{7,} on ', read('docs/benchmarks.md'),
                     re.M)
