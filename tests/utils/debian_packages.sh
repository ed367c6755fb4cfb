#!/bin/sh
# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tests/utils/debian_packages.sh PACKAGE...: install those of the Debian packages that are
# missing, say which, and leave the machine's service policy as it was found.
#
# Debian's maintainer scripts start a daemon as soon as its package is installed; the demo and
# the tests run the daemons in namespaces of their own and never want them on the machine.  A
# policy-rc.d that forbids starting (invoke-rc.d's exit 101, "action forbidden by policy") is
# put in place for the install only, where the machine has none, and removed afterwards, even
# when the install fails: left behind, it would silently stop every later package install on
# that machine from starting its service.  A policy-rc.d the machine already had is never touched.
set -eu

missing=
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q ' installed$' \
        || missing="$missing $package"
done
[ -n "$missing" ] || exit 0

POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ] && [ ! -L "$POLICY" ]; then
    trap 'rm -f "$POLICY"' EXIT
    trap 'rm -f "$POLICY"; exit 130' INT TERM
    printf '#!/bin/sh\n# written by netstack.backlog for one apt-get install; removed after it\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
fi
echo "installing from Debian's packages (not started on this machine):$missing"
# apt-get update only when apt does not know a package yet.
for package in $missing; do
    apt-cache show "$package" >/dev/null 2>&1 || { apt-get update -q; break; }
done
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
