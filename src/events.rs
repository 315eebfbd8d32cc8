//! Events collected during a poll and handed to Python after it.
//!
//! The stack runs under the backend lock (on unix, in the transport thread);
//! MicroPython's `mp_bluetooth_*_on_*` callbacks run the Python IRQ handler and
//! must run on the Python thread with no lock held. So events are copied into
//! a bounded queue here and delivered by `mp_trouble_deliver_events()`.
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use critical_section::Mutex;
use heapless::{Deque, Vec};

use crate::config::{ADV_DATA_MAX, EVENT_QUEUE_DEPTH};
use crate::sys;

/// One event for Python, with its data copied.
pub enum Event {
    /// CENTRAL/PERIPHERAL CONNECT/DISCONNECT (`code` is the IRQ number).
    Link { code: u8, handle: u16, addr_type: u8, addr: [u8; 6] },
    /// CONNECTION_UPDATE, in HCI units.
    ConnUpdate { handle: u16, interval: u16, latency: u16, timeout: u16, status: u16 },
    /// SCAN_RESULT.
    ScanResult { addr_type: u8, addr: [u8; 6], adv_type: u8, rssi: i8, data: Vec<u8, ADV_DATA_MAX> },
    /// SCAN_DONE.
    ScanDone,
    /// MTU_EXCHANGED.
    MtuExchanged { handle: u16, mtu: u16 },
    /// GATTS_WRITE.
    GattsWrite { handle: u16, value_handle: u16 },
    /// GATTS_INDICATE_DONE.
    IndicateDone { handle: u16, value_handle: u16, status: u8 },
}

static QUEUE: Mutex<RefCell<Deque<Event, EVENT_QUEUE_DEPTH>>> = Mutex::new(RefCell::new(Deque::new()));
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// Queues an event; a full queue drops it (scan results first in practice) and counts.
pub fn push(e: Event) {
    let full = critical_section::with(|cs| QUEUE.borrow(cs).borrow_mut().push_back(e).is_err());
    if full {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// True if events wait for delivery.
pub fn pending() -> bool {
    critical_section::with(|cs| !QUEUE.borrow(cs).borrow().is_empty())
}

/// Forgets undelivered events (the stack was switched off).
pub fn clear() {
    critical_section::with(|cs| QUEUE.borrow(cs).borrow_mut().clear());
}

/// Delivers every queued event to MicroPython, on the Python thread.
#[no_mangle]
pub extern "C" fn mp_trouble_deliver_events() {
    while let Some(e) = critical_section::with(|cs| QUEUE.borrow(cs).borrow_mut().pop_front()) {
        // Only plain data is live here, so a Python exception unwinding out of
        // a callback (via nlr) skips no destructor.
        unsafe {
            match e {
                Event::Link { code, handle, addr_type, addr } => {
                    sys::mp_bluetooth_gap_on_connected_disconnected(code, handle, addr_type, addr.as_ptr())
                }
                Event::ConnUpdate { handle, interval, latency, timeout, status } => {
                    sys::mp_bluetooth_gap_on_connection_update(handle, interval, latency, timeout, status)
                }
                Event::ScanResult { addr_type, addr, adv_type, rssi, data } => sys::mp_bluetooth_gap_on_scan_result(
                    addr_type,
                    addr.as_ptr(),
                    adv_type,
                    rssi,
                    data.as_ptr(),
                    data.len() as u16,
                ),
                Event::ScanDone => sys::mp_bluetooth_gap_on_scan_complete(),
                Event::MtuExchanged { handle, mtu } => sys::mp_bluetooth_gatts_on_mtu_exchanged(handle, mtu),
                Event::GattsWrite { handle, value_handle } => sys::mp_bluetooth_gatts_on_write(handle, value_handle),
                Event::IndicateDone { handle, value_handle, status } => {
                    sys::mp_bluetooth_gatts_on_indicate_complete(handle, value_handle, status)
                }
            }
        }
    }
}

/// Fills the `_trouble.stats()` counters.
#[no_mangle]
pub unsafe extern "C" fn mp_trouble_get_stats(out: *mut sys::mp_trouble_stats_t) {
    let (framer, filter) = crate::hci::transport::stats();
    *out = sys::mp_trouble_stats_t {
        hci_junk_bytes: framer.junk_bytes,
        hci_oversized: framer.oversized,
        hci_malformed: filter.malformed,
        hci_unknown_handle: filter.unknown_handle,
        hci_unsupported: filter.unsupported,
        att_withheld: filter.att,
        events_dropped: DROPPED.load(Ordering::Relaxed),
    };
}
