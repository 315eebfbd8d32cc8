// machine for the qemu port variant (included by extmod/modmachine.c).
#include <stdlib.h>

static void mp_machine_idle(void) {
    mps2_wait_for_interrupt();
}

#if MICROPY_PY_MACHINE_RESET

static void mp_machine_reset(void) {
    // Ends QEMU through semihosting.
    exit(0);
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0;
}

#endif
