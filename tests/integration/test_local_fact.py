# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local fact script exactly as the role installs it, against the real kernel, on every target Python.

The role (listener_backlog_local_fact: present, nothing else) installs the script on a
simulated host (nshost.NamespaceHost); the tests then run that file, byte for byte, with
each target Python in a network namespace at a somaxconn of its own, and compare its answer
with what listener_backlog_facts reports there on the same Python.  Where the tests run the
script themselves, the Python that ran the role is hidden (a tmpfs over its directory), as an
OS upgrade would remove it, and the script's PATH holds only the interpreters a test chose.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat

import pytest

from netns import Namespace, controller_bin, dependencies_path, interpreter, run_playbook, target_python
from nshost import NamespaceHost

LOCAL_FACT = '/etc/ansible/facts.d/listener_backlog.fact'
# Every target Python the collection's modules support; target_python() fails on a missing one.
VERSIONS = ['2.7', '3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13']
SOMAXCONN = dict((version, 1000 + 37 * index) for index, version in enumerate(VERSIONS))
STOCK_SOMAXCONN = 128


def controller_for(version):
    # ansible-core 2.17 dropped target Pythons 2.7 and 3.6, 2.18 dropped 3.7 (netns.TARGETS).
    return '2.16' if version in ('2.7', '3.6', '3.7') else 'latest'


def results_of(results, host, task):
    entry = [item for item in results[host] if item['task'] == task][0]
    assert entry['status'] == 'ok', entry
    return entry['result']


def role_run(host, directory, collections_root, variables, *extra_args):
    """Run the role on ``host`` with ``variables``, as a user runs it; return the names of the changed tasks."""
    os.makedirs(directory)
    vars_file = os.path.join(directory, 'vars.json')
    with open(vars_file, 'w') as handle:
        json.dump(variables, handle)
    ansible_bin = controller_bin('latest')
    process, results = run_playbook(
        ansible_bin, '%s:%s' % (collections_root, dependencies_path()), 'role.yml',
        {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python')}},
        directory, extra_args=['-e', '@%s' % vars_file] + list(extra_args), prefix=host.command([]))
    assert process.returncode == 0, process.stdout + process.stderr
    return [entry['task'] for entry in results.get('localhost', []) if entry['result'].get('changed')]


@pytest.fixture(scope='module')
def installed(tmp_path_factory, collections_root):
    """The script the role installed, copied out of the host: (path, text, changed names of each run)."""
    directory = str(tmp_path_factory.mktemp('role'))
    host = NamespaceHost('lfact', STOCK_SOMAXCONN)
    present = {'listener_backlog_local_fact': 'present'}
    try:
        checked = role_run(host, os.path.join(directory, 'check'), collections_root, present, '--check', '--diff')
        assert not host.exists(LOCAL_FACT)
        first = role_run(host, os.path.join(directory, 'first'), collections_root, present)
        second = role_run(host, os.path.join(directory, 'second'), collections_root, present)
        mode = int(host.run('stat', '-c', '%a', LOCAL_FACT).stdout, 8)
        text = host.read(LOCAL_FACT)
    finally:
        host.remove()
    script = os.path.join(directory, 'listener_backlog.fact')
    with open(script, 'w') as handle:
        handle.write(text)
    os.chmod(script, mode)
    return script, text, {'check': checked, 'first': first, 'second': second}


def installing_python_dir():
    """The directory of the Python that ran the role (what the old shebang named: the module's sys.executable)."""
    return controller_bin('latest')


def wrapper(directory, name, python, marker):
    """An interpreter named ``name`` in ``directory`` that notes its arguments in ``marker`` and runs ``python``."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\necho "%s $*" >> %s\nexec %s "$@"\n' % (name, shlex.quote(marker), shlex.quote(python)))
    os.chmod(path, 0o755)
    return path


def run_script(namespace, script, path, *args, check=True):
    """Run ``script`` in ``namespace`` with nothing but ``path`` as its environment, the installing Python gone."""
    gone = installing_python_dir()
    command = ('mount -t tmpfs nbt-gone %s && test ! -e %s && exec env -i "PATH=$0" "$@"'
               % (shlex.quote(gone), shlex.quote(os.path.join(gone, 'python'))))
    return namespace.run('unshare', '--mount', '--propagation', 'private', 'sh', '-c', command, path, script,
                         *args, check=check)


@pytest.fixture(scope='module')
def module_answers(tmp_path_factory, collections_root):
    """{version: (namespace, the module's ansible_facts there on that Python)}."""
    directory = str(tmp_path_factory.mktemp('module'))
    namespaces = {}
    try:
        for version in VERSIONS:
            namespaces[version] = Namespace('lfact', SOMAXCONN[version])
        answers = {}
        for controller in ('2.16', 'latest'):
            hosts = dict(('py' + version, {'ansible_python_interpreter': interpreter(
                namespaces[version], target_python(version), directory)})
                for version in VERSIONS if controller_for(version) == controller)
            run_directory = os.path.join(directory, controller)
            os.makedirs(run_directory)
            process, results = run_playbook(controller_bin(controller), collections_root, 'facts.yml', hosts,
                                            run_directory)
            assert process.returncode == 0, process.stdout + process.stderr
            for name in hosts:
                answers[name[2:]] = results_of(results, name, 'Gather the facts')
        yield dict((version, (namespaces[version], answers[version])) for version in VERSIONS)
    finally:
        for namespace in namespaces.values():
            namespace.remove()


def test_the_role_installs_one_script_for_every_host_that_names_no_python(installed):
    script, text, changed = installed
    assert [name.split(' : ')[-1] for name in changed['check'] if 'local fact' in name] == \
        ['Create the local facts directory /etc/ansible/facts.d', 'Write the local fact script into /etc/ansible/facts.d']
    assert any(name.endswith('Write the local fact script into /etc/ansible/facts.d') for name in changed['first'])
    assert changed['second'] == []
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o755
    assert text.startswith('#!/bin/sh\n# -*- coding: utf-8 -*-\n')
    # Nothing of the host or of the Python that installed it.
    assert installing_python_dir() not in text and '/root/.pyenv' not in text
    # The collection's files inside it verbatim, each with its digest.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for path in ('plugins/module_utils/_platforms.py', 'plugins/module_utils/_backlog.py',
                 'roles/listener_backlog/files/local_fact.py',
                 'roles/listener_backlog/files/local_fact_loader.py'):
        with open(os.path.join(root, path)) as handle:
            assert handle.read() in text, path


@pytest.mark.parametrize('version', VERSIONS)
def test_the_installed_script_answers_what_the_module_does_on_every_target_python(
        installed, module_answers, tmp_path, version):
    """Only a wrapper of the target Python on PATH (python2 for 2.7, else python3), the installing one gone."""
    script = installed[0]
    namespace, module = module_answers[version]
    marker = str(tmp_path / 'ran')
    name = 'python2' if version == '2.7' else 'python3'
    wrapper(str(tmp_path / 'bin'), name, target_python(version), marker)
    process = run_script(namespace, script, str(tmp_path / 'bin'))
    local = json.loads(process.stdout)
    with open(marker) as handle:
        assert handle.read() == '%s -E -S %s\n' % (name, script)
    assert local['listener_backlog'] == module['ansible_facts']['ansible_listener_backlog'] == SOMAXCONN[version]
    # No field differs: where the module would probe (procfs and sysctl both failing), the script
    # reports the default instead (files/local_fact.py), but here procfs answers both.
    assert local['listener_backlog_info'] == module['ansible_facts']['ansible_listener_backlog_info']
    assert local['listener_backlog_info']['source'] == 'procfs'
    assert local['warnings'] == module.get('warnings', []) == []
    assert sorted(local) == ['listener_backlog', 'listener_backlog_info', 'warnings']


def test_the_first_interpreter_found_that_runs_is_used(installed, module_answers, tmp_path):
    """python3 before python2 before python; a broken one (a pyenv shim with no version set, exit 127) is passed over."""
    script = installed[0]
    namespace, module = module_answers['3.9']
    marker = str(tmp_path / 'ran')
    first, second = str(tmp_path / 'first'), str(tmp_path / 'second')
    wrapper(first, 'python', target_python('3.13'), marker)
    wrapper(first, 'python2', target_python('2.7'), marker)
    wrapper(second, 'python3', target_python('3.6'), marker)
    shim = os.path.join(first, 'python3')
    with open(shim, 'w') as handle:
        handle.write('#!/bin/sh\necho "pyenv: python3: command not found" >&2\nexit 127\n')
    os.chmod(shim, 0o755)
    assert not os.path.exists('/usr/libexec/platform-python'), 'this test expects a machine without it'

    def ran(path):
        if os.path.exists(marker):
            os.unlink(marker)
        local = json.loads(run_script(namespace, script, path).stdout)
        assert local['listener_backlog'] == SOMAXCONN['3.9']
        with open(marker) as handle:
            return [line.split()[0] for line in handle]

    # The first python3 on PATH is the shim: it is passed over for the next name, not the next python3.
    assert ran(first + ':' + second) == ['python2']
    os.unlink(shim)
    assert ran(first + ':' + second) == ['python3']
    os.unlink(os.path.join(first, 'python2'))
    assert ran(first) == ['python']


def test_no_python_is_a_json_error_for_setup_and_fails_the_validation(installed, module_answers, tmp_path):
    script = installed[0]
    namespace, module = module_answers['3.9']
    empty = str(tmp_path / 'empty')
    os.makedirs(empty)
    process = run_script(namespace, script, empty)
    fact = json.loads(process.stdout)
    assert fact['failed'] is True and fact['msg'].startswith('no Python found'), fact
    assert (fact['listener_backlog'], fact['listener_backlog_info'], fact['warnings']) == (None, {}, [fact['msg']])
    process = run_script(namespace, script, empty, '--validate', check=False)
    assert process.returncode == 1 and 'no Python found' in process.stderr and process.stdout == ''


def test_embedded_code_that_differs_from_the_collections_never_runs(installed, module_answers, tmp_path):
    script, text, changed = installed
    namespace, module = module_answers['3.9']
    changed_text, count = re.subn(r'^INT_MAX = 2147483647$', 'INT_MAX = 2147483646', text, flags=re.M)
    assert count == 1
    tampered = str(tmp_path / 'listener_backlog.fact')
    with open(tampered, 'w') as handle:
        handle.write(changed_text)
    os.chmod(tampered, 0o755)
    marker = str(tmp_path / 'ran')
    wrapper(str(tmp_path / 'bin'), 'python3', target_python('3.9'), marker)
    fact = json.loads(run_script(namespace, tampered, str(tmp_path / 'bin')).stdout)
    assert fact['failed'] is True
    assert 'plugins.module_utils._platforms in this script is not the file it was built from' in fact['msg'], fact
    process = run_script(namespace, tampered, str(tmp_path / 'bin'), '--validate', check=False)
    assert process.returncode == 1 and 'EmbeddingError' in process.stderr, process.stderr


@pytest.mark.parametrize('local_python', ['3.13', None], ids=['python3-first-on-path', 'no-python'])
def test_setup_runs_the_installed_script(installed, tmp_path, collections_root, local_python):
    """setup itself, with a python3 on the script's PATH that is not the Python setup runs on (or none)."""
    script, text, changed = installed
    host = NamespaceHost('lfsetup', 2345)
    try:
        host.write(LOCAL_FACT, text)
        host.run('chmod', '0755', LOCAL_FACT)
        bin_dir = str(tmp_path / 'bin')
        os.makedirs(bin_dir)
        marker = str(tmp_path / 'ran')
        if local_python:
            wrapper(bin_dir, 'python3', target_python(local_python), marker)
        ansible_bin = controller_bin('latest')
        process, results = run_playbook(
            ansible_bin, '%s:%s' % (collections_root, dependencies_path()), 'local_fact_path.yml',
            {'localhost': {'ansible_python_interpreter': os.path.join(ansible_bin, 'python'),
                           'local_fact_path': bin_dir}},
            str(tmp_path), prefix=host.command([]))
        assert process.returncode == 0, process.stdout + process.stderr
    finally:
        host.remove()
    local = results_of(results, 'localhost', 'Gather the local facts')['ansible_facts']['ansible_local']['listener_backlog']
    module = results_of(results, 'localhost', 'Run the fact module')['ansible_facts']
    if local_python:
        with open(marker) as handle:
            assert handle.read() == 'python3 -E -S %s\n' % LOCAL_FACT
        assert local == {'listener_backlog': 2345, 'warnings': [],
                         'listener_backlog_info': module['ansible_listener_backlog_info']}
        assert module['ansible_listener_backlog'] == 2345
    else:
        assert local['failed'] is True and local['msg'].startswith('no Python found'), local
