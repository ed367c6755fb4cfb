# shellcheck shell=bash
# Sourced by the scripts that run ansible-test (sanity.sh, integration_targets.sh).
#
# collection_tree CHECKOUT WORKDIR: copy the files git knows of in CHECKOUT (tracked, plus new
# ones not ignored) to WORKDIR/ansible_collections/netstack/backlog, made a repository of its
# own (ansible-test reads from git which files belong to the collection, and wants the tree at
# .../ansible_collections/NAMESPACE/NAME); print its path.
collection_tree() {
    local checkout=$1 tree=$2/ansible_collections/netstack/backlog
    mkdir -p "$tree"
    (cd "$checkout" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$tree"
    git -C "$tree" init -q
    git -C "$tree" add -A
    git -C "$tree" -c user.name=ansible-test -c user.email=ansible-test@localhost commit -qm snapshot
    echo "$tree"
}
