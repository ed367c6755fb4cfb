# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse-check of win_listener_backlog_facts.ps1, which cannot run here.

No PowerShell is installable on these machines (docs/contributing.md), so the module is
parsed with the tree-sitter PowerShell grammar (a declared test requirement, not
optional): the tree must have no ERROR or MISSING node, and the same checker must
flag deliberately broken PowerShell, so a clean result means something.  The
spec, the constants and the fact keys are then read from the parse tree and
compared with the Python side: module_utils/_backlog.py, the Python module's
RETURN and the .py holding this module's documentation.  That also stands in
for validate-modules' argument-spec check, which needs pwsh.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import os

import pytest
import tree_sitter
import tree_sitter_powershell
import yaml

from ansible_collections.netstack.backlog.plugins.module_utils import _backlog

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULES = os.path.join(ROOT, 'plugins', 'modules')
PS1 = os.path.join(MODULES, 'win_listener_backlog_facts.ps1')
PS1_DOCS = os.path.join(MODULES, 'win_listener_backlog_facts.py')
PY_MODULE = os.path.join(MODULES, 'listener_backlog_facts.py')

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

SCALARS = {'$true': True, '$false': False, '$null': None}


def read_bytes(path):
    with open(path, 'rb') as handle:
        return handle.read()


def syntax_problems(source):
    """Every ERROR and MISSING node of the parse of ``source``, as (kind, line, column, text)."""
    tree = PARSER.parse(source)
    problems = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            kind = 'MISSING %s' % node.type if node.is_missing else node.type
            problems.append((kind, node.start_point[0] + 1, node.start_point[1] + 1,
                             node.text.decode('utf-8', 'replace')[:40]))
        stack.extend(node.children)
    # The walk and tree-sitter's own flag must agree, or the walk missed something.
    assert bool(problems) == tree.root_node.has_error
    return sorted(problems, key=lambda problem: problem[1:3])


def descendants(node, node_type, inside_matches=True):
    """Descendants of ``node`` of ``node_type`` in source order (optionally not looking inside a match)."""
    found = []
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.type == node_type:
            found.append(child)
            if not inside_matches:
                continue
        stack.extend(reversed(child.children))
    return found


# Node types value() reads; any other node with one named child only wraps it.
LEAVES = ('hash_literal_expression', 'string_literal', 'integer_literal', 'variable')


def unwrap(node):
    """The innermost node of a chain of single-child wrappers (pipeline, unary_expression, ...)."""
    while node.named_child_count == 1 and node.type not in LEAVES:
        node = node.named_children[0]
    return node


class Script(object):
    """The values a simple PowerShell script assigns, read from its parse tree."""

    def __init__(self, source):
        self.tree = PARSER.parse(source)
        self.assignments = {}
        for node in descendants(self.tree.root_node, 'assignment_expression'):
            target = node.named_children[0].text.decode('utf-8')
            self.assignments.setdefault(target, []).append(node.named_children[-1])

    def value(self, node):
        """A PowerShell literal (string, integer, $true/$false/$null, hashtable of those) as Python."""
        node = unwrap(node)
        text = node.text.decode('utf-8')
        if node.type == 'hash_literal_expression':
            result = {}
            for entry in descendants(node, 'hash_entry', inside_matches=False):
                key = entry.named_children[0].text.decode('utf-8')
                result[key] = self.value(entry.named_children[-1])
            return result
        if node.type == 'integer_literal':
            return int(text, 0)
        if node.type == 'string_literal' and text[0] == text[-1] == "'":
            return text[1:-1]
        if node.type == 'variable' and text.lower() in SCALARS:
            return SCALARS[text.lower()]
        if node.type == 'variable' and len(self.assignments.get(text, ())) == 1:
            return self.value(self.assignments[text][0])
        return Expression(text)

    def assigned(self, target):
        values = self.assignments[target]
        assert len(values) == 1, '%s is assigned %d times' % (target, len(values))
        return self.value(values[0])


class Expression(object):
    """A value computed at run time (not a literal): compared by its source text."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Expression) and other.text == self.text

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'Expression(%r)' % self.text


def python_assignments(path):
    """The string constants a Python file assigns at top level (DOCUMENTATION, RETURN, ...)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values, tree


def returned_facts(path):
    return yaml.safe_load(python_assignments(path)[0]['RETURN'])['ansible_facts']['contains']


@pytest.fixture(scope='module')
def source():
    return read_bytes(PS1)


@pytest.fixture(scope='module')
def script(source):
    return Script(source)


# -- the parse -------------------------------------------------------------------

def test_module_parses_without_errors(source):
    assert syntax_problems(source) == []


@pytest.mark.parametrize('snippet, kind', [
    (b'if ($x) {\n    Write-Output 1\n', 'MISSING }'),
    (b'$a = 1\n}\n', 'ERROR'),
    (b'$a = (1 + 2\n', 'ERROR'),
    (b'$h = @{ a = 1\n', 'ERROR'),
    (b"$s = 'never closed\n", 'ERROR'),
    (b'$h = @{ a = }\n', 'ERROR'),
    (b'try { 1 } catch\n', 'ERROR'),
])
def test_checker_catches_broken_powershell(snippet, kind):
    problems = syntax_problems(snippet)
    assert problems, 'the checker passed broken PowerShell: %r' % snippet
    assert kind in [problem[0] for problem in problems]


def test_checker_catches_a_broken_copy_of_the_module(source):
    # Drop the brace that closes `if ($module.Params.listeners) {`.
    broken = source.replace(b'\n}\n\n$module.Result', b'\n\n$module.Result')
    assert broken != source
    assert syntax_problems(broken)


# -- what the module says ---------------------------------------------------------

def test_header_and_ansible_basic(source):
    lines = source.decode('utf-8').splitlines()
    assert lines[0] == '#!powershell'
    for line in ('# Copyright (c) netstack.backlog contributors',
                 '# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)',
                 '# SPDX-License-Identifier: GPL-3.0-or-later'):
        assert line in lines[:10]
    comments = [node.text.decode('utf-8') for node in descendants(PARSER.parse(source).root_node, 'comment')]
    assert '#AnsibleRequires -CSharpUtil Ansible.Basic' in comments
    assert b'$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)' in source
    assert b'$module.ExitJson()' in source


def test_constants_are_those_of_module_utils(script):
    assert _backlog.WINDOWS_PLAIN_LISTEN_BACKLOG == 200
    assert _backlog.WINDOWS_SOMAXCONN == 0x7fffffff
    assert script.assigned('$plainListenBacklog') == _backlog.WINDOWS_PLAIN_LISTEN_BACKLOG
    assert script.assigned('$somaxconn') == _backlog.WINDOWS_SOMAXCONN
    facts = script.assigned('$facts')
    assert facts['ansible_listener_backlog'] == _backlog.WINDOWS_PLAIN_LISTEN_BACKLOG
    assert facts['ansible_listener_backlog_info']['raw'] == _backlog.WINDOWS_SOMAXCONN


def test_spec_matches_the_documentation(script):
    spec = script.assigned('$spec')
    assert spec == {'options': {'listeners': {'type': 'bool', 'default': False}}, 'supports_check_mode': True}
    docs = yaml.safe_load(python_assignments(PS1_DOCS)[0]['DOCUMENTATION'])
    assert docs['module'] == 'win_listener_backlog_facts'
    option = docs['options']['listeners']
    assert (option['type'], option['default']) == ('bool', False)
    assert docs['attributes']['check_mode']['support'] == 'full'
    assert docs['attributes']['platform']['platforms'] == 'windows'


def test_info_is_the_python_schema_with_windows_values(script):
    info = script.assigned('$facts')['ansible_listener_backlog_info']
    python_info = returned_facts(PY_MODULE)['ansible_listener_backlog_info']['contains']
    windows_info = returned_facts(PS1_DOCS)['ansible_listener_backlog_info']['contains']
    assert sorted(info) == sorted(python_info) == sorted(windows_info)
    assert info == {
        'source': 'default', 'key': 'SOMAXCONN', 'raw': _backlog.WINDOWS_SOMAXCONN, 'capped': True,
        'minimum': None, 'system': 'Windows', 'syn_backlog': None, 'syncookies': None,
        'listen_overflows': None, 'listen_drops': None,
    }
    assert info['source'] in _backlog.SOURCES
    # What the Python module really returns on a platform read without any program.
    gatherer = _backlog.LimitGatherer('NetBSD', '10.0', read_file=None, run_command=None)
    assert sorted(gatherer.gather()[1]) == sorted(info)


def test_fact_keys_carry_the_ansible_prefix(script, source):
    facts = script.assigned('$facts')
    assert sorted(facts) == ['ansible_listener_backlog', 'ansible_listener_backlog_info']
    assert b'$facts.ansible_listener_backlog_listeners = ' in source
    windows = ['ansible_listener_backlog', 'ansible_listener_backlog_info', 'ansible_listener_backlog_listeners']
    assert sorted(returned_facts(PS1_DOCS)) == windows
    # Unix-domain listeners and network namespaces are Linux facts; the action plugin refuses them for Windows
    # (or leaves them out with skip_unsupported, and tuning, which only the role's POSIX platforms have, with them).
    assert sorted(returned_facts(PY_MODULE)) == sorted(windows + ['ansible_listener_backlog_unix_listeners',
                                                                  'ansible_listener_backlog_namespaces',
                                                                  'ansible_listener_backlog_namespaces_total',
                                                                  'ansible_listener_backlog_tuning',
                                                                  'ansible_listener_backlog_files'])
    assert script.assigned('$module.Result.ansible_facts') == facts


def test_listeners_have_the_python_keys_and_order(script, source):
    tables = [script.value(node) for node in descendants(script.tree.root_node, 'hash_literal_expression')]
    listener = [table for table in tables if 'pid' in table]
    assert len(listener) == 1
    listener = listener[0]
    python_keys = returned_facts(PY_MODULE)['ansible_listener_backlog_listeners']['contains']
    windows_keys = returned_facts(PS1_DOCS)['ansible_listener_backlog_listeners']['contains']
    assert sorted(listener) == sorted(python_keys) == sorted(windows_keys)
    # Windows has no standard way to read a socket's granted backlog or its queue.
    assert listener['backlog'] is None and listener['queued'] is None
    assert b'Get-NetTCPConnection -State Listen' in source
    assert b'Sort-Object -Property { $_.port }, { $_.family }, { $_.address }' in source


def test_documented_samples_are_the_windows_numbers():
    facts = returned_facts(PS1_DOCS)
    assert facts['ansible_listener_backlog']['sample'] == _backlog.WINDOWS_PLAIN_LISTEN_BACKLOG
    assert facts['ansible_listener_backlog_info']['contains']['raw']['sample'] == _backlog.WINDOWS_SOMAXCONN


# -- where the PowerShell lives ---------------------------------------------------

def test_no_powershell_beside_the_python_module():
    # plugins/action/listener_backlog_facts.py: with a .ps1 beside the .py, the loader picks the .ps1 for POSIX hosts too.
    assert not os.path.exists(os.path.join(MODULES, 'listener_backlog_facts.ps1'))


def test_every_powershell_module_has_a_documentation_only_python_file():
    names = sorted(name for name in os.listdir(MODULES) if name.endswith('.ps1'))
    assert 'win_listener_backlog_facts.ps1' in names
    for name in names:
        values, tree = python_assignments(os.path.join(MODULES, name[:-len('.ps1')] + '.py'))
        assert set(['DOCUMENTATION', 'EXAMPLES', 'RETURN']) <= set(values), name
        for node in tree.body:
            docs_only = (isinstance(node, ast.Assign) or
                         (isinstance(node, ast.ImportFrom) and node.module == '__future__'))
            assert docs_only, '%s: %s at line %d is code; a .py beside a .ps1 holds documentation only' % (
                name, type(node).__name__, node.lineno)
