//! A Bluetooth LE host for MicroPython's `bluetooth` module, built on trouble-host.
//!
//! Layers, top to bottom: `api` (the C ABI of `extmod/modbluetooth.h`), `gap`
//! (the async tasks that carry out GAP requests), `stack` (the one static
//! top-level future around trouble-host), `hci` (H4 framing and the filter that
//! keeps malformed controller input away from trouble), `runtime` (executor,
//! time driver, critical section on MicroPython primitives). Wire formats are
//! pure functions and are unit-tested on the host.
#![cfg_attr(not(test), no_std)]

pub mod address;
pub mod att;
pub mod config;
pub mod gatt;
pub mod hci;
pub mod l2cap;
pub mod queue;
#[cfg(test)]
mod testutil;

#[cfg(not(test))]
mod api;
pub mod events;
#[cfg(not(test))]
mod gap;
#[cfg(not(test))]
mod link;
#[cfg(not(test))]
mod privacy;
#[cfg(not(test))]
mod runtime;
#[cfg(not(test))]
mod settings;
pub mod security;
#[cfg(not(test))]
mod stack;
#[cfg(not(test))]
mod sys;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Never expected: input is validated before it reaches code that could
    // panic. If it happens anyway, stop hard rather than run on corrupt state.
    extern "C" {
        fn abort() -> !;
    }
    unsafe { abort() }
}

/// Referenced by the precompiled `core` of hosted targets even with
/// `panic = "abort"`; never called, since nothing unwinds.
#[cfg(all(not(test), target_os = "linux"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
