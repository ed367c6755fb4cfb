#!/usr/bin/env bash
# Run `ansible-test sanity` on this collection, offline-safe, with no ignore file.
# Usage: tests/utils/sanity.sh /path/to/ansible-test [extra ansible-test options]
#
# ansible-test wants the tree at .../ansible_collections/netstack/backlog and inside a
# version-control checkout (it reads which files belong to the collection from git), so
# the files git knows of (tracked, plus new ones not ignored) are copied to a throwaway
# tree that is made a repository of its own.  The pip bootstrap it would download is
# seeded with tests/utils/get_pip_offline.py (see there why).  Every Python from pyenv is
# put on PATH by its versioned name, so the multi-version tests (compile, import) run on
# each one instead of skipping it.
set -euo pipefail
. "$(dirname "$0")/collection_tree.sh"

ansible_test=${1:?usage: $0 /path/to/ansible-test [options]}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
pyenv_versions=${PYENV_ROOT:-/root/.pyenv}/versions

work=$(mktemp -d /tmp/netstack-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. The pip bootstrap, for every pip version this ansible-test may ask for.
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
ansible_test_pkg=$("$(dirname "$ansible_test")/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
for version in $(sed -n "s/^ *pip='\([0-9.]*\)',\{0,1\}$/\1/p" "$ansible_test_pkg/_internal/python_requirements.py"); do
    cp "$here/tests/utils/get_pip_offline.py" "$cache/get_pip_${version//./_}.py"
    seeded=1
done
[ -n "${seeded:-}" ] || { echo "sanity: no pip version found in $ansible_test_pkg/_internal/python_requirements.py" >&2; exit 1; }

# 2. Interpreters by versioned name (pyenv shims are not used: they can fail, docs/contributing.md).
mkdir -p "$work/bin"
for python in "$pyenv_versions"/*/bin/python[23].[0-9]*; do
    case $python in *-config|*m) continue ;; esac
    [ -x "$python" ] && ln -sf "$python" "$work/bin/$(basename "$python")"
done
export PATH=$work/bin:$PATH

# 3. The collection tree, as git sees it, in a repository of its own.
tree=$(collection_tree "$here" "$work")

if ls "$tree"/tests/sanity/ignore-*.txt >/dev/null 2>&1 && grep -qv '^\s*$' "$tree"/tests/sanity/ignore-*.txt; then
    echo "sanity: tests/sanity/ignore-*.txt has entries; this project allows none" >&2
    exit 1
fi

cd "$tree"
ps1_modules=$(git -C "$tree" ls-files 'plugins/modules/*.ps1')
# pslint needs pwsh, which no registry here has; validate-modules needs pwsh to read a
# .ps1's argument spec and stops with a traceback for every module when it is missing.
# So: pslint is skipped, and validate-modules runs on everything but the .ps1 files (their
# .py documentation is still validated); the .ps1 files are parse-checked and compared
# with their documentation by tests/unit/plugins/modules/test_win_listener_backlog_facts_ps1.py.
sanity=("$ansible_test" sanity --local --requirements --color no --skip-test pslint)
if [ $# -gt 0 ]; then
    "${sanity[@]}" "$@"
    exit
fi
echo "sanity: skipping pslint (needs pwsh, not installable here)"
"${sanity[@]}" --skip-test validate-modules
exclude=()
for ps1 in $ps1_modules; do
    echo "sanity: validate-modules without $ps1 (needs pwsh); its .py documentation is validated"
    exclude+=(--exclude "$ps1")
done
"${sanity[@]}" --test validate-modules "${exclude[@]}"
