# Entry points: `make demo`, `make test`. Each sets itself up (virtualenvs from PyPI).
SHELL := /bin/bash
PYENV_VERSIONS ?= $(or $(PYENV_ROOT),/root/.pyenv)/versions
PYTHON ?= $(or $(lastword $(wildcard $(PYENV_VERSIONS)/3.11.*/bin/python3.11)),python3)
PYTHON_216 ?= $(PYTHON)
# ansible-rulebook runs its playbooks with the ansible-core beside it: the newest controller of
# the matrix (tests/utils/matrix.py), which needs Python 3.12 or later.
PYTHON_EDA ?= $(lastword $(wildcard $(PYENV_VERSIONS)/3.13.*/bin/python3.13))
VENV := .venv
VENV_216 := .venv-2.16
VENV_TOOLS := .venv-tools
VENV_EDA := .venv-eda
# The release tools call ansible-doc and ansible-galaxy by name: their own, from their venv.
WITH_TOOLS := PATH=$(CURDIR)/$(VENV_TOOLS)/bin:$$PATH
COLLECTIONS := build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/netstack/backlog
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export ANSIBLE_HOME := $(CURDIR)/build/ansible-home
export NETSTACK_BACKLOG_ANSIBLE_BIN := $(CURDIR)/$(VENV)/bin
export NETSTACK_BACKLOG_ANSIBLE_216_BIN := $(CURDIR)/$(VENV_216)/bin
export NETSTACK_BACKLOG_DEPENDENCIES := $(CURDIR)/$(COLLECTIONS)

.PHONY: demo demo-packages try packages rootfs test units integration sanity lint docs install-check matrix matrix-readme venv collection deps clean bench prometheus-tools eda generated-docs targets

# ansible.posix, for the benchmarks' playbooks written by hand (the collection depends on no other;
# ansible-lint and the docs site resolve those playbooks' and the docs' references with it),
# from the `ansible` package on PyPI (Galaxy is not reachable on the machines this is tested on;
# docs/contributing.md).  The pinned release carries ansible.posix 2.1.0.
ANSIBLE_PACKAGE := ansible==12.3.0
POSIX := $(COLLECTIONS)/ansible_collections/ansible/posix/MANIFEST.json

# The demo needs one controller (no .venv-2.16) and two daemons (Redis, nginx), not the suite's.
demo: $(VENV)/.installed collection demo-packages
	$(VENV)/bin/ansible-playbook -i localhost, -c local playbooks/demo.yml \
	  -e ansible_python_interpreter=$(CURDIR)/$(VENV)/bin/python -e demo_output_dir=$(CURDIR)/build/demo
	$(VENV)/bin/python tests/utils/demo_tuning.py

# The role on this machine's own config of a service, in a throwaway sandbox (tests/utils/try_role.py):
#   make try SERVICE=redis [CONFIG=/etc/redis/redis.conf] [SOMAXCONN=4096]
try: $(VENV)/.installed collection
	$(VENV)/bin/python tests/utils/try_role.py

# The real daemons the tests run, from Debian's packages; the demo's two.  Their maintainer
# scripts would start them on the machine itself: tests/utils/debian_packages.sh forbids that
# for the install only and restores the machine's policy after it (the demo and the tests start
# them in their own namespaces).
DEBIAN_PACKAGES := iproute2 util-linux procps cron openssh-server redis-server nginx haproxy memcached apache2 php-fpm mariadb-server uwsgi uwsgi-plugin-python3 gunicorn
DEMO_PACKAGES := iproute2 util-linux procps redis-server nginx
packages:
	@tests/utils/debian_packages.sh $(DEBIAN_PACKAGES)

demo-packages:
	@tests/utils/debian_packages.sh $(DEMO_PACKAGES)

# Lint, the docs site and the install from a tarball first (quick to fail), then the
# compatibility matrix (sanity, unit tests and a real-kernel subset on every supported
# ansible-core, the end-to-end suite under the oldest and the newest), then one pytest run
# (unit + real-kernel integration, the main controller) whose summary closes the output.
# That run leaves out the end-to-end suite the matrix has just run twice: a third run under
# a controller between the two proved little and cost a quarter of the whole (`make
# integration` still runs everything with the main controller).
test: lint docs install-check targets rootfs prometheus-tools eda matrix packages
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/unit tests/integration \
	  $$($(VENV)/bin/python tests/utils/matrix.py --edge-suite-ignores)

# The modules as Galaxy and Automation Hub users test them: the ansible-test integration
# targets (tests/integration/targets), on this machine, under the oldest and the main controller.
targets: venv collection
	tests/utils/integration_targets.sh $(CURDIR)/$(VENV)/bin/ansible-test
	tests/utils/integration_targets.sh $(CURDIR)/$(VENV_216)/bin/ansible-test

units: venv collection
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/unit

integration: venv collection packages rootfs prometheus-tools eda
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/integration

# Debian 13 hosts run from a root filesystem debootstrap builds from the mirror apt uses; it is
# built once and cached outside the tree (tests/integration/rootfs.py), so a second run and a
# later CI run on the same machine reuse it.
rootfs: venv
	@dpkg -s debootstrap >/dev/null 2>&1 || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; }
	$(VENV)/bin/python tests/integration/rootfs.py

# ansible-test 2.19 checks every test on Pythons 3.8+; ansible-test 2.16 still knows the
# target Pythons 2.7, 3.6 and 3.7 this collection's modules run on, so it compiles and
# imports the module code there too.
sanity: venv collection
	tests/utils/sanity.sh $(CURDIR)/$(VENV)/bin/ansible-test
	tests/utils/sanity.sh $(CURDIR)/$(VENV_216)/bin/ansible-test --test compile --test import

# The release tools: changelog fragments, plugin and role docs, ansible-lint's production
# profile.  ansible-lint writes its cache to HOME and .ansible/: both kept out of the way.
lint: collection deps $(VENV_TOOLS)/.installed
	$(VENV_TOOLS)/bin/antsibull-changelog lint
	$(VENV_TOOLS)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	$(WITH_TOOLS) $(VENV_TOOLS)/bin/antsibull-docs lint-collection-docs --plugin-docs \
	  --check-extra-docs-refs $(COLLECTION_LINK)
	HOME=$(CURDIR)/build/lint-home $(WITH_TOOLS) $(VENV_TOOLS)/bin/ansible-lint --nocolor

# The docs site: antsibull-docs renders every plugin, the role and the guides in
# docs/docsite/ (extra-docs.yml) into a Sphinx site, build/docsite/build/html/index.html.
# The build is offline: no intersphinx inventories, and links into docs.ansible.com (labels
# the Ansible docsite defines, ansible.builtin's modules) stay text instead of failing the
# build; links inside this collection's docs are checked by `make lint`
# (lint-collection-docs --check-extra-docs-refs).  Sphinx runs with -W: any other warning fails.
DOCSITE := build/docsite
docs: collection deps $(VENV_TOOLS)/.installed
	rm -rf $(DOCSITE) && mkdir -m 755 -p $(DOCSITE)
	$(WITH_TOOLS) $(VENV_TOOLS)/bin/antsibull-docs sphinx-init --use-current \
	  --squash-hierarchy --fail-on-error --dest-dir $(DOCSITE) --project netstack.backlog \
	  --title 'netstack.backlog' --copyright 'netstack.backlog contributors' netstack.backlog
	printf '\n# make docs: offline build\nintersphinx_mapping = {}\nsuppress_warnings = ["ref.ref"]\n' >> $(DOCSITE)/conf.py
	$(WITH_TOOLS) $(DOCSITE)/build.sh
	@echo "docs: $(DOCSITE)/build/html/index.html"

# The docs' generated parts (the platform summary, the accepted ranges) from the data in
# plugins/module_utils/_platforms.py; tests/unit/test_docs_generated.py fails when they are stale.
generated-docs: venv
	$(VENV)/bin/python tests/utils/generate_docs.py

# Every supported ansible-core (tests/utils/matrix.py): sanity, unit tests, the real-kernel
# subset; fails if the README's support table claims what the run did not prove.
# matrix-readme writes the table the run proved into the README.
matrix: venv collection packages
	$(VENV)/bin/python tests/utils/matrix.py

matrix-readme: venv collection packages
	$(VENV)/bin/python tests/utils/matrix.py --write-readme

# Build the tarball, install it offline into a clean environment, run the demos from there.
install-check: venv packages
	tests/utils/install_check.sh $(PYTHON) $$(grep '^ansible-core==' tests/requirements.txt)

venv: $(VENV)/.installed $(VENV_216)/.installed

$(VENV_TOOLS)/.installed: tests/requirements-tools.txt
	$(PYTHON) -m venv $(VENV_TOOLS)
	$(VENV_TOOLS)/bin/pip install --quiet -r tests/requirements-tools.txt
	touch $@

# Event-Driven Ansible (tests/integration/test_eda_rulebook.py): ansible-rulebook from PyPI in a
# virtualenv of its own, and the Java 17 its rule engine runs on, from Debian's packages where
# the machine has none.
eda: $(VENV_EDA)/.installed

$(VENV_EDA)/.installed: tests/requirements-eda.txt
	@command -v java >/dev/null 2>&1 || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless; }
	@[ -n "$(PYTHON_EDA)" ] || { echo 'make eda: Python 3.13 not found under $(PYENV_VERSIONS) (pyenv install 3.13, or PYTHON_EDA=/path/to/python3.13)' >&2; exit 1; }
	rm -rf $(VENV_EDA)
	$(PYTHON_EDA) -m venv $(VENV_EDA)
	$(VENV_EDA)/bin/pip install --quiet -r tests/requirements-eda.txt
	touch $@

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r tests/requirements.txt
	touch $@

$(VENV_216)/.installed: tests/requirements-2.16.txt
	$(PYTHON_216) -m venv $(VENV_216)
	$(VENV_216)/bin/pip install --quiet -r tests/requirements-2.16.txt
	touch $@

# ansible-core finds collections under .../ansible_collections/<namespace>/<name>.
collection: $(COLLECTION_LINK)

deps: $(POSIX)

$(POSIX): | $(VENV)/.installed
	$(VENV)/bin/pip download --quiet --no-deps --dest build/wheels $(ANSIBLE_PACKAGE)
	$(VENV)/bin/python tests/utils/extract_collection.py build/wheels/$(subst ==,-,$(ANSIBLE_PACKAGE))-py3-none-any.whl ansible.posix $(COLLECTIONS)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

clean:
	rm -rf $(VENV) $(VENV_216) $(VENV_TOOLS) $(VENV_EDA) build .ansible

# Benchmarks (not part of `make test`): medians of alternating runs, as ratios.
# Writes docs/benchmarks.md and docs/benchmarks.png.
bench: venv collection deps packages prometheus-tools
	$(VENV)/bin/pip install --quiet -r tests/requirements-bench.txt
	$(VENV)/bin/python tests/bench/report.py

# The Prometheus stack from Debian 12's packages, unpacked into build/prometheus, never
# installed (their maintainer scripts would start the daemons on the machine): promtool for the
# alert rules' unit tests and the exposition's lint (tests/integration/test_prometheus_rules.py),
# and prometheus, prometheus-node-exporter and prometheus-alertmanager, which
# tests/integration/test_monitoring_stack.py runs inside a simulated host.  apt-get update runs
# only when apt does not know a package yet.
PROMETHEUS_PACKAGES := prometheus prometheus-node-exporter prometheus-alertmanager
PROMTOOL := build/prometheus/usr/bin/promtool
prometheus-tools:
	@mkdir -p build/prometheus; cd build/prometheus && for package in $(PROMETHEUS_PACKAGES); do 	  [ -x usr/bin/$$package ] && continue; 	  { apt-cache show $$package >/dev/null 2>&1 || apt-get update -q; } && 	  rm -f $${package}_*.deb && apt-get download -q $$package && 	  dpkg -x $${package}_*.deb . && rm -f $${package}_*.deb || exit 1; 	done
	@$(PROMTOOL) --version | head -1
