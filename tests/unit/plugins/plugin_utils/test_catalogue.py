# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The catalogue's loader: a file per service, read when the service is first asked for, checked as it is read."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue, _role


@pytest.fixture
def copy(tmp_path):
    """A copy of the shipped services' directory, to spoil one file of."""
    directory = str(tmp_path / 'services')
    shutil.copytree(_catalogue.SERVICES, directory)
    return directory


def test_every_shipped_file_loads_with_the_fields_the_planner_needs():
    assert len(_catalogue.CATALOGUE) >= 10
    for name in _catalogue.CATALOGUE:
        entry = _catalogue.CATALOGUE[name]
        assert set(_catalogue.REQUIRED) <= set(entry) <= set(_catalogue.REQUIRED + _catalogue.OPTIONAL), name
        # What documents and proves the entry stays out of what the planner is given.
        assert not set(_catalogue.RECORDS) & set(entry), name
        assert entry['apply'] in ('reload', 'restart'), name
        assert 'default' in entry['service'] and 'default' in entry['process'], name


def test_the_names_are_the_files_in_order_and_nothing_else(copy):
    with open(os.path.join(copy, 'README.txt'), 'w') as handle:
        handle.write('not a service\n')
    catalogue = _catalogue.Catalogue(copy)
    assert list(catalogue) == sorted(_catalogue.CATALOGUE) and len(catalogue) == len(_catalogue.CATALOGUE)
    assert 'README' not in catalogue and 'nginx' in catalogue and None not in catalogue
    assert catalogue.get('gopher') is None
    with pytest.raises(KeyError):
        catalogue['gopher']  # pylint: disable=pointless-statement


def test_a_misspelt_field_fails_the_load_naming_the_file_the_field_and_what_is_accepted(copy):
    path = os.path.join(copy, 'redis.yml')
    with open(path) as handle:
        text = handle.read()
    with open(path, 'w') as handle:
        handle.write(text.replace('\napply: restart\n', '\naplly: restart\n'))
    catalogue = _catalogue.Catalogue(copy)
    assert catalogue['nginx']['apply'] == 'reload'  # the other services still load
    with pytest.raises(_catalogue.CatalogueError) as error:
        catalogue['redis']  # pylint: disable=pointless-statement
    message = str(error.value)
    assert message.startswith(path + ': ') and 'unknown fields: aplly' in message and 'missing fields: apply' in message
    assert 'accepted: service, process, config' in message


def test_a_file_that_is_not_a_mapping_fails_naming_it(copy):
    path = os.path.join(copy, 'haproxy.yml')
    with open(path, 'w') as handle:
        handle.write('- just a list\n')
    with pytest.raises(_catalogue.CatalogueError, match='haproxy.yml: a service file is a mapping of fields, not list'):
        _catalogue.Catalogue(copy)['haproxy']  # pylint: disable=expression-not-assigned


def test_a_service_is_read_once_and_a_run_without_services_reads_none(copy, monkeypatch):
    read = []
    real = _catalogue.read_service
    monkeypatch.setattr(_catalogue, 'read_service', lambda path: read.append(os.path.basename(path)) or real(path))
    catalogue = _catalogue.Catalogue(copy)
    # The role's read for a run that tunes alone: no service file is opened.
    _role.read_arguments({'somaxconn': 4096, 'services': [], 'templates': []}, catalogue)
    assert read == []
    _role.read_arguments({'somaxconn': 4096, 'services': [{'name': 'nginx'}], 'templates': []}, catalogue)
    assert catalogue['nginx'] is catalogue['nginx']
    assert read == ['nginx.yml']


def test_the_releases_file_names_every_source_the_services_cite():
    data = _catalogue.releases()
    keys = [release['key'] for release in data['releases']]
    assert len(keys) == len(set(keys)) >= 10
    cited = set()
    for name in _catalogue.CATALOGUE:
        for recorded in _catalogue.CATALOGUE.record(name)['releases'].values():
            cited.update(recorded.get('sources', []))
    assert sorted(cited - set(data['sources'])) == []
