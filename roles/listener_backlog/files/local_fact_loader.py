# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The Python part of the local fact script (/etc/ansible/facts.d/listener_backlog.fact), and of
# the textfile collector the role installs (run_embedded below).
#
# templates/listener_backlog.fact.j2 copies this file verbatim into the script after its
# shell part, then appends EMBEDDED_MODULES, the collection's code the fact runs (each file
# verbatim as a string, with its SHA-256), and a call of run_local_fact().  This file loads
# each of them as a real module under its real name (so their ``from ansible_collections...``
# imports of each other are satisfied from sys.modules), in order, and prints what the last
# one's local_fact_main() returns as JSON, the way ansible.builtin.setup reads a fact script.
#
# No docstring, on purpose: in the script, the shell part (a string to Python) is the
# module docstring, and a second string before the __future__ import is a SyntaxError.
#
# It runs under -E -S (no PYTHON* variables, no site-packages, so no ansible either) on
# whatever Python the shell part found.  It must compile on old Pythons too (2.6, 3.0 to
# 3.5), so that it can say it does not support them: the shell part then tries the next.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import sys
import types

# json and traceback are imported where they are used: the textfile collector, which loads this
# file on every run, needs neither on its way, and they cost a tenth of its run.

# The exit status that makes the shell part try its next interpreter: this Python is not
# one the collection's code runs on (2.7 and 3.6 and later, as its modules).
UNSUPPORTED_PYTHON = 3

# The argument the role's template task validates the script with: errors then fail the
# task (exit status 1, the traceback on stderr) instead of becoming the fact.
VALIDATE = '--validate'


class EmbeddingError(Exception):
    """The code embedded in the script is not the file it was built from."""


def supported_python(version_info):
    return tuple(version_info[:2]) == (2, 7) or tuple(version_info[:2]) >= (3, 6)


def error_fact(message):
    """The fact when it cannot be read: the usual keys, null and empty, and the reason."""
    return {'failed': True, 'msg': message, 'listener_backlog': None, 'listener_backlog_info': {},
            'warnings': [message]}


def new_module(name, package=False):
    """An empty module registered as ``name`` in sys.modules, its parent packages made as needed."""
    parent_name, dummy, child = name.rpartition('.')
    parent = None
    if parent_name:
        parent = sys.modules.get(parent_name)
        if parent is None:
            parent = new_module(parent_name, package=True)
    module = types.ModuleType(name)
    if package:
        module.__path__ = []
        module.__package__ = name
    else:
        module.__package__ = parent_name or None
    sys.modules[name] = module
    if parent is not None:
        setattr(parent, child, module)
    return module


def load_embedded(modules):
    """Make each (name, sha256, source) of ``modules`` a module named ``name``, in order.

    The digest is of the file the template read (UTF-8): a source that came through the
    embedding changed in any way fails here, before any of it runs.
    """
    loaded = []
    for name, digest, source in modules:
        data = source if isinstance(source, bytes) else source.encode('utf-8')
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise EmbeddingError('the code of %s in this script is not the file it was built from '
                                 '(SHA-256 %s, expected %s): install it again with the listener_backlog role'
                                 % (name, actual, digest))
        module = new_module(name)
        try:
            # dont_inherit: the module's own __future__ imports apply, not this file's.
            code = compile(source, '<listener_backlog.fact: %s>' % name, 'exec', 0, True)
            exec(code, module.__dict__)  # pylint: disable=exec-used
        except BaseException:
            del sys.modules[name]  # as a failed import leaves nothing behind
            raise
        loaded.append(module)
    return loaded


def run_local_fact(modules, entry, argv, version_info=None, stdout=None, stderr=None):
    """Load ``modules``, print ``entry``'s local_fact_main() as JSON; return the exit status.

    Any error becomes the fact (error_fact()) with status 0, so that setup gets a dict that
    says what went wrong, instead of a string and a warning; unless ``argv`` has VALIDATE.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if not supported_python(sys.version_info if version_info is None else version_info):
        return UNSUPPORTED_PYTHON
    try:
        import json
        load_embedded(modules)
        text = json.dumps(sys.modules[entry].local_fact_main(), sort_keys=True)
    except Exception as exc:  # pylint: disable=broad-except
        if VALIDATE in argv:
            import traceback
            stderr.write(traceback.format_exc())
            return 1
        text = json.dumps(error_fact('%s: %s' % (type(exc).__name__, exc)), sort_keys=True)
    stdout.write(text + '\n')
    return 0


def run_embedded(modules, entry, function, argv, version_info=None, stderr=None):
    """Load ``modules`` and return ``entry``'s ``function(argv)``: the exit status of a program script.

    For the role's scripts that are programs rather than facts (the textfile collector): an
    error in loading is a traceback on stderr and status 1, which the role's validation and a
    systemd unit both show.
    """
    stderr = stderr or sys.stderr
    if not supported_python(sys.version_info if version_info is None else version_info):
        return UNSUPPORTED_PYTHON
    try:
        load_embedded(modules)
    except Exception:  # pylint: disable=broad-except
        import traceback
        stderr.write(traceback.format_exc())
        return 1
    return getattr(sys.modules[entry], function)(argv)
