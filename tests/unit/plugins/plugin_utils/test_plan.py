# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's planner, fed with facts recorded from real hosts (fixtures/SOURCES.yml) and, for the
platforms that cannot run here, with facts the fact module's own code builds from recorded outputs."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.module_utils._backlog import limit_after
from ansible_collections.netstack.backlog.plugins.plugin_utils import _plan, _role
from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
RECORDED = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures')


def debian12():
    with open(os.path.join(HERE, 'fixtures', 'debian12-netns-128.json')) as handle:
        return json.load(handle)


def bsd_facts(system, key_fixture, release='14.1-RELEASE', files=None):
    """Facts as the module builds them on ``system``, the knob's value read from a recorded sysctl output."""
    raw = open(os.path.join(RECORDED, key_fixture)).read().strip()
    files = files or {}

    def read_file(path):
        if path not in files:
            raise IOError(2, 'No such file or directory')
        return files[path]

    state = _tuning.tuning_state(system, release, None, True, read_file, lambda key: raw)
    state['tunable'] = True
    state['distribution'] = _tuning.distribution(system, read_file)
    return {'listener_backlog': int(raw), 'listener_backlog_info': {'system': system, 'minimum': None},
            'listener_backlog_tuning': state}


# What Debian's php-fpm package installs: one pool per PHP release (8.2 in Debian 12, 8.4 in 13).
PHP_POOL = '/etc/php/{}/fpm/pool.d/www.conf'
# An app a user enabled for Debian's uwsgi init script (the package enables none).
UWSGI_APP = '/etc/uwsgi/apps-enabled/shop.ini'
# The file a catalogue wildcard matches on the Debian 12 host the facts stand for.
MATCHES = {CATALOGUE['php_fpm']['config']['Debian']: PHP_POOL.format('8.2'),
           CATALOGUE['php_fpm']['config']['Alpine']: '/etc/php84/php-fpm.d/www.conf',
           CATALOGUE['uwsgi']['config']['Debian']: UWSGI_APP}
# The PHP release each pool above names (Alpine's carries no dot).
PHP_RELEASES = {PHP_POOL.format('8.2'): '8.2', '/etc/php84/php-fpm.d/www.conf': '84'}


def with_files(facts, *entries):
    """``facts`` with the fact module's ``files`` answer: (path, lines or None[, lnk_source]) per file.

    A wildcard path is answered as the module does, with the file it matches on Debian 12
    (MATCHES: PHP 8.2's pool, a uWSGI app) naming it as its ``pattern``.
    """
    facts = copy.deepcopy(facts)
    answer = []
    for entry in entries:
        path, pattern = entry[0], None
        if _plan.WILDCARDS.search(path):
            path, pattern = MATCHES[path], path
        answer.append({'path': path, 'pattern': pattern, 'exists': True, 'lines': entry[1], 'islnk': len(entry) > 2,
                       'lnk_source': entry[2] if len(entry) > 2 else None})
    facts['listener_backlog_files'] = answer
    return facts


def test_a_converged_host_plans_no_change():
    facts = debian12()
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn = 128'}
    plan = _plan.plan_tuning({'somaxconn': 128}, facts)
    assert plan['tune'] is True
    assert [(entry['write_file'], entry['set_live']) for entry in plan['sysctls']] == [(False, False)]


def test_a_new_value_is_written_and_set_live_and_the_services_are_planned_with_it():
    facts = debian12()
    plan = _plan.plan_tuning({'somaxconn': '4096', 'syn_backlog': 1024}, facts)
    assert plan['file'] == facts['listener_backlog_tuning']['file']
    assert [(entry['line'], entry['write_file'], entry['set_live']) for entry in plan['sysctls']] == [
        ('net.core.somaxconn = 4096', True, True), ('net.ipv4.tcp_max_syn_backlog = 1024', True, True)]
    assert plan['limit'] == 4096
    # Left alone, the limit is the one read.
    assert _plan.plan_tuning({'somaxconn': None}, facts)['limit'] == facts['listener_backlog']


def test_a_file_already_right_with_a_live_value_off_only_sets_it_live():
    facts = debian12()
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn = 4096'}
    plan = _plan.plan_tuning({'somaxconn': 4096}, facts)
    assert [(entry['write_file'], entry['set_live']) for entry in plan['sysctls']] == [(False, True)]


def test_a_line_with_other_spacing_is_rewritten_as_lineinfile_would():
    facts = debian12()
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn=4096'}
    plan = _plan.plan_tuning({'somaxconn': 4096}, facts)
    assert plan['sysctls'][0]['write_file'] is True


@pytest.mark.parametrize('value, accepted', [
    (-1, 'from 0 to 2147483647'), (2147483648, 'from 0 to 2147483647'), (True, 'accepts an integer'),
    ('lots', 'accepts an integer'), (4.5, 'accepts an integer')])
def test_a_bad_somaxconn_names_variable_value_and_range(value, accepted):
    with pytest.raises(_plan.PlanError) as error:
        _plan.plan_tuning({'somaxconn': value}, debian12())
    message = str(error.value)
    assert message.startswith('listener_backlog_somaxconn is %s;' % json.dumps(value)), message
    assert accepted in message and 'net.core.somaxconn' in message, message


def test_a_kernel_before_4_1_takes_16_bits():
    facts = debian12()
    facts['listener_backlog_tuning']['somaxconn_range'] = [0, 65535]  # as the module reads it on 3.10 (16 bits)
    with pytest.raises(_plan.PlanError, match='from 0 to 65535'):
        _plan.plan_tuning({'somaxconn': 65536}, facts)


def test_a_read_only_proc_sys_fails_or_is_skipped_with_a_warning():
    facts = debian12()
    facts['listener_backlog_tuning']['writable'] = False
    with pytest.raises(_plan.PlanError, match='is read-only on this host.*listener_backlog_readonly_sysctl=skip'):
        _plan.plan_tuning({'somaxconn': 4096}, facts)
    plan = _plan.plan_tuning({'somaxconn': 4096, 'readonly_sysctl': 'skip'}, facts)
    assert plan['tune'] is False and plan['readonly'] is True and plan['sysctls'] == []
    assert 'read-only here' in plan['warnings'][0]


def test_syn_backlog_is_linux_only():
    facts = bsd_facts('FreeBSD', 'freebsd/sysctl-n-kern.ipc.soacceptqueue.txt')
    with pytest.raises(_plan.PlanError, match='listener_backlog_syn_backlog is 1024.*this host runs FreeBSD'):
        _plan.plan_tuning({'syn_backlog': 1024}, facts)


def test_a_system_that_cannot_be_tuned_is_named_with_those_that_can():
    facts = debian12()
    facts['listener_backlog_info']['system'] = 'SunOS'
    facts['listener_backlog_tuning'] = {'tunable': False}
    with pytest.raises(_plan.PlanError, match='not supported on SunOS; supported: Darwin, FreeBSD, Linux, OpenBSD'):
        _plan.plan_tuning({'somaxconn': 4096}, facts)
    assert _plan.plan_tuning({'somaxconn': None}, facts)['tune'] is False


# Each knob and its bounds as the kernels' sources give them (not from the table under test):
# FreeBSD's sysctl_somaxconn() refuses values outside 1 .. UINT_MAX / 3; macOS stores the queue
# limit in a short; OpenBSD's kern_vars[] bounds KERN_SOMAXCONN by 0 .. SHRT_MAX (docs/platforms.md).
@pytest.mark.parametrize('system, fixture, key, lowest, highest', [
    ('FreeBSD', 'freebsd/sysctl-n-kern.ipc.soacceptqueue.txt', 'kern.ipc.soacceptqueue', 1, 1431655765),
    ('Darwin', 'darwin/sysctl-n-kern.ipc.somaxconn.txt', 'kern.ipc.somaxconn', 0, 32767),
    ('OpenBSD', 'openbsd/sysctl-n-kern.somaxconn.txt', 'kern.somaxconn', 0, 32767)])
def test_the_bsds_and_macos_tune_their_own_knob_in_etc_sysctl_conf(system, fixture, key, lowest, highest):
    facts = bsd_facts(system, fixture, files={'/etc/sysctl.conf': '# local\n%s=128\n' % key})
    plan = _plan.plan_tuning({'somaxconn': highest}, facts)
    assert plan['file'] == '/etc/sysctl.conf'
    assert plan['sysctls'] == [{'key': key, 'value': highest, 'line': '%s = %d' % (key, highest),
                                'write_file': True, 'set_live': True}]
    with pytest.raises(_plan.PlanError, match='from %d to %d' % (lowest, highest)):
        _plan.plan_tuning({'somaxconn': highest + 1}, facts)


def test_files_read_later_at_boot_are_named_earlier_ones_are_not():
    facts = debian12()
    facts['listener_backlog_tuning']['boot_files'] = [
        {'path': '/etc/sysctl.conf', 'keys': ['net.ipv4.tcp_max_syn_backlog']},
        {'path': '/etc/sysctl.d/10-early.conf', 'keys': ['net.core.somaxconn']},
        {'path': '/etc/sysctl.d/99-local.conf', 'keys': ['net.core.somaxconn']},
        {'path': '/usr/lib/sysctl.d/99-other.conf', 'keys': ['kernel.pid_max']}]
    warnings = _plan.plan_tuning({'somaxconn': 2048, 'syn_backlog': 1024}, facts)['warnings']
    assert [warning.split()[0] for warning in warnings] == ['/etc/sysctl.conf', '/etc/sysctl.d/99-local.conf']
    assert 'set listener_backlog_sysctl_file to a name that sorts after 99-local.conf' in warnings[1]


SERVICE_FAMILIES = sorted((name, family) for name, entry in CATALOGUE.items() for family in entry['config'])


@pytest.mark.parametrize('name, family', SERVICE_FAMILIES)
def test_every_catalogue_service_resolves_on_every_family_it_knows(name, family):
    facts = debian12()
    facts['os_family'] = family
    variables = {'somaxconn': 4096, 'services': [{'name': name}]}
    _plan.check_services(variables, facts, CATALOGUE)
    config = _plan.config_paths(variables, facts, CATALOGUE)[0]
    assert config == CATALOGUE[name]['config'][family]
    # The planner asked the fact module for it, whichever family the host turns out to be.
    assert config in [entry['path'] for entry in _plan.wanted_files(variables, CATALOGUE)]
    # The lines of the stock file the edit needs, where it needs one (memcached's options variable).
    stock = [line for line in SYSCONFIG_STOCK if _plan.edits_of(CATALOGUE[name]).get(family, {}).get('needs')]
    planned = _plan.plan_services(variables, with_files(facts, (config, stock)), CATALOGUE, 4096)['services'][0]
    entry = CATALOGUE[name]
    release = PHP_RELEASES.get(planned['config'], '8.2') if 'version' in entry else None
    assert planned['config'] == MATCHES.get(config, config)
    for key in ('service', 'validate', 'log'):
        named = entry[key].get(family, entry[key]['default'])
        named = named.replace('{stem}', os.path.splitext(os.path.basename(planned['config']))[0])
        assert planned[key] == (named.replace('{version}', release) if release else named), key
        assert '{version}' not in planned[key] and '{stem}' not in planned[key]
    assert planned['edit'] == _plan.edits_of(entry).get(family, _plan.edits_of(entry)['default'])
    assert planned['backlog'] == min(4096, entry.get('max_backlog', 4096))


def test_a_service_follows_the_kernel_and_its_own_cap_and_warns_when_clamped():
    facts = debian12()
    variables = {'services': [{'name': 'mariadb', 'backlog': 100000}, {'name': 'redis', 'backlog': 100},
                              {'name': 'nginx'}]}
    facts = with_files(facts, ('/etc/mysql/mariadb.conf.d/50-server.cnf', []), ('/etc/redis/redis.conf', []),
                       ('/etc/nginx/sites-enabled/default', [], '/etc/nginx/sites-available/default'))
    planned = _plan.plan_services(variables, facts, CATALOGUE, 70000)
    assert [entry['backlog'] for entry in planned['services']] == [65535, 100, 70000]
    assert planned['services'][2]['config'] == '/etc/nginx/sites-available/default'
    assert planned['warnings'] == [
        'listener_backlog_services[0].backlog (mariadb) is 100000, above what mariadb can get: the kernel limit is '
        '70000 and mariadb takes at most 65535, so it is configured with 65535. Raise listener_backlog_somaxconn to '
        'give it more.']


def test_a_backlog_of_zero_is_planned_as_the_platform_grants_it():
    # Linux keeps listen(0) at 0; macOS gives it the limit (XNU solisten(): backlog <= 0).
    linux = debian12()
    darwin = bsd_facts('Darwin', 'darwin/sysctl-n-kern.ipc.somaxconn.txt')
    variables = {'services': [{'name': 'nginx', 'backlog': 0, 'config': '/etc/nginx/nginx.conf'}]}
    linux, darwin = with_files(linux, ('/etc/nginx/nginx.conf', [])), with_files(darwin, ('/etc/nginx/nginx.conf', []))
    assert _plan.plan_services(variables, linux, CATALOGUE, 128)['services'][0]['backlog'] == 0
    assert _plan.plan_services(variables, darwin, CATALOGUE, 128)['services'][0]['backlog'] == 128


def test_bad_service_inputs_name_the_entry_and_the_value():
    facts = debian12()
    with pytest.raises(_plan.PlanError, match=r'listener_backlog_services\[1\]\.backlog \(redis\) is -5'):
        _plan.check_services({'services': [{'name': 'nginx'}, {'name': 'redis', 'backlog': -5}]}, facts, CATALOGUE)
    with pytest.raises(_plan.PlanError, match=r'listener_backlog_services\[0\]\.backlog \(redis\) is true'):
        _plan.check_services({'services': [{'name': 'redis', 'backlog': True}]}, facts, CATALOGUE)
    gentoo = copy.deepcopy(facts)
    gentoo['listener_backlog_tuning']['distribution'] = {'os_family': 'Gentoo', 'id': 'gentoo', 'id_like': [],
                                                         'version_id': '2.17'}
    with pytest.raises(_plan.PlanError, match=r'no config file for OS family Gentoo '
                                              r'\(it knows Alpine, Archlinux, Debian, FreeBSD, RedHat, Suse\)'):
        _plan.check_services({'services': [{'name': 'nginx'}]}, gentoo, CATALOGUE)
    missing = copy.deepcopy(facts)
    missing['listener_backlog_files'] = [{'path': '/etc/nginx/missing.conf', 'exists': False, 'islnk': False,
                                          'lnk_source': None, 'lines': None}]
    with pytest.raises(_plan.PlanError, match=r'\[0\]\.config \(nginx\): /etc/nginx/missing.conf does not exist'):
        _plan.config_files({'services': [{'name': 'nginx', 'config': '/etc/nginx/missing.conf'}]}, missing, CATALOGUE)


def test_setups_os_family_wins_over_the_modules_own_reading():
    facts = debian12()
    assert _plan.os_family(facts) == 'Debian'
    facts['os_family'] = 'RedHat'
    assert _plan.os_family(facts) == 'RedHat'


def planned(names, limit=4096):
    facts = debian12()
    variables = {'services': [{'name': name} for name in names]}
    facts = with_files(facts, *[(path, []) for path in _plan.config_paths(variables, facts, CATALOGUE)])
    return _plan.plan_services(variables, facts, CATALOGUE, limit)['services']


def listener(process, backlog, port=6379, path=None):
    found = {'process': process, 'backlog': backlog, 'pid': 1, 'queued': 0}
    if path:
        found['path'] = path
    else:
        found.update(address='127.0.0.1', port=port, family='ipv4')
    return found


def test_a_changed_config_is_applied_the_way_its_service_needs():
    services = planned(['nginx', 'redis'])
    actions = _plan.plan_actions(services, [entry['config'] for entry in services], [],
                                 [listener('nginx', 511, 80), listener('redis-server', 511)], CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state']) for entry in actions['apply']] == [
        ('nginx', 'reloaded'), ('redis-server', 'restarted')]
    assert actions['pending'] == []
    assert actions['apply'][1]['reason'] == 'redis: /etc/redis/redis.conf changed'


def test_an_unchanged_config_with_the_old_backlog_is_restarted_a_right_one_left_alone():
    services = planned(['nginx', 'redis'])
    actions = _plan.plan_actions(services, [], [], [listener('nginx', 511, 80), listener('redis-server', 4096)],
                                 CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state']) for entry in actions['apply']] == [('nginx', 'restarted')]
    assert 'expected backlog 4096, the kernel granted 511' in actions['apply'][0]['reason']


def test_a_service_with_no_listener_is_started_and_unix_listeners_count_only_where_they_take_the_backlog():
    services = planned(['php_fpm', 'haproxy'])
    listeners = [listener('php-fpm8.2', 4096, path='/run/php/php8.2-fpm.sock'),
                 listener('haproxy', 4096, path='/run/haproxy/admin.sock')]
    actions = _plan.plan_actions(services, [], [], listeners, CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state']) for entry in actions['apply']] == [('haproxy', 'started')]


def test_a_changed_template_applies_its_catalogue_service_or_restarts_any_other():
    templates = [{'src': 'a.j2', 'dest': '/etc/nginx/conf.d/a.conf', 'service': 'nginx'},
                 {'src': 'b.j2', 'dest': '/etc/myapp.conf', 'service': 'myapp'},
                 {'src': 'c.j2', 'dest': '/etc/redis/extra.conf', 'service': 'redis', 'restart': 'reload'}]
    actions = _plan.plan_actions([], [], templates, [], CATALOGUE, 'RedHat')
    assert [(entry['service'], entry['state']) for entry in actions['apply']] == [
        ('myapp', 'restarted'), ('nginx', 'reloaded'), ('redis', 'reloaded')]


def test_the_strongest_need_of_a_service_wins():
    services = planned(['nginx'])
    templates = [{'src': 'a.j2', 'dest': '/etc/nginx/conf.d/a.conf', 'service': 'nginx', 'restart': 'restart'}]
    actions = _plan.plan_actions(services, [services[0]['config']], templates, [listener('nginx', 4096, 80)],
                                 CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state'], entry['names']) for entry in actions['apply']] == [
        ('nginx', 'restarted', ['nginx', 'nginx'])]


def test_without_restarts_reloads_happen_and_restarts_and_starts_wait():
    services = planned(['nginx', 'redis', 'memcached'])
    changed = [services[0]['config'], services[1]['config']]
    actions = _plan.plan_actions(services, changed, [], [listener('nginx', 511, 80), listener('redis-server', 511)],
                                 CATALOGUE, 'Debian', restart=False)
    assert [(entry['service'], entry['state']) for entry in actions['apply']] == [('nginx', 'reloaded')]
    assert [(entry['service'], entry['state'], entry['names']) for entry in actions['pending']] == [
        ('memcached', 'started', ['memcached']), ('redis-server', 'restarted', ['redis'])]


def test_the_audit_expects_what_the_role_would_set_under_the_current_limit():
    facts = debian12()
    expected = _plan.expected_backlogs({'services': [{'name': 'redis', 'backlog': 511}, {'name': 'php_fpm'}]},
                                       facts, CATALOGUE)
    assert expected == [{'name': 'redis', 'process': '^redis-server', 'unix': False, 'backlog': 128},
                        {'name': 'php_fpm', 'process': '^php-fpm', 'unix': True, 'backlog': 128}]


# Lines as Debian 12's packages ship them (redis.conf, sites-available/default, 50-server.cnf).
REDIS_STOCK = ['tcp-backlog 511\n']
NGINX_STOCK = ['\tlisten 80 default_server;\n', '\tlisten [::]:80 default_server;\n']
MARIADB_STOCK = []


@pytest.mark.parametrize('name, lines, backlog, needed', [
    ('redis', REDIS_STOCK, 511, False),
    ('redis', REDIS_STOCK, 4096, True),
    ('redis', ['tcp-backlog 4096'], 4096, True),              # the last line, without its newline
    ('redis', ['tcp-backlog 4096\n', '# tcp-backlog 1\n'], 4096, True),  # a later commented line is the one replaced
    ('redis', ['#tcp-backlog 4096\n', 'tcp-backlog 4096\n'], 4096, False),
    ('mariadb', MARIADB_STOCK, 4096, True),                   # no line yet: one is inserted
    ('nginx', NGINX_STOCK, 4096, True),
    ('nginx', ['\tlisten 80 default_server backlog=4096;\n', '\tlisten [::]:80 default_server backlog=4096;\n'],
     4096, False),
    ('nginx', ['\tlisten 80 default_server backlog=4096;\n', '\tlisten [::]:80 default_server;\n'], 4096, True),
    ('nginx', ['\tlisten 80 backlog=511;\n'], 4096, True),
    ('nginx', None, 4096, True),                               # unreadable: the edit decides
])
def test_an_edit_runs_only_where_it_would_change_the_file(name, lines, backlog, needed):
    assert _plan.edit_changes(_plan.edits_of(CATALOGUE[name])['default'], lines, backlog) is needed


# /etc/sysconfig/memcached as RHEL's and SUSE's packages install it (memcached.yml records both, with sources).
SYSCONFIG_STOCK = ['PORT="11211"\n', 'USER="memcached"\n', 'MAXCONN="1024"\n', 'CACHESIZE="64"\n',
                   'OPTIONS="-l 127.0.0.1,::1"\n', 'MEMCACHED_PARAMS="-l 127.0.0.1"\n']
EDITS = [(name, key) for name in sorted(CATALOGUE) for key in sorted(_plan.edits_of(CATALOGUE[name]))]


@pytest.mark.parametrize('name, key', EDITS)
def test_the_prediction_agrees_with_the_edit_itself(name, key, tmp_path):
    """Apply each edit the way lineinfile and replace do, to files of only the lines the module returns."""
    edit = _plan.edits_of(CATALOGUE[name])[key]
    for lines in ([], ['x 1\n'] + REDIS_STOCK + NGINX_STOCK + ['back_log = 80\n', '-b 1024\n', 'ListenBacklog 511\n',
                                                               'listen.backlog = 511\n', '\tbacklog 100\n'],
                  SYSCONFIG_STOCK, ['OPTIONS="-b 1024 -l x"\n', 'MEMCACHED_PARAMS=""\n']):
        matching = [line for line in lines if any(re.search(pattern, line) for pattern in _plan.edit_patterns(edit))]
        text = ''.join(matching)
        if edit['kind'] == 'replace':
            edited = text
            for each in edit['edits']:
                edited = re.compile(each['regexp'], re.MULTILINE).sub(each['replace'].replace('{backlog}', '4096'),
                                                                      edited)
        else:
            found = [index for index, line in enumerate(matching) if re.search(edit['regexp'], line)]
            new = edit['line'].replace('{backlog}', '4096') + '\n'
            edited = matching[:]
            if found:
                edited[found[-1]] = new
            else:
                edited.append(new)
            edited = ''.join(edited)
        assert _plan.edit_changes(edit, matching, 4096) is (edited != text), (name, matching)
        assert _plan.edit_changes(edit, edited.splitlines(True), 4096) is False, (name, edited)


@pytest.mark.parametrize('key, variable', [('RedHat', 'OPTIONS'), ('Suse', 'MEMCACHED_PARAMS')])
def test_memcached_in_a_shell_variable_gets_b_added_or_its_number_changed(key, variable):
    edit = _plan.edits_of(CATALOGUE['memcached'])[key]

    def apply(text):
        for each in edit['edits']:
            text = re.sub(each['regexp'], each['replace'].replace('{backlog}', '4096'), text, flags=re.MULTILINE)
        return text

    stock = ''.join(SYSCONFIG_STOCK)
    edited = apply(stock)
    assert '%s="-l 127.0.0.1%s -b 4096"\n' % (variable, ',::1' if variable == 'OPTIONS' else '') in edited
    assert edited.count('-b ') == 1 and apply(edited) == edited
    assert apply('%s="-U 0 -b 1024 -l ::1"\n' % variable) == '%s="-U 0 -b 4096 -l ::1"\n' % variable
    assert apply('#%s="-l x"\n' % variable) == '#%s="-l x"\n' % variable  # a comment stays as it is


@pytest.mark.parametrize('line, applied', [
    ("OPTIONS='-l 127.0.0.1'\n", "OPTIONS='-l 127.0.0.1 -b 4096'\n"),      # single quotes
    ('export OPTIONS="-l ::1"\n', 'export OPTIONS="-l ::1 -b 4096"\n'),
    ('OPTIONS = "-l ::1"\n', 'OPTIONS = "-l ::1 -b 4096"\n'),
    ('OPTIONS="-l x -b1024"\n', 'OPTIONS="-l x -b4096"\n'),
])
def test_memcached_options_variable_in_the_shapes_a_shell_file_may_have(line, applied):
    edit = _plan.edits_of(CATALOGUE['memcached'])['RedHat']
    text = line
    for each in edit['edits']:
        text = re.sub(each['regexp'], each['replace'].replace('{backlog}', '4096'), text, flags=re.MULTILINE)
    assert text == applied
    assert _plan.edit_changes(edit, [line], 4096) is True and _plan.edit_changes(edit, [text], 4096) is False


def test_memcached_without_an_options_line_stops_before_any_change_instead_of_writing_nothing():
    facts = debian12()
    facts['os_family'], facts['distribution'], facts['distribution_version'] = 'RedHat', 'Rocky', '9.4'
    variables = {'services': [{'name': 'memcached'}]}
    path = _plan.config_paths(variables, facts, CATALOGUE)[0]
    assert path == '/etc/sysconfig/memcached'
    with pytest.raises(_plan.PlanError) as error:
        _plan.plan_services(variables, with_files(facts, (path, ['#OPTIONS="-l ::1"\n'])), CATALOGUE, 4096)
    assert str(error.value) == (
        'listener_backlog_services[0].config (memcached): /etc/sysconfig/memcached has no OPTIONS="..." (its value '
        'quoted) line to write the backlog into; add one, or set config to the file memcached reads its options from.')
    planned = _plan.plan_services(variables, with_files(facts, (path, ['OPTIONS=""\n'])), CATALOGUE, 4096)
    assert planned['services'][0]['edit_needed'] is True


def test_a_converged_host_has_no_work_and_each_part_says_when_it_has():
    facts = debian12()
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn = 128'}
    variables = {'somaxconn': 128, 'namespaces': 'warn'}

    def work(variables):
        tuning = _plan.plan_tuning(variables, facts)
        return _plan.work(variables, tuning, _plan.low_namespaces(variables, facts, tuning),
                          _plan.services_work(variables, facts, CATALOGUE, []))

    assert work(variables) == {'local_fact': False, 'tune': False, 'namespaces': False, 'services': False,
                               'any': False}
    assert work(dict(variables, somaxconn=4096))['tune'] is True
    assert work(dict(variables, local_fact='absent'))['any'] is True
    assert work(dict(variables, templates=[{'src': 'a.j2', 'dest': '/a'}]))['services'] is True


def test_a_namespace_below_the_limit_set_is_work_unless_ignored():
    facts = debian12()
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn = 128'}
    facts['listener_backlog_namespaces'] = [
        {'id': 4026532281, 'current': False, 'name': None, 'pids': [4121], 'container': None,
         'listener_backlog': 64, 'listener_backlog_info': {}, 'error': None}]
    variables = {'somaxconn': 128, 'namespaces': 'warn'}
    low = _plan.low_namespaces(variables, facts, _plan.plan_tuning(variables, facts))
    assert [entry['id'] for entry in low] == [4026532281]
    assert _plan.work(variables, _plan.plan_tuning(variables, facts), low, False)['namespaces'] is True
    ignored = dict(variables, namespaces='ignore')
    assert _plan.low_namespaces(ignored, facts, _plan.plan_tuning(ignored, facts)) == []
    untuned = dict(variables, somaxconn=None)
    assert _plan.low_namespaces(untuned, facts, _plan.plan_tuning(untuned, facts)) == []


def test_a_template_source_must_be_found_where_the_template_task_looks(tmp_path):
    (tmp_path / 'templates').mkdir()
    (tmp_path / 'templates' / 'listen.conf.j2').write_text('listen 80;\n')
    paths = [str(tmp_path / 'templates'), str(tmp_path)]
    _plan.check_templates({'templates': [{'src': 'listen.conf.j2', 'dest': '/etc/x'}]}, paths)
    with pytest.raises(_plan.PlanError, match=r'listener_backlog_templates\[1\]\.src: missing.j2 was not found'):
        _plan.check_templates({'templates': [{'src': 'listen.conf.j2', 'dest': '/a'}, {'src': 'missing.j2', 'dest': '/b'}]},
                              paths)


def php(facts, *releases, **service):
    """Debian facts where the php-fpm pools of ``releases`` are installed."""
    facts = copy.deepcopy(facts)
    pattern = CATALOGUE['php_fpm']['config']['Debian']
    facts['listener_backlog_files'] = [
        {'path': PHP_POOL.format(release), 'pattern': pattern, 'exists': True, 'islnk': False, 'lnk_source': None,
         'lines': []} for release in releases] or [
        {'path': pattern, 'pattern': pattern, 'exists': False, 'islnk': False, 'lnk_source': None, 'lines': None}]
    variables = {'services': [dict({'name': 'php_fpm'}, **service)]}
    return variables, facts


def test_the_installed_php_release_names_the_service_its_check_and_its_log():
    variables, facts = php(debian12(), '8.4')
    planned = _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]
    assert (planned['config'], planned['service'], planned['validate'], planned['log']) == (
        '/etc/php/8.4/fpm/pool.d/www.conf', 'php8.4-fpm', 'php-fpm8.4 -t -y %s', '/var/log/php8.4-fpm.log')


def test_no_php_release_or_several_are_said_clearly():
    variables, facts = php(debian12())
    with pytest.raises(_plan.PlanError, match=r'\[0\]\.config \(php_fpm\): /etc/php/\*/fpm/pool.d/www.conf does not '
                                              r'exist; install the service first'):
        _plan.config_files(variables, facts, CATALOGUE)
    variables, facts = php(debian12(), '8.2', '8.4')
    with pytest.raises(_plan.PlanError, match=r'2 files match /etc/php/\*/fpm/pool.d/www.conf '
                                              r'\(/etc/php/8.2/fpm/pool.d/www.conf, /etc/php/8.4/fpm/pool.d/www.conf\); '
                                              r'set config to the one to manage'):
        _plan.config_files(variables, facts, CATALOGUE)


def test_a_pool_given_by_the_user_names_its_release_or_says_why_it_cannot():
    facts = with_files(debian12(), (PHP_POOL.format('8.3'), []), ('/srv/php/www.conf', []))
    variables = {'services': [{'name': 'php_fpm', 'config': PHP_POOL.format('8.3')}]}
    assert _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]['service'] == 'php8.3-fpm'
    elsewhere = {'services': [{'name': 'php_fpm', 'config': '/srv/php/www.conf'}]}
    with pytest.raises(_plan.PlanError, match=r'which release /srv/php/www.conf belongs to cannot be read'):
        _plan.plan_services(elsewhere, facts, CATALOGUE, 4096)


def test_a_service_without_a_packaged_config_asks_for_the_users_before_any_change():
    """gunicorn: Debian's package installs no config (nor service); every deployment has its own."""
    with pytest.raises(_plan.PlanError) as error:
        _plan.check_services({'services': [{'name': 'gunicorn'}]}, debian12(), CATALOGUE)
    assert str(error.value) == (
        'listener_backlog_services[0].config (gunicorn): gunicorn comes with no config file of its own on any OS '
        'family (each deployment runs it with its own); set config to the file your service runs it with, and '
        'service to that service\'s name if it is not gunicorn.')
    variables = {'services': [{'name': 'gunicorn', 'config': '/srv/shop/gunicorn.conf.py', 'service': 'shop'}]}
    _plan.check_services(variables, debian12(), CATALOGUE)
    assert _plan.wanted_files(variables, CATALOGUE) == [
        {'path': '/srv/shop/gunicorn.conf.py', 'patterns': [CATALOGUE['gunicorn']['edit']['regexp']]}]
    planned = _plan.plan_services(variables, with_files(debian12(), ('/srv/shop/gunicorn.conf.py', [])), CATALOGUE,
                                  4096)['services'][0]
    assert (planned['service'], planned['process'], planned['apply'], planned['log']) == (
        'shop', '^gunicorn', 'restart', '')


@pytest.mark.parametrize('lines, needed', [
    (['backlog = 2048\n'], True),
    (['backlog = 4096\n'], False),
    (['#backlog = 4096\n'], True),           # a comment is made the setting
    (['# backlog = 64\n', 'backlog = 4096\n'], False),
])
def test_gunicorns_backlog_is_a_top_level_line_of_its_python_file(lines, needed):
    edit = CATALOGUE['gunicorn']['edit']
    assert _plan.edit_changes(edit, lines, 4096) is needed
    # A setting inside a block is not the edit's: rewritten at the left margin it would end the block.
    assert not re.search(edit['regexp'], '    backlog = 64\n')


def test_uwsgis_enabled_app_names_its_log_and_several_apps_are_named():
    variables = {'services': [{'name': 'uwsgi'}]}
    planned = _plan.plan_services(variables, with_files(debian12(), (CATALOGUE['uwsgi']['config']['Debian'], [])),
                                  CATALOGUE, 4096)['services'][0]
    assert (planned['config'], planned['service'], planned['log'], planned['unix']) == (
        UWSGI_APP, 'uwsgi', '/var/log/uwsgi/app/shop.log', True)
    # The app enabled as a link into apps-available is edited there, its log keeps the enabled name.
    facts = with_files(debian12(), (CATALOGUE['uwsgi']['config']['Debian'], [], '/etc/uwsgi/apps-available/shop.ini'))
    assert _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]['config'] == (
        '/etc/uwsgi/apps-available/shop.ini')
    facts = copy.deepcopy(debian12())
    pattern = CATALOGUE['uwsgi']['config']['Debian']
    facts['listener_backlog_files'] = [
        {'path': '/etc/uwsgi/apps-enabled/%s.ini' % app, 'pattern': pattern, 'exists': True, 'islnk': False,
         'lnk_source': None, 'lines': []} for app in ('blog', 'shop')]
    with pytest.raises(_plan.PlanError, match=r'\[0\]\.config \(uwsgi\): 2 files match /etc/uwsgi/apps-enabled/\*\.ini '
                                              r'\(/etc/uwsgi/apps-enabled/blog.ini, /etc/uwsgi/apps-enabled/shop.ini\); '
                                              r'set config to the one to manage'):
        _plan.config_files(variables, facts, CATALOGUE)


def test_uwsgi_with_no_listener_is_restarted_since_its_init_scripts_status_cannot_tell():
    """Debian's /etc/init.d/uwsgi answers `status` with no app name with "which one?" and 0: a start
    through ansible's service module would take it for running and do nothing."""
    services = planned(['uwsgi', 'redis'])
    actions = _plan.plan_actions(services, [], [], [], CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state'], entry['reason']) for entry in actions['apply']] == [
        ('redis-server', 'started', 'redis: it has no listener'), ('uwsgi', 'restarted', 'uwsgi: it has no listener')]
    actions = _plan.plan_actions(services, [], [], [], CATALOGUE, 'Debian', restart=False)
    assert [(entry['service'], entry['state']) for entry in actions['pending']] == [
        ('redis-server', 'started'), ('uwsgi', 'restarted')]


def test_a_template_for_uwsgi_names_the_log_of_the_app_it_writes():
    templates = [{'src': 'shop.ini.j2', 'dest': '/etc/uwsgi/apps-available/shop.ini', 'service': 'uwsgi'}]
    actions = _plan.plan_actions([], [], templates, [], CATALOGUE, 'Debian')
    assert [(entry['service'], entry['state'], entry['log']) for entry in actions['apply']] == [
        ('uwsgi', 'restarted', '/var/log/uwsgi/app/shop.log')]


def converged_redis(backlog=128, lines=('tcp-backlog 128\n',)):
    """Debian 12 at 128 with Redis's config read, and Redis's listener granted ``backlog``."""
    facts = with_files(debian12(), ('/etc/redis/redis.conf', list(lines)))
    facts['listener_backlog_tuning']['file_lines'] = {'net.core.somaxconn': 'net.core.somaxconn = 128'}
    facts['listener_backlog_listeners'] = [listener('redis-server', backlog)]
    return facts


def test_a_converged_service_is_no_work_so_the_run_takes_no_lock_and_runs_nothing_more():
    variables = {'somaxconn': 128, 'services': [{'name': 'redis'}]}

    def busy(variables, facts):
        tuning = _plan.plan_tuning(variables, facts)
        planned = _plan.plan_services(variables, facts, CATALOGUE, tuning['limit'])['services']
        return _plan.services_work(variables, facts, CATALOGUE, planned)

    assert busy(variables, converged_redis()) is False
    # Each thing that makes it work: a line to edit, a listener with another backlog, none at all,
    # a limit that changes live (the listener has the old one), a template.
    assert busy(variables, converged_redis(lines=['tcp-backlog 511\n'])) is True
    assert busy(variables, converged_redis(backlog=100)) is True
    silent = converged_redis()
    silent['listener_backlog_listeners'] = []
    assert busy(variables, silent) is True
    assert busy(dict(variables, somaxconn=4096), converged_redis()) is True
    assert busy(dict(variables, templates=[{'src': 'a.j2', 'dest': '/a'}]), converged_redis()) is True
    # One waiting for a restart is work too: it is named on every run until it is restarted.
    assert busy(dict(variables, restart=False), converged_redis(backlog=100)) is True
    # A raised limit is no work for a service that asks for less than either limit.
    assert busy({'somaxconn': 4096, 'services': [{'name': 'redis', 'backlog': 100}]},
                converged_redis(lines=['tcp-backlog 100\n'], backlog=100)) is False


def test_the_guard_holds_what_the_plan_was_made_on():
    variables = {'somaxconn': 4096, 'services': [{'name': 'redis'}]}
    facts = converged_redis()
    guard = _plan.read_guard(variables, facts, CATALOGUE, _plan.plan_tuning(variables, facts))
    [patterns] = [entry['patterns'] for entry in _plan.wanted_files(variables, CATALOGUE)
                  if entry['path'] == '/etc/redis/redis.conf']
    assert guard == {
        'files': [{'path': '/etc/redis/redis.conf', 'patterns': patterns, 'exists': True, 'lines': ['tcp-backlog 128\n']}],
        'sysctls': {'net.core.somaxconn': '128', 'net.ipv4.tcp_max_syn_backlog': '2048'},
        'sysctl_file': {'path': '/etc/sysctl.d/90-listener-backlog.conf',
                        'keys': ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog'],
                        'lines': {'net.core.somaxconn': 'net.core.somaxconn = 128'}}}
    # Without tuning the sysctl file is not planned on; the live limit still is (the services' backlogs follow it).
    untuned = dict(variables, somaxconn=None)
    guard = _plan.read_guard(untuned, facts, CATALOGUE, _plan.plan_tuning(untuned, facts))
    assert sorted(guard) == ['files', 'sysctls']


@pytest.mark.parametrize('name', ['redis-server; touch /tmp/probe', '$(touch /tmp/probe)', "x' -H evil '",
                                  '-Hevil', 'redis server', 'redis\n', '', '../redis', 'a/b', 5])
def test_a_service_name_the_service_manager_would_read_as_something_else_is_refused(name):
    for key, entry in (('services', {'name': 'redis', 'service': name}),
                       ('templates', {'src': 'a.j2', 'dest': '/a', 'service': name})):
        with pytest.raises(_plan.PlanError) as error:
            _plan.check_service_names({key: [entry]})
        assert str(error.value) == (
            'listener_backlog_%s[0].service is %s; accepted: a service name of letters, digits and : _ . @ -, not '
            'starting with -; it is passed to the service manager as one argument.' % (key, json.dumps(name)))


@pytest.mark.parametrize('name', ['redis-server', 'php8.2-fpm', 'gunicorn@shop', 'user@1000.service', 'a:b_c'])
def test_service_names_as_init_systems_spell_them_are_accepted(name):
    _plan.check_service_names({'services': [{'name': 'redis', 'service': name}],
                               'templates': [{'src': 'a.j2', 'dest': '/a', 'service': name}]})


def test_the_one_read_asks_for_what_the_plan_needs_and_no_more():
    services = {'somaxconn': 4096, 'services': [{'name': 'redis'}], 'namespaces': 'warn', 'persist': True,
                'sysctl_file': None}
    arguments = _role.read_arguments(services, CATALOGUE)
    assert arguments['listeners'] is arguments['unix_listeners'] is True
    assert arguments['namespaces'] is True and arguments['namespaces_below'] == 4096
    assert arguments['namespace_listeners'] is False and arguments['skip_unsupported'] is True
    assert arguments['files'] == _plan.wanted_files(services, CATALOGUE)
    assert arguments['tuning'] == {'sysctl_file': None, 'persist': True}
    # Tuning only: no listeners; namespaces ignored or no limit set: none; a runtime file: the platform's.
    tuning_only = _role.read_arguments({'somaxconn': '4096', 'namespaces': 'ignore', 'persist': False,
                                        'sysctl_file': '/etc/sysctl.d/x.conf'}, CATALOGUE)
    assert (tuning_only['listeners'], tuning_only['namespaces'], tuning_only['files']) == (False, False, [])
    assert 'namespaces_below' not in tuning_only
    assert tuning_only['tuning'] == {'sysctl_file': None, 'persist': False}
    # Not a number: no bound is asked for; the plan refuses the value, naming it.
    assert 'namespaces_below' not in _role.read_arguments({'somaxconn': True}, CATALOGUE)
    # A bad choice is refused before the host is read.
    with pytest.raises(_plan.PlanError, match='listener_backlog_namespaces'):
        _role.read_arguments({'namespaces': 'sometimes'}, CATALOGUE)


def test_one_plan_gives_the_tuning_the_services_with_the_tuned_limit_and_the_work():
    variables = {'somaxconn': 4096, 'services': [{'name': 'redis'}], 'namespaces': 'warn'}
    planned = _role.plan(variables, converged_redis(), CATALOGUE, [])
    assert planned['tuning']['limit'] == 4096
    [redis] = planned['services']
    assert (redis['backlog'], redis['edit_needed']) == (4096, True)
    assert planned['work'] == {'local_fact': False, 'tune': True, 'namespaces': False, 'services': True,
                               'exporter': False, 'any': True}
    assert planned['namespaces'] == [] and planned['exporter'] is None
    assert [entry['path'] for entry in planned['unchanged']['files']] == ['/etc/redis/redis.conf']
    assert 'restart_required' not in planned
    # Converged: nothing to do, nobody waits, and a clamped request is still said.
    clamped = {'somaxconn': 128, 'services': [{'name': 'redis', 'backlog': 1000}]}
    planned = _role.plan(clamped, converged_redis(), CATALOGUE, [])
    assert planned['work']['any'] is False and planned['restart_required'] == []
    assert [warning.split(',')[0] for warning in planned['warnings']] == [
        'listener_backlog_services[0].backlog (redis) is 1000']


def test_the_tuned_limit_is_what_the_kernel_grants_once_set():
    # Linux before 4.1 stored the queue limit in 16 bits; the planner accepts no more there.
    assert limit_after('Linux', '6.1.0-28-amd64', 70000) == 70000
    assert limit_after('Linux', '3.10.0-1160.el7.x86_64', 70000) == 65535
    # OpenBSD's kern.sominconn wins over the maximum; illumos' minimum never raises the largest grant.
    assert limit_after('OpenBSD', '7.5', 64, minimum=80) == 80
    assert limit_after('SunOS', '5.11', 64, minimum=128) == 64
    assert limit_after('Darwin', '23.5.0', 40000) == 32767


def test_the_decision_after_the_edits_reads_what_they_changed():
    # listener_backlog_apply's edits: one entry per service edit, memcached's file edited by two.
    edits = [{'name': 'redis', 'config': '/etc/redis/redis.conf', 'changed': True},
             {'name': 'nginx', 'config': '/etc/nginx/sites-enabled/default', 'changed': False},
             {'name': 'memcached', 'config': '/etc/memcached.conf', 'changed': True},
             {'name': 'memcached', 'config': '/etc/memcached.conf', 'changed': True}]
    templates = {'results': [{'changed': True, 'item': {'dest': '/etc/haproxy/haproxy.cfg', 'service': 'haproxy'}},
                             {'changed': True, 'item': {'dest': '/etc/motd'}},
                             {'changed': False, 'item': {'dest': '/etc/x', 'service': 'nginx'}}]}
    assert _plan.changed_by(edits, templates) == (
        ['/etc/redis/redis.conf', '/etc/memcached.conf'],
        [{'dest': '/etc/haproxy/haproxy.cfg', 'service': 'haproxy'}])
    assert _plan.changed_by([], None) == ([], [])


def test_tuning_the_syn_backlog_alone_reads_and_plans_no_namespace():
    variables = {'somaxconn': None, 'syn_backlog': 2048, 'namespaces': 'warn', 'services': []}
    assert 'namespaces_below' not in _role.read_arguments(variables, CATALOGUE)
    assert _role.read_arguments(variables, CATALOGUE)['namespaces'] is False
    planned = _role.plan(variables, debian12(), CATALOGUE, [])
    assert planned['tuning']['tune'] is True and planned['namespaces'] == []
    assert planned['work']['namespaces'] is False and planned['work']['tune'] is True
