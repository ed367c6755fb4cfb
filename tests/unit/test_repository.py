# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The repository stands alone: no file of it cites the team's notes kept outside it.

A reader of a clone or of the built collection cannot follow such a citation.  What the
project relies on is written in the repository (docs/contributing.md, docs/platforms.md).
The files are those git tracks; without git (or outside a checkout) the tree is walked,
less build output and virtualenvs.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Directories that are not the repository's content, for the walk without git.
NOT_CONTENT = {'.git', 'build', '.venv', '.venv-2.16', '.venv-tools', '.tmp', '.ansible', '.pytest_cache',
               '.benchmarks', '__pycache__', os.path.join('tests', 'output')}

# The notes' names and places, put together here so that this file does not cite them itself.
NOTES = ('TESTING', 'DESIGN', 'PLATFORMS', 'STYLE')
PLACES = ('/'.join(('..', 'shared', '')), '/'.join(('', 'work', 'shared')))
CITATION = re.compile('|'.join([re.escape(place) for place in PLACES]
                               + [r'\b%s\.md\b' % name for name in NOTES]).encode())


def tracked_files():
    """The repository's files, relative to ROOT: git's list, else a walk of the tree."""
    try:
        listed = subprocess.run(['git', '-C', ROOT, 'ls-files', '-z'], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        listed = b''
    names = [name.decode('utf-8', 'surrogateescape') for name in listed.split(b'\0') if name]
    return names or walked_files()


def walked_files():
    """Every file under ROOT less build output, virtualenvs and caches, relative to ROOT."""
    walked = []
    for directory, subdirectories, files in os.walk(ROOT):
        relative = os.path.relpath(directory, ROOT)
        subdirectories[:] = [name for name in subdirectories
                             if os.path.normpath(os.path.join(relative, name)) not in NOT_CONTENT
                             and name not in NOT_CONTENT]
        walked.extend(os.path.normpath(os.path.join(relative, name)) for name in files)
    return walked


def citations(path):
    """(line number, line) of every citation of the notes in the file at ``path``."""
    with open(path, 'rb') as handle:
        content = handle.read()
    return [(number, line.decode('utf-8', 'replace').strip())
            for number, line in enumerate(content.splitlines(), 1) if CITATION.search(line)]


def test_the_pattern_finds_each_kind_of_citation():
    for name in NOTES:
        assert CITATION.search(('see %s.md, "Windows"' % name).encode()), name
    for place in PLACES:
        assert CITATION.search(('(%sNOTES)' % place).encode()), place
    # The repository's own documents are not citations of the notes.
    assert not CITATION.search(b'docs/platforms.md and docs/contributing.md')


@pytest.mark.parametrize('lister', [tracked_files, walked_files])
def test_the_file_list_is_the_repository(lister):
    files = lister()
    assert 'README.md' in files
    assert os.path.join('tests', 'conftest.py') in files
    assert not [name for name in files if name.split(os.sep)[0] in ('build', '.venv', '.venv-tools', '.git')]


def test_no_file_cites_notes_outside_the_repository():
    found = []
    for name in tracked_files():
        path = os.path.join(ROOT, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue  # a link points elsewhere; a tracked file may be deleted in the working tree
        found.extend('%s:%d: %s' % (name, number, line) for number, line in citations(path))
    assert not found, ('these lines cite notes kept outside the repository; cite docs/contributing.md, '
                       'docs/platforms.md or the primary source instead:\n' + '\n'.join(found))
