#!/usr/bin/env bash
# Install the collection as a user would, with no access to Galaxy, and run its demos from
# the installed copy (make install-check):
#  1. ansible-galaxy collection build, from this checkout;
#  2. a clean environment: a new virtualenv holding only ansible-core, its own ANSIBLE_HOME, and
#     one collections path holding only ansible.posix, taken from the `ansible` package on PyPI
#     (Galaxy is not reachable, PyPI is: docs/contributing.md);
#  3. ansible-galaxy collection install --offline of the tarball into that path: the dependency
#     is satisfied by what is installed, nothing is fetched;
#  4. the demos by their collection names: netstack.backlog.demo on localhost, and
#     netstack.backlog.demo_tuning (the role) in a throwaway network namespace.
# Usage: install_check.sh PYTHON ANSIBLE_CORE_REQUIREMENT ANSIBLE_WHEEL
set -euo pipefail
python=$1 core=$2 wheel=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/build/install-check
rm -rf "$work"
mkdir -p "$work/dist" "$work/run"

"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$root"
tarball=$(ls "$work"/dist/netstack-backlog-*.tar.gz)
echo "built: ${tarball#"$root"/} ($(tar -tzf "$tarball" | wc -l) files)"
if tar -tzf "$tarball" | grep -E '^(\.venv|build|tests/output|\.ansible|\.pytest_cache)/'; then
    echo "the tarball carries build or virtualenv files" >&2
    exit 1
fi

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$core"
"$work/venv/bin/python" "$root/tests/utils/extract_collection.py" "$wheel" ansible.posix "$work/collections"

export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_HOME=$work/home ANSIBLE_LOCALHOST_WARNING=false
unset ANSIBLE_CONFIG
cd "$work/run"  # away from the checkout: nothing is found next to a playbook
"$work/venv/bin/ansible-galaxy" collection install --offline "$tarball" -p "$work/collections"
"$work/venv/bin/ansible-galaxy" collection list -p "$work/collections"
test -f "$work/collections/ansible_collections/netstack/backlog/MANIFEST.json"

"$work/venv/bin/ansible-playbook" -i localhost, -c local netstack.backlog.demo \
    -e ansible_python_interpreter="$work/venv/bin/python" -e demo_output_dir="$work/run/demo"
grep -q 'backlog=' "$work/run/demo/localhost-nginx-listen.conf"
# The namespace harness is the project's (it runs under the project's Python); the controller,
# ansible-core and the collection are the clean environment's.
"$root/.venv/bin/python" "$root/tests/utils/demo_tuning.py" "$work/venv/bin"
echo "installed from ${tarball#"$root"/} and ran netstack.backlog.demo and netstack.backlog.demo_tuning"
