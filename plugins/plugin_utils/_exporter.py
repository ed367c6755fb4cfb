# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role's plan for its textfile collector (listener_backlog_exporter), on the controller.

Pure: from the role's variables and what the host reported in the one read before any change
(the fact module's ``files``: whether systemd runs the host, whether a cron reads
``/etc/cron.d``, whether the collector's units are installed), where the collector writes,
what runs it and how often.  A bad value raises PlanError naming the variable, the value and
what is accepted, before anything on the host changes.
"""

from __future__ import annotations

import re

from ansible_collections.netstack.backlog.plugins.plugin_utils._plan import PlanError, _integer

SCRIPT = '/usr/local/sbin/netstack-backlog-textfile'
UNIT = 'netstack-backlog-textfile'
UNIT_DIR = '/etc/systemd/system'
CRON_FILE = '/etc/cron.d/netstack-backlog-textfile'
# sd_booted(3): systemd runs the host when this directory exists.
SYSTEMD_RUNNING = '/run/systemd/system'
CRON_DIR = '/etc/cron.d'

# The directory each platform's node_exporter package reads textfiles from (its
# --collector.textfile.directory), by OS family as setup names it.  Where none is known the
# user names it (listener_backlog_exporter_dir).
TEXTFILE_DIRS = {
    # prometheus-node-exporter's /etc/default/prometheus-node-exporter and README.textfile.
    'Debian': '/var/lib/prometheus/node-exporter',
}

INTERVAL_RANGE = (10, 86400)
# A directory goes into a unit's ExecStart and a cron line as it is: no quoting to get wrong.
SAFE_PATH = re.compile(r'^/[A-Za-z0-9._/@+-]*$')


def wanted_files(variables):
    """What the fact module stats for the collector, in the role's one read of the host."""
    if variables.get('exporter') not in ('textfile', 'absent'):
        return []
    # The platform is not known yet: every platform's usual directory is asked for (a stat each).
    directories = [variables['exporter_dir']] if variables.get('exporter_dir') else sorted(TEXTFILE_DIRS.values())
    return [{'path': path, 'patterns': []} for path in
            [SYSTEMD_RUNNING, CRON_DIR, '%s/%s.timer' % (UNIT_DIR, UNIT)] + directories]


def cron_schedule(interval):
    """The cron time fields that run a job every ``interval`` seconds, or None where cron cannot.

    cron counts minutes and hours of the clock: every N minutes where N divides an hour, every N
    hours where N divides a day.
    """
    if interval % 60:
        return None
    minutes = interval // 60
    if minutes < 60 and 60 % minutes == 0:
        return '*/%d * * * *' % minutes if minutes > 1 else '* * * * *'
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return '0 */%d * * *' % hours if hours > 1 else '0 * * * *'
    return None


def _exists(facts, path):
    for entry in facts.get('listener_backlog_files') or []:
        if entry.get('path') == path:
            return bool(entry.get('exists'))
    return False


def plan_exporter(variables, facts, family):
    """What the role does about the collector on this host, or None where it leaves it alone.

    ``family``: the host's OS family (setup's name).  Returns ``state``, ``directory`` (None for
    absent where none is known), ``interval``, ``max_listeners``, ``scheduler`` (``systemd`` or
    ``cron``), ``schedule`` (cron fields), ``installed_timer``, ``create_directory`` and the paths of
    what it installs.
    """
    state = variables.get('exporter')
    if state not in ('textfile', 'absent'):
        return None
    directory = variables.get('exporter_dir') or TEXTFILE_DIRS.get(family)
    if directory is None and state == 'textfile':
        raise PlanError('listener_backlog_exporter_dir is not set and no usual textfile directory of node_exporter is '
                        'known for %s: set it to the directory your node_exporter reads (its '
                        '--collector.textfile.directory).' % (family or 'this platform'))
    if directory is not None and not SAFE_PATH.match(directory):
        raise PlanError('listener_backlog_exporter_dir is %r: an absolute path of letters, digits and . _ / @ + - is '
                        'accepted (it goes into a systemd unit or a cron line as it is).' % (directory,))
    interval = _integer(variables.get('exporter_interval'))
    if interval is None or not INTERVAL_RANGE[0] <= interval <= INTERVAL_RANGE[1]:
        raise PlanError('listener_backlog_exporter_interval is %r: a number of seconds from %d to %d is accepted.'
                        % (variables.get('exporter_interval'), INTERVAL_RANGE[0], INTERVAL_RANGE[1]))
    max_listeners = _integer(variables.get('exporter_max_listeners'))
    if max_listeners is None or max_listeners < 0:
        raise PlanError('listener_backlog_exporter_max_listeners is %r: an integer of 0 or more is accepted.'
                        % (variables.get('exporter_max_listeners'),))
    systemd = _exists(facts, SYSTEMD_RUNNING)
    plan = {'state': state, 'directory': directory, 'interval': interval, 'max_listeners': max_listeners,
            'scheduler': 'systemd' if systemd else 'cron', 'schedule': None, 'script': SCRIPT,
            'unit': UNIT, 'unit_dir': UNIT_DIR, 'cron_file': CRON_FILE,
            'installed_timer': _exists(facts, '%s/%s.timer' % (UNIT_DIR, UNIT)),
            # A directory that exists is left as its package made it (owner, mode); a missing one is made.
            'create_directory': directory is not None and not _exists(facts, directory)}
    if state == 'textfile' and not systemd:
        if not _exists(facts, CRON_DIR):
            raise PlanError('listener_backlog_exporter is textfile, but neither systemd runs this host (no %s) nor a '
                            'cron that reads %s is installed: install cron (Debian\'s cron, cronie), or run the '
                            'collector %s from what schedules jobs here.' % (SYSTEMD_RUNNING, CRON_DIR, SCRIPT))
        plan['schedule'] = cron_schedule(interval)
        if plan['schedule'] is None:
            raise PlanError('listener_backlog_exporter_interval is %d: this host runs the collector from cron, which '
                            'runs jobs every N minutes where N divides an hour, or every N hours where N divides a '
                            'day: 60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800, 3600, 7200 ... 86400 '
                            'seconds are accepted.' % interval)
    return plan
