# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's main() under the real AnsibleModule, from ansible-core 2.16 to 2.21.

The module's arguments reach AnsibleModule the way the controller sends them (JSON
under ANSIBLE_MODULE_ARGS), so its argument spec is checked: a wrong type, an
unknown option or a missing required one ends in fail_json as on a host.  Only
exit_json and fail_json are patched, to raise ExitJson / FailJson instead of
printing and exiting; tests that feed recorded outputs also answer run_command
and get_bin_path, which would otherwise run programs of this machine.

Setting the arguments follows ansible-core itself: 2.19 and later have
ansible.module_utils.testing.patch_module_args (which also sets the serialization
profile those versions require); before that, basic._ANSIBLE_ARGS holds the JSON
AnsibleModule reads (the pattern of community.general's
tests/unit/plugins/modules/utils.py set_module_args).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18 and older
    patch_module_args = None


class ExitJson(Exception):
    """Raised by exit_json: args are (result, warnings)."""


class FailJson(Exception):
    """Raised by fail_json: args are (result,), result holding msg and failed=True."""


@contextlib.contextmanager
def module_args(args):
    """AnsibleModule instances made inside read ``args`` as their arguments."""
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = saved


def run_module(monkeypatch, main, args, run_command=None, bin_dir=None):
    """Call ``main()`` with ``args``; return the ExitJson or FailJson it ended with.

    ``run_command(argv, environ_update)``, if given, answers AnsibleModule.run_command;
    ``bin_dir``, if given, is where get_bin_path finds every program.  ExitJson's args
    are (result, warnings): the warnings are the messages passed to module.warn().
    """
    warned = []
    real_warn = basic.AnsibleModule.warn

    def warn(self, warning, *rest, **kwargs):
        warned.append(warning)
        real_warn(self, warning, *rest, **kwargs)

    def exit_json(self, **result):
        raise ExitJson(result, list(warned))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise FailJson(result)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', warn)
    # What the real warn() records for the (patched away) exit_json: start empty, leave nothing behind.
    monkeypatch.setattr(module_warnings, '_global_warnings', type(module_warnings._global_warnings)())
    if run_command is not None:
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda self, argv, environ_update=None, **kwargs: run_command(argv, environ_update))
    if bin_dir is not None:
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda self, name, required=False, opt_dirs=None: bin_dir + '/' + name)
    with module_args(args):
        try:
            main()
        except (ExitJson, FailJson) as outcome:
            return outcome
    raise AssertionError('main() returned without calling exit_json or fail_json')
