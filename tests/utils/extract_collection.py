# -*- coding: utf-8 -*-
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install one collection from the ``ansible`` package's wheel, without Galaxy.

Galaxy is not reachable from the machines this project is tested on, but PyPI is, and
the ``ansible`` package carries the community collections (docs/contributing.md).  This takes
``ansible_collections/<namespace>/<name>/`` out of a downloaded wheel into a
collections root, the way ``ansible-galaxy collection install`` would lay it out.

Usage: extract_collection.py WHEEL NAMESPACE.NAME COLLECTIONS_ROOT
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile


def main(wheel, fqcn, root):
    namespace, name = fqcn.split('.')
    prefix = 'ansible_collections/%s/%s/' % (namespace, name)
    target = os.path.join(root, 'ansible_collections', namespace, name)
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        members = [member for member in archive.namelist() if member.startswith(prefix)]
        if not members:
            sys.exit('%s holds no %s' % (wheel, fqcn))
        for member in members:
            archive.extract(member, root)
    with open(os.path.join(target, 'MANIFEST.json')) as handle:
        version = json.load(handle)['collection_info']['version']
    print('%s %s installed in %s' % (fqcn, version, root))


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
