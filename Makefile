# micropython-trouble: set-up, firmware and test entry points (GNU make).
#   make deps micropython firmware    fresh machine -> build/unix/micropython
#   make firmware MICROPY_DIR=<tree>  build against your own MicroPython checkout

MICROPY_VERSION := 1.25.0
JOBS ?= 2
PYTHON ?= python3

ifdef MICROPY_DIR
MPY := $(abspath $(MICROPY_DIR))
else
MPY := $(CURDIR)/build/micropython-$(MICROPY_VERSION)
# The fetched tree sits inside this project's git repo; without a fixed tag,
# makeversionhdr.py would run git and stamp the firmware with our commit.
export MICROPY_GIT_TAG := v$(MICROPY_VERSION)
endif

VARIANT_DIR := $(CURDIR)/micropython/unix/variants/trouble
FROZEN_MANIFEST := $(CURDIR)/micropython/manifest.py
# cmodule/ is optional so the bare interpreter can be built and tested on its own.
USER_C_MODULES := $(if $(wildcard cmodule/.),$(CURDIR)/cmodule)

APT_PACKAGES := build-essential pkg-config clang libclang-dev llvm python3 python3-venv \
	xz-utils debian-archive-keyring libnewlib-dev
RUST_TARGETS := thumbv7m-none-eabi thumbv7em-none-eabihf
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
STAMPS := build/stamps

.PHONY: all deps micropython venv firmware test test-repeat fuzz fuzz-build demo demo-phone example bench size thumb clean
all: firmware

deps: $(STAMPS)/apt $(STAMPS)/rust-targets

# Installs only what is missing; the package lists are refreshed only when an
# install from the existing ones fails.
$(STAMPS)/apt: Makefile
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get install -y --no-install-recommends $$missing || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; }; \
	fi
	@mkdir -p $(@D) && touch $@

# rust-toolchain.toml (if any) picks the toolchain the targets are added to.
$(STAMPS)/rust-targets: $(wildcard rust-toolchain.toml rust-toolchain)
	rustup target add $(RUST_TARGETS)
	@mkdir -p $(@D) && touch $@

micropython:
	MICROPY_DIR=$(MICROPY_DIR) micropython/fetch.sh

venv: build/venv/.installed

build/venv/.installed: $(wildcard python/requirements.txt)
	test -x build/venv/bin/python || $(PYTHON) -m venv build/venv
	if [ -f python/requirements.txt ]; then \
		build/venv/bin/pip install -q -r python/requirements.txt; \
	else echo "python/requirements.txt missing: venv left empty"; fi
	touch $@

firmware: micropython
	$(MAKE) -C $(MPY)/mpy-cross -j$(JOBS)
	$(MAKE) -C $(MPY)/ports/unix -j$(JOBS) \
		VARIANT_DIR=$(VARIANT_DIR) \
		FROZEN_MANIFEST=$(FROZEN_MANIFEST) \
		BUILD=$(CURDIR)/build/unix-obj \
		$(if $(USER_C_MODULES),USER_C_MODULES=$(USER_C_MODULES))
	install -D -m 755 build/unix-obj/micropython build/unix/micropython

# Every test: Rust unit tests, the thumb builds, then one pytest run over the
# virtual radio's own tests and the firmware's multi-instance tests (MicroPython's
# upstream ones and ours), so the last line is pytest's summary.
test: deps micropython venv firmware
	MICROPY_DIR=$(MPY) cargo test --locked --lib -j$(JOBS)
	$(MAKE) fuzz FUZZ_S=5
	$(MAKE) thumb
	MICROPY_DIR=$(MPY) build/venv/bin/python -m pytest -q -p no:cacheprovider python/tests tests

# Every multi-instance test N times in a row on fresh radios (a test that fails
# once in 30 is a bug): make test-repeat N=30 [ONLY=sec_,gatt_] [BUSY=2]
N ?= 30
ONLY ?=
BUSY ?= 0
test-repeat: deps micropython venv firmware
	build/venv/bin/python python/repeat_tests.py --micropython build/unix/micropython \
		--mpy-dir $(MPY) -n $(N) --busy $(BUSY) $(if $(ONLY),--only $(ONLY))

# Coverage-guided fuzzing of the parsers that take outside input (fuzz/, libFuzzer through
# cargo-fuzz, installed pinned under build/tools): every target in turn, one worker, FUZZ_S
# seconds each (or until FUZZ_RUNS executions); prints execs, coverage and crashes per target.
#   make fuzz FUZZ_S=60 [FUZZ_RUNS=10000000] [FUZZ_ONLY=att_server,hci_h4] [FUZZ_SANITIZER=address]
# The code under test is safe Rust, so no sanitizer by default (debug assertions and overflow
# checks are on); AddressSanitizer needs nightly flags, which RUSTC_BOOTSTRAP=1 allows on stable.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_S ?= 60
FUZZ_RUNS ?=
FUZZ_ONLY ?=
FUZZ_SANITIZER ?= none
CARGO_FUZZ := build/tools/bin/cargo-fuzz

$(CARGO_FUZZ):
	cargo install --locked --root build/tools -j$(JOBS) cargo-fuzz --version =$(CARGO_FUZZ_VERSION)

fuzz-build: $(CARGO_FUZZ)
	cargo fetch --locked --manifest-path fuzz/Cargo.toml
	PATH=$(CURDIR)/build/tools/bin:$$PATH CARGO_BUILD_JOBS=$(JOBS) \
		$(if $(filter-out none,$(FUZZ_SANITIZER)),RUSTC_BOOTSTRAP=1) \
		cargo fuzz build -s $(FUZZ_SANITIZER)

fuzz: fuzz-build
	$(PYTHON) fuzz/run.py --seconds $(FUZZ_S) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS)) \
		$(if $(FUZZ_ONLY),--only $(FUZZ_ONLY))

# The ESS sensor example and a central that reads, subscribes and reconnects,
# on two firmware instances over the virtual radio; ends with a checked summary.
demo: deps micropython venv firmware
	build/venv/bin/python python/demo.py

# The same sensor, with a Bumble host playing the phone app.
demo-phone: deps micropython venv firmware
	build/venv/bin/python python/demo.py --phone

# One app from examples/ against its peers: make example NAME=sensor (NAME=list: all of them).
NAME ?= list
example: deps micropython venv firmware
	build/venv/bin/python python/run_example.py $(if $(filter list,$(NAME)),--list,$(NAME))

# Speed and idle-CPU figures, printed (never asserted).
bench: deps micropython venv firmware
	build/venv/bin/python python/bench.py

# The staticlib for both thumb targets, bindings from the qemu port's headers;
# clang borrows newlib's headers since it has no bare-metal C library itself.
NEWLIB_INCLUDE = $(patsubst %/string.h,%,$(shell dpkg -L libnewlib-dev 2>/dev/null | grep -m1 '/newlib/string.h$$'))
thumb: deps micropython
	for t in $(RUST_TARGETS); do \
		TROUBLE_LIBC_INCLUDE=$(NEWLIB_INCLUDE) MICROPY_DIR=$(MPY) \
		cargo build --release --locked -j$(JOBS) --target $$t || exit 1; \
	done

# Code size of the backend for a Cortex-M4F (release, opt-level "s", LTO). The
# crate's object is what the final link keeps; compiler-builtins members are
# pulled in one by one as needed, so their total is only an upper bound.
SIZE_LIB = target/thumbv7em-none-eabihf/release/libmptrouble.a
size: thumb
	@llvm-size -t $(SIZE_LIB) | awk 'NR > 1 && $$1 ~ /^[0-9]+$$/ { \
		if ($$0 ~ /compiler_builtins|\.o \(ex/ && $$0 !~ /mptrouble-/) { bt += $$1; bd += $$2; bb += $$3 } \
		else if ($$0 ~ /mptrouble-/) { t = $$1; d = $$2; b = $$3 } } \
		END { printf "thumbv7em-none-eabihf backend:  text %d  data %d  bss %d  (bytes)\n", t, d, b; \
		      printf "compiler-builtins, upper bound: text %d  data %d  bss %d\n", bt, bd, bb }'

clean:
	rm -rf build/unix build/unix-obj
