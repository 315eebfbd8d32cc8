//! A Bluetooth LE host for MicroPython's `bluetooth` module, built on trouble-host.
//!
//! Layers, top to bottom (each calls only the ones below it):
//! - `api`: the C ABI of `extmod/modbluetooth.h`; validates, changes shared
//!   state in short critical sections, wakes the stack; never polls;
//! - `gap` (advertiser, scanner, connector, link slots), `gatt` (attribute
//!   database, values, per-link session, client procedures, notifications),
//!   `security` (pairing policy and dialogue, bonds), `l2cap::coc`
//!   (credit-based channels in the running stack): the async tasks of the one
//!   top-level future in `stack`, around trouble-host;
//! - `link`: one `LinkState` per connection, the L2CAP multiplexer that
//!   dispatches frames by channel id, and the task that sends what links queue;
//! - `hci`: H4 framing, the input filter, the transport trouble reads from;
//! - `runtime`: executor, time driver, critical section and port calls on
//!   MicroPython's primitives.
//!
//! Wire formats and protocol state machines (`att`, `l2cap`, `queue`,
//! `link::gate`, `security::{ltk, record}`, `events::record`,
//! `hci::{h4, packet, filter}`) are pure, forbid unsafe code and are
//! unit-tested and fuzzed on the host.
//!
//! Under `cfg(fuzzing)` (set by cargo-fuzz) only the pure modules are built, as
//! for unit tests: nothing that needs MicroPython's bindings and no panic
//! handler. `fuzz/pure` compiles this file that way as an rlib for the fuzz
//! targets (an rlib crate type here would switch off LTO of the staticlib).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
// A build without one of MicroPython's optional parts (see Cargo.toml's
// features) leaves some shared items unused; the full build is checked as is.
#![cfg_attr(
    not(all(feature = "central", feature = "gatt-client", feature = "l2cap", feature = "pairing")),
    allow(dead_code, unused_imports)
)]

pub mod address;
pub mod att;
pub mod config;
pub mod gatt;
pub mod hci;
pub mod l2cap;
pub mod queue;
#[cfg(test)]
mod testutil;

#[cfg(not(any(test, fuzzing)))]
mod api;
pub mod events;
#[cfg(not(any(test, fuzzing)))]
mod gap;
#[cfg(not(any(test, fuzzing)))]
mod host;
// Public to the fuzz targets only (for `link::gate`); inside the firmware it stays private.
#[cfg(fuzzing)]
pub mod link;
#[cfg(not(fuzzing))]
mod link;
#[cfg(not(any(test, fuzzing)))]
mod privacy;
#[cfg(not(any(test, fuzzing)))]
mod runtime;
pub mod security;
#[cfg(not(any(test, fuzzing)))]
mod settings;
#[cfg(not(any(test, fuzzing)))]
mod stack;
#[cfg(not(any(test, fuzzing)))]
mod sys;

#[cfg(not(any(test, fuzzing)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Never expected: input is validated before it reaches code that could
    // panic. If it happens anyway, stop hard rather than run on corrupt state.
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: libc's abort takes nothing and never returns.
    unsafe { abort() }
}

/// Referenced by the precompiled `core` of hosted targets even with
/// `panic = "abort"`; never called, since nothing unwinds.
#[cfg(all(not(any(test, fuzzing)), target_os = "linux"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
