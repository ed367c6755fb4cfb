#!/usr/bin/env bash
# Run the collection's ansible-test integration targets (tests/integration/targets), what Galaxy
# and Automation Hub users run, on this machine: --local, as root (namespace_somaxconn makes and
# removes a network namespace of its own), offline (nothing to install).
# Usage: tests/utils/integration_targets.sh /path/to/ansible-test [targets and ansible-test options]
#
# The pytest suites beside them (tests/integration/test_*.py) prove the role against real
# services and kernels; these targets prove each module as a user calls it.
set -euo pipefail
. "$(dirname "$0")/collection_tree.sh"

ansible_test=${1:?usage: $0 /path/to/ansible-test [targets and options]}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/netstack-integration.XXXXXX)
trap 'rm -rf "$work"' EXIT

tree=$(collection_tree "$here" "$work")
cd "$tree"
"$ansible_test" integration --local --color no --allow-root --allow-destructive "$@"
