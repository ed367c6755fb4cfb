# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The main of the local fact script (``/etc/ansible/facts.d/listener_backlog.fact``).

A source file of the role, not module_utils: no module imports it, and it runs outside
AnsibleModule (so it runs its programs with subprocess, having no ``run_command``).

``ansible.builtin.setup`` runs every executable ``*.fact`` in its ``fact_path`` and puts
what it prints under ``ansible_local``.  The role's ``listener_backlog_local_fact``
writes a script (``templates/listener_backlog.fact.j2``) that holds this file and
``plugins/module_utils/_backlog.py`` verbatim, loads both as modules under their own names
(``files/local_fact_loader.py``) and prints what local_fact_main() returns, so ``setup``
alone brings the limit and its info with no second module round trip per host, which is
what ``FACTS_MODULES`` costs.

Runs on target Pythons 2.7 and 3.6+, with no site-packages (the script runs with -S).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.netstack.backlog.plugins.module_utils._backlog import LimitGatherer

# Where the system tools live, as the module looks for them: setup may run this with a bare PATH.
LOCAL_FACT_DIRS = ('/sbin', '/usr/sbin', '/usr/bin', '/bin')


def local_read_file(path):
    with open(path) as handle:
        return handle.read()


def local_run_command(argv):
    """(rc, out, err) of a system program, in the C locale; rc 127 when it is not installed."""
    for directory in LOCAL_FACT_DIRS:
        program = os.path.join(directory, argv[0])
        if os.access(program, os.X_OK):
            break
    else:
        return 127, '', '%s: program not found' % argv[0]
    import subprocess  # here: the textfile collector loads this file and rarely runs a program
    environ = dict(os.environ, LC_ALL='C')
    try:
        process = subprocess.Popen([program] + list(argv[1:]), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=environ)
        out, err = process.communicate()
    except OSError as exc:
        return 127, '', '%s: %s' % (program, exc)
    return process.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def local_fact(system, release, read_file=local_read_file, run_command=local_run_command):
    """What the script prints: the module's two facts without the prefix, and its warnings.

    No listen() probe: a script that setup runs on every gather should not open sockets, so
    where procfs and sysctl both fail the answer is the platform default, with a warning.
    """
    gatherer = LimitGatherer(system, release, read_file, run_command)
    value, info = gatherer.gather()
    return {'listener_backlog': value, 'listener_backlog_info': info, 'warnings': gatherer.warnings}


def local_fact_main():
    """The fact of the host this runs on; the script's loader prints it as JSON for setup."""
    uname = os.uname()
    return local_fact(uname[0], uname[2])
