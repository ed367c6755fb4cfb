# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lines of the config files the role plans on: read once by the fact module, again under the run lock.

Runs on the host (Python 2.7 and 3.6+). Only the lines matching a pattern are returned, never a
whole file: they are what the planner decides on, and what listener_backlog_lock compares to know
whether a file changed under a plan made on it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import stat

MAX_MATCHED_FILE = 1024 * 1024
# What makes a path a shell-style pattern for glob.glob (the planner imports it from here).
WILDCARDS = re.compile(r'[*?[]')


def read_files(path, patterns):
    """matching_lines of ``path``, or of every file a wildcard ``path`` matches (each naming the pattern)."""
    if not WILDCARDS.search(path):
        return [dict(matching_lines(path, patterns), pattern=None)]
    found = [dict(matching_lines(match, patterns), pattern=path) for match in sorted(glob.glob(path))]
    return found or [dict(matching_lines(path, patterns), pattern=path)]


def matching_lines(path, patterns):
    """Whether ``path`` exists, where it links, and its lines that match a pattern (never the whole file)."""
    compiled = [re.compile(pattern) for pattern in patterns]
    entry = {'path': path, 'exists': False, 'islnk': os.path.islink(path), 'lnk_source': None, 'lines': None}
    try:
        status = os.stat(path)
    except OSError:
        return entry
    entry['exists'] = True
    if entry['islnk']:
        entry['lnk_source'] = os.path.realpath(path)
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_MATCHED_FILE:
        return entry
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except (IOError, OSError, UnicodeDecodeError):
        return entry
    entry['lines'] = [line for line in text.splitlines(True) if any(regexp.search(line) for regexp in compiled)]
    return entry
