# rbd-native: the two commands are `make demo` and `make test`.
# Both install what is missing (Debian's Ceph packages, the Python venv for
# Keystone and Glance) and bring the local test bed up first.
#
# The bed's Ceph release: CEPH_RELEASE=pacific (default: Debian bookworm's
# 16.2.15, the host's packages), reef (Debian trixie's 18.2.7) or tentacle
# (Debian sid's 20.2.4); reef and tentacle run from a Debian root of their
# suite in .roots/<release>, built once (testbed/release.sh). Each release
# has its own bed (.testbed/<release>, .testbed/env links to the one brought
# up last), venv (.venv for pacific, .venv-<release>) and ports, so beds of
# two releases can be up at once. testbed, testbed-down, testbed-clean,
# demo, bench and static act on CEPH_RELEASE's bed; `make test` on every
# release of CEPH_RELEASES (default: tentacle then pacific; reef on demand:
# `make test CEPH_RELEASES=reef`, or `CEPH_RELEASES="tentacle reef pacific"`).

SHELL := /bin/bash
TOP := $(abspath .)
CEPH_RELEASE ?= pacific
CEPH_RELEASES ?= tentacle pacific
PYTHON ?= python3
export CEPH_RELEASE
# BED and VENV follow CEPH_RELEASE (testbed/lib.sh) unless set here.
BED_OF = $(if $(BED),$(BED),$(TOP)/.testbed/$(1))

# Debian bookworm's Ceph (16.2.15), the bindings Glance's rbd store needs,
# MariaDB for Glance's and Cinder's databases and RabbitMQ for Cinder's
# services (every release's bed runs the host's, each bed its own server
# and broker), and debootstrap for the other releases' roots.
CEPH_PACKAGES := ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd uuid-runtime curl \
	mariadb-server mariadb-client rabbitmq-server debootstrap
# OpenStack services from PyPI, pinned to the releases the bed was built on;
# Cinder of the same release (2026.2) for its RBD driver, which the tests
# drive (tests/py/cinder_driver.py), and the Glance client the benchmark's
# reference of today's upload path uses (benches/py/).
PY_PACKAGES := keystone==30.0.0 glance==33.0.0 glance-store==5.7.0 gunicorn==27.0.1 \
	cinder==29.0.0 python-glanceclient==4.13.0 PyMySQL==1.1.1
PY_PACKAGES += fixtures==4.3.2 testtools==2.9.1 # Cinder's test helpers, for cinder-driver/tests

# The Ceph object corpus, when the shared folder holds it.
CORPUS ?= $(abspath $(TOP)/../shared/ceph-object-corpus)
ifneq ($(wildcard $(CORPUS)/archive),)
export CEPH_OBJECT_CORPUS := $(CORPUS)
endif

.PHONY: all build test test-release demo bench static fuzz deps root venv testbed testbed-ceph \
	testbed-down testbed-clean root-clean lint fmt clippy

all: build

build:
	cargo build --release

## deps: Debian's Ceph packages, installed when any is missing. The beds run
## brokers of their own (testbed/cinder.sh): when this installs
## rabbitmq-server, the system broker its postinst may start (systemd) is
## stopped and disabled, so that it holds neither AMQP's port 5672 nor a bed's.
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
	  $$SUDO apt-get clean; \
	  case " $$missing " in *" rabbitmq-server "*) \
	    if [ -d /run/systemd/system ]; then \
	      $$SUDO systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true; \
	    else \
	      $$SUDO invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || true; \
	      $$SUDO update-rc.d rabbitmq-server disable >/dev/null 2>&1 || true; \
	    fi; \
	    echo "[deps] the system's rabbitmq-server service is stopped and disabled (the beds run their own)";; \
	  esac; \
	fi

## root: the release's root (reef, tentacle; built once, about 2 minutes),
## its mounts, and the wrappers of its tools in $BED/bin (all releases).
root: deps
	@bash testbed/release.sh prepare

## venv: a Python venv with Keystone, Glance, Cinder and a WSGI server, made
## with the Python that imports the release's rados/rbd bindings (the host's
## for pacific, the root's for reef and tentacle; testbed/venv.sh).
venv: root
	@PY_PACKAGES="$(PY_PACKAGES)" PYTHON="$(PYTHON)" bash testbed/venv.sh

## testbed: Ceph clusters main, other and noauth, Keystone, Glance and
## Cinder (api, scheduler, volume; RabbitMQ) (MS_MODE=crc|secure) of
## CEPH_RELEASE; testbed-ceph: the clusters only.
testbed: deps venv
	@bash testbed/up.sh

testbed-ceph: root
	@bash testbed/up.sh ceph

## testbed-down: stop the bed's daemons (by pid; the data stays).
testbed-down:
	@bash testbed/openstack.sh down
	@bash testbed/ceph.sh down main other noauth

## testbed-clean: stop, unmount the root, remove the bed (the root stays).
testbed-clean: testbed-down
	@bash testbed/release.sh umount
	@bash testbed/release.sh clean-bed

## root-clean: testbed-clean, then remove the release's root and venv.
root-clean: testbed-clean
	@bash testbed/release.sh clean

## test: every test, the live-cluster ones included (benchmarks excluded),
## against each release of CEPH_RELEASES in turn: its bed up, the suite
## (every test binary, --no-fail-fast), its bed removed (the next release's
## daemons get the CPU, and the OSDs' block files, which grow to several GB
## during the suite, give their disk back; KEEP_BEDS=1 only stops it; the
## roots and venvs stay). Every release runs; the exit status fails if any
## release failed.
test:
	@failed=""; \
	for r in $(CEPH_RELEASES); do \
	  echo "=== Ceph $$r: bed up, cargo test --workspace"; \
	  $(MAKE) --no-print-directory test-release CEPH_RELEASE=$$r || failed="$$failed $$r"; \
	  if [ -n "$(KEEP_BEDS)" ]; then \
	    $(MAKE) --no-print-directory testbed-down CEPH_RELEASE=$$r >/dev/null 2>&1 || true; \
	  else \
	    $(MAKE) --no-print-directory testbed-clean CEPH_RELEASE=$$r >/dev/null 2>&1 || true; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "=== make test failed on:$$failed"; exit 1; fi; \
	echo "=== make test passed on: $(CEPH_RELEASES)"

## test-release: the suite against CEPH_RELEASE's bed, brought up first
## (and left up: `make test` takes it down).
test-release: testbed
	@cargo build --release -p rbd-native   # the bed's Cinder driver runs target/release/rbd-native
	@start=$$(date +%s); rc=0; \
	CARGO_INCREMENTAL=0 RBD_NATIVE_TESTBED_ENV=$(call BED_OF,$(CEPH_RELEASE))/env cargo test --workspace --no-fail-fast || rc=$$?; \
	echo "=== Ceph $(CEPH_RELEASE): cargo test exited $$rc after $$(( $$(date +%s) - start )) s"; \
	exit $$rc

## bench: benchmarks side by side with the reference tools, on the bed.
## The upload benchmark's sizes in GiB: SIZES=1,2,5 (default); see benches/upload.rs.
## Each side-by-side measure alternates ours and the reference for ROUNDS
## rounds (default 5; SECS: seconds per timed run where a run is timed);
## the reports, with the issue's goals met or not, go to target/bench
## (results.json, results.md; one <bench>.json/.md each); results.md is
## also copied to docs/bench/$(CEPH_RELEASE).md, kept in git beside the
## README's figures.
SIZES ?= 1,2,5
ROUNDS ?= 5
bench: export SIZES := $(SIZES)
bench: export ROUNDS := $(ROUNDS)
bench: export SECS := $(SECS)
bench: testbed
	cargo build --release -p rbd-native
	rm -f target/bench/*.json target/bench/*.md
	RBD_NATIVE_TESTBED_ENV=$(call BED_OF,$(CEPH_RELEASE))/env cargo bench -p rbd-native-benches
	mkdir -p docs/bench && { head -n 1 target/bench/results.md; \
		printf '\nFrom `make bench CEPH_RELEASE=%s` on the code of commit %s (finished %s).\n' \
			$(CEPH_RELEASE) "$$(git rev-parse --short HEAD)" "$$(date -u '+%Y-%m-%d %H:%M UTC')"; \
		tail -n +2 target/bench/results.md; } > docs/bench/$(CEPH_RELEASE).md
	@echo "=== reports: target/bench/results.md, target/bench/results.json, docs/bench/$(CEPH_RELEASE).md"

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
	RBD_NATIVE_TESTBED_ENV=$(call BED_OF,$(CEPH_RELEASE))/env RBD_NATIVE_BIN=$(CURDIR)/$(STATIC_BIN) \
		cargo test -p rbd-native --test upload --test upload_failures --test upload_timeouts --test cinder_scenarios

## fuzz: every fuzz target for FUZZ_RUNS (10^7) runs or FUZZ_SECONDS (1800), RSS limit 2 GiB,
## resumable: each finished run goes to fuzz/records.tsv and targets recorded for the
## current code are skipped (FUZZ_ALL=1: run all; FUZZ_TARGETS="a b": run those).
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
