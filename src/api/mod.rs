//! The C ABI of `extmod/modbluetooth.h`: validate, post a request, wake the stack.
//!
//! Errors are MicroPython errno values, chosen as the NimBLE backend chooses
//! them. Functions that MicroPython declares `void` but that must fail raise
//! `OSError` themselves, as NimBLE's do; they raise only with no Rust value
//! needing a destructor still live.
#[cfg(feature = "central")]
mod central;
mod deliver;
mod gap;
#[cfg(feature = "gatt-client")]
mod gattc;
mod gatts;
#[cfg(feature = "l2cap")]
mod l2cap;
#[cfg(feature = "pairing")]
mod security;
pub mod settings;

use crate::stack::{self, Phase};
use crate::sys;

/// errno for "Bluetooth is not active" (modbluetooth.c's ERRNO_BLUETOOTH_NOT_ACTIVE).
const NOT_ACTIVE: i32 = sys::MP_ENODEV as i32;

/// `Ok` if the stack is ready for requests, else the errno to return.
fn ready() -> Result<(), i32> {
    match stack::phase() {
        Phase::Ready => Ok(()),
        Phase::Failed => Err(sys::MP_EIO as i32),
        _ => Err(NOT_ACTIVE),
    }
}

fn errno(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e,
    }
}

/// Waits (bounded) until the stack has carried out request `seq`; the stack
/// runs meanwhile (on unix in its thread, elsewhere from the wait itself).
fn await_ack(ack: &crate::gap::state::Ack, seq: u32) -> Result<(), i32> {
    let mut result = None;
    wait_while(crate::config::REQUEST_TIMEOUT_MS, 1, || {
        result = ack.result(seq);
        result.is_none() && stack::phase() == Phase::Ready
    });
    match result {
        Some(0) => Ok(()),
        Some(e) => Err(e),
        None => Err(sys::MP_ETIMEDOUT as i32),
    }
}

/// Waits in `step_ms` steps while `busy()` holds, for at most `limit_ms`.
/// Measured in time, not in steps: each wait also runs the scheduler's IRQ
/// handlers, which can take far longer than the step asked for.
fn wait_while(limit_ms: u32, step_ms: u32, mut busy: impl FnMut() -> bool) {
    let deadline = embassy_time_driver::now() + u64::from(limit_ms) * 1000;
    while busy() && embassy_time_driver::now() < deadline {
        crate::runtime::port::wait_ms(step_ms);
    }
}

/// Raises `OSError(errno)` in Python, for entry points MicroPython declares
/// `void`. Called only where no Rust value with a destructor is live: the
/// exception unwinds through this frame with `nlr` and skips them.
fn raise(errno: i32) -> ! {
    // SAFETY: called on the Python thread from a MicroPython entry point, with
    // nothing left to drop in the frames it unwinds (see above).
    unsafe { sys::mp_raise_OSError(errno) }
}

/// A buffer MicroPython passed in (empty for a null pointer or length 0).
///
/// # Safety
/// Unless `ptr` is null or `len` 0, `ptr` points at `len` bytes that stay
/// valid and unchanged for `'a` (modbluetooth.c passes buffers of Python
/// objects alive for the call, and the call never outlives them).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's promise.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// Wakes the stack after a request was posted.
fn kick() {
    crate::runtime::executor::wake();
}
