// The little C the backend needs: wrappers of MicroPython macros and the
// scheduled task that hands queued events to Python. Everything else is Rust.
#include "py/mpconfig.h"

#if MICROPY_PY_BLUETOOTH && MICROPY_BLUETOOTH_TROUBLE

#include <string.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/stream.h"
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

// Set while the delivery task sits in the scheduler queue, so it is queued
// once. Changed under the backend lock (see the Waker's doorbell below).
static volatile bool delivery_scheduled;

// The doorbell behind every _trouble.Waker (an eventfd on unix): readable
// while a delivery is scheduled or a Waker that a task waits on is set, so an
// asyncio loop with nothing else to do sleeps in poll() until then. Only the
// stack's thread rings it for a delivery; the rest happens on the Python thread.
static size_t doorbell_ready;  // Wakers set and waited on

// Ports without file descriptors keep these: a Waker is polled through its
// ioctl, and their event loop waits for interrupts in between.
MP_WEAK int mp_trouble_port_waker_fd(void) {
    return -1;
}

MP_WEAK void mp_trouble_port_waker_signal(bool set) {
    (void)set;
}

// Quiets the doorbell unless something still wants it heard. Under the lock,
// so a delivery scheduled at the same moment keeps its ring.
static void doorbell_settle(void) {
    MICROPY_PY_BLUETOOTH_ENTER
    if (doorbell_ready == 0 && !delivery_scheduled) {
        mp_trouble_port_waker_signal(false);
    }
    MICROPY_PY_BLUETOOTH_EXIT
}

static mp_obj_t trouble_deliver(mp_obj_t none_in) {
    (void)none_in;
    MICROPY_PY_BLUETOOTH_ENTER
    delivery_scheduled = false;
    MICROPY_PY_BLUETOOTH_EXIT
    // Before delivering: a delivery scheduled from now on rings again.
    doorbell_settle();
    mp_trouble_deliver_events();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(trouble_deliver_obj, trouble_deliver);

void mp_trouble_port_schedule_delivery(void) {
    MICROPY_PY_BLUETOOTH_ENTER
    bool nudge = false;
    if (!delivery_scheduled) {
        // A full scheduler queue leaves the flag clear: the next poll retries.
        delivery_scheduled = mp_sched_schedule(MP_OBJ_FROM_PTR(&trouble_deliver_obj), mp_const_none);
        nudge = delivery_scheduled;
    }
    MICROPY_PY_BLUETOOTH_EXIT
    if (nudge) {
        // A loop asleep on Wakers (asyncio) wakes through the doorbell: a
        // signal that lands just before its poll() would be missed. Other
        // blocking calls get the signal.
        mp_trouble_port_waker_signal(true);
        mp_trouble_port_nudge_python();
    }
}

// MicroPython's gatts db (characteristic values, on the GC heap) lives in a
// root pointer so the GC keeps it; the Rust side reaches it through these.
MP_REGISTER_ROOT_POINTER(struct _mp_map_t *bluetooth_trouble_gatts_db);

mp_gatts_db_t mp_trouble_gatts_db(void) {
    return MP_STATE_VM(bluetooth_trouble_gatts_db);
}

void mp_trouble_gatts_db_reset(void) {
    if (MP_STATE_VM(bluetooth_trouble_gatts_db) == NULL) {
        mp_bluetooth_gatts_db_create(&MP_STATE_VM(bluetooth_trouble_gatts_db));
    }
    mp_bluetooth_gatts_db_reset(MP_STATE_VM(bluetooth_trouble_gatts_db));
}

// _IRQ_GET_SECRET: the secret stored under key, or with key NULL (None in
// Python) the index-th secret of the type. Copies the answer into buf and returns its length, which may exceed
// cap (then nothing is copied); -1 when the application returns None or its
// answer is not a buffer.
#if MICROPY_PY_BLUETOOTH_ENABLE_PAIRING_BONDING
int mp_trouble_get_secret(uint8_t type, uint8_t index, const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap) {
    int result = -1;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        const uint8_t *value = NULL;
        size_t len = 0;
        if (mp_bluetooth_gap_on_get_secret(type, index, key, key_len, &value, &len)) {
            if (len <= cap) {
                memcpy(buf, value, len);
            }
            result = len > 0x7fff ? 0x7fff : (int)len;
        }
        nlr_pop();
    } else {
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
    return result;
}
#endif

// _trouble.stats(): what the backend dropped from the controller, so tests
// and users can see that hostile input was refused rather than lost silently.
static mp_obj_t trouble_stats(void) {
    mp_trouble_stats_t s;
    mp_trouble_get_stats(&s);
    mp_obj_t d = mp_obj_new_dict(9);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hci_junk_bytes), mp_obj_new_int_from_uint(s.hci_junk_bytes));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hci_oversized), mp_obj_new_int_from_uint(s.hci_oversized));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hci_malformed), mp_obj_new_int_from_uint(s.hci_malformed));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hci_unknown_handle), mp_obj_new_int_from_uint(s.hci_unknown_handle));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_hci_unsupported), mp_obj_new_int_from_uint(s.hci_unsupported));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_att_withheld), mp_obj_new_int_from_uint(s.att_withheld));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_smp_withheld), mp_obj_new_int_from_uint(s.smp_withheld));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_events_dropped), mp_obj_new_int_from_uint(s.events_dropped));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_bonds_corrupt), mp_obj_new_int_from_uint(s.bonds_corrupt));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(trouble_stats_obj, trouble_stats);

// _trouble.Waker(): a flag asyncio can wait on, as asyncio.ThreadSafeFlag,
// but with the doorbell's file descriptor where the port has one (unix), so a
// loop that waits for Bluetooth events sleeps in poll() instead of checking
// the flag every millisecond. A waiting task arms its Waker; only an armed one
// that is set keeps the doorbell ringing (a flag set with nobody waiting must
// not keep the loop awake). Python thread only: these methods run between
// bytecodes, so the scheduler never splits them.
typedef struct _trouble_waker_t {
    mp_obj_base_t base;
    bool set;
    bool armed;
} trouble_waker_t;

static void waker_update(trouble_waker_t *self, bool set, bool armed) {
    bool was = self->set && self->armed;
    self->set = set;
    self->armed = armed;
    bool now = set && armed;
    if (now && !was && doorbell_ready++ == 0) {
        mp_trouble_port_waker_signal(true);
    } else if (was && !now && --doorbell_ready == 0) {
        doorbell_settle();
    }
}

static mp_obj_t trouble_waker_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    trouble_waker_t *self = mp_obj_malloc(trouble_waker_t, type);
    self->set = false;
    self->armed = false;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t trouble_waker_set(mp_obj_t self_in) {
    trouble_waker_t *self = MP_OBJ_TO_PTR(self_in);
    waker_update(self, true, self->armed);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(trouble_waker_set_obj, trouble_waker_set);

// Returns whether the flag was set.
static mp_obj_t trouble_waker_clear(mp_obj_t self_in) {
    trouble_waker_t *self = MP_OBJ_TO_PTR(self_in);
    bool was = self->set;
    waker_update(self, false, self->armed);
    return mp_obj_new_bool(was);
}
static MP_DEFINE_CONST_FUN_OBJ_1(trouble_waker_clear_obj, trouble_waker_clear);

// arm(True) while a task waits on the Waker, arm(False) once it has woken.
static mp_obj_t trouble_waker_arm(mp_obj_t self_in, mp_obj_t armed) {
    trouble_waker_t *self = MP_OBJ_TO_PTR(self_in);
    waker_update(self, self->set, mp_obj_is_true(armed));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(trouble_waker_arm_obj, trouble_waker_arm);

static mp_uint_t trouble_waker_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    trouble_waker_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_POLL) {
        return self->set ? (arg & MP_STREAM_POLL_RD) : 0;
    }
    if (request == MP_STREAM_GET_FILENO) {
        int fd = mp_trouble_port_waker_fd();
        if (fd >= 0) {
            return fd;
        }
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static const mp_stream_p_t trouble_waker_stream_p = {
    .ioctl = trouble_waker_ioctl,
};

static const mp_rom_map_elem_t trouble_waker_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_set), MP_ROM_PTR(&trouble_waker_set_obj) },
    { MP_ROM_QSTR(MP_QSTR_clear), MP_ROM_PTR(&trouble_waker_clear_obj) },
    { MP_ROM_QSTR(MP_QSTR_arm), MP_ROM_PTR(&trouble_waker_arm_obj) },
};
static MP_DEFINE_CONST_DICT(trouble_waker_locals, trouble_waker_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    trouble_waker_type,
    MP_QSTR_Waker,
    MP_TYPE_FLAG_NONE,
    make_new, trouble_waker_make_new,
    protocol, &trouble_waker_stream_p,
    locals_dict, &trouble_waker_locals
    );

static const mp_rom_map_elem_t trouble_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__trouble) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&trouble_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_Waker), MP_ROM_PTR(&trouble_waker_type) },
};
static MP_DEFINE_CONST_DICT(trouble_module_globals, trouble_module_globals_table);

const mp_obj_module_t mp_module_trouble = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&trouble_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR__trouble, mp_module_trouble);

#endif
