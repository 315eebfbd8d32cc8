// The little C the backend needs: wrappers of MicroPython macros and the
// scheduled task that hands queued events to Python. Everything else is Rust.
#include "py/mpconfig.h"

#if MICROPY_PY_BLUETOOTH && MICROPY_BLUETOOTH_TROUBLE

#include "py/runtime.h"
#include "py/mphal.h"
#include "extmod/modbluetooth.h"
#include "trouble_port.h"

uint32_t mp_trouble_atomic_begin(void) {
    return (uint32_t)MICROPY_BEGIN_ATOMIC_SECTION();
}

void mp_trouble_atomic_end(uint32_t state) {
    MICROPY_END_ATOMIC_SECTION(state);
}

uint32_t mp_trouble_ticks_us(void) {
    return (uint32_t)mp_hal_ticks_us();
}

// Set while the delivery task sits in the scheduler queue, so it is queued once.
static volatile bool delivery_scheduled;

static mp_obj_t trouble_deliver(mp_obj_t none_in) {
    (void)none_in;
    delivery_scheduled = false;
    mp_trouble_deliver_events();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(trouble_deliver_obj, trouble_deliver);

void mp_trouble_port_schedule_delivery(void) {
    MICROPY_PY_BLUETOOTH_ENTER
    if (!delivery_scheduled) {
        // A full scheduler queue leaves the flag clear: the next poll retries.
        delivery_scheduled = mp_sched_schedule(MP_OBJ_FROM_PTR(&trouble_deliver_obj), mp_const_none);
    }
    MICROPY_PY_BLUETOOTH_EXIT
}

#endif
