//! The C ABI of `extmod/modbluetooth.h`: validate, post a request, wake the stack.
//!
//! Errors are MicroPython errno values, chosen as the NimBLE backend chooses
//! them. Functions that MicroPython declares `void` but that must fail raise
//! `OSError` themselves, as NimBLE's do; they raise only with no Rust value
//! needing a destructor still live.
mod gap;
mod gattc;
mod gatts;
mod l2cap;
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
    let mut waited = 0;
    loop {
        if let Some(e) = ack.result(seq) {
            return if e == 0 { Ok(()) } else { Err(e) };
        }
        if stack::phase() != Phase::Ready || waited >= crate::config::REQUEST_TIMEOUT_MS {
            return Err(sys::MP_ETIMEDOUT as i32);
        }
        unsafe { sys::mp_trouble_port_wait_ms(1) };
        waited += 1;
    }
}

/// Wakes the stack after a request was posted.
fn kick() {
    crate::runtime::executor::wake();
}
