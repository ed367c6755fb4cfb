# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A stand-in for AnsibleModule, for tests that run the fact module's main() without a host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ExitJson(Exception):
    """Raised by exit_json: args are (result, warnings)."""


class FailJson(Exception):
    """Raised by fail_json: args are (result,)."""


def fake_module_class(params, run_command, check_spec=None):
    """An AnsibleModule class whose module has ``params`` and runs programs with ``run_command(argv,
    environ_update)``; programs are found in /usr/bin; ``check_spec(argument_spec)`` may assert on the spec."""

    class FakeModule(object):
        def __init__(self, argument_spec, supports_check_mode):
            if check_spec:
                check_spec(argument_spec)
            # As AnsibleModule does: options not given take their defaults.
            self.params = dict((name, spec.get('default')) for name, spec in argument_spec.items())
            self.params.update(params)
            self.warnings = []

        def get_bin_path(self, name, opt_dirs=None):
            return '/usr/bin/' + name

        def run_command(self, argv, environ_update=None):
            return run_command(argv, environ_update)

        def warn(self, message):
            self.warnings.append(message)

        def exit_json(self, **result):
            raise ExitJson(result, self.warnings)

        def fail_json(self, **result):
            raise FailJson(result)

    return FakeModule
