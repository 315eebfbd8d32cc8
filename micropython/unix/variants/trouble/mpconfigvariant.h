// The project's unix variant: the "standard" variant minus the features whose
// lib/ submodules the Debian source tree does not ship (see mpconfigvariant.mk).

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// Resolved through the port's -I. because this variant lives outside ports/unix.
#include "variants/mpconfigvariant_common.h"
