# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The catalogue against the releases users run (each service file's ``releases``, every value with its source).

For each release, each distribution of it and each service the catalogue has, the planner's own
functions are fed facts shaped as the fact module reports them (its os-release read, through the
module's own distribution()) and as setup does, and must resolve to what the release's package
installs: config file, directive, validator, service, process and log.  A service the role cannot
manage there must fail in the planner, before any change, with a message saying why.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.plugin_utils import _plan
from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue
from ansible_collections.netstack.backlog.plugins.plugin_utils._catalogue import CATALOGUE

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = _catalogue.releases()
SOURCES = DATA['sources']
# Each release with what every service's file records for it, as releases[].services.NAME.
RECORDED = dict((name, CATALOGUE.record(name)['releases']) for name in CATALOGUE)
RELEASES = [dict(release, services=dict((name, RECORDED[name][release['key']]) for name in CATALOGUE
                                        if release['key'] in RECORDED[name]))
            for release in DATA['releases']]
VALUES = ('package', 'config', 'directive', 'service', 'process', 'validate', 'log')
EVIDENCE = ('run', 'verified', 'derived', 'unverified')


def base_facts():
    with open(os.path.join(HERE, 'fixtures', 'debian12-netns-128.json')) as handle:
        return json.load(handle)


def os_release_text(variant):
    lines = ['ID=%s' % variant['id']]
    if variant['id_like']:
        lines.append('ID_LIKE="%s"' % ' '.join(variant['id_like']))
    if variant['version_id'] is not None:
        lines.append('VERSION_ID="%s"' % variant['version_id'])
    return '\n'.join(lines) + '\n'


def module_facts(release, variant):
    """Facts as the fact module gives them: its own distribution() on the release's os-release."""
    system = 'FreeBSD' if release['os_family'] == 'FreeBSD' else 'Linux'
    files = {'/etc/os-release': os_release_text(variant)}

    def read_file(path):
        if path not in files:
            raise IOError(2, 'No such file or directory')
        return files[path]

    facts = base_facts()
    facts['listener_backlog_info']['system'] = system
    facts['listener_backlog_tuning']['distribution'] = _tuning.distribution(system, read_file)
    return facts


def setup_facts(release, variant):
    """Facts where setup ran too: its os_family, distribution and version win over the module's read."""
    facts = module_facts(release, variant)
    facts.update(variant['setup'], os_family=release['os_family'])
    return facts


CASES = [(release, variant, shape) for release in RELEASES for variant in release['os_release']
         for shape in ('module', 'setup')]


def case_id(release, variant, shape):
    return '%s-%s-%s' % (release['key'], variant['id'], shape)


def facts_for(release, variant, shape):
    return (module_facts if shape == 'module' else setup_facts)(release, variant)


def with_config(facts, name, path, exists, lines=()):
    """``facts`` with the fact module's answer for the service's config: ``path`` found (or not), with ``lines``."""
    facts = copy.deepcopy(facts)
    keys = _plan.platform_keys(facts)
    asked, dummy = _plan.catalogue_config(CATALOGUE[name], keys)
    answer = {'path': path, 'pattern': None, 'exists': exists, 'lines': list(lines) if exists else None, 'islnk': False,
              'lnk_source': None}
    if asked and _plan.WILDCARDS.search(asked):
        answer['pattern'] = asked
        if not exists:
            answer['path'] = asked
    facts['listener_backlog_files'] = [answer]
    return facts


def resolution_cases(state):
    cases = []
    for release, variant, shape in CASES:
        for name in sorted(CATALOGUE):
            recorded = release['services'].get(name)
            shaped = 'values' if 'evidence' in recorded and 'user_config' not in recorded else None
            if recorded is None or (shaped or ('user_config' if 'user_config' in recorded else 'unsupported'
                                               if 'unsupported' in recorded else 'unknown')) != state:
                continue
            cases.append(pytest.param(release, variant, shape, name,
                                      id='%s-%s' % (case_id(release, variant, shape), name)))
    return cases


def test_the_modules_os_release_read_names_the_family_setup_does():
    for release, variant, shape in CASES:
        read = module_facts(release, variant)['listener_backlog_tuning']['distribution']
        assert read['os_family'] == release['os_family'], case_id(release, variant, shape)
        assert (read['id'], read['id_like'], read['version_id']) == (
            variant['id'], variant['id_like'], variant['version_id'])


def runs(validate, program):
    """Whether the validate command runs ``program`` (a command word, not part of another word)."""
    return re.search(r'''(?:^|[\s'"(;$])%s\s''' % re.escape(program), validate) is not None


def writes(edit, directive, stock=None):
    """Whether the edit writes ``directive``: its line (kind line), its result on the package's stock
    file where one is recorded (memcached's options variable), or on a line holding the directive."""
    if edit['kind'] == 'line':
        return edit['line'].strip().split()[0].split('=')[0].strip() == directive
    if stock is not None:
        for each in edit['edits']:
            stock = re.sub(each['regexp'], each['replace'].replace('{backlog}', '4096'), stock, flags=re.MULTILINE)
        return '%s 4096' % directive in stock
    sample = '    %s 80;\n' % directive
    for each in edit['edits']:
        sample = re.sub(each['regexp'], each['replace'].replace('{backlog}', '4096'), sample, flags=re.MULTILINE)
    return sample == '    %s 80 backlog=4096;\n' % directive


@pytest.mark.parametrize('release, variant, shape, name', resolution_cases('values'))
def test_the_planner_resolves_what_the_release_installs(release, variant, shape, name):
    recorded = release['services'][name]
    unverified = set(recorded.get('unverified', []))
    facts = facts_for(release, variant, shape)
    variables = {'services': [{'name': name}]}
    _plan.check_services(variables, facts, CATALOGUE)
    asked = _plan.config_paths(variables, facts, CATALOGUE)[0]
    # The fact module is asked for the file before the platform is known.
    assert asked in [entry['path'] for entry in _plan.wanted_files(variables, CATALOGUE)]
    # The package's stock file where one is recorded (memcached's options variable must be there).
    facts = with_config(facts, name, recorded['config'], True, recorded.get('stock_file', '').splitlines(True))
    _plan.config_files(variables, facts, CATALOGUE)
    planned = _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]
    found = {
        'config': planned['config'],
        'directive': writes(planned['edit'], recorded['directive'], recorded.get('stock_file')) and recorded['directive'],
        'service': planned['service'],
        'process': re.match(planned['process'], recorded['process']) and recorded['process'],
        'validate': runs(planned['validate'], recorded['validate']) and recorded['validate'],
        'log': planned['log'] or None,
    }
    wanted = dict((key, recorded[key]) for key in found if key not in unverified)
    assert dict((key, found[key]) for key in wanted) == wanted, planned


@pytest.mark.parametrize('release, variant, shape, name', resolution_cases('unsupported'))
def test_a_service_the_role_cannot_manage_there_fails_before_any_change_saying_why(release, variant, shape, name):
    facts = facts_for(release, variant, shape)
    variables = {'services': [{'name': name}]}
    dummy, reason = _plan.catalogue_config(CATALOGUE[name], _plan.platform_keys(facts))
    with pytest.raises(_plan.PlanError) as error:
        _plan.check_services(variables, facts, CATALOGUE)
        # A catalogue path that is not there (a stock config the package does not install) fails next.
        path = _plan.config_paths(variables, facts, CATALOGUE)[0]
        _plan.config_files(variables, with_config(facts, name, path, False), CATALOGUE)
    message = str(error.value)
    assert message.startswith('listener_backlog_services[0]') and '(%s)' % name in message, message
    # The catalogue itself says why (a config of the family's would otherwise be tried there).
    assert reason and reason in message and _plan.platform_name(facts) in message, message


@pytest.mark.parametrize('release, variant, shape, name', resolution_cases('user_config'))
def test_a_service_whose_package_installs_no_config_asks_for_the_users_then_resolves(release, variant, shape, name):
    """uWSGI and gunicorn as Debian packages them: the role runs them with the deployment's own file."""
    recorded = release['services'][name]
    facts = facts_for(release, variant, shape)
    with pytest.raises(_plan.PlanError) as error:
        variables = {'services': [{'name': name}]}
        _plan.check_services(variables, facts, CATALOGUE)
        path = _plan.config_paths(variables, facts, CATALOGUE)[0]
        _plan.config_files(variables, with_config(facts, name, path, False), CATALOGUE)
    assert 'config' in str(error.value) and '(%s)' % name in str(error.value), str(error.value)
    variables = {'services': [{'name': name, 'config': '/srv/app/app.conf'}]}
    _plan.check_services(variables, facts, CATALOGUE)
    facts = with_config(facts, name, '/srv/app/app.conf', True)
    facts['listener_backlog_files'][0]['pattern'] = None
    _plan.config_files(variables, facts, CATALOGUE)
    planned = _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]
    assert planned['config'] == '/srv/app/app.conf'
    if 'service' in recorded['facts']:  # the package's own service, one per application (uwsgi@NAME)
        assert planned['service'] == recorded['facts']['service'].replace('NAME', 'app')
    assert re.match(planned['process'], recorded['facts']['process'])
    assert runs(planned['validate'], recorded['facts']['validate'])


def test_a_platform_keys_order_is_distribution_then_family_each_most_specific_first():
    ubuntu = [release for release in RELEASES if release['key'] == 'ubuntu-20.04'][0]
    variant = ubuntu['os_release'][0]
    assert _plan.platform_keys(setup_facts(ubuntu, variant)) == [
        'Ubuntu 20.04', 'Ubuntu 20', 'Debian 20.04', 'Debian 20', 'Ubuntu', 'Debian']
    assert _plan.platform_keys(module_facts(ubuntu, variant)) == _plan.platform_keys(setup_facts(ubuntu, variant))
    freebsd = [release for release in RELEASES if release['key'] == 'freebsd-14'][0]
    assert _plan.platform_keys(module_facts(freebsd, freebsd['os_release'][0])) == ['FreeBSD']
    assert _plan.platform_name(module_facts(ubuntu, variant)) == 'Ubuntu 20.04'


def test_user_config_still_overrides_an_unsupported_platform():
    """Valkey built or installed otherwise on Ubuntu 22.04, which packages none: the user's file is edited."""
    jammy = [release for release in RELEASES if release['key'] == 'ubuntu-22.04'][0]
    facts = setup_facts(jammy, jammy['os_release'][0])
    assert _plan.catalogue_config(CATALOGUE['valkey'], _plan.platform_keys(facts))[1]  # unsupported there
    variables = {'services': [{'name': 'valkey', 'config': '/opt/valkey/valkey.conf'}]}
    _plan.check_services(variables, facts, CATALOGUE)
    assert _plan.config_paths(variables, facts, CATALOGUE) == ['/opt/valkey/valkey.conf']
    facts = with_config(facts, 'valkey', '/opt/valkey/valkey.conf', True, ['tcp-backlog 511\n'])
    facts['listener_backlog_files'][0]['pattern'] = None
    planned = _plan.plan_services(variables, facts, CATALOGUE, 4096)['services'][0]
    assert planned['config'] == '/opt/valkey/valkey.conf' and planned['edit_needed'] is True
    assert planned['edit']['line'] == 'tcp-backlog {backlog}'


def test_every_release_records_every_catalogue_service_with_sources():
    for release in RELEASES:
        assert release['status'] in ('run', 'sources'), release['key']
        assert release['sources'] and all(source in SOURCES for source in release['sources']), release['key']
        for variant in release['os_release']:
            assert variant['sources'] and all(source in SOURCES for source in variant['sources']), release['key']
        missing = sorted(set(CATALOGUE) - set(release['services']))
        assert not missing, '%s records nothing for %s' % (release['key'], ', '.join(missing))
        for name, recorded in release['services'].items():
            where = '%s %s' % (release['key'], name)
            shapes = [shape for shape in ('evidence', 'unsupported', 'user_config', 'unknown') if shape in recorded]
            assert len(shapes) == 1 or shapes == ['evidence', 'user_config'], where
            if 'user_config' in recorded:
                assert recorded['evidence'] in EVIDENCE and (
                    recorded['evidence'] != 'run' or release['status'] == 'run'), where
                # No service where the package installs none (gunicorn): the deployment's is given.
                assert {'package', 'process', 'validate'} <= set(recorded['facts']), where
            elif 'evidence' in recorded:
                assert recorded['evidence'] in EVIDENCE, where
                assert set(VALUES) <= set(recorded), where
                assert set(recorded.get('unverified', [])) <= set(VALUES), where
                # Run for real only where the release is run here.
                assert recorded['evidence'] != 'run' or release['status'] == 'run', where
            if 'unknown' not in recorded:
                # Every value and every reason names where it was read.
                assert recorded['sources'], where
            assert all(source in SOURCES for source in recorded.get('sources', [])), where


def test_every_source_says_where_it_is():
    for key, source in SOURCES.items():
        assert source.get('url') or source.get('repo') and source.get('path') or source.get('path') or \
            source.get('note'), key
        if source.get('repo'):
            assert re.match(r'^[\w.-]+/[\w.-]+$', source['repo']), key
        if source.get('commit'):
            assert re.match(r'^[0-9a-f]{40}$', source['commit']), key
        if source.get('url'):
            assert source['url'].startswith('https://'), key


def test_every_service_records_only_releases_the_catalogue_knows():
    keys = set(release['key'] for release in DATA['releases'])
    for name, records in RECORDED.items():
        assert sorted(set(records) - keys) == [], '%s records releases that releases.yml does not list' % name
