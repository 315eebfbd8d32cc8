//! The queue between the stack and Python: events encoded into a bounded
//! byte ring as they happen, taken out in order for delivery (`api::deliver`).
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use critical_section::Mutex;

use super::record::Event;
use crate::config::{ATT_PDU_MAX, EVENT_RING_BYTES};
use crate::queue::Ring;

static RING: Mutex<RefCell<Ring<EVENT_RING_BYTES>>> = Mutex::new(RefCell::new(Ring::new()));
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// The longest encoded event (a 512-byte read result plus its header).
pub const RECORD_MAX: usize = ATT_PDU_MAX + 16;

/// Queues an event; one that doesn't fit is dropped and counted.
pub fn push(e: Event<'_>) {
    let mut buf = [0u8; RECORD_MAX];
    let ok = match e.encode(&mut buf) {
        Some(n) => critical_section::with(|cs| RING.borrow(cs).borrow_mut().push(&buf[..n])),
        None => false,
    };
    if !ok {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// True if a burst of the largest events still fits: the ATT layer takes
/// no more PDUs from the air until it does, so a fast peer is slowed down
/// (through the controller's flow control) instead of losing events.
pub fn has_room() -> bool {
    critical_section::with(|cs| RING.borrow(cs).borrow().space() >= 4 * (RECORD_MAX + 2))
}

/// True if events wait for delivery.
pub fn pending() -> bool {
    critical_section::with(|cs| !RING.borrow(cs).borrow().is_empty())
}

/// Forgets undelivered events (the stack was switched off).
pub fn clear() {
    critical_section::with(|cs| RING.borrow(cs).borrow_mut().clear());
}

/// Takes the oldest event's record into `buf`; its length (0 for one that
/// didn't fit), or None if none waits.
pub fn pop(buf: &mut [u8]) -> Option<usize> {
    critical_section::with(|cs| RING.borrow(cs).borrow_mut().pop(buf))
}

/// Events lost to a full queue since the start.
pub fn dropped() -> u32 {
    DROPPED.load(Ordering::Relaxed)
}
