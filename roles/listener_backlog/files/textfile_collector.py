# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The main of the textfile collector (``netstack-backlog-textfile``), for node_exporter.

A source file of the role, as ``local_fact.py`` is: the role writes a script
(``templates/netstack_backlog_textfile.j2``) that holds this file and the collection's
``module_utils`` it needs verbatim, each checked against its SHA-256, and runs
``collector_main()``.  A systemd timer or a cron entry runs the script; each run gathers what
``listener_backlog_facts`` gathers with ``namespaces: true``, ``listeners: true`` and
``namespace_listeners: true`` (the same code, ``_gather.gather``, whose default reads each
namespace's listeners: the exporter has no controller to spare them) and replaces
``<directory>/netstack_backlog.prom`` in one step (``_prometheus.write_atomically``): node_exporter reads it at its next scrape.

- A run that gathered the facts writes them all; namespaces it could not read are counted
  (``netstack_backlog_namespaces_unreadable``) and each named on stderr.
- A run that could not gather them at all writes the run's own metrics only:
  ``netstack_backlog_collector_success 0``, the error count, and the last success carried over
  from the file it replaces.  Leaving the old file would show its limits and counters as if
  they were current, and an overflow counter frozen there hides every new overflow; an alert on
  the success metric or the last success says what happened instead.  The exit status is 1.
- Writing never leaves half a file: the old file stays whole when a run is killed, the disk is
  full or the directory is read-only (exit status 1, the path and the cause on stderr).
- Two runs at once (a slow run overlapping the next one the timer starts): the second waits for
  the first's lock on the directory's ``.netstack_backlog.lock``, which the kernel drops when its
  holder dies, then runs.  Each run's file is whole, and the later one wins.  A run killed
  between writing and renaming leaves its temporary file; the next run removes it.

Runs on target Pythons 2.7 and 3.6+, with no site-packages (the script runs with -E -S).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import os
import sys
import time

from ansible_collections.netstack.backlog.plugins.module_utils import _prometheus as prometheus
from ansible_collections.netstack.backlog.plugins.module_utils._gather import GatherError, gather
from ansible_collections.netstack.backlog.roles.listener_backlog.files.local_fact import local_run_command

USAGE = ('usage: netstack-backlog-textfile [--directory DIR] [--max-listeners N] [--validate]\n'
         '  --directory DIR      where node_exporter reads *.prom files (default %s)\n'
         '  --max-listeners N    at most N listeners exported, those at their limit first (default %d)\n'
         '  --validate           gather and render once, print the metrics, write nothing\n'
         % ('/var/lib/prometheus/node-exporter', prometheus.MAX_LISTENERS))
LOCK_NAME = '.netstack_backlog.lock'


class UsageError(Exception):
    pass


def parse_arguments(argv):
    """{'directory', 'max_listeners', 'validate'} from the command line, or UsageError naming what is wrong."""
    options = {'directory': '/var/lib/prometheus/node-exporter', 'max_listeners': prometheus.MAX_LISTENERS,
               'validate': False}
    arguments = list(argv)
    while arguments:
        argument = arguments.pop(0)
        if argument == '--validate':
            options['validate'] = True
        elif argument in ('--directory', '--max-listeners'):
            if not arguments:
                raise UsageError('%s needs a value' % argument)
            value = arguments.pop(0)
            if argument == '--directory':
                if not os.path.isabs(value):
                    raise UsageError('--directory must be an absolute path, got %r' % value)
                options['directory'] = value
            else:
                try:
                    options['max_listeners'] = int(value)
                except ValueError:
                    options['max_listeners'] = -1
                if options['max_listeners'] < 0:
                    raise UsageError('--max-listeners must be an integer of 0 or more, got %r' % value)
        else:
            raise UsageError('unknown argument %r' % argument)
    return options


def collect(max_listeners, system=None, release=None, run_command=local_run_command, clock=time.time):
    """(exposition text, messages for stderr, whether the facts were gathered); text is None when not."""
    if system is None:
        system, release = os.uname()[0], os.uname()[2]
    started = clock()
    messages = []
    try:
        facts, warnings = gather(system, release, run_command, listeners=True, namespaces=system == 'Linux',
                                 skip_unsupported=True)
    except GatherError as exc:
        return None, ['cannot gather the facts: %s' % exc], False
    messages.extend(warnings)
    namespaces = facts.get('listener_backlog_namespaces')
    if namespaces is None:
        # Off Linux (or no namespaces read): the host's own facts as its one namespace.
        # No network namespaces there: netns is empty, which Prometheus reads as no label.
        namespaces = [{'id': '', 'current': True, 'initial': True, 'name': None, 'container': None,
                       'listener_backlog': facts['listener_backlog'],
                       'listener_backlog_info': facts['listener_backlog_info'],
                       'listeners': facts.get('listener_backlog_listeners'), 'error': None}]
    errors = ['network namespace %s: %s' % (entry['id'], entry['error']) for entry in namespaces
              if entry.get('error')]
    messages.extend(errors)
    ended = clock()
    text = prometheus.exposition(namespaces, {'success': True, 'duration_seconds': ended - started,
                                              'errors': errors, 'last_success_timestamp_seconds': ended},
                                 max_listeners=max_listeners)
    return text, messages, True


def failure_text(messages, previous, duration):
    """The exposition of a run that gathered nothing: its own metrics, the last success carried over."""
    return prometheus.exposition([], {'success': False, 'duration_seconds': duration, 'errors': messages,
                                      'last_success_timestamp_seconds': prometheus.last_success_in(previous)})


def open_lock(path):
    """A descriptor to flock, or None where the directory takes no file (the write then says why).

    Read-only where the file exists (flock needs no write access, and a read-only mount refuses
    a write open even of an existing file); created otherwise.
    """
    for flags in (os.O_RDONLY, os.O_WRONLY | os.O_CREAT):
        try:
            return os.open(path, flags, 0o600)
        except (IOError, OSError):
            continue
    return None


def remove_leftovers(directory):
    """Remove the temporary files of runs killed before their rename (the caller holds the lock)."""
    prefix = '.%s.' % prometheus.FILE_NAME
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith('.tmp'):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def read_previous(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def collector_main(argv=None, stdout=None, stderr=None):
    """One run; the exit status (0: written, 1: not gathered or not written, 2: bad arguments)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        options = parse_arguments(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        stderr.write('netstack-backlog-textfile: %s\n%s' % (exc, USAGE))
        return 2
    if options['validate']:
        text, messages, gathered = collect(options['max_listeners'])
        for message in messages:
            stderr.write('netstack-backlog-textfile: %s\n' % message)
        if not gathered:
            return 1
        stdout.write(text)
        return 0
    directory = options['directory']
    lock = open_lock(os.path.join(directory, LOCK_NAME))
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
            remove_leftovers(directory)
        started = time.time()
        text, messages, gathered = collect(options['max_listeners'])
        for message in messages:
            stderr.write('netstack-backlog-textfile: %s\n' % message)
        path = os.path.join(directory, prometheus.FILE_NAME)
        if not gathered:
            text = failure_text(messages, read_previous(path), time.time() - started)
        try:
            prometheus.write_atomically(directory, prometheus.FILE_NAME, text)
        except prometheus.WriteError as exc:
            stderr.write('netstack-backlog-textfile: %s\n' % exc)
            return 1
        return 0 if gathered else 1
    finally:
        if lock is not None:
            os.close(lock)
