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
	xz-utils debian-archive-keyring libnewlib-dev \
	gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
RUST_TARGETS := thumbv7m-none-eabi thumbv7em-none-eabihf
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
STAMPS := build/stamps

.PHONY: all deps micropython venv firmware firmware-min firmware-qemu parts-check firmware-tool run-qemu demo-qemu test \
	test-repeat soak apifuzz fuzz fuzz-build demo demo-phone example bench size thumb clean
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
	rustup component add clippy rustfmt
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

# MicroPython's optional parts of the bluetooth module, all off: the
# peripheral role and the GATT server only. Any subset may be passed to a
# port's make the same way (see cmodule/trouble/micropython.mk).
PARTS_OFF_ALL := MICROPY_PY_BLUETOOTH_ENABLE_CENTRAL_MODE=0 MICROPY_PY_BLUETOOTH_ENABLE_GATT_CLIENT=0 \
	MICROPY_PY_BLUETOOTH_ENABLE_L2CAP_CHANNELS=0 MICROPY_PY_BLUETOOTH_ENABLE_PAIRING_BONDING=0

# The unix firmware of that build, at build/unix-min/micropython (its tests:
# tests/test_features.py).
firmware-min: micropython
	$(MAKE) -C $(MPY)/mpy-cross -j$(JOBS)
	$(MAKE) -C $(MPY)/ports/unix -j$(JOBS) \
		VARIANT_DIR=$(VARIANT_DIR) \
		FROZEN_MANIFEST=$(FROZEN_MANIFEST) \
		BUILD=$(CURDIR)/build/unix-min-obj \
		USER_C_MODULES=$(CURDIR)/cmodule $(PARTS_OFF_ALL)
	install -D -m 755 build/unix-min-obj/micropython build/unix-min/micropython

# MicroPython's qemu port with this backend, for QEMU's MPS2 boards: a
# Cortex-M3 (AN385, thumbv7m-none-eabi) and a Cortex-M7 (AN500,
# thumbv7em-none-eabihf), at build/qemu-<board>/firmware.elf. The port
# variant in micropython/qemu reuses ports/qemu's start-up code.
QEMU_BOARDS := MPS2_AN385 MPS2_AN500
QEMU_BOARD ?= MPS2_AN385
firmware-qemu: deps micropython
	$(MAKE) -C $(MPY)/mpy-cross -j$(JOBS)
	for b in $(QEMU_BOARDS); do \
		$(MAKE) -C micropython/qemu -j$(JOBS) MPY=$(MPY) BOARD=$$b \
			BUILD=$(CURDIR)/build/qemu-$$b USER_C_MODULES=$(CURDIR)/cmodule || exit 1; \
	done

# The QEMU firmware with its REPL on this terminal and UART1 on a fresh
# virtual controller: make run-qemu [QEMU_BOARD=MPS2_AN500]
run-qemu: deps micropython venv firmware-qemu
	build/venv/bin/python python/run_qemu.py --board $(QEMU_BOARD)

# The demo's sensor on the QEMU firmware, the central on unix.
demo-qemu: deps micropython venv firmware firmware-qemu
	build/venv/bin/python python/demo.py --qemu $(QEMU_BOARD)

# The firmware built for a debugging tool, beside the normal one, at build/unix-$(TOOL)/micropython:
#   TOOL=debug  unstripped, with debug info (C and Rust): gdb on a core file, valgrind
#   TOOL=asan   AddressSanitizer and UBSan on the C side     TOOL=tsan  ThreadSanitizer (C side)
# Same optimisation as `make firmware`, so timing stays close. Use: python/apifuzz.py --micropython ...
TOOL ?= debug
TOOL_CFLAGS_debug := -g
TOOL_CFLAGS_asan := -g -fno-omit-frame-pointer -fsanitize=address,undefined
TOOL_CFLAGS_tsan := -g -fsanitize=thread
firmware-tool: micropython
	$(MAKE) -C $(MPY)/mpy-cross -j$(JOBS)
	CARGO_PROFILE_RELEASE_DEBUG=true $(MAKE) -C $(MPY)/ports/unix -j$(JOBS) \
		VARIANT_DIR=$(VARIANT_DIR) \
		FROZEN_MANIFEST=$(FROZEN_MANIFEST) \
		BUILD=$(CURDIR)/build/unix-$(TOOL)-obj STRIP= \
		CFLAGS_EXTRA="$(TOOL_CFLAGS_$(TOOL))" LDFLAGS_EXTRA="$(filter -fsanitize=%,$(TOOL_CFLAGS_$(TOOL)))" \
		$(if $(USER_C_MODULES),USER_C_MODULES=$(USER_C_MODULES))
	install -D -m 755 build/unix-$(TOOL)-obj/micropython build/unix-$(TOOL)/micropython

# Every test: format and lints, Rust unit tests, every fuzz target for 5 s, the thumb
# builds, then one pytest run over the virtual radio's own tests and the firmware's
# multi-instance tests (MicroPython's upstream ones and ours), so the last line is
# pytest's summary.
test: deps micropython venv firmware firmware-min firmware-qemu
	cargo fmt --check
	MICROPY_DIR=$(MPY) cargo clippy --locked --release -j$(JOBS) --all-targets -- -D warnings
	$(MAKE) parts-check
	MICROPY_DIR=$(MPY) cargo test --locked --lib -j$(JOBS)
	$(MAKE) fuzz FUZZ_S=5
	$(MAKE) thumb
	MICROPY_DIR=$(MPY) build/venv/bin/python -m pytest -q -p no:cacheprovider python/tests tests

# Each of MicroPython's optional parts left out on its own, and all of them:
# the backend still builds for a Cortex-M without a warning.
PARTS := central gatt-client l2cap pairing
parts-check: deps micropython
	for off in $(PARTS) all; do \
		on=""; for p in $(PARTS); do [ $$p = $$off ] || [ $$off = all ] || on="$$on $$p"; done; \
		echo "without $$off:"; \
		TROUBLE_LIBC_INCLUDE=$(NEWLIB_INCLUDE) MICROPY_DIR=$(MPY) cargo clippy --locked --release -j$(JOBS) \
			--target thumbv7em-none-eabihf --no-default-features --features "$$on" -- -D warnings || exit 1; \
	done

# Every multi-instance test N times in a row on fresh radios (a test that fails
# once in 30 is a bug): make test-repeat N=30 [ONLY=sec_,gatt_] [BUSY=2]
# [QEMU=0|1 [QEMU_BOARD=MPS2_AN500]]: that instance runs in QEMU.
N ?= 30
ONLY ?=
BUSY ?= 0
QEMU ?=
test-repeat: deps micropython venv firmware $(if $(QEMU),firmware-qemu)
	build/venv/bin/python python/repeat_tests.py --micropython build/unix/micropython \
		--mpy-dir $(MPY) -n $(N) --busy $(BUSY) $(if $(ONLY),--only $(ONLY)) \
		$(if $(QEMU),--qemu $(QEMU) --qemu-board $(QEMU_BOARD))

# Long runs (issue 12, E and F): the soak (SOAK_CYCLES connect/disconnect cycles, then
# SOAK_MIN minutes of notifications plus L2CAP streaming with random link drops), then
# APIFUZZ_RUNS runs of the API fuzz (APIFUZZ_S seconds each). Fails if either fails.
SOAK_CYCLES ?= 1000
SOAK_MIN ?= 10
APIFUZZ_RUNS ?= 75
APIFUZZ_S ?= 8
soak: deps micropython venv firmware
	build/venv/bin/python python/soak.py --cycles $(SOAK_CYCLES) --minutes $(SOAK_MIN); s=$$?; \
	build/venv/bin/python python/apifuzz.py --runs $(APIFUZZ_RUNS) --seconds $(APIFUZZ_S); f=$$?; \
	test $$s = 0 && test $$f = 0

# Only the API fuzz: make apifuzz APIFUZZ_RUNS=10 [APIFUZZ_S=8] [APIFUZZ_ARGS='--master-seed 0x1234']
APIFUZZ_ARGS ?=
apifuzz: deps micropython venv firmware
	build/venv/bin/python python/apifuzz.py --runs $(APIFUZZ_RUNS) --seconds $(APIFUZZ_S) $(APIFUZZ_ARGS)

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
# Then, per QEMU board, the linked firmware with and without the backend, the
# heap after active(True) and per connection, and the stack's high-water mark
# over MicroPython's multi_bluetooth files (python/size_qemu.py, a few minutes).
SIZE_LIB = target/thumbv7em-none-eabihf/release/libmptrouble.a
SIZE_BOARD := MPS2_AN500
# One build of the table: $(call size_variant,NAME,PARTS LEFT OUT).
size_variant = $(MAKE) -C micropython/qemu -j$(JOBS) MPY=$(MPY) BOARD=$(SIZE_BOARD) \
	BUILD=$(CURDIR)/build/qemu-$(1)-$(SIZE_BOARD) USER_C_MODULES=$(CURDIR)/cmodule $(2) >/dev/null
size: thumb venv firmware firmware-qemu
	for b in $(QEMU_BOARDS); do \
		$(MAKE) -C micropython/qemu -j$(JOBS) MPY=$(MPY) BOARD=$$b BUILD=$(CURDIR)/build/qemu-bare-$$b \
			>/dev/null || exit 1; \
	done
	$(call size_variant,no-l2cap,MICROPY_PY_BLUETOOTH_ENABLE_L2CAP_CHANNELS=0)
	$(call size_variant,no-pairing,MICROPY_PY_BLUETOOTH_ENABLE_PAIRING_BONDING=0)
	$(call size_variant,peripheral-server,$(PARTS_OFF_ALL))
	@llvm-size -t $(SIZE_LIB) | awk 'NR > 1 && $$1 ~ /^[0-9]+$$/ { \
		if ($$0 ~ /compiler_builtins|\.o \(ex/ && $$0 !~ /mptrouble-/) { bt += $$1; bd += $$2; bb += $$3 } \
		else if ($$0 ~ /mptrouble-/) { t = $$1; d = $$2; b = $$3 } } \
		END { printf "thumbv7em-none-eabihf backend:  text %d  data %d  bss %d  (bytes)\n", t, d, b; \
		      printf "compiler-builtins, upper bound: text %d  data %d  bss %d\n", bt, bd, bb }'
	@build/venv/bin/python python/size_qemu.py --micropython build/unix/micropython --mpy-dir $(MPY) \
		--table-board $(SIZE_BOARD)

clean:
	rm -rf build/unix build/unix-obj $(addprefix build/qemu-,$(QEMU_BOARDS))
