//! Events collected during a poll and handed to Python after it.
//!
//! The stack runs under the backend lock (on unix, in the transport thread);
//! MicroPython's `mp_bluetooth_*_on_*` callbacks run the Python IRQ handler and
//! must run on the Python thread with no lock held. So events are encoded into
//! a bounded byte ring (values of any length, in order) and delivered by
//! `mp_trouble_deliver_events()`.
pub mod record;
pub mod ring;

#[cfg(not(any(test, fuzzing)))]
mod deliver;
#[cfg(not(any(test, fuzzing)))]
pub use deliver::{clear, has_room, pending, push};

pub use record::Event;
