# User C module (make ports): MicroPython's bluetooth module on the Rust host.
# Use: make USER_C_MODULES=<this repo>/cmodule  (see the README).
TROUBLE_DIR := $(USERMOD_DIR)
TROUBLE_ROOT := $(abspath $(TROUBLE_DIR)/../..)

# The bluetooth module's configuration for this backend (defines.txt).
TROUBLE_DEFAULTS := $(shell sed -e 's/\#.*//' $(TROUBLE_DIR)/defines.txt)
# MicroPython's optional parts, each NAME:cargo-feature. A port, or the make
# command line, may set MICROPY_PY_BLUETOOTH_ENABLE_<NAME>=0 (defines.txt has
# the defaults); C gets the value as -D and Rust as the feature, so the part's
# code is left out on both sides.
TROUBLE_SWITCHES := CENTRAL_MODE:central GATT_CLIENT:gatt-client L2CAP_CHANNELS:l2cap PAIRING_BONDING:pairing
trouble_default = $(patsubst MICROPY_PY_BLUETOOTH_ENABLE_$(1)=%,%,$(filter MICROPY_PY_BLUETOOTH_ENABLE_$(1)=%,$(TROUBLE_DEFAULTS)))
trouble_value = $(or $(MICROPY_PY_BLUETOOTH_ENABLE_$(1)),$(call trouble_default,$(1)))
trouble_name = $(word 1,$(subst :, ,$(1)))
TROUBLE_DEFINES := $(filter-out MICROPY_PY_BLUETOOTH_ENABLE_%,$(TROUBLE_DEFAULTS)) \
	$(foreach s,$(TROUBLE_SWITCHES),MICROPY_PY_BLUETOOTH_ENABLE_$(call trouble_name,$(s))=$(call trouble_value,$(call trouble_name,$(s))))
TROUBLE_FEATURES := $(foreach s,$(TROUBLE_SWITCHES),$(if $(filter 1,$(call trouble_value,$(call trouble_name,$(s)))),$(word 2,$(subst :, ,$(s)))))
CFLAGS_USERMOD += -I$(TROUBLE_DIR) $(addprefix -D,$(TROUBLE_DEFINES))

# The port is the directory make runs in (ports/<port>).
TROUBLE_PORT ?= $(notdir $(CURDIR))
SRC_USERMOD_C += $(TROUBLE_DIR)/glue.c $(wildcard $(TROUBLE_DIR)/ports/$(TROUBLE_PORT)/*.c)

# Rust target: the host's for unix, set by the board for microcontrollers.
TROUBLE_TARGET ?=
TROUBLE_CARGO_DIR := $(BUILD)/trouble
TROUBLE_LIB := $(TROUBLE_CARGO_DIR)/$(if $(TROUBLE_TARGET),$(TROUBLE_TARGET)/)release/libmptrouble.a
LDFLAGS_USERMOD += $(TROUBLE_LIB)

$(BUILD)/$(PROG): $(TROUBLE_LIB)

# cargo decides whether anything changed; the generated headers must exist
# first because bindgen reads the port's configuration through them.
$(TROUBLE_LIB): export TROUBLE_CFLAGS = $(CFLAGS)
$(TROUBLE_LIB): export TROUBLE_CFLAGS_DIR = $(CURDIR)
$(TROUBLE_LIB): FORCE | $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/root_pointers.h $(HEADER_BUILD)/mpversion.h
	$(ECHO) "CARGO $@"
	$(Q)cargo build --release --locked -j2 --manifest-path $(TROUBLE_ROOT)/Cargo.toml \
		--target-dir $(TROUBLE_CARGO_DIR) $(if $(TROUBLE_TARGET),--target $(TROUBLE_TARGET)) \
		--no-default-features --features "$(TROUBLE_FEATURES)"
