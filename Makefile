# rbd-native: the two commands are `make demo` and `make test`.
# Both install what is missing (Debian's Ceph packages, the Python venv for
# Keystone and Glance) and bring the local test bed up first.

SHELL := /bin/bash
TOP := $(abspath .)
BED ?= $(TOP)/.testbed
VENV ?= $(TOP)/.venv
PYTHON ?= python3
export BED VENV

# Debian bookworm's Ceph (16.2.15), the bindings Glance's rbd store needs, and
# MariaDB for Glance's database.
CEPH_PACKAGES := ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd uuid-runtime curl \
	mariadb-server mariadb-client
# OpenStack services from PyPI, pinned to the releases the bed was built on;
# Cinder of the same release (2026.2) for its RBD driver, which the tests
# drive (tests/py/cinder_driver.py), and the Glance client the benchmark's
# reference of today's upload path uses (benches/py/).
PY_PACKAGES := keystone==30.0.0 glance==33.0.0 glance-store==5.7.0 gunicorn==27.0.1 \
	cinder==29.0.0 python-glanceclient==4.13.0 PyMySQL==1.1.1

# The Ceph object corpus, when the shared folder holds it.
CORPUS ?= $(abspath $(TOP)/../shared/ceph-object-corpus)
ifneq ($(wildcard $(CORPUS)/archive),)
export CEPH_OBJECT_CORPUS := $(CORPUS)
endif

.PHONY: all build test demo bench static fuzz deps venv testbed testbed-down testbed-clean lint fmt clippy

all: build

build:
	cargo build --release

## deps: Debian's Ceph packages, installed when any is missing.
deps:
	@missing=""; \
	for p in $(CEPH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "[deps] installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	  { echo "[deps] apt-get install failed"; exit 1; }; \
	fi

## venv: a Python venv with Keystone, Glance, Cinder and a WSGI server.
## The stamp holds the package list: a venv made from an older list gets
## what is missing (pip leaves the rest as it is), a current one is left alone.
venv:
	@if [ "$$(cat $(VENV)/.installed 2>/dev/null)" != "$(strip $(PY_PACKAGES))" ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	    { echo "[venv] $(PYTHON) is not Python 3.11, which Debian's python3-rados/python3-rbd need; set PYTHON="; exit 1; }; \
	  if [ ! -x $(VENV)/bin/python ]; then echo "[venv] creating $(VENV)"; $(PYTHON) -m venv $(VENV) || exit 1; fi; \
	  echo "[venv] installing $(strip $(PY_PACKAGES))"; \
	  start=$$(date +%s); \
	  $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_PACKAGES) || exit 1; \
	  echo "$(strip $(PY_PACKAGES))" >$(VENV)/.installed; \
	  echo "[venv] ready in $$(( $$(date +%s) - start )) s"; \
	fi

## testbed: Ceph clusters main and other, Keystone and Glance (MS_MODE=crc|secure).
testbed: deps venv
	@bash testbed/up.sh

testbed-down:
	@bash testbed/openstack.sh down
	@bash testbed/ceph.sh down main other noauth

testbed-clean: testbed-down
	rm -rf $(BED)

## test: every test, the live-cluster ones included (benchmarks excluded).
test: testbed
	cargo test --workspace

## bench: benchmarks side by side with the reference tools, on the bed.
## The upload benchmark's sizes in GiB: SIZES=1,2,5 (default); see benches/upload.rs.
SIZES ?= 1,2,5
bench: export SIZES := $(SIZES)
bench: testbed
	cargo build --release -p rbd-native
	cargo bench -p rbd-native-benches

## static: rbd-native as one static binary (musl, no dynamic libraries),
## then the upload tests run with that binary.
MUSL_TARGET := x86_64-unknown-linux-musl
STATIC_BIN := target/$(MUSL_TARGET)/release/rbd-native
static: testbed
	@rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET)
	@command -v musl-gcc >/dev/null || { if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; fi; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq musl-tools >/dev/null; }
	cargo build --release -p rbd-native --target $(MUSL_TARGET)
	@ldd $(STATIC_BIN) 2>&1 | grep -Eq 'not a dynamic executable|statically linked' \
		|| { echo "$(STATIC_BIN) is not static:"; ldd $(STATIC_BIN); exit 1; }
	@echo "$(STATIC_BIN): static, $$(stat -c %s $(STATIC_BIN)) bytes"
	RBD_NATIVE_BIN=$(CURDIR)/$(STATIC_BIN) cargo test -p rbd-native --test upload --test upload_failures --test cinder_scenarios

## fuzz: every fuzz target for FUZZ_SECONDS (default 60) each.
fuzz:
	bash fuzz/run-all.sh

## demo: the main job on the local test bed.
demo: testbed build
	@bash testbed/demo.sh

lint: fmt clippy

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
