# The Debian source tree ships lib/ submodules empty, so everything built from
# them is off: btree (berkeley-db), ssl (mbedtls/axtls), ffi (libffi).
MICROPY_PY_BTREE = 0
MICROPY_PY_SSL = 0
MICROPY_SSL_MBEDTLS = 0
MICROPY_SSL_AXTLS = 0
MICROPY_PY_FFI = 0

# The unix HCI transport polls the controller from a pthread.
MICROPY_PY_THREAD = 1

FROZEN_MANIFEST ?= $(abspath $(VARIANT_DIR)/../../../manifest.py)

# Without the micropython-lib submodule the frozen-code rule stops the build;
# point it at an empty stand-in so only require() fails, and loudly.
ifeq ($(wildcard $(MPY_LIB_DIR)/README.md),)
MPY_LIB_DIR = $(abspath $(VARIANT_DIR)/../../../no-micropython-lib)
endif
