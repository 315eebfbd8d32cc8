//! GAP: the async tasks that carry out advertising, scanning, connecting and
//! link supervision, and the request/status state shared with the C ABI.
//!
//! The C ABI never touches trouble-host; it posts a request into one of the
//! signals below (the latest request wins) and reads the status mirrors.
#![forbid(unsafe_code)]
pub mod advertise;
#[cfg(feature = "central")]
pub mod connect;
pub mod link;
#[cfg(feature = "central")]
pub mod scan;
pub mod state;

#[cfg(not(feature = "central"))]
use embassy_futures::join::join;
#[cfg(feature = "central")]
use embassy_futures::join::join4;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;

use crate::config::MAX_CONNECTIONS;
use crate::host::{Link, TStack};

/// Hands new connections from the advertiser/connector to the slot the
/// multiplexer opened for each.
pub type Handoff = [Signal<NoopRawMutex, Link>; MAX_CONNECTIONS];

/// Runs all GAP tasks for the lifetime of the stack.
pub async fn run(stack: &'static TStack) {
    let handoff: Handoff = [const { Signal::new() }; MAX_CONNECTIONS];
    #[cfg(feature = "central")]
    join4(advertise::task(stack, &handoff), scan::task(stack), connect::task(stack, &handoff), link::slots(&handoff))
        .await;
    #[cfg(not(feature = "central"))]
    join(advertise::task(stack, &handoff), link::slots(&handoff)).await;
}

/// Converts MicroPython's address byte order (most significant first) to HCI's.
pub fn to_le(addr: [u8; 6]) -> [u8; 6] {
    let mut a = addr;
    a.reverse();
    a
}
