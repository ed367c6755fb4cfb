# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local fact's Python part: its main (files/local_fact.py) and its loader (files/local_fact_loader.py).

The script the role builds from them runs for real in tests/integration/test_local_fact.py
(every target Python, and without the Python that installed it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import hashlib
import io
import json
import os
import re
import sys

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _backlog as backlog
from ansible_collections.netstack.backlog.roles.listener_backlog.files import local_fact as local
from ansible_collections.netstack.backlog.roles.listener_backlog.files import local_fact_loader as loader

from ansible_collections.netstack.backlog.tests.unit.plugins.module_utils.test_backlog_linux import FakeHost

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(COLLECTION, 'roles', 'listener_backlog')
TEMPLATE = os.path.join(ROLE, 'templates', 'listener_backlog.fact.j2')
PREFIX = 'ansible_collections.netstack.backlog.'
ENTRY = PREFIX + 'roles.listener_backlog.files.local_fact'


def test_reports_the_gatherers_value_info_and_warnings_unprefixed():
    host = FakeHost({backlog.LINUX_SOMAXCONN_PATH: '4096\n'})
    fact = local.local_fact('Linux', '6.18.44', host.read_file, host.run_command)
    value, info, warnings = host.gather()
    assert fact == {'listener_backlog': value, 'listener_backlog_info': info, 'warnings': warnings}
    assert fact['listener_backlog'] == 4096


def test_falls_back_to_the_default_without_probing_when_procfs_and_sysctl_fail():
    host = FakeHost(probe_result=1234)
    fact = local.local_fact('Linux', '6.18.44', host.read_file, host.run_command)
    assert host.probes == []
    assert fact['listener_backlog_info']['source'] == 'default'
    assert fact['listener_backlog'] == 4096  # Linux 5.4 and later compile in 4096
    assert 'sysctl' in fact['warnings'][0]


def test_runs_system_programs_in_the_c_locale_and_names_a_missing_one():
    rc, out, err = local.local_run_command(['sh', '-c', 'echo "$LC_ALL"; echo oops >&2; exit 3'])
    assert (rc, out, err) == (3, 'C\n', 'oops\n')
    rc, out, err = local.local_run_command(['no-such-program-here'])
    assert rc == 127 and 'no-such-program-here: program not found' in err


def test_main_is_the_fact_of_the_host_it_runs_on(monkeypatch):
    calls = []
    monkeypatch.setattr(local, 'local_fact', lambda system, release: calls.append((system, release)) or {'x': 1})
    assert local.local_fact_main() == {'x': 1}
    assert calls == [tuple(os.uname()[i] for i in (0, 2))]


# The loader ----------------------------------------------------------------------------

def embedded(name, source):
    return (name, hashlib.sha256(source.encode('utf-8')).hexdigest(), source)


@pytest.fixture
def fresh_modules():
    """Module names the test loads, taken out of sys.modules (and their parents' attributes) afterwards."""
    before = dict(sys.modules)
    attributes = {}

    def remember(*names):
        for name in names:
            parent, dummy, child = name.rpartition('.')
            if parent in sys.modules:
                attributes[(parent, child)] = getattr(sys.modules[parent], child, None)

    yield remember
    for name in list(sys.modules):
        if name not in before:
            del sys.modules[name]
        elif sys.modules[name] is not before[name]:
            sys.modules[name] = before[name]
    for (parent, child), value in attributes.items():
        setattr(sys.modules[parent], child, value)


A = '''from __future__ import absolute_import
VALUE = 'a'
'''
B = '''from __future__ import absolute_import
from nbt_local_fact_test.pkg.a import VALUE
from nbt_local_fact_test.pkg import a


def local_fact_main():
    return {'value': VALUE, 'same': a.VALUE is VALUE, 'name': __name__}
'''


def test_loads_each_source_as_a_module_under_its_name_with_its_packages(fresh_modules):
    modules = [embedded('nbt_local_fact_test.pkg.a', A), embedded('nbt_local_fact_test.pkg.b', B)]
    loaded = loader.load_embedded(modules)
    assert [module.__name__ for module in loaded] == ['nbt_local_fact_test.pkg.a', 'nbt_local_fact_test.pkg.b']
    assert sys.modules['nbt_local_fact_test.pkg.b'] is loaded[1]
    assert sys.modules['nbt_local_fact_test.pkg'].b is loaded[1]
    assert sys.modules['nbt_local_fact_test'].pkg.__path__ == []
    assert loaded[1].local_fact_main() == {'value': 'a', 'same': True, 'name': 'nbt_local_fact_test.pkg.b'}


def test_prints_the_entrys_fact_as_json(fresh_modules):
    modules = [embedded('nbt_local_fact_test.pkg.a', A), embedded('nbt_local_fact_test.pkg.b', B)]
    out, err = io.StringIO(), io.StringIO()
    assert loader.run_local_fact(modules, 'nbt_local_fact_test.pkg.b', [], stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue()) == {'value': 'a', 'same': True, 'name': 'nbt_local_fact_test.pkg.b'}
    assert out.getvalue().endswith('}\n') and err.getvalue() == ''


def test_a_source_that_differs_from_its_file_never_runs(fresh_modules):
    name, digest, source = embedded('nbt_local_fact_test.a', A)
    changed = source.replace("'a'", "'b'")
    with pytest.raises(loader.EmbeddingError, match='nbt_local_fact_test.a in this script is not the file'):
        loader.load_embedded([(name, digest, changed)])
    assert name not in sys.modules
    # A source cut short by the embedding (at a quote, say) fails the same way.
    with pytest.raises(loader.EmbeddingError):
        loader.load_embedded([(name, digest, source[:-2])])


def test_errors_become_the_fact_unless_validating(fresh_modules):
    # b before a: its import of a finds nothing (the script carries no other code).
    modules = [embedded('nbt_local_fact_test.pkg.b', B), embedded('nbt_local_fact_test.pkg.a', A)]
    out, err = io.StringIO(), io.StringIO()
    assert loader.run_local_fact(modules, 'nbt_local_fact_test.pkg.b', [], stdout=out, stderr=err) == 0
    fact = json.loads(out.getvalue())
    assert fact['failed'] is True
    assert re.match(r"(ModuleNotFound|Import)Error: No module named '?nbt_local_fact_test", fact['msg']), fact
    assert fact['warnings'] == [fact['msg']]
    assert (fact['listener_backlog'], fact['listener_backlog_info']) == (None, {})
    assert 'nbt_local_fact_test.pkg.b' not in sys.modules  # as a failed import leaves it

    out, err = io.StringIO(), io.StringIO()
    assert loader.run_local_fact(modules, 'nbt_local_fact_test.pkg.b', ['--validate'], stdout=out, stderr=err) == 1
    assert out.getvalue() == '' and 'Traceback' in err.getvalue() and 'No module named' in err.getvalue()


def test_a_python_the_code_does_not_run_on_asks_for_the_next_interpreter():
    out = io.StringIO()
    for version in [(2, 6, 9), (3, 0, 1), (3, 5, 10)]:
        assert loader.run_local_fact([], ENTRY, [], version_info=version, stdout=out) == loader.UNSUPPORTED_PYTHON
    assert out.getvalue() == ''
    assert loader.UNSUPPORTED_PYTHON not in (0, 1, 2, 126, 127)  # Python's own and the shell's statuses
    assert [loader.supported_python(v) for v in [(2, 7, 18), (3, 6, 15), (3, 13, 0), (4, 0)]] == [True] * 4


# The template's list of embedded files -------------------------------------------------

COLLECTOR_TEMPLATE = os.path.join(ROLE, 'templates', 'netstack_backlog_textfile.j2')
COLLECTOR_ENTRY = PREFIX + 'roles.listener_backlog.files.textfile_collector'


def embedded_paths(template=TEMPLATE):
    """The files a template embeds, in its order (its `{% for path in [...] %}`)."""
    with open(template) as handle:
        match = re.search(r"\{% for path in (\[[^\]]*\]) %\}", handle.read())
    return ast.literal_eval(match.group(1))


def imports_of(path):
    """Every module a file imports, at any depth (top level or inside functions)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, '%s: relative import' % path
            if node.module.endswith('.module_utils'):
                # from ...plugins.module_utils import _netns: the module is the package's member.
                names.extend('%s.%s' % (node.module, alias.name) for alias in node.names)
            else:
                names.append(node.module)
    return names


@pytest.mark.parametrize('template, entry', [(TEMPLATE, ENTRY), (COLLECTOR_TEMPLATE, COLLECTOR_ENTRY)],
                         ids=['local-fact', 'textfile-collector'])
def test_the_template_embeds_every_collection_module_its_program_imports_before_its_importers(template, entry):
    paths = embedded_paths(template)
    names = [PREFIX + path[:-3].replace('/', '.') for path in paths]
    assert names[-1] == entry
    for index, path in enumerate(paths):
        for name in imports_of(os.path.join(COLLECTION, path)):
            assert not (name == 'ansible' or name.startswith('ansible.')), \
                '%s imports %s: fact scripts run with no ansible on the path' % (path, name)
            if name.startswith('ansible_collections.'):
                assert name in names[:index], '%s imports %s, which the template does not embed before it' % (path, name)


def test_the_loader_runs_the_real_files_as_the_script_does(fresh_modules, monkeypatch):
    names = [PREFIX + path[:-3].replace('/', '.') for path in embedded_paths()]
    fresh_modules(*names)
    modules = []
    for name, path in zip(names, embedded_paths()):
        with open(os.path.join(COLLECTION, path), 'rb') as handle:
            data = handle.read()
        modules.append((name, hashlib.sha256(data).hexdigest(), data.decode('utf-8')))
    out = io.StringIO()
    assert loader.run_local_fact(modules, ENTRY, ['--validate'], stdout=out) == 0
    assert sys.modules[ENTRY] is not local  # a module of its own, as in the script
    assert json.loads(out.getvalue()) == json.loads(json.dumps(local.local_fact_main()))
