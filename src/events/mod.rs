//! Events collected during a poll and handed to Python after it.
//!
//! The stack runs in its own thread on unix, from the scheduler elsewhere;
//! MicroPython's `mp_bluetooth_*_on_*` callbacks run the Python IRQ handler and
//! must run on the Python thread with no lock held. So events are encoded into
//! a bounded byte ring (values of any length, in order) and delivered by
//! `mp_trouble_deliver_events()` (`api::deliver`).
pub mod record;

#[cfg(not(any(test, fuzzing)))]
mod queue;
#[cfg(not(any(test, fuzzing)))]
pub use queue::{clear, dropped, has_room, pending, pop, push, RECORD_MAX};

pub use record::{Event, STATUS_TIMEOUT};
