# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for ansible-test's pip bootstrap script, for machines without its download host.

ansible-test bootstraps pip into each virtualenv it makes by running a cached
``~/.ansible/test/cache/get_pip_<version>.py`` as ``__main__`` with pip install
arguments (``pip==24.2 --no-setuptools --no-wheel``).  The host that serves the real
script is not reachable from the machines this project is tested on, so
tests/utils/sanity.sh seeds the cache with this file instead.  It installs pip from
the interpreter's own ``ensurepip`` wheel, then lets that pip install what was asked
(from the package index the machine's pip configuration names).

``ensurepip`` runs its pip with ``PIP_CONFIG_FILE=/dev/null``, which drops the
machine's pip configuration (its certificate bundle among it); running it in a child
process and giving the second step a copy of the environment saved first keeps that
configuration for the real install.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

# get-pip.py options that pip install does not know.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    saved_env = dict(os.environ)
    saved_env.pop('GET_PIP', None)
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'],
                          env=dict(saved_env))
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    if args:
        subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args, env=saved_env)


if __name__ == '__main__':
    main()
