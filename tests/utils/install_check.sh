#!/usr/bin/env bash
# Install the collection as a user would, with no access to Galaxy, and run its demos from
# the installed copy (make install-check):
#  1. ansible-galaxy collection build, from this checkout;
#  2. a clean environment: a new virtualenv holding only ansible-core, its own ANSIBLE_HOME, and
#     an empty collections path (the collection depends on no other: Galaxy is not reachable, and
#     nothing is fetched);
#  3. ansible-galaxy collection install --offline of the tarball into that path; then each other
#     way the README's "Installing" shows, offline, each into a fresh empty path: a
#     requirements.yml naming the tarball, a git URL, and the directory `ansible-galaxy collection
#     download` writes;
#  4. the demos by their collection names: netstack.backlog.demo on localhost, and
#     netstack.backlog.demo_tuning (the role) in a throwaway network namespace.
# Usage: install_check.sh PYTHON ANSIBLE_CORE_REQUIREMENT
set -euo pipefail
python=$1 core=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/build/install-check
rm -rf "$work"
mkdir -p "$work/dist" "$work/run"

"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$root"
tarball=$(ls "$work"/dist/netstack-backlog-*.tar.gz)
echo "built: ${tarball#"$root"/} ($(tar -tzf "$tarball" | wc -l) files, $(( $(stat -c %s "$tarball") / 1024 )) KB)"
# What users do not need: build output, virtualenvs, the repository's tooling and test suites.
# (The listing goes to a file: grep -q ending a pipe early would fail tar under pipefail.)
tar -tzf "$tarball" > "$work/contents.txt"
if grep -E '^(\.venv[^/]*|build|tests/(output|unit|integration|bench|utils)|\.ansible|\.pytest_cache)(/|$)|^(run|Makefile|\.gitignore|\.ansible-lint|tests/conftest\.py|tests/requirements[^/]*)$' "$work/contents.txt"; then
    echo "the tarball carries build, virtualenv, tooling or test-suite files (galaxy.yml build_ignore)" >&2
    exit 1
fi
for shipped in MANIFEST.json FILES.json README.md roles/listener_backlog/meta/argument_specs.yml \
        extensions/eda/rulebooks/netstack_backlog.yml tests/prometheus/netstack_backlog_test.yml; do
    grep -qx "$shipped" "$work/contents.txt" || { echo "the tarball lacks $shipped" >&2; exit 1; }
done

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$core"
mkdir -p "$work/collections"

export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_HOME=$work/home ANSIBLE_LOCALHOST_WARNING=false
unset ANSIBLE_CONFIG
cd "$work/run"  # away from the checkout: nothing is found next to a playbook
galaxy=$work/venv/bin/ansible-galaxy
version=$(sed -n 's/^version: *//p' "$root/galaxy.yml")
installed_version() {
    "$work/venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
        "$1/ansible_collections/netstack/backlog/MANIFEST.json"
}
fresh() {  # a new empty collections path
    rm -rf "$1" && mkdir -p "$1"
}

# 1. The tarball, offline, into an empty path: nothing else is needed.
"$galaxy" collection install --offline "$tarball" -p "$work/collections"
"$galaxy" collection list -p "$work/collections"
test "$(installed_version "$work/collections")" = "$version"

# 2. A requirements.yml naming the tarball, as the README shows it.
fresh "$work/from-requirements"
printf -- '---\ncollections:\n  - name: %s\n    type: file\n' "$tarball" > "$work/requirements.yml"
ANSIBLE_COLLECTIONS_PATH=$work/from-requirements \
    "$galaxy" collection install --offline -r "$work/requirements.yml" -p "$work/from-requirements"
test "$(installed_version "$work/from-requirements")" = "$version"

# 3. A git URL (a bare clone of this checkout's HEAD stands in for the server).
git clone -q --bare "$root" "$work/netstack.backlog.git"
fresh "$work/from-git"
ANSIBLE_COLLECTIONS_PATH=$work/from-git \
    "$galaxy" collection install --offline "git+file://$work/netstack.backlog.git,HEAD" -p "$work/from-git"
test "$(installed_version "$work/from-git")" = "$version"
test ! -e "$work/from-git/ansible_collections/netstack/backlog/tests/unit"  # build_ignore holds for git installs

# 4. The directory `ansible-galaxy collection download` writes on a machine that reaches Galaxy:
# the tarball and a requirements.yml naming it, installed into an empty path from inside it.
# download is given the tarball and a server on a closed local port, so nothing is looked up.
"$galaxy" collection download --no-deps --server http://127.0.0.1:9/ -p "$work/download" "$tarball" > /dev/null
grep -q "name: ${tarball##*/}" "$work/download/requirements.yml"
fresh "$work/from-download"
# The file names in it are relative to the current directory, not to the file (README).
if ANSIBLE_COLLECTIONS_PATH=$work/from-download "$galaxy" collection install --offline \
        -r "$work/download/requirements.yml" -p "$work/from-download" > "$work/download-elsewhere.log" 2>&1; then
    echo "the downloaded requirements.yml installed from outside its directory; the README says it does not" >&2
    exit 1
fi
grep -q "Could not find ${tarball##*/}" "$work/download-elsewhere.log" || { cat "$work/download-elsewhere.log" >&2; exit 1; }
(cd "$work/download" && ANSIBLE_COLLECTIONS_PATH=$work/from-download \
    "$galaxy" collection install --offline -r requirements.yml -p "$work/from-download")
test "$(installed_version "$work/from-download")" = "$version"
echo "installed offline from the tarball, a requirements.yml, a git URL and a downloaded directory: netstack.backlog $version"

"$work/venv/bin/ansible-playbook" -i localhost, -c local netstack.backlog.demo \
    -e ansible_python_interpreter="$work/venv/bin/python" -e demo_output_dir="$work/run/demo"
grep -q 'backlog=' "$work/run/demo/localhost-nginx-listen.conf"
# The namespace harness is the project's (it runs under the project's Python); the controller,
# ansible-core and the collection are the clean environment's.
"$root/.venv/bin/python" "$root/tests/utils/demo_tuning.py" "$work/venv/bin"
echo "installed from ${tarball#"$root"/} and ran netstack.backlog.demo and netstack.backlog.demo_tuning"
