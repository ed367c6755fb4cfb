# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The service catalogue: what the role, its planner and the audit know of each server.

Each service is a file of its own, catalogue/services/NAME.yml, and this module is their loader:
adding a service is adding its file (docs/contributing.md says how it is proven); the role's
argument spec, its README's catalogue table and the README's platform table are generated from
the files (tests/utils/generate_docs.py).  Per file:
  Every per-platform table (service, process, config, validate, log, unsupported) is keyed by
    OS family (ansible_facts.os_family: Debian, RedHat, Suse, Archlinux, Alpine, FreeBSD), by
    family or distribution with a version where a release differs ('RedHat 8': every RHEL 8
    rebuild; 'Ubuntu 20': Ubuntu 20.04; 'Amazon': Amazon Linux), and ``default``; the planner
    takes the most specific key the host has (_plan.platform_keys: distribution then family,
    each with its version and then alone), the order of kernel_settings' first_found lookup of
    its vars files.  What each value is per release, with its source: ``releases`` below;
  service / process: the init service name and the process name holding the listeners (a
    regular expression matched at the start of listener_backlog_listeners[].process);
  config: the file holding the directive (no default: a platform with none needs the user's
    ``config``); a wildcard path stands for the one file installed that it matches; empty where
    no package installs one anywhere (gunicorn: each deployment brings its own);
  unsupported: why the service cannot be managed on a platform (its options are not in a file
    of its own, the package installs no config, or there is no such package); looked up with
    config, so 'RedHat 10' there wins over 'RedHat' in config;
  version: where a name carries a release (PHP-FPM), a regular expression whose group reads it
    from the config file's path; {version} in service, validate and log stands for it;
  edit: how the backlog is written.  kind line: one line (ansible.builtin.lineinfile: regexp,
    line, insertafter); kind replace: regular expression edits applied in order
    (ansible.builtin.replace).  {backlog} stands for the number;
  validate: the service's own check of a candidate file (%s), run before it replaces the old
    one; %% is a literal %;
  apply: what makes a changed backlog reach an already-open listener, reload or restart (found
    by testing the real daemon: tests/integration/test_role_services.py);
  unix: whether the service's unix-domain listeners take the backlog too (default false: a
    unix socket may be an admin socket with its own backlog, as HAProxy's stats socket);
  max_backlog: the most the service itself takes, where it caps the backlog below the kernel;
  start: how a service with no listener is started, ``restart`` where its init script's status
    cannot tell a stopped one (uWSGI's), so that a start would do nothing; default a start;
  log: where the service writes why it failed to start, when its init script does not say;
    {stem} stands for the config file's name without its extension (a log per uWSGI app).
  readme: the role README's catalogue table row: config, written (the directive as written),
    validated, established (how the apply rule was found);
  releases: per release of catalogue/releases.yml (by its key), what the package installs there,
    in one of four shapes (test_releases.py resolves each through the planner):
    values: package, config (the file holding the directive as the package installs it),
      directive, service (the init/systemd name), process (the listener's process name),
      validate (the program that checks a candidate file), log (the error log the package sets
      up; null where it logs to the journal or syslog only), evidence, sources; evidence: run
      (run for real here), verified (read in a source of this release), derived (read in a
      source of the same packaging for a sibling release or distribution, named in sources) or
      unverified; unverified: the fields no source showed;
    user_config: the package installs no application, so the deployment's own file is edited
      (why; facts: package, service, process, validate as the package has them; evidence);
    unsupported: why the role cannot manage it there (with what the package does instead);
    unknown: no source found for the release; where the catalogue has its family's values,
      they apply untested (no key of the release's own is added on a guess).
  Every source named is in catalogue/releases.yml's ``sources``.
"""

from __future__ import annotations

import os

from collections.abc import Mapping

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML without libyaml
    from yaml import SafeLoader as _Loader

DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'catalogue')
SERVICES = os.path.join(DIRECTORY, 'services')
RELEASES = os.path.join(DIRECTORY, 'releases.yml')

# What the planner reads of a service's file; required ones first.
REQUIRED = ('service', 'process', 'config', 'edit', 'validate', 'apply', 'log')
OPTIONAL = ('unsupported', 'version', 'check', 'unix', 'max_backlog', 'start')
# What documents and proves it, read by the docs' generator and the tests, not by the planner.
RECORDS = ('readme', 'releases')


class CatalogueError(Exception):
    """A service's file the loader cannot take: named with the file and what is wrong."""


def load_yaml(path):
    with open(path, 'rb') as handle:
        return yaml.load(handle, Loader=_Loader)  # a safe loader (libyaml's where PyYAML has it)


def read_service(path):
    """The whole of one service's file, its fields checked (an unknown one is a typo: it fails here)."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise CatalogueError('%s: a service file is a mapping of fields, not %s' % (path, type(data).__name__))
    unknown = sorted(set(data) - set(REQUIRED + OPTIONAL + RECORDS))
    missing = [field for field in REQUIRED + RECORDS if field not in data]
    if unknown or missing:
        raise CatalogueError('%s: %s' % (path, '; '.join(
            (['unknown fields: %s (accepted: %s)' % (', '.join(unknown), ', '.join(REQUIRED + OPTIONAL + RECORDS))]
             if unknown else []) + (['missing fields: %s' % ', '.join(missing)] if missing else []))))
    return data


class Catalogue(Mapping):
    """The services by name, each file read the first time the planner asks for that service.

    A run that manages no service reads no file; one that manages nginx reads nginx.yml alone.
    """

    def __init__(self, directory):
        self.directory = directory
        self._names = None
        self._entries = {}

    def names(self):
        if self._names is None:
            self._names = sorted(name[:-len('.yml')] for name in os.listdir(self.directory) if name.endswith('.yml'))
        return self._names

    def path(self, name):
        return os.path.join(self.directory, name + '.yml')

    def record(self, name):
        """The whole file of ``name``: its catalogue fields, ``readme`` and ``releases``."""
        if name not in self.names():
            raise KeyError(name)
        return read_service(self.path(name))

    def __getitem__(self, name):
        if name not in self._entries:
            record = self.record(name)
            self._entries[name] = dict((field, value) for field, value in record.items() if field not in RECORDS)
        return self._entries[name]

    def __contains__(self, name):
        return isinstance(name, str) and name in self.names()

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self.names())


CATALOGUE = Catalogue(SERVICES)


def releases():
    """catalogue/releases.yml: ``releases`` (the platforms users run) and ``sources`` (every source named)."""
    return load_yaml(RELEASES)
