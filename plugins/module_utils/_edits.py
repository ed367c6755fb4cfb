# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's edits of a file's text: a service's backlog directive and the sysctl file's lines.

One definition for the planner, which predicts from the lines it read whether an edit changes a
file, and for listener_backlog_apply, which makes it. The rules are those of the modules users
know (ansible-core's lineinfile and replace, as documented there), so that an edit does what
their task would have done:

- kind ``line`` (lineinfile): the last line ``regexp`` finds is replaced by ``line``; with no such
  line, ``line`` is inserted after the last line ``insertafter`` finds, or at the end (``EOF``, or
  when ``insertafter`` finds nothing);
- kind ``replace`` (replace): each expression is substituted in order over the whole text,
  ``^`` and ``$`` at every line.

``{backlog}`` in ``line`` and ``replace`` stands for the number. Module code: runs on target
Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re


def _lines(text):
    """The lines of ``text``, each with its newline: split at \\n only, as lineinfile reads a file."""
    lines = [line + '\n' for line in text.split('\n')]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _insert(lines, index, line):
    """``lines`` with ``line`` (no newline) inserted before ``index``, the line before it ended first."""
    if index > 0 and not lines[index - 1].endswith('\n'):
        lines[index - 1] += '\n'
    lines.insert(index, line + '\n')
    return lines


def set_line(text, regexp, line, insertafter='EOF'):
    """``text`` with ``line`` in it as lineinfile (state present, no backrefs) puts it."""
    lines = _lines(text)
    pattern = re.compile(regexp)
    found = [index for index, each in enumerate(lines) if pattern.search(each.rstrip('\r\n'))]
    if found:
        lines[found[-1]] = line + '\n'
        return ''.join(lines)
    after = len(lines)
    if insertafter and insertafter != 'EOF':
        anchor = re.compile(insertafter)
        matches = [index for index, each in enumerate(lines) if anchor.search(each.rstrip('\r\n'))]
        if matches:
            after = matches[-1] + 1
    return ''.join(_insert(lines, after, line))


def apply_edit(text, edit, backlog):
    """``text`` after a catalogue edit (``kind`` line or replace) writing ``backlog``."""
    number = str(backlog)
    if edit['kind'] == 'line':
        return set_line(text, edit['regexp'], edit['line'].replace('{backlog}', number),
                        edit.get('insertafter') or 'EOF')
    for each in edit['edits']:
        text = re.sub(each['regexp'], each['replace'].replace('{backlog}', number), text, flags=re.MULTILINE)
    return text


def set_sysctls(text, sysctls):
    """The sysctl file's ``text`` with each entry's ``line`` (``key = value``) for its ``key``."""
    for entry in sysctls:
        text = set_line(text or '', r'^\s*%s\s*=' % re.escape(entry['key']), entry['line'])
    return text
