# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role's planner: one read of the host (listener_backlog_read), then every decision on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_plan as documentation
from ansible_collections.netstack.backlog.plugins.plugin_utils import _catalogue, _plan, _role
from ansible_collections.netstack.backlog.plugins.plugin_utils._read import ROLE_READ_MODULE, read_host
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


# What the read returns for the plan alone, not as facts.
PLAN_ONLY = ('ansible_listener_backlog_files', 'ansible_listener_backlog_tuning')


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
        facts = dict((task_vars or {}).get('ansible_facts', {}))
        warnings = []
        try:
            if stage == 'plan':
                # The run's one read: the facts, the services' config lines and what tuning involves.
                arguments = _role.read_arguments(variables, catalogue)
                try:
                    read, found = read_host(self, task_vars, arguments, ROLE_READ_MODULE)
                finally:
                    self._remove_tmp_path(self._connection._shell.tmpdir)
                if read.get('failed'):
                    # With what the module run left (an interpreter that is missing says so on stderr).
                    result.update((key, read[key]) for key in ('module_stderr', 'module_stdout', 'rc', 'exception')
                                  if key in read)
                    result.update(failed=True, msg='reading the host failed: %s' % read.get('msg'))
                    return result
                facts.update(found)
                planned = _role.plan(variables, facts, catalogue, args['template_paths'] or [])
                warnings = read.get('warnings', []) + planned.pop('warnings')
                # The facts as listener_backlog_facts has them; the config lines and the tuning state were
                # read for the plan only, and facts are copied into every later task's variables.
                result['ansible_facts'] = dict((key, value) for key, value in read['ansible_facts'].items()
                                               if key not in PLAN_ONLY)
                if 'restart_required' in planned:
                    result['ansible_facts']['listener_backlog_restart_required'] = planned.pop('restart_required')
                result.update(planned)
            elif 'listener_backlog_info' not in facts:
                raise AnsibleActionFail('listener_backlog_plan stage %s needs the facts of '
                                        'netstack.backlog.listener_backlog_facts for this host; run that module first'
                                        % stage)
            elif stage == 'expected':
                # What the role would give each service under the host's current limit (the audit).
                result['expected'] = _plan.expected_backlogs(variables, facts, catalogue)
            else:
                # After the edits: how each service takes its backlog.
                listeners = facts.get('listener_backlog_listeners', []) + facts.get('listener_backlog_unix_listeners', [])
                configs, templates = _plan.changed_by(args['edits'] or [], args['templates'])
                planned = _plan.plan_actions(args['services'] or [], configs, templates, listeners, catalogue,
                                             _plan.platform_keys(facts),
                                             restart=boolean(variables.get('restart', True), strict=False))
                result.update(planned)
                result['ansible_facts'] = {'listener_backlog_restart_required': planned['pending']}
        except _plan.PlanError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result['changed'] = False
        if warnings:
            result['warnings'] = warnings
        return result
