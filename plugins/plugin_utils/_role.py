# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role's one read and one plan (controller side).

``read_arguments`` says what the fact module reads of the host, from the role's variables
alone: nothing is known of the host yet, so every platform's config file of a service is
asked for (a stat each). ``plan`` makes every check and decision from that one read: the
tuning, the limit it gives, each service's config, backlog and edit, whether anything is
to do, what listener_backlog_lock reads again. The role's tasks only carry the plan out;
after its edits one decision (_plan.plan_actions) picks the restarts.
"""

from __future__ import annotations

import re

from ansible_collections.netstack.backlog.plugins.plugin_utils import _exporter, _plan

NUMBER = re.compile(r'^[0-9]+$')


def read_arguments(variables, catalogue):
    """The arguments of listener_backlog_facts for the run's one read (after the choices are checked)."""
    _plan.check_choices(variables)
    listeners = bool(variables.get('services') or variables.get('templates'))
    namespaces = _plan.reads_namespaces(variables)
    somaxconn = variables.get('somaxconn')
    persist = variables.get('persist', True)
    arguments = {
        # TCP everywhere, unix-domain on Linux (php-fpm's stock pool and MariaDB's socket are
        # unix-domain), when services or templates are managed.
        'listeners': listeners,
        'unix_listeners': listeners,
        'namespaces': namespaces,
        # Of the other namespaces the role needs those below the limit it sets, and not their
        # listeners: facts stay in every later task's variables, which ansible-core copies for
        # each task, so what the role does not need is not returned (docs/benchmarks.md).
        'namespace_listeners': False,
        # Unix listeners and namespaces are read on Linux only, with no setup run to tell the system.
        'skip_unsupported': True,
        'files': _plan.wanted_files(variables, catalogue) + _exporter.wanted_files(variables),
        'tuning': {'sysctl_file': variables.get('sysctl_file') if persist else None, 'persist': persist},
    }
    # Only a number: anything else is plan_tuning's to refuse, naming the variable the user set.
    if namespaces and not isinstance(somaxconn, bool) and NUMBER.match(str(somaxconn)):
        arguments['namespaces_below'] = int(somaxconn)
    return arguments


def apply_arguments(tuning, services, work):
    """What listener_backlog_apply is given (besides the lock's options): the run's changes to the kernel and
    the configs, and whether the lock ends with them (nothing after them changes the host)."""
    return {
        'sysctl_file': tuning['file'],
        'sysctls': [dict((key, entry[key]) for key in ('key', 'value', 'line', 'write_file', 'set_live'))
                    for entry in tuning['sysctls'] if entry['write_file'] or entry['set_live']],
        'edits': [dict((key, service[key]) for key in ('name', 'config', 'edit', 'backlog', 'validate'))
                  for service in services if service['edit_needed']],
        'release': not any(work[part] for part in ('local_fact', 'exporter', 'namespaces', 'services')),
    }


def plan(variables, facts, catalogue, template_paths):
    """Every check and every decision of the run, from ``facts`` (the one read, ansible_ prefix dropped).

    Each check comes before anything changes on the host and fails with _plan.PlanError, naming
    the variable, its value and what is accepted.
    """
    tuning = _plan.plan_tuning(variables, facts)
    _plan.check_services(variables, facts, catalogue)
    _plan.check_service_manager(variables, facts)
    # What listener_backlog_lock reads again once the run holds the host (checks that each
    # service's config exists).
    unchanged = _plan.read_guard(variables, facts, catalogue, tuning)
    _plan.check_templates(variables, template_paths)
    exporter = _exporter.plan_exporter(variables, facts, _plan.os_family(facts))
    services = {'services': [], 'warnings': []}
    if variables.get('services'):
        # With the limit the kernel grants after tuning (tuning['limit']), in check mode as well.
        services = _plan.plan_services(variables, facts, catalogue, tuning['limit'])
    busy = _plan.services_work(variables, facts, catalogue, services['services'])
    namespaces = _plan.low_namespaces(variables, facts, tuning)
    work = _plan.work(variables, tuning, namespaces, busy)
    work['exporter'] = exporter is not None
    work['any'] = work['any'] or work['exporter']
    result = {'tuning': tuning, 'services': services['services'], 'namespaces': namespaces, 'exporter': exporter,
              'unchanged': unchanged, 'work': work, 'changes': apply_arguments(tuning, services['services'], work),
              'warnings': tuning['warnings'] + services['warnings']}
    if variables.get('services') and not busy:
        # As the decision after the edits says it when the services part runs: nobody waits.
        result['restart_required'] = []
    return result
