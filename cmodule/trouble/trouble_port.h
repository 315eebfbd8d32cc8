// What the Rust backend needs from a port besides extmod/mpbthci.h.
// Each port's transport (ports/<port>/) implements these; glue.c holds the
// ones that only wrap MicroPython macros.
#ifndef MICROPY_INCLUDED_TROUBLE_PORT_H
#define MICROPY_INCLUDED_TROUBLE_PORT_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

// Start whatever drives mp_bluetooth_hci_poll(): a thread on unix, the
// scheduler (a soft timer, the UART interrupt) on microcontrollers, never an
// interrupt handler itself. Returns 0 or an MP_Exxx errno.
int mp_trouble_port_start(void);
// Stop it; after return no further mp_bluetooth_hci_poll() call is in flight.
void mp_trouble_port_stop(void);
// Ask for mp_bluetooth_hci_poll() to run soon. Callable from any context,
// also from inside a poll (then it must run again after this one).
void mp_trouble_port_wake(void);
// Ask for mp_trouble_deliver_events() to run on the Python thread.
void mp_trouble_port_schedule_delivery(void);
// Make a Python thread blocked in a system call run the scheduler now (called
// once per newly scheduled delivery; a no-op where the scheduler already runs
// from interrupts).
void mp_trouble_port_nudge_python(void);
// Wait a little while the stack carries out a request (active(), advertising,
// scanning): on unix the poll thread runs meanwhile; elsewhere the wait must
// let the scheduled poll run. Python thread only.
void mp_trouble_port_wait_ms(uint32_t ms);
// Optional (glue.c has defaults for ports without file descriptors): a file
// descriptor that is readable while any _trouble.Waker is set, so asyncio's
// poll() can sleep on it; and its setting (true) or clearing (false).
// Setting it may also come from the stack (when a delivery is scheduled).
int mp_trouble_port_waker_fd(void);
void mp_trouble_port_waker_signal(bool set);

// Wrappers of MicroPython macros (glue.c).
uint32_t mp_trouble_atomic_begin(void);
void mp_trouble_atomic_end(uint32_t state);
uint32_t mp_trouble_ticks_us(void);
struct _mp_map_t *mp_trouble_gatts_db(void);
// Empties the gatts db (creating it on first use). Python thread only: it allocates.
void mp_trouble_gatts_db_reset(void);
void mp_trouble_random(uint8_t *buf, size_t len);
// The application's secret of a type: by key, or (key NULL) the index-th one; copied into buf (glue.c).
#if MICROPY_PY_BLUETOOTH_ENABLE_PAIRING_BONDING
int mp_trouble_get_secret(uint8_t type, uint8_t index, const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap);
#endif

// Counters of input the backend dropped (for the _trouble module).
typedef struct _mp_trouble_stats_t {
    uint32_t hci_junk_bytes;      // bytes outside any H4 packet
    uint32_t hci_oversized;       // packets longer than the host accepts
    uint32_t hci_malformed;       // packets that don't parse
    uint32_t hci_unknown_handle;  // packets for a connection that doesn't exist
    uint32_t hci_unsupported;     // SCO/ISO packets
    uint32_t att_withheld;        // ATT fragments the backend took (trouble-host never sees ATT)
    uint32_t smp_withheld;        // SMP fragments kept from trouble-host (see security/gate.rs)
    uint32_t events_dropped;      // events lost to a full queue
    uint32_t bonds_corrupt;       // bond records from the application that did not parse
} mp_trouble_stats_t;

// Implemented in Rust.
void mp_trouble_get_stats(mp_trouble_stats_t *stats);
void mp_trouble_deliver_events(void);
// Microseconds until the stack's next timer, or -1 for none.
int64_t mp_trouble_next_timeout_us(void);

#endif
