# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The edits of module_utils/_edits.py against what ansible-core's lineinfile and replace do to the same text.

Each case is run through the real modules of the installed ansible-core too (their run_module
under the real AnsibleModule, on a real file), so the rule is the modules', not a copy of it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.modules import lineinfile, replace

from ansible_collections.netstack.backlog.plugins.module_utils import _edits
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, run_module

LINE_CASES = [
    # (text, regexp, line, insertafter)
    ('bind 127.0.0.1\ntcp-backlog 511\nport 6379\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),
    ('bind 127.0.0.1\n# tcp-backlog 511\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),
    ('tcp-backlog 1\nx\ntcp-backlog 2\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),  # the last one
    ('bind 127.0.0.1\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),  # added at the end
    ('bind 127.0.0.1', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),  # no newline at the end
    ('', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),
    ('tcp-backlog 4096\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),  # already there
    ('tcp-backlog 4096', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),  # there, no newline
    ('[client]\nport = 1\n[mysqld]\nuser = mysql\n[mysqldump]\n', r'^#?[ \t]*back[-_]log[ \t]*=', 'back_log = 900',
     r'^\[mysqld\]'),  # after the section
    ('[a]\nx = 1\n', r'^#?[ \t]*back[-_]log[ \t]*=', 'back_log = 900', r'^\[mysqld\]'),  # no section: at the end
    ('defaults\n\tmode http\ndefaults\n\tmode tcp\n', r'^[ \t]*#?[ \t]*backlog[ \t]', '\tbacklog 4096', '^defaults'),
    # Lines end at \n (a \r before it is the line's): a form feed inside a line splits nothing.
    ('# page\x0cbreak\ntcp-backlog 1\r\nport 6379\n', r'^#?[ \t]*tcp-backlog[ \t]', 'tcp-backlog 4096', 'EOF'),
]

REPLACE_CASES = [
    ('server {\n    listen 80 default_server;\n    listen [::]:80 default_server;\n}\n',
     [{'regexp': r'(^[ \t]*listen[ \t][^;#\n]*\bbacklog=)\d+', 'replace': r'\g<1>{backlog}'},
      {'regexp': r'^([ \t]*listen[ \t](?:(?!backlog=)[^;#\n])*?)[ \t]*;', 'replace': r'\g<1> backlog={backlog};'}]),
    ('server {\n    listen 80 backlog=511;\n}\n',
     [{'regexp': r'(^[ \t]*listen[ \t][^;#\n]*\bbacklog=)\d+', 'replace': r'\g<1>{backlog}'}]),
]


def through_module(monkeypatch, tmp_path, main, text, args):
    path = tmp_path / 'file'
    path.write_bytes(text.encode('utf-8'))  # bytes both ways: no newline translation
    ended = run_module(monkeypatch, main, dict(args, path=str(path), _ansible_remote_tmp=str(tmp_path)))
    assert isinstance(ended, ExitJson), ended.args
    return path.read_bytes().decode('utf-8')


@pytest.mark.parametrize('text, regexp, line, insertafter', LINE_CASES)
def test_a_line_edit_is_what_lineinfile_writes(monkeypatch, tmp_path, text, regexp, line, insertafter):
    edit = {'kind': 'line', 'regexp': regexp, 'line': line.replace('4096', '{backlog}').replace('900', '{backlog}'),
            'insertafter': insertafter}
    backlog = 900 if '900' in line else 4096
    expected = through_module(monkeypatch, tmp_path, lineinfile.main, text,
                              {'regexp': regexp, 'line': line, 'insertafter': insertafter})
    assert _edits.apply_edit(text, edit, backlog) == expected


@pytest.mark.parametrize('text, edits', REPLACE_CASES)
def test_replace_edits_are_what_replace_writes_applied_in_order(monkeypatch, tmp_path, text, edits):
    expected = text
    for each in edits:
        expected = through_module(monkeypatch, tmp_path, replace.main, expected,
                                  {'regexp': each['regexp'], 'replace': each['replace'].replace('{backlog}', '4096')})
    assert _edits.apply_edit(text, {'kind': 'replace', 'edits': edits}, 4096) == expected
    assert 'backlog=4096' in expected


def test_a_bare_carriage_return_stays_inside_its_line():
    """lineinfile differs here between releases: before ansible-core 2.20 a bare \\r is part of its line (this
    rule), from 2.20 it ends the line. A config with one is rare; the edit then finds no line starting with the
    directive after it, and adds one."""
    edit = {'kind': 'line', 'regexp': r'^#?[ \t]*tcp-backlog[ \t]', 'line': 'tcp-backlog {backlog}',
            'insertafter': 'EOF'}
    assert _edits.apply_edit('x\rtcp-backlog 1\n', edit, 4096) == 'x\rtcp-backlog 1\ntcp-backlog 4096\n'


def test_the_sysctl_file_gets_one_line_per_key_the_last_one_replaced():
    text = '# tuned by hand\nnet.core.somaxconn=1024\nvm.swappiness = 10\nnet.core.somaxconn = 2048\n'
    sysctls = [{'key': 'net.core.somaxconn', 'line': 'net.core.somaxconn = 4096'},
               {'key': 'net.ipv4.tcp_max_syn_backlog', 'line': 'net.ipv4.tcp_max_syn_backlog = 8192'}]
    assert _edits.set_sysctls(text, sysctls) == (
        '# tuned by hand\nnet.core.somaxconn=1024\nvm.swappiness = 10\nnet.core.somaxconn = 4096\n'
        'net.ipv4.tcp_max_syn_backlog = 8192\n')
    assert _edits.set_sysctls(None, sysctls[:1]) == 'net.core.somaxconn = 4096\n'
    # A key's dots are literal: net.core.somaxconnX is another key.
    assert _edits.set_sysctls('net.core.somaxconnX = 1\n', sysctls[:1]) == (
        'net.core.somaxconnX = 1\nnet.core.somaxconn = 4096\n')
