# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""listener_backlog_apply under the real AnsibleModule, on real files, a real flock and real validators.

The running kernel is never touched here (this machine's sysctls are not the tests' to change):
set_live is recorded instead, and the limit read back after it is a fixed answer. The role runs it
on real kernels and real services in tests/integration (test_role_services.py, the faults' suites).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_apply as apply_module
from ansible_collections.netstack.backlog.tests.unit.plugins.modules.utils import ExitJson, FailJson, run_module

ME = {'id': 'ctl 100 5000 boot/pid:[1]', 'controller': 'ctl', 'pid': 100}
OTHER = {'id': 'ctl 200 6000 boot/pid:[1]', 'controller': 'ctl', 'pid': 200}
REDIS_EDIT = {'kind': 'line', 'regexp': r'^#?[ \t]*tcp-backlog[ \t]', 'line': 'tcp-backlog {backlog}',
              'insertafter': 'EOF'}
# A validator in the catalogue's shape: sh -c '...' NAME %s, failing with its own words on stderr.
VALIDATE = 'sh -c \'grep -q "^tcp-backlog [0-9]*$" "$1" || { echo "bad tcp-backlog in $1" >&2; exit 1; }\' check %s'
SOMAXCONN = {'key': 'net.core.somaxconn', 'value': 4096, 'line': 'net.core.somaxconn = 4096'}


@pytest.fixture
def paths(tmp_path):
    run = tmp_path / 'run'
    run.mkdir(mode=0o755)
    etc = tmp_path / 'etc'
    etc.mkdir()
    (etc / 'redis.conf').write_text('bind 127.0.0.1\ntcp-backlog 511\n')
    os.chmod(str(etc / 'redis.conf'), 0o640)
    (tmp_path / 'remote').mkdir(mode=0o700)
    return {'lock': str(run / 'netstack-backlog.lock'), 'sysctl': str(etc / 'sysctl.d' / '90.conf'),
            'config': str(etc / 'redis.conf'), 'remote': str(tmp_path / 'remote'), 'etc': str(etc)}


@pytest.fixture
def kernel(monkeypatch):
    """What set_live was asked (the running kernel stays as it is) and the facts read after it."""
    asked = []
    monkeypatch.setattr(apply_module, 'set_live', lambda module, system, key, value: asked.append((key, value)))
    monkeypatch.setattr(apply_module, 'collect', lambda module, params: (
        {'ansible_listener_backlog': 4096, 'asked': dict(params)}, []))
    return asked


def apply(monkeypatch, paths, check_mode=False, diff=True, **args):
    """(result, warnings) when it succeeded; (result, None) when it failed."""
    arguments = dict(args, lock_path=paths['lock'], owner=ME, _ansible_remote_tmp=paths['remote'],
                     _ansible_check_mode=check_mode, _ansible_diff=diff)
    ended = run_module(monkeypatch, apply_module.main, arguments)
    if isinstance(ended, ExitJson):
        return ended.args[0], ended.args[1]
    assert isinstance(ended, FailJson), ended
    return ended.args[0], None


def redis(paths, backlog=4096, validate=VALIDATE):
    return {'name': 'redis', 'config': paths['config'], 'edit': REDIS_EDIT, 'backlog': backlog, 'validate': validate}


def test_one_run_writes_the_sysctl_file_sets_the_kernel_edits_the_config_and_reads_the_limit_again(
        monkeypatch, paths, kernel):
    os.mkdir(os.path.dirname(paths['sysctl']))
    result, warnings = apply(monkeypatch, paths, sysctl_file=paths['sysctl'], sysctls=[SOMAXCONN],
                             edits=[redis(paths)])
    assert result['changed'] and result['locked'] and warnings == []
    with open(paths['sysctl']) as handle:
        assert handle.read() == 'net.core.somaxconn = 4096\n'
    assert oct(os.stat(paths['sysctl']).st_mode & 0o777) == oct(0o644)
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 4096\n'
    assert oct(os.stat(paths['config']).st_mode & 0o777) == oct(0o640)  # the old file's mode kept
    assert kernel == [('net.core.somaxconn', 4096)]
    assert result['ansible_facts']['ansible_listener_backlog'] == 4096
    assert result['ansible_facts']['asked'] == {'skip_unsupported': True}
    assert [(entry['key'], entry['file'], entry['live']) for entry in result['sysctls']] == [
        ('net.core.somaxconn', True, True)]
    assert [(entry['config'], entry['changed']) for entry in result['edits']] == [(paths['config'], True)]
    assert [each['before_header'] for each in result['diff']] == [paths['sysctl'], paths['config']]
    # Not released: the role's later tasks hold it (the verification's read ends it).
    with open(paths['lock']) as handle:
        assert json.load(handle)['id'] == ME['id']
    assert result['released'] is False and not [name for name in os.listdir(paths['etc']) if name.startswith('.')]


def test_a_new_file_and_its_missing_directories_are_root_only_writable_whatever_the_umask(monkeypatch, paths, kernel):
    runtime = os.path.join(paths['etc'], 'run', 'sysctl.d', '90.conf')  # /run/sysctl.d, which nothing made yet
    umask = os.umask(0)
    try:
        result, dummy = apply(monkeypatch, paths, sysctl_file=runtime, sysctls=[SOMAXCONN], release=True)
    finally:
        os.umask(umask)
    assert result['changed'] and oct(os.stat(runtime).st_mode & 0o777) == oct(0o644)
    for directory in (os.path.dirname(runtime), os.path.dirname(os.path.dirname(runtime))):
        assert oct(os.stat(directory).st_mode & 0o777) == oct(0o755), directory


def test_with_release_the_lock_ends_with_the_changes(monkeypatch, paths, kernel):
    result, dummy = apply(monkeypatch, paths, edits=[redis(paths)], release=True)
    assert result['changed'] and result['released'] is True and not os.path.exists(paths['lock'])
    assert kernel == [] and 'ansible_facts' not in result  # nothing set live: nothing read again


def test_check_mode_says_what_would_change_with_the_diff_and_touches_nothing(monkeypatch, paths, kernel):
    result, dummy = apply(monkeypatch, paths, check_mode=True, sysctl_file=paths['sysctl'], sysctls=[SOMAXCONN],
                          edits=[redis(paths)])
    assert result['changed'] and not result['locked'] and kernel == []
    assert not os.path.exists(paths['lock']) and not os.path.exists(os.path.dirname(paths['sysctl']))
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 511\n'
    assert [(each['before'], each['after']) for each in result['diff']][1] == (
        'bind 127.0.0.1\ntcp-backlog 511\n', 'bind 127.0.0.1\ntcp-backlog 4096\n')


def test_a_second_run_changes_nothing(monkeypatch, paths, kernel):
    apply(monkeypatch, paths, edits=[redis(paths)], release=True)
    result, dummy = apply(monkeypatch, paths, edits=[redis(paths)], release=True)
    assert not result['changed'] and result['diff'] == [] and result['edits'][0]['changed'] is False


def test_the_files_texts_are_returned_in_diff_mode_only(monkeypatch, paths, kernel):
    """A config's text may hold a service's secrets (Redis's requirepass): it is returned when asked for, as
    lineinfile returns it."""
    with open(paths['config'], 'a') as handle:
        handle.write('requirepass s3cret\n')
    result, dummy = apply(monkeypatch, paths, diff=False, edits=[redis(paths)], release=True)
    assert result['changed'] and 'diff' not in result and 's3cret' not in repr(result)


def test_a_config_its_validator_refuses_fails_in_the_validators_words_before_any_change(monkeypatch, paths, kernel):
    os.mkdir(os.path.dirname(paths['sysctl']))
    edit = dict(REDIS_EDIT, line='tcp-backlog {backlog} oops')
    result, warnings = apply(monkeypatch, paths, sysctl_file=paths['sysctl'], sysctls=[SOMAXCONN],
                             edits=[dict(redis(paths), edit=edit)])
    assert warnings is None and result['changed'] is False
    assert result['msg'].startswith(paths['config'] + ': the edited file failed to validate with ')
    assert 'bad tcp-backlog in ' in result['msg'] and 'Nothing was changed.' in result['msg']
    # Nothing changed: not the sysctl file, not the kernel, not the config; the lock is still this run's, for
    # the role's last task to release.
    assert not os.path.exists(paths['sysctl']) and kernel == []
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 511\n'
    assert result['locked'] and os.path.exists(paths['lock'])
    # The candidate the validator read is gone.
    assert [names for dummy, dummy, names in os.walk(paths['remote']) if names] == []


def test_a_sysctl_file_that_cannot_be_written_fails_naming_it_and_the_cause_before_any_other_change(
        monkeypatch, paths, kernel):
    if os.geteuid() == 0:
        # root writes a mode-0555 directory anyway: a file where the directory should be refuses it to anyone.
        with open(os.path.dirname(paths['sysctl']), 'w') as handle:
            handle.write('')
        cause = 'Not a directory'
    else:
        os.mkdir(os.path.dirname(paths['sysctl']), 0o555)
        cause = 'Permission denied'
    result, warnings = apply(monkeypatch, paths, sysctl_file=paths['sysctl'], sysctls=[SOMAXCONN],
                             edits=[redis(paths)])
    assert warnings is None
    assert paths['sysctl'] in result['msg'] and cause in result['msg'], result['msg']
    assert kernel == []
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 511\n'


def test_another_runs_lock_refuses_the_run_before_any_change(monkeypatch, paths, kernel):
    with open(paths['lock'], 'w') as handle:
        json.dump(dict(OTHER, since='2026-12-04T04:00:00Z', until=4102444800, expires='2100'), handle)
    os.chmod(paths['lock'], 0o600)
    result, warnings = apply(monkeypatch, paths, wait=0, edits=[redis(paths)])
    assert warnings is None and result['locked'] is False and result['holder']['id'] == OTHER['id']
    assert 'another run of the role holds this host' in result['msg']
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 511\n'


def test_a_plan_gone_stale_stops_the_run_and_releases_the_lock(monkeypatch, paths, kernel):
    unchanged = {'files': [{'path': paths['config'], 'patterns': [r'^\s*tcp-backlog\b'], 'exists': True,
                            'lines': ['tcp-backlog 100\n']}]}
    result, warnings = apply(monkeypatch, paths, unchanged=unchanged, edits=[redis(paths)])
    assert warnings is None and result['changed_since_read'] == [
        '%s: its lines tcp-backlog 100 are now tcp-backlog 511' % paths['config']]
    assert not os.path.exists(paths['lock'])
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 511\n'


def test_a_linked_config_is_edited_where_the_link_points(monkeypatch, paths, kernel):
    link = os.path.join(paths['etc'], 'enabled.conf')
    os.symlink(paths['config'], link)
    result, dummy = apply(monkeypatch, paths, edits=[dict(redis(paths), config=link)], release=True)
    assert os.path.islink(link) and result['edits'][0]['path'] == paths['config']
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 4096\n'


def test_a_config_that_is_gone_fails_naming_it(monkeypatch, paths, kernel):
    os.unlink(paths['config'])
    result, warnings = apply(monkeypatch, paths, edits=[redis(paths)])
    assert warnings is None and result['msg'] == '%s (redis): the config file does not exist' % paths['config']
    # Read once the lock is held: the role's last task releases it.
    assert result['locked'] and os.path.exists(paths['lock']) and not result['changed']


def test_a_change_made_while_the_run_waited_for_the_lock_is_kept(monkeypatch, paths, kernel):
    """The file is read once the lock is held: a line the plan did not read, added meanwhile, stays."""
    real_take = apply_module.take

    def take(*args, **kwargs):
        taken = real_take(*args, **kwargs)
        with open(paths['config'], 'a') as handle:
            handle.write('maxmemory 100mb\n')  # someone else, while this run waited
        return taken
    monkeypatch.setattr(apply_module, 'take', take)
    apply(monkeypatch, paths, edits=[redis(paths)], release=True)
    with open(paths['config']) as handle:
        assert handle.read() == 'bind 127.0.0.1\ntcp-backlog 4096\nmaxmemory 100mb\n'


def test_an_existing_sysctl_file_is_made_0644_when_written_and_a_config_keeps_its_mode(monkeypatch, paths, kernel):
    os.mkdir(os.path.dirname(paths['sysctl']))
    with open(paths['sysctl'], 'w') as handle:
        handle.write('vm.swappiness = 10\n')
    os.chmod(paths['sysctl'], 0o600)
    apply(monkeypatch, paths, sysctl_file=paths['sysctl'], sysctls=[SOMAXCONN], edits=[redis(paths)], release=True)
    assert oct(os.stat(paths['sysctl']).st_mode & 0o777) == oct(0o644)
    assert oct(os.stat(paths['config']).st_mode & 0o777) == oct(0o640)
    with open(paths['sysctl']) as handle:
        assert handle.read() == 'vm.swappiness = 10\nnet.core.somaxconn = 4096\n'


class Recorder(object):
    """Stands in for AnsibleModule where set_live runs a program (the BSDs and macOS: none of them runs here)."""

    def __init__(self, rc=0, err=''):
        self.ran, self.rc, self.err = [], rc, err

    def get_bin_path(self, name, opt_dirs=None):
        return '/sbin/' + name

    def run_command(self, argv, environ_update=None):
        self.ran.append(argv)
        return self.rc, '', self.err


@pytest.mark.parametrize('system, argv', [
    # As ansible.posix.sysctl runs sysctl(8) there: no -w on FreeBSD and OpenBSD.
    ('FreeBSD', ['/sbin/sysctl', 'kern.ipc.soacceptqueue=4096']),
    ('OpenBSD', ['/sbin/sysctl', 'kern.ipc.soacceptqueue=4096']),
    ('Darwin', ['/sbin/sysctl', '-w', 'kern.ipc.soacceptqueue=4096']),
])
def test_the_bsds_and_macos_set_the_value_with_their_sysctl(system, argv):
    module = Recorder()
    apply_module.set_live(module, system, 'kern.ipc.soacceptqueue', 4096)
    assert module.ran == [argv]
    refused = Recorder(rc=1, err='sysctl: kern.ipc.soacceptqueue=4096: Operation not permitted\n')
    with pytest.raises(apply_module.ApplyError) as error:
        apply_module.set_live(refused, system, 'kern.ipc.soacceptqueue', 4096)
    assert str(error.value) == ('kern.ipc.soacceptqueue: cannot set it to 4096 in the running kernel (%s): sysctl: '
                                'kern.ipc.soacceptqueue=4096: Operation not permitted' % ' '.join(['sysctl'] + argv[1:]))
