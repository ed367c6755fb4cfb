# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role's planner, on the controller: no module runs on the host."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_plan as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue, _exporter, _plan
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION)
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        stage = args['stage']
        variables = args['variables'] or {}
        catalogue = _catalogue.CATALOGUE
        facts = (task_vars or {}).get('ansible_facts', {})
        if stage != 'files' and 'listener_backlog_info' not in facts:
            raise AnsibleActionFail('listener_backlog_plan needs the facts of netstack.backlog.listener_backlog_facts '
                                    'for this host; run that module first')
        try:
            if stage == 'files':
                result['files'] = _plan.wanted_files(variables, catalogue) + _exporter.wanted_files(variables)
                warnings = []
            elif stage == 'check':
                _plan.check_choices(variables)
                tuning = _plan.plan_tuning(variables, facts, check_mode=bool(self._play_context.check_mode))
                _plan.check_services(variables, facts, catalogue)
                _plan.check_service_manager(variables, facts)
                # What listener_backlog_lock reads again once the run holds the host (config_files,
                # within, checks that each service's config exists).
                unchanged = _plan.read_guard(variables, facts, catalogue, tuning)
                _plan.check_templates(variables, args.get('template_paths') or [])
                exporter = _exporter.plan_exporter(variables, facts, _plan.os_family(facts))
                result['tuning'] = tuning
                result['exporter'] = exporter
                result['unchanged'] = unchanged
                busy, idle_warnings = _plan.services_work(variables, facts, catalogue, tuning)
                result['work'] = _plan.work(variables, facts, tuning, services=busy)
                result['work']['exporter'] = exporter is not None
                result['work']['any'] = result['work']['any'] or result['work']['exporter']
                warnings = tuning['warnings'] + idle_warnings
                if variables.get('services') and not busy:
                    # As the actions stage says it when the services part runs: nobody waits for a restart.
                    result['ansible_facts'] = {'listener_backlog_restart_required': []}
            elif stage == 'services':
                planned = _plan.plan_services(variables, facts, catalogue, args.get('limit'))
                result.update(services=planned['services'])
                warnings = planned['warnings']
            elif stage == 'expected':
                # What the role would give each service under the host's current limit (the audit).
                result['expected'] = _plan.expected_backlogs(variables, facts, catalogue)
                warnings = []
            elif stage == 'actions':
                listeners = facts.get('listener_backlog_listeners', []) + facts.get('listener_backlog_unix_listeners', [])
                planned = _plan.plan_actions(args.get('services') or [], args.get('changed_configs') or [],
                                             args.get('changed_templates') or [], listeners, catalogue,
                                             _plan.platform_keys(facts), restart=boolean(variables.get('restart', True), strict=False))
                result.update(planned)
                result['ansible_facts'] = {'listener_backlog_restart_required': planned['pending']}
                warnings = []
            else:
                raise AnsibleActionFail('stage must be files, check, services, actions or expected, got %r' % (stage,))
        except _plan.PlanError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result['changed'] = False
        if warnings:
            result['warnings'] = warnings
        return result
