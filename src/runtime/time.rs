//! embassy-time driver on MicroPython's microsecond ticks.
//!
//! Ports wrap `ticks_us` at different widths; the driver widens it to 64 bits,
//! which is correct as long as it is sampled more often than the wrap period
//! (the stack polls at least every few seconds while active).
use core::cell::{Cell, RefCell};
use core::task::Waker;

use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

use crate::sys;

struct MpTimeDriver {
    last_raw: Mutex<Cell<u32>>,
    high: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: MpTimeDriver = MpTimeDriver {
    last_raw: Mutex::new(Cell::new(0)),
    high: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

impl Driver for MpTimeDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| {
            // SAFETY: a plain call into the port, callable from any context.
            let raw = unsafe { sys::mp_trouble_ticks_us() };
            let last = self.last_raw.borrow(cs);
            let high = self.high.borrow(cs);
            let total = high.get() + u64::from(raw.wrapping_sub(last.get()));
            last.set(raw);
            high.set(total);
            total
        })
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        // Every waker is the top-level one, so the queue holds one entry: the
        // earliest deadline. Later deadlines are re-registered when the timers
        // that own them are polled again after it fires.
        critical_section::with(|cs| {
            self.queue.borrow(cs).borrow_mut().schedule_wake(at, waker);
        })
    }
}

/// Wakes expired timers; returns the next deadline in ticks (u64::MAX: none).
pub fn service_timers() -> u64 {
    let now = embassy_time_driver::now();
    critical_section::with(|cs| DRIVER.queue.borrow(cs).borrow_mut().next_expiration(now))
}

/// Microseconds from now until `deadline` (ticks are microseconds).
pub fn until(deadline: u64) -> Option<u64> {
    if deadline == u64::MAX {
        None
    } else {
        Some(deadline.saturating_sub(embassy_time_driver::now()))
    }
}
