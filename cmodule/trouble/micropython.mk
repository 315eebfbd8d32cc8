# User C module (make ports): MicroPython's bluetooth module on the Rust host.
# Use: make USER_C_MODULES=<this repo>/cmodule  (see the README).
TROUBLE_DIR := $(USERMOD_DIR)
TROUBLE_ROOT := $(abspath $(TROUBLE_DIR)/../..)

# The bluetooth module's configuration for this backend (defines.txt).
TROUBLE_DEFINES := $(shell sed -e 's/\#.*//' $(TROUBLE_DIR)/defines.txt)
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
		--target-dir $(TROUBLE_CARGO_DIR) $(if $(TROUBLE_TARGET),--target $(TROUBLE_TARGET))
