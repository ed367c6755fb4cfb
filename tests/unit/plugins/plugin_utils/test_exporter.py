# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's plan for its textfile collector: where it writes, what runs it, and what it refuses.

tests/integration/test_role_exporter.py carries these plans out on hosts run by systemd and by cron.
"""

from __future__ import annotations

import pytest

from ansible_collections.netstack.backlog.plugins.plugin_utils import _exporter as exporter
from ansible_collections.netstack.backlog.plugins.plugin_utils._plan import PlanError

DEFAULTS = {'exporter': 'textfile', 'exporter_dir': None, 'exporter_interval': 60, 'exporter_max_listeners': 300}


def facts(*existing):
    return {'listener_backlog_files': [{'path': entry['path'], 'exists': entry['path'] in existing, 'lines': None}
                                       for entry in exporter.wanted_files(DEFAULTS)]}


@pytest.mark.parametrize('interval, schedule', [
    (60, '* * * * *'), (120, '*/2 * * * *'), (300, '*/5 * * * *'), (1800, '*/30 * * * *'), (3600, '0 * * * *'),
    (7200, '0 */2 * * *'), (86400, '0 */24 * * *'), (90, None), (10, None), (420, None), (18000, None),
])
def test_cron_runs_whole_minutes_that_divide_an_hour_or_whole_hours_that_divide_a_day(interval, schedule):
    assert exporter.cron_schedule(interval) == schedule


def test_nothing_is_planned_or_read_when_the_variable_is_unset():
    variables = dict(DEFAULTS, exporter=None)
    assert exporter.plan_exporter(variables, facts(), 'Debian') is None
    assert exporter.wanted_files(variables) == []


def test_the_one_read_stats_what_decides_the_plan():
    assert [entry['path'] for entry in exporter.wanted_files(DEFAULTS)] == [
        '/run/systemd/system', '/etc/cron.d', '/etc/systemd/system/netstack-backlog-textfile.timer',
        '/var/lib/prometheus/node-exporter']
    assert exporter.wanted_files(dict(DEFAULTS, exporter_dir='/srv/textfile'))[-1]['path'] == '/srv/textfile'


def test_systemd_where_it_runs_the_host_else_cron():
    plan = exporter.plan_exporter(DEFAULTS, facts('/run/systemd/system', '/etc/cron.d'), 'Debian')
    assert (plan['scheduler'], plan['schedule'], plan['directory'], plan['create_directory']) == \
        ('systemd', None, '/var/lib/prometheus/node-exporter', True)
    plan = exporter.plan_exporter(DEFAULTS, facts('/etc/cron.d', '/var/lib/prometheus/node-exporter'), 'Debian')
    assert (plan['scheduler'], plan['schedule'], plan['create_directory']) == ('cron', '* * * * *', False)


@pytest.mark.parametrize('variables, family, existing, message', [
    ({}, 'RedHat', ('/etc/cron.d',),
     'listener_backlog_exporter_dir is not set and no usual textfile directory of node_exporter is known for RedHat'),
    ({'exporter_dir': 'relative/dir'}, 'Debian', ('/etc/cron.d',),
     "listener_backlog_exporter_dir is 'relative/dir': an absolute path"),
    ({'exporter_dir': '/srv/$(touch /tmp/x)'}, 'Debian', ('/etc/cron.d',),
     "listener_backlog_exporter_dir is '/srv/$(touch /tmp/x)': an absolute path"),
    ({'exporter_dir': '/srv/a\nb'}, 'Debian', ('/etc/cron.d',), "listener_backlog_exporter_dir is '/srv/a\\nb'"),
    ({'exporter_interval': 9}, 'Debian', ('/run/systemd/system',),
     'listener_backlog_exporter_interval is 9: a number of seconds from 10 to 86400 is accepted.'),
    ({'exporter_interval': True}, 'Debian', ('/run/systemd/system',), 'listener_backlog_exporter_interval is True'),
    ({'exporter_interval': 45}, 'Debian', ('/etc/cron.d',),
     'listener_backlog_exporter_interval is 45: this host runs the collector from cron'),
    ({'exporter_max_listeners': -5}, 'Debian', ('/run/systemd/system',),
     'listener_backlog_exporter_max_listeners is -5: an integer of 0 or more is accepted.'),
    ({}, 'Debian', (), 'listener_backlog_exporter is textfile, but neither systemd runs this host'),
])
def test_bad_values_are_refused_naming_the_variable_the_value_and_what_is_accepted(
        variables, family, existing, message):
    with pytest.raises(PlanError) as raised:
        exporter.plan_exporter(dict(DEFAULTS, **variables), facts(*existing), family)
    assert message in str(raised.value)


def test_an_interval_systemd_takes_is_not_refused_there():
    plan = exporter.plan_exporter(dict(DEFAULTS, exporter_interval=45), facts('/run/systemd/system'), 'Debian')
    assert plan['interval'] == 45 and plan['scheduler'] == 'systemd'


def test_absent_needs_no_scheduler_and_no_known_directory():
    plan = exporter.plan_exporter(dict(DEFAULTS, exporter='absent'), facts(), 'Archlinux')
    assert (plan['state'], plan['directory'], plan['installed_timer']) == ('absent', None, False)
