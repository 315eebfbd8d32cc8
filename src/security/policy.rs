//! Pairing policy as `config(bond=, mitm=, io=, le_secure=)` sets it, and how
//! trouble-host is told about it.
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use trouble_host::prelude::IoCapabilities;

use crate::host::TStack;

static BOND: AtomicBool = AtomicBool::new(true);
static MITM: AtomicBool = AtomicBool::new(false);
static LE_SECURE: AtomicBool = AtomicBool::new(false);
static IO: AtomicU8 = AtomicU8::new(3);
/// Set when a setting changed while the stack runs; the next poll applies it.
static DIRTY: AtomicBool = AtomicBool::new(false);

/// `config(bond=...)`.
pub fn set_bond(v: bool) {
    BOND.store(v, Ordering::Relaxed);
    DIRTY.store(true, Ordering::Release);
}

/// `config(mitm=...)`.
pub fn set_mitm(v: bool) {
    MITM.store(v, Ordering::Relaxed);
    DIRTY.store(true, Ordering::Release);
}

/// `config(le_secure=...)`: whether Secure Connections are required, as MicroPython's
/// documentation defines it. False (the default, as NimBLE's) still prefers them but pairs
/// legacy with a peer that lacks them; True refuses legacy pairing (Pairing Failed,
/// Authentication Requirements), where NimBLE would fall back to it.
pub fn set_le_secure(v: bool) {
    LE_SECURE.store(v, Ordering::Relaxed);
    DIRTY.store(true, Ordering::Release);
}

/// `config(io=...)`.
pub fn set_io(v: u8) {
    IO.store(v, Ordering::Relaxed);
    DIRTY.store(true, Ordering::Release);
}

/// Whether new pairings should bond.
pub fn bond() -> bool {
    BOND.load(Ordering::Relaxed)
}

/// The IO capabilities trouble-host pairs with.
///
/// trouble requests MITM protection exactly when its IO capabilities allow
/// user interaction, so `mitm=False` is honoured by pairing as
/// NoInputNoOutput (Just Works). Unknown codes count as NoInputNoOutput.
pub fn io_capabilities() -> IoCapabilities {
    if !MITM.load(Ordering::Relaxed) {
        return IoCapabilities::NoInputNoOutput;
    }
    match IO.load(Ordering::Relaxed) {
        0 => IoCapabilities::DisplayOnly,
        1 => IoCapabilities::DisplayYesNo,
        2 => IoCapabilities::KeyboardOnly,
        4 => IoCapabilities::KeyboardDisplay,
        _ => IoCapabilities::NoInputNoOutput,
    }
}

/// Tells the stack the current policy (at start, and from the poll after a change).
pub fn apply(stack: &TStack) {
    DIRTY.store(false, Ordering::Release);
    stack.set_io_capabilities(io_capabilities());
    stack.set_secure_connections_only(LE_SECURE.load(Ordering::Relaxed));
    // Bondable is per link in trouble; a peer may start pairing at any time.
    for conn in stack.connections() {
        let _ = conn.set_bondable(bond());
    }
}

/// Applies the policy if it changed since it was last applied.
pub fn apply_if_changed(stack: &TStack) {
    if DIRTY.load(Ordering::Acquire) {
        apply(stack);
    }
}
