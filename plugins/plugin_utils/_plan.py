# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The listener_backlog role's planner (controller side): from what the host reported and the
role's variables, every check and every decision; the role's tasks only carry the plan out.

Each stage is a pure function of its inputs, unit-tested with recorded facts
(tests/unit/plugins/plugin_utils/test_plan.py).  A bad input raises PlanError with a message
that names the variable, the value and what is accepted, before anything on the host changes.
"""

from __future__ import annotations

import json
import os
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.netstack.backlog.plugins.module_utils import _tuning
from ansible_collections.netstack.backlog.plugins.module_utils._backlog import INT_MAX, effective_backlog, limit_after
from ansible_collections.netstack.backlog.plugins.module_utils._edits import apply_edit
from ansible_collections.netstack.backlog.plugins.module_utils._files import WILDCARDS
from ansible_collections.netstack.backlog.plugins.module_utils._listeners import backlog_mismatches, listeners_of
from ansible_collections.netstack.backlog.plugins.plugin_utils._namespaces import namespace_fixes

INTEGER = re.compile(r'^-?[0-9]+$')


class PlanError(Exception):
    """An input the role cannot accept; the message says which, its value and what is accepted."""


# The role's variables with a closed set of values, as meta/argument_specs.yml lists them
# (test_plan_choices.py holds the two together).  ansible-core's spec check refuses others first;
# these say it again where that check is off (include_role's rolespec_validate: false).
CHOICES = {
    'readonly_sysctl': ('fail', 'skip'),
    'namespaces': ('warn', 'set', 'ignore'),
    'local_fact': ('present', 'absent'),
    'exporter': ('textfile', 'absent'),
}
# Per item of listener_backlog_services and listener_backlog_templates.
ITEM_CHOICES = {'restart': ('restart', 'reload')}


def check_choices(variables):
    """Refuse a value outside its variable's choices (null is each one's default or "leave alone")."""
    for key, choices in sorted(CHOICES.items()):
        value = variables.get(key)
        # ansible-core before 2.17 renders a null of ``default(none)`` as an empty string.
        if value not in (None, '') and value not in choices:
            raise PlanError('listener_backlog_%s is %s; accepted: %s.' % (key, _json(value), ', '.join(choices)))
    for group in ('services', 'templates'):
        for index, item in enumerate(variables.get(group) or []):
            for key, choices in sorted(ITEM_CHOICES.items()):
                value = item.get(key) if isinstance(item, dict) else None
                if value not in (None, '') and value not in choices:
                    raise PlanError('listener_backlog_%s[%d].%s is %s; accepted: %s.'
                                    % (group, index, key, _json(value), ', '.join(choices)))


def _json(value):
    return json.dumps(value)


def _integer(value):
    """The integer ``value`` stands for (an int, or a string of decimal digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and INTEGER.match(value.strip()):
        return int(value.strip())
    return None


def os_family(facts):
    """ansible_facts.os_family where setup ran, else the one the fact module read from os-release."""
    return facts.get('os_family') or ((facts.get('listener_backlog_tuning') or {}).get('distribution') or {}).get(
        'os_family')


# ansible_facts.distribution as setup names a distribution, from the os-release ID the fact module
# read (ansible-core's distribution.py: ID amzn is Amazon; the others as its tests record them).
DISTRIBUTIONS = {'amzn': 'Amazon', 'ubuntu': 'Ubuntu', 'debian': 'Debian', 'rhel': 'RedHat', 'centos': 'CentOS',
                 'rocky': 'Rocky', 'almalinux': 'AlmaLinux', 'sles': 'SLES', 'opensuse-leap': 'openSUSE Leap',
                 'alpine': 'Alpine', 'arch': 'Archlinux', 'freebsd': 'FreeBSD'}


def platform(facts):
    """(os_family, distribution, version) of the host, all from one source.

    Where setup ran: ansible_facts.os_family, distribution and distribution_version.  Else the
    fact module's os-release read (listener_backlog_tuning.distribution): its os_family, its ID as
    setup names the distribution, its VERSION_ID.
    """
    if facts.get('os_family'):
        return facts['os_family'], facts.get('distribution'), facts.get('distribution_version')
    read = (facts.get('listener_backlog_tuning') or {}).get('distribution') or {}
    return read.get('os_family'), DISTRIBUTIONS.get(read.get('id')), read.get('version_id')


def platform_keys(facts):
    """The catalogue keys that may hold a value for this host, most specific first.

    The distribution and then the OS family, each with every leading part of the version
    ('Ubuntu 20.04', 'Ubuntu 20', 'Debian 20.04', 'Debian 20'), then each alone ('Ubuntu',
    'Debian'): Ubuntu 20.04 gets an 'Ubuntu 20' value, every RHEL 8 rebuild a 'RedHat 8' one,
    Amazon Linux an 'Amazon' one, and the rest their family's.
    """
    family, name, version = platform(facts)
    parts = str(version).split('.') if version else []
    versions = ['.'.join(parts[:count]) for count in range(len(parts), 0, -1)]
    keys = ['%s %s' % (base, each) for base in (name, family) if base for each in versions] + [name, family]
    return [key for index, key in enumerate(keys) if key and key not in keys[:index]]


def _pick(table, keys):
    """A catalogue value for the host: the first of ``keys`` (platform_keys, or one OS family) it has, else ``default``."""
    for key in [keys] if isinstance(keys, str) else keys or []:
        if key in table:
            return table[key]
    return table.get('default')


def platform_name(facts):
    """The host's platform in words: 'Ubuntu 20.04', 'RedHat 8.10', or its OS family alone."""
    family, name, version = platform(facts)
    return ' '.join(str(part) for part in (name or family, version) if part) or 'an unknown platform'


def catalogue_config(entry, keys):
    """(the config file the catalogue names for the host, or None; why the role cannot manage it there, or None).

    ``unsupported`` holds, per key, why a service cannot be managed there (its options are not in
    a file of its own, no package, no config installed); it is looked up among the same keys as
    ``config``, so 'RedHat 10' there overrides 'RedHat' here.
    """
    for key in keys:
        if key in entry.get('unsupported', {}):
            return None, entry['unsupported'][key]
        if key in entry['config']:
            return entry['config'][key], None
    return None, None


def check_link(path, link, variable):
    """Refuse to write ``path`` through a symlink that leads out of its directory.

    Modules that write a file (listener_backlog_apply, as lineinfile and ansible.posix.sysctl) write where a
    symlink points: whoever can place one would choose what root writes, and where.  A link within the same
    directory (a file renamed, the old name kept) stays the file's own.
    """
    if not path or not link:
        return
    directory = os.path.dirname(path)
    target = os.path.normpath(os.path.join(directory, link))
    if os.path.dirname(target) != directory:
        raise PlanError(
            '%s: %s is a symbolic link to %s, out of %s; the role does not write through it (whoever placed it would '
            'choose what root writes, and where). Nothing was changed. Remove the link, or point %s at the file '
            'you mean.' % (variable, path, link, directory, variable))


def plan_tuning(variables, facts):
    """Check the tuning variables against the host and plan the sysctl changes.

    ``variables``: the role's variables (listener_backlog_ prefix dropped).  ``facts``: the
    host's facts after listener_backlog_facts with ``tuning`` (ansible_ prefix dropped).
    """
    info = facts['listener_backlog_info']
    system = info['system']
    state = facts.get('listener_backlog_tuning') or {}
    somaxconn, syn_backlog = variables.get('somaxconn'), variables.get('syn_backlog')
    wants = somaxconn is not None or syn_backlog is not None
    plan = {'tune': False, 'readonly': False, 'file': None, 'sysctls': [], 'warnings': [],
            'limit': facts['listener_backlog']}
    if not wants:
        return plan
    if not state.get('tunable'):
        raise PlanError(
            'listener_backlog_somaxconn / listener_backlog_syn_backlog: tuning the listen backlog limit is not '
            'supported on %s; supported: %s. Leave both null to keep the kernel\'s limit.'
            % (system, ', '.join(sorted(_tuning.TUNING))))
    tuning = _tuning.TUNING[system]
    wanted = []
    if somaxconn is not None:
        lowest, highest = state['somaxconn_range']
        value = _integer(somaxconn)
        if value is None or not lowest <= value <= highest:
            raise PlanError(
                'listener_backlog_somaxconn is %s; %s %saccepts an integer from %d to %d for %s, or null to leave '
                'the kernel\'s limit alone.'
                % (_json(somaxconn), system, '(kernel %s) ' % state.get('release') if system == 'Linux' else '',
                   lowest, highest, tuning['somaxconn_key']))
        wanted.append((tuning['somaxconn_key'], value))
    if syn_backlog is not None:
        value = _integer(syn_backlog)
        lowest, highest = _tuning.TUNING['Linux']['syn_backlog_range']
        if system != 'Linux' or value is None or not lowest <= value <= highest:
            raise PlanError(
                'listener_backlog_syn_backlog is %s; it sets Linux net.ipv4.tcp_max_syn_backlog and accepts an '
                'integer from %d to %d (this host runs %s), or null.' % (_json(syn_backlog), lowest, highest, system))
        wanted.append((tuning['syn_backlog_key'], value))
    check_link(state.get('file'), state.get('file_link'), 'listener_backlog_sysctl_file')

    if state.get('writable') is False:
        if variables.get('readonly_sysctl', 'fail') == 'fail':
            raise PlanError(
                'listener_backlog_somaxconn: %s is read-only on this host (a container, or a read-only /proc/sys), so '
                '%s cannot be set from here; nothing was changed. Set it from outside (docker run --sysctl '
                'net.core.somaxconn=N, a Kubernetes pod\'s securityContext.sysctls, or the host), or set '
                'listener_backlog_readonly_sysctl=skip to configure the services with the current limit (%s).'
                % (tuning['writable_probe'], tuning['somaxconn_key'], facts['listener_backlog']))
        plan['readonly'] = True
        plan['warnings'].append(
            '%s is read-only here; the kernel limit was left at %s as listener_backlog_readonly_sysctl=skip asks, '
            'and the services are configured with it.' % (tuning['writable_probe'], facts['listener_backlog']))
        return plan

    path = state['file']
    plan.update(tune=True, file=path)
    for key, value in wanted:
        line = '%s = %d' % (key, value)
        live = _integer(state.get('live', {}).get(key))
        plan['sysctls'].append({
            'key': key, 'value': value, 'line': line,
            # listener_backlog_apply keeps a file whose last line for the key is this one (lineinfile's rule).
            'write_file': state.get('file_lines', {}).get(key) != line,
            'set_live': live != value,
        })
    plan['warnings'].extend(boot_warnings(state, [key for key, dummy in wanted], tuning))
    if somaxconn is not None:
        # The limit the services are planned with: what the kernel grants once it is set, in the
        # one plan of the run (check mode or not); the role reads it back after setting it.
        plan['limit'] = limit_after(system, state.get('release'), _integer(somaxconn), info.get('minimum'))
    return plan


def reads_namespaces(variables):
    """Other network namespaces are read when the role sets the limit and is not told to ignore them.

    The one rule for both the read (what the fact module is asked for) and low_namespaces.
    """
    return variables.get('namespaces', 'warn') != 'ignore' and variables.get('somaxconn') is not None


def low_namespaces(variables, facts, tuning):
    """The network namespaces below the limit set, each with how its runtime sets it (namespace_fixes).

    Only where the run tunes and is not told to ignore them; the fact module read them
    (``namespaces_below``) in the run's one read.
    """
    if not tuning['tune'] or not reads_namespaces(variables):
        # Tuning net.ipv4.tcp_max_syn_backlog alone sets no limit for a namespace to be below.
        return []
    return namespace_fixes(facts.get('listener_backlog_namespaces') or [], _integer(variables.get('somaxconn')))


def work(variables, tuning, namespaces, services):
    """Which parts of the role have anything to do on this host: a run where none has runs nothing more.

    ``tuning``: plan_tuning's answer; ``namespaces``: low_namespaces'; ``services``: services_work's.
    """
    parts = {
        'local_fact': variables.get('local_fact') in ('present', 'absent'),
        'tune': any(entry['write_file'] or entry['set_live'] for entry in tuning['sysctls']),
        'namespaces': bool(namespaces),
        'services': services,
    }
    parts['any'] = any(parts.values())
    return parts


def services_work(variables, facts, catalogue, planned):
    """Whether the services part has anything to do, from the services' plan (plan_services).

    Templates are always rendered (what they give is only known by rendering them). Otherwise
    nothing to edit, restart, start or reload, and none waiting for a restart, is nothing to do,
    so a converged run takes no lock and runs nothing more on the host. The plan is made with the
    limit after tuning: where tuning changes it, the listeners read have the old backlog and are
    restarted.
    """
    if variables.get('templates'):
        return True
    if not planned:
        return False
    if any(entry['edit_needed'] for entry in planned):
        return True
    listeners = facts.get('listener_backlog_listeners', []) + facts.get('listener_backlog_unix_listeners', [])
    actions = plan_actions(planned, [], [], listeners, catalogue, platform_keys(facts),
                           restart=boolean(variables.get('restart', True), strict=False))
    return bool(actions['apply'] or actions['pending'])


def check_templates(variables, search_paths):
    """Check that each template's source can be found where the role's template task looks."""
    for index, template in enumerate(variables.get('templates') or []):
        if not any(os.path.isfile(os.path.join(directory, template['src'])) for directory in search_paths) and \
                not os.path.isfile(template['src']):
            raise PlanError('listener_backlog_templates[%d].src: %s was not found (looked in %s).'
                            % (index, template['src'], ', '.join(search_paths)))


def boot_warnings(state, keys, tuning):
    """The files read after ours at boot that set the same keys, each named with its fix.

    systemd-sysctl and `sysctl --system` apply the files of all the sysctl.d directories in the
    order of their names, and procps applies /etc/sysctl.conf after them: a later file wins.
    """
    path = state['file']
    warnings = []
    for entry in state.get('boot_files', []):
        if not set(entry['keys']) & set(keys) or entry['path'] == path:
            continue
        if os.path.basename(entry['path']) > os.path.basename(path) or entry['path'] == tuning.get('boot_last'):
            warnings.append(
                '%s also sets %s and is read after %s at boot, so its value wins after a reboot; remove the setting '
                'there or set listener_backlog_sysctl_file to a name that sorts after %s.'
                % (entry['path'], ' or '.join(keys), path, os.path.basename(entry['path'])))
    return warnings


# A service name as init systems spell them (systemd's unit names, SysV and BSD rc scripts: letters,
# digits and : _ . @ -), not starting with a dash. The name reaches ansible.builtin.service, which
# builds its command as a string and splits it: a space, a quote or a leading dash would make it
# other arguments or an option (systemctl -H host).
SERVICE_NAME = re.compile(r'[A-Za-z0-9_@][A-Za-z0-9:_.@-]*\Z')


def check_service_names(variables):
    """Refuse a service name that the service manager would read as something else (before any change)."""
    for key in ('services', 'templates'):
        for index, entry in enumerate(variables.get(key) or []):
            name = entry.get('service') if isinstance(entry, dict) else None
            if name is not None and (not isinstance(name, str) or not SERVICE_NAME.match(name)):
                raise PlanError(
                    'listener_backlog_%s[%d].service is %s; accepted: a service name of letters, digits and : _ . @ -, '
                    'not starting with -; it is passed to the service manager as one argument.'
                    % (key, index, _json(name)))


def check_services(variables, facts, catalogue):
    """Check each service's backlog and that a config file is known for it (before any change)."""
    family, keys = os_family(facts), platform_keys(facts)
    check_service_names(variables)
    for index, service in enumerate(variables.get('services') or []):
        # The argument spec's choices say this first; the role says it too where the spec check is
        # off (include_role's rolespec_validate: false).
        name = service.get('name') if isinstance(service, dict) else None
        if name not in catalogue:
            raise PlanError(
                'listener_backlog_services[%d].name is %s; accepted: %s.'
                % (index, _json(name), ', '.join(sorted(catalogue))))
        backlog = service.get('backlog')
        if backlog is not None:
            value = _integer(backlog)
            if value is None or value < 0:
                raise PlanError(
                    'listener_backlog_services[%d].backlog (%s) is %s; accepted: an integer of 0 or more (above the '
                    'kernel limit it is clamped to it), or leave it out for the kernel\'s limit.'
                    % (index, name, _json(backlog)))
        if service.get('config') is None and not catalogue[name]['config']:
            raise PlanError(
                'listener_backlog_services[%d].config (%s): %s comes with no config file of its own on any OS family '
                '(each deployment runs it with its own); set config to the file your service runs it with, and service '
                'to that service\'s name if it is not %s.' % (index, name, name, catalogue[name]['service']['default']))
        config, unsupported = catalogue_config(catalogue[name], keys)
        if service.get('config') is None and unsupported:
            raise PlanError(
                'listener_backlog_services[%d] (%s): the role cannot manage %s on %s: %s.'
                % (index, name, name, platform_name(facts), unsupported))
        if service.get('config') is None and config is None:
            raise PlanError(
                'listener_backlog_services[%d].config (%s): the catalogue knows no config file for OS family %s (it '
                'knows %s); set config to the file that holds the directive.'
                % (index, name, family, ', '.join(sorted(catalogue[name]['config']))))


# PID 1's names that ansible-core's service_mgr fact maps to another manager's name
# (ansible/module_utils/facts/system/service_mgr.py).
PID1_MANAGERS = {'procd': 'openwrt_init', 'runit-init': 'runit', 'svscan': 'svc', 'openrc-init': 'openrc'}


def service_manager(facts):
    """The manager ansible.builtin.service will use: the gathered service_mgr, else the decision
    ansible-core's fact makes on Linux, from what the fact module read (tuning.init)."""
    if facts.get('service_mgr'):
        return facts['service_mgr']
    init = (facts.get('listener_backlog_tuning') or {}).get('init')
    if not init:
        return None
    pid1 = init.get('pid1') or init.get('sbin_init')
    # ansible-core distrusts 'init' and shells (a container's PID 1) and looks further.
    if pid1 and pid1 != 'init' and not pid1.endswith('sh'):
        return PID1_MANAGERS.get(pid1, pid1)
    if init.get('systemctl') and init.get('systemd_booted'):
        return 'systemd'
    if init.get('upstart'):
        return 'upstart'
    if init.get('openrc'):
        return 'openrc'
    if init.get('systemctl') and init.get('sbin_init') == 'systemd':
        return 'systemd'
    if init.get('init_d'):
        return 'sysvinit'
    return 'service'


def check_service_manager(variables, facts):
    """Refuse, before any change, to manage services with a systemd that does not run them here.

    systemd starts a service in its own namespaces, not in the caller's: where the role runs in a
    network namespace of its own (ip netns exec, a pod) or in a root whose PID 1 is not systemd,
    a restart would fail ("Service is in unknown state") or restart another system's service.
    """
    names = [service.get('name') for service in variables.get('services') or []]
    names += [template.get('service') for template in variables.get('templates') or [] if template.get('service')]
    init = (facts.get('listener_backlog_tuning') or {}).get('init')
    if not names or not init or service_manager(facts) != 'systemd':
        return
    if facts.get('service_mgr'):
        source = 'the gathered service_mgr fact'
    elif init.get('systemd_booted'):
        source = "ansible-core's choice here: /run/systemd/system exists"
    else:
        source = "ansible-core's choice here: /sbin/init is systemd's"
    if not init.get('systemd_booted'):
        reason = ('systemd is not running here: PID 1 is %s and /run/systemd/system does not exist, so systemctl '
                  'cannot restart anything' % _json(init.get('pid1')))
    elif init.get('pid1') != 'systemd':
        reason = ("systemd is not the init of this host: PID 1 is %s; the systemd that /run/systemd leads to is "
                  "another system's and would restart its services, not these" % _json(init.get('pid1')))
    elif init.get('pid1_same_network') is False:
        reason = ('systemd (PID 1) is in another network namespace than this run: it would start the services '
                  'there, where this run neither tuned the limit nor reads the listeners')
    else:
        return
    raise PlanError(
        "listener_backlog_services: the service manager does not match this host. ansible.builtin.service would "
        "restart %s with systemd (%s), but %s. Nothing was changed. Run the role where the services' own init runs "
        "them (inside the container, or in a namespace whose PID 1 is its init), or leave listener_backlog_services "
        "empty to tune the limit alone." % (', '.join(names), source, reason))


def edit_patterns(edit):
    """The regular expressions an edit looks for: the lines the fact module returns of a config."""
    if edit['kind'] == 'line':
        return [edit['regexp']]
    return [each['regexp'] for each in edit['edits']]


def edits_of(entry):
    """A catalogue entry's edits per platform key: its one edit as ``default``, or its table of them.

    Most services write the same directive everywhere; memcached's options are a file of
    command-line lines on Debian and a shell variable elsewhere, so its edit differs per platform.
    """
    return {'default': entry['edit']} if 'kind' in entry['edit'] else entry['edit']


def wanted_files(variables, catalogue):
    """What the fact module reads of the services' configs before anything is known of the host.

    The OS family is not known yet (no setup runs), so every family's file of a service is
    asked for (a few stat calls); the one of the host's family is picked afterwards.
    """
    files = {}
    for service in variables.get('services') or []:
        entry = catalogue.get(service.get('name'))
        if entry is None:
            continue
        paths = [service['config']] if service.get('config') else sorted(set(entry['config'].values()))
        # Every platform's edit is asked for: the platform is not known yet either.
        wanted = [pattern for edit in edits_of(entry).values() for pattern in edit_patterns(edit)]
        for path in paths:
            patterns = files.setdefault(path, [])
            patterns.extend(pattern for pattern in wanted if pattern not in patterns)
    return [{'path': path, 'patterns': patterns} for path, patterns in sorted(files.items())]


def config_paths(variables, facts, catalogue):
    """The config file of each managed service, in the order of listener_backlog_services."""
    keys = platform_keys(facts)
    return [service.get('config') or catalogue_config(catalogue[service['name']], keys)[0]
            for service in variables.get('services') or []]


def config_files(variables, facts, catalogue):
    """Each managed service's config file as the fact module found it (``files``), checked to exist.

    A wildcard path (PHP-FPM's /etc/php/*/fpm/pool.d/www.conf) must match exactly one file: with
    none the service is not installed, with several the user says which (``config``).
    """
    read = facts.get('listener_backlog_files') or []
    found = dict((entry['path'], entry) for entry in read if not entry.get('pattern'))
    files = []
    for index, (service, path) in enumerate(zip(variables.get('services') or [],
                                                config_paths(variables, facts, catalogue))):
        entry = found.get(path)
        if WILDCARDS.search(path):
            matches = [each for each in read if each.get('pattern') == path and each.get('exists')]
            if len(matches) > 1:
                raise PlanError(
                    'listener_backlog_services[%d].config (%s): %d files match %s (%s); set config to the one to '
                    'manage.' % (index, service['name'], len(matches), path,
                                 ', '.join(each['path'] for each in matches)))
            entry = matches[0] if matches else next((each for each in read if each.get('pattern') == path), None)
        if entry is None:
            raise PlanError('listener_backlog_services[%d].config (%s): %s was not read; the facts must come from '
                            'listener_backlog_facts with the files the planner asked for' % (index, service['name'], path))
        if not entry.get('exists'):
            raise PlanError(
                'listener_backlog_services[%d].config (%s): %s does not exist; install the service first or set '
                'config to the file that holds its listeners.' % (index, service['name'], path))
        files.append(entry)
    return files


def read_guard(variables, facts, catalogue, tuning):
    """What the plan was made on, for listener_backlog_lock to read again once the run holds the host.

    The matching lines of each managed service's config (its edits are planned on them alone: a
    change elsewhere in the file is kept by lineinfile and replace), the sysctl file's lines for
    the keys tuned, and the kernel's values (the services' backlogs follow the live limit).
    """
    patterns = dict((each['path'], each['patterns']) for each in wanted_files(variables, catalogue))
    files = []
    for entry in config_files(variables, facts, catalogue):
        guard = {'path': entry['path'], 'patterns': patterns.get(entry.get('pattern') or entry['path'], []),
                 'exists': entry.get('exists'), 'lines': entry.get('lines')}
        if guard not in files:
            files.append(guard)
    unchanged = {'files': files}
    state = facts.get('listener_backlog_tuning') or {}
    if state.get('tunable'):
        unchanged['sysctls'] = state.get('live') or {}
        if tuning.get('tune'):
            unchanged['sysctl_file'] = {'path': state['file'], 'keys': sorted(state.get('live') or {}),
                                        'lines': state.get('file_lines') or {}}
    return unchanged


def edit_changes(edit, lines, backlog):
    """Whether an edit would change a file whose matching lines are ``lines`` (None: unknown, so it may).

    The edit is applied as listener_backlog_apply applies it (module_utils/_edits.py) to the only
    lines it can touch: every catalogue expression stays within one line.
    """
    if lines is None:
        return True
    text = ''.join(lines)
    return apply_edit(text, edit, backlog) != text


def expected_backlogs(variables, facts, catalogue):
    """What each managed service should have under the host's current limit, for backlog_mismatches (the audit)."""
    family = platform_keys(facts)  # the catalogue keys of the host, most specific first
    limit = facts['listener_backlog']
    info = facts['listener_backlog_info']
    expected = []
    for index, service in enumerate(variables.get('services') or []):
        entry = catalogue[service['name']]
        dummy, backlog = service_backlog(index, service, entry, limit, info)
        expected.append({'name': service['name'], 'process': _pick(entry['process'], family),
                         'unix': bool(entry.get('unix', False)), 'backlog': backlog})
    return expected


def service_backlog(index, service, entry, limit, info):
    """(what listener_backlog_services[index] asks for, what it gets): the kernel's grant under ``limit``
    (its platform's listen rule and minimum, ``info``: listener_backlog_info), and no more than the
    service itself takes (MariaDB: 65535). Asked for nothing, it asks for the limit."""
    explicit = service.get('backlog') is not None
    requested = _integer(service['backlog']) if explicit else int(limit)
    try:
        granted = effective_backlog(requested, int(limit), minimum=info.get('minimum'), system=info['system'])
    except ValueError as exc:
        raise PlanError('listener_backlog_services[%d].backlog (%s) is %s: %s'
                        % (index, service['name'], _json(service.get('backlog')), exc))
    return requested, min(granted, entry.get('max_backlog', INT_MAX))


def release_of(entry, path, index, name):
    """The release a config file's path names, for an entry whose names carry one (PHP-FPM), else None."""
    if 'version' not in entry:
        return None
    match = re.search(entry['version'], path)
    if not match:
        raise PlanError('listener_backlog_services[%d].config (%s): which release %s belongs to cannot be read from '
                        'its path (expected one that matches %s); set config to the pool under /etc/php/VERSION/, '
                        'or service as well as config.' % (index, name, path, entry['version']))
    return match.group(1)


def _release(text, version):
    return text.replace('{version}', version) if version is not None else text


def _stem(text, path):
    """``text`` with {stem} standing for the name of the file at ``path`` without its extension (uWSGI's logs)."""
    return text.replace('{stem}', os.path.splitext(os.path.basename(path))[0])


def config_of(stat):
    """The file an edit changes: where a link points, else the path."""
    return stat['lnk_source'] if stat.get('islnk') else stat['path']


def plan_services(variables, facts, catalogue, limit):
    """Each managed service's config, edit, validator, backlog and way of applying it.

    ``limit``: the kernel limit the services are planned with, the one the kernel grants after
    tuning (plan_tuning's ``limit``).  Each config file is as the read found it (``files``):
    tuning does not touch it.
    """
    family = platform_keys(facts)  # the catalogue keys of the host, most specific first
    plan, warnings = [], []
    stats = config_files(variables, facts, catalogue)
    for index, (service, stat) in enumerate(zip(variables.get('services') or [], stats)):
        name = service['name']
        entry = catalogue[name]
        config = config_of(stat)
        names = [_pick(entry[key], family) for key in ('service', 'validate', 'log')]
        edit = _pick(edits_of(entry), family)
        lines = stat.get('lines')
        if edit.get('needs') and lines is not None and not any(
                re.search(pattern, line) for pattern in edit_patterns(edit) for line in lines):
            raise PlanError(
                'listener_backlog_services[%d].config (%s): %s has no %s line to write the backlog into; add one, or set '
                'config to the file %s reads its options from.' % (index, name, config_of(stat), edit['needs'], name))
        version = release_of(entry, stat['path'], index, name) if any('{version}' in each for each in names) else None
        explicit = service.get('backlog') is not None
        requested, backlog = service_backlog(index, service, entry, limit, facts['listener_backlog_info'])
        plan.append({
            'name': name,
            'index': index,
            'explicit': explicit,
            'requested': requested,
            'backlog': backlog,
            # A symbolic link (Debian's sites-enabled) is edited where it points, so it stays a link.
            'config': config,
            'service': service.get('service') or _stem(_release(_pick(entry['service'], family), version), stat['path']),
            'process': _pick(entry['process'], family),
            # Whether its unix-domain listeners take the backlog too (php-fpm, MariaDB: yes).
            'unix': bool(entry.get('unix', False)),
            'validate': _release(_pick(entry['validate'], family), version),
            'apply': service.get('restart') or entry['apply'],
            'log': _stem(_release(_pick(entry['log'], family), version), stat['path']),
            # The daemon's own test of its whole configuration, run when it fails to reload or start.
            'check': _pick(entry.get('check', {'default': ''}), family),
            # How one with no listener is started: a restart where a start would do nothing (uWSGI's).
            'start': entry.get('start', 'start'),
            'edit': edit,
            # Whether the edit may change the file; a run with nothing to change runs no edit.
            'edit_needed': edit_changes(edit, stat.get('lines'), backlog),
        })
        if explicit and requested > backlog:
            warnings.append(
                'listener_backlog_services[%d].backlog (%s) is %d, above what %s can get: the kernel limit is %s%s, so '
                'it is configured with %d. Raise listener_backlog_somaxconn to give it more.'
                % (index, name, requested, name, limit,
                   (' and %s takes at most %d' % (name, entry['max_backlog'])) if 'max_backlog' in entry else '',
                   backlog))
    return {'services': plan, 'warnings': warnings}


# What a service needs, weakest first: a restart also takes a new config and starts a stopped one.
STATES = ('started', 'reloaded', 'restarted')


def plan_actions(services, changed_configs, changed_templates, listeners, catalogue, family, restart=True):
    """How each service takes its backlog, and what waits for a restart the run may not do.

    A changed config is applied the way the service needs (reload or restart); an unchanged
    config whose listener has the wrong backlog (the kernel limit changed) needs a restart,
    since a reload does not make the service listen again with an unchanged backlog; a service
    with no listener is started.  ``changed_templates``: the ``listener_backlog_templates``
    entries whose file changed.  With ``restart`` false nothing is restarted or started: those
    services are returned as ``pending``, with the reason, and a reload still happens.
    """
    wanted = []
    for entry in services:
        mine = listeners_of(entry, listeners)
        if entry['config'] in changed_configs:
            state = 'reloaded' if entry['apply'] == 'reload' else 'restarted'
            reason = '%s changed' % entry['config']
        elif not mine:
            state, reason = ('restarted' if entry.get('start') == 'restart' else 'started'), 'it has no listener'
        elif backlog_mismatches(mine, [entry]):
            state, reason = 'restarted', 'its listeners have the old backlog (%s)' % '; '.join(
                backlog_mismatches(mine, [entry]))
        else:
            continue
        wanted.append({'service': entry['service'], 'name': entry['name'], 'log': entry['log'], 'state': state,
                       'reason': reason, 'check': entry.get('check', '')})
    for template in changed_templates:
        entry = catalogue.get(template['service'], {})
        apply = template.get('restart') or entry.get('apply', 'restart')
        wanted.append({
            'service': _stem(_pick(entry['service'], family), template['dest']) if entry else template['service'],
            'name': template['service'],
            'log': _stem(_pick(entry['log'], family), template['dest']) if entry else '',
            'check': _pick(entry.get('check', {'default': ''}), family) if entry else '',
            'state': 'reloaded' if apply == 'reload' else 'restarted',
            'reason': '%s changed' % template['dest'],
        })
    merged = {}
    for action in wanted:
        known = merged.setdefault(action['service'], dict(action, names=[], reasons=[]))
        known['names'].append(action['name'])
        known['reasons'].append('%s: %s' % (action['name'], action['reason']))
        if STATES.index(action['state']) > STATES.index(known['state']):
            known['state'] = action['state']
    apply, pending = [], []
    for service in sorted(merged):
        action = merged[service]
        entry = {'service': service, 'names': action['names'], 'state': action['state'], 'log': action['log'],
                 'check': action['check'], 'reason': '; '.join(action['reasons'])}
        (apply if restart or action['state'] == 'reloaded' else pending).append(entry)
    return {'apply': apply, 'pending': pending}


def changed_by(edits, templates):
    """(the configs the edits changed, the listener_backlog_templates entries whose file changed).

    ``edits``: listener_backlog_apply's ``edits`` (each service's edit with ``config`` and
    ``changed``); ``templates``: the registered result of the template task. A task skipped as a
    whole has no results.
    """
    configs = []
    for entry in edits or []:
        if entry.get('changed') and entry['config'] not in configs:
            configs.append(entry['config'])
    changed = [result['item'] for result in (templates or {}).get('results') or []
               if result.get('changed') and result['item'].get('service')]
    return configs, changed
