# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the listeners until every managed service has its backlog; fail once, with the reason."""

from __future__ import annotations

import re
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.netstack.backlog.plugins.modules import listener_backlog_verify as documentation
from ansible_collections.netstack.backlog.plugins.module_utils._listeners import backlog_mismatches, listeners_of
from ansible_collections.netstack.backlog.plugins.plugin_utils._owner import owner
from ansible_collections.netstack.backlog.plugins.plugin_utils._read import ROLE_READ_MODULE, read_host
from ansible_collections.netstack.backlog.plugins.plugin_utils._spec import argument_spec


# What the role asked of a service, as its failure says it.
VERBS = {'restarted': 'restart', 'reloaded': 'reload', 'started': 'start'}
# How much of a service's log a failure shows.
LOG_LINES = 20


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    ARGUMENT_SPEC = argument_spec(documentation.DOCUMENTATION)
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)  # the documented options, named once

    def _read(self, task_vars, release=None):
        arguments = {'listeners': True, 'unix_listeners': True, 'skip_unsupported': True}
        if release is not None:
            # The run's lock ends with the read that finds every listener of ``release`` (the services checked) with
            # its backlog (listener_backlog_read's release.when_matching): nothing after it changes the host, and a
            # service still coming back keeps the host this run's until then.
            arguments['release'] = dict((key, value) for key, value in owner().items() if key in ('id', 'controller', 'pid'))
            arguments['release']['when_matching'] = [
                dict((key, entry[key]) for key in ('name', 'process', 'backlog', 'unix') if key in entry)
                for entry in release]
        result, facts = read_host(self, task_vars, arguments, module=ROLE_READ_MODULE)
        if result.get('failed'):
            raise AnsibleActionFail('reading the listeners failed: %s' % result.get('msg'))
        listeners = facts.get('listener_backlog_listeners', []) + facts.get('listener_backlog_unix_listeners', [])
        return result['ansible_facts'], listeners, result.get('released')

    def _running(self, entries):
        """The entries with a process running on the host (``ps -A -o stat= -o comm=``: Linux, the BSDs, macOS).

        A zombie is not running: a daemon that forked and failed to bind (Redis) stays one until
        its parent reaps it.
        """
        found = self._low_level_execute_command('ps -A -o stat= -o comm=')
        names = []
        for line in (found.get('stdout') or '').splitlines():
            fields = line.split(None, 1)
            if len(fields) == 2 and not fields[0].startswith('Z'):
                names.append(fields[1].strip())
        return [entry for entry in entries if any(re.match(entry['process'], name) for name in names)]

    def _log_tail(self, path):
        found = self._low_level_execute_command('tail -n %d %s' % (LOG_LINES, shlex.quote(path)))
        lines = (found.get('stdout') or '').strip().splitlines()
        return ' | '.join(lines)

    def _failure_report(self, failed):
        """One line per service that failed to take its backlog: the manager's words, its check's, its log's."""
        lines = []
        for result in failed:
            item = result.get('item') or {}
            words = ' '.join(part for part in (result.get('msg'), result.get('stdout'), result.get('stderr')) if part)
            if not item:
                # Not one service's result (the loop itself failed): its own words.
                lines.append(words.strip() or 'the services could not be restarted, and nothing said why')
                continue
            line = '%s failed to %s: %s' % (item.get('service'), VERBS.get(item.get('state'), item.get('state')),
                                            words.strip())
            if item.get('check'):
                # The catalogue's command, each word quoted: no shell reads it.
                found = self._low_level_execute_command(' '.join(shlex.quote(word)
                                                                 for word in shlex.split(item['check'])))
                if found.get('rc', 0) != 0:
                    said = (found.get('stderr') or '').splitlines() + (found.get('stdout') or '').splitlines()
                    line += ' (%s says: %s)' % (item['check'], ' | '.join(said))
            tail = self._log_tail(item['log']) if item.get('log') else ''
            if tail:
                line += ' (its log %s ends: %s)' % (item['log'], tail)
            lines.append(line)
        return '\n'.join(lines)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(self.ARGUMENT_SPEC)
        if args['failed'] is not None:
            result.update(changed=False, failed=True, msg=self._failure_report(args['failed']))
            return result
        if not args['expected']:
            raise AnsibleActionFail('listener_backlog_verify needs expected (the services to verify) or failed '
                                    '(the service results to report)')
        expected, pending, timeout = args['expected'], args['pending'], args['timeout']
        waiting = set(name for entry in pending for name in entry.get('names', []))
        checked = [entry for entry in expected if entry['name'] not in waiting]
        held = [entry for entry in expected if entry['name'] in waiting]
        deadline = time.monotonic() + timeout
        released = None
        release = checked if args['release'] else None
        # A restarted daemon may take a moment to listen again: read until every listener is
        # right or the time is up (at least once). The read that finds them right ends the lock.
        try:
            while True:
                facts, listeners, was_released = self._read(task_vars, release)
                released = released or was_released
                if released:
                    release = None
                problems = backlog_mismatches(listeners, checked)
                if not problems or time.monotonic() >= deadline:
                    break
                time.sleep(1)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result['changed'] = False
        result['released'] = released
        result['ansible_facts'] = facts
        result['pending'] = backlog_mismatches(listeners, held)
        warnings = []
        if result['pending']:
            warnings.append('waiting for a restart (listener_backlog_restart is false): %s'
                            % '; '.join(result['pending']))
        if problems:
            # A service that runs but listens nowhere (Debian's stock haproxy.cfg has no frontend)
            # has nothing to verify: said as such, while one that is not running stays a failure.
            quiet = [entry for entry in checked if not listeners_of(entry, listeners)]
            running = self._running(quiet) if quiet else []
            for entry in running:
                warnings.append('%s runs but has no listener of its own (no process matching %s listens): its '
                                'configuration defines none, so there is nothing to verify; it gets its backlog when '
                                'it listens.' % (entry['name'], entry['process']))
            if running:
                problems = backlog_mismatches(listeners, [entry for entry in checked if entry not in running])
        if warnings:
            result['warnings'] = warnings
        if problems:
            # A daemon that forks before it binds (Redis) fails after its init script said it
            # started: its own words are in its log.
            tails = []
            for entry in checked:
                if entry.get('log') and any(re.match(re.escape(entry['name']) + r'[:\s]', problem)
                                            for problem in problems):
                    tail = self._log_tail(entry['log'])
                    if tail:
                        tails.append("(%s's log %s ends: %s)" % (entry['name'], entry['log'], tail))
            result.update(failed=True, problems=problems,
                          msg=' '.join(['Verification failed after %d s: %s' % (timeout, '; '.join(problems))] + tails))
        else:
            result['msg'] = 'every managed listener has its backlog'
        return result
