//! Safe wrappers of what the port provides (cmodule/trouble/trouble_port.h
//! and the HCI UART's set-up in extmod/mpbthci.h): plain C calls without
//! pointers, or with pointers to buffers that outlive the call.
use crate::sys;

/// Starts whatever drives the stack's polls (a thread, a soft timer); 0 or an errno.
pub fn start() -> i32 {
    // SAFETY: no arguments; the port documents it for the Python thread, which calls it.
    unsafe { sys::mp_trouble_port_start() }
}

/// Stops it; afterwards no poll is in flight.
pub fn stop() {
    // SAFETY: as `start`.
    unsafe { sys::mp_trouble_port_stop() }
}

/// Asks for a poll soon (any context).
pub fn wake() {
    // SAFETY: callable from any context (trouble_port.h).
    unsafe { sys::mp_trouble_port_wake() }
}

/// Asks for queued events to be delivered on the Python thread (any context).
pub fn schedule_delivery() {
    // SAFETY: callable from any context (trouble_port.h).
    unsafe { sys::mp_trouble_port_schedule_delivery() }
}

/// Waits `ms` while the stack runs (Python thread).
pub fn wait_ms(ms: u32) {
    // SAFETY: no pointers; called from the Python thread as documented.
    unsafe { sys::mp_trouble_port_wait_ms(ms) }
}

/// Fills `buf` from the port's random source.
pub fn random(buf: &mut [u8]) {
    // SAFETY: the port writes `len` bytes into `buf`, which outlives the call.
    unsafe { sys::mp_trouble_random(buf.as_mut_ptr(), buf.len()) }
}

/// Opens the HCI UART; false if there is no controller to talk to.
pub fn uart_init() -> bool {
    // SAFETY: no pointers; Python thread, before the stack starts.
    unsafe { sys::mp_bluetooth_hci_uart_init(0, 0) == 0 }
}

/// Closes the HCI UART.
pub fn uart_deinit() {
    // SAFETY: no pointers; Python thread, after the stack stopped.
    unsafe {
        sys::mp_bluetooth_hci_uart_deinit();
    }
}

/// Empties MicroPython's gatts db (creating it on first use). Python thread
/// only (it allocates), under the lock the stack reads the db with.
pub fn gatts_db_reset(_cs: critical_section::CriticalSection<'_>) {
    // SAFETY: glue.c's reset of the db held in a root pointer; the caller is
    // the Python thread and holds the lock (`_cs`), so no lookup runs meanwhile.
    unsafe { sys::mp_trouble_gatts_db_reset() }
}

/// The application's secret of `sec_type`: by `key`, or (key None) the
/// `index`-th. Copies it into `buf`; its length (which may exceed `buf`,
/// then nothing is copied), or None. Python thread only (the IRQ handler runs).
#[cfg(feature = "pairing")]
pub fn get_secret(sec_type: u8, index: u8, key: Option<&[u8]>, buf: &mut [u8]) -> Option<usize> {
    let (kp, kl) = key.map_or((core::ptr::null(), 0), |k| (k.as_ptr(), k.len()));
    // SAFETY: `key` and `buf` outlive the call; glue.c copies at most `buf.len()` bytes.
    let n = unsafe { sys::mp_trouble_get_secret(sec_type, index, kp, kl, buf.as_mut_ptr(), buf.len()) };
    usize::try_from(n).ok()
}
