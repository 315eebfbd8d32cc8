//! Requests from the C ABI and status mirrors it reads, all behind the backend lock.
use core::cell::Cell;
use core::sync::atomic::AtomicBool;

use critical_section::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use heapless::Vec;

use crate::config::ADV_DATA_MAX;

/// Advertising parameters as MicroPython gives them.
pub struct AdvParams {
    /// Accept connections (ADV_IND) or not (ADV_SCAN_IND, as NimBLE).
    pub connectable: bool,
    /// Advertising interval.
    pub interval_us: u32,
    /// Advertising payload.
    pub adv: Vec<u8, ADV_DATA_MAX>,
    /// Scan response payload.
    pub sr: Vec<u8, ADV_DATA_MAX>,
}

/// What the advertiser should do next (with the request's `Ack` sequence number).
pub enum AdvRequest {
    /// (Re)start advertising.
    Start(AdvParams, u32),
    /// Stop advertising.
    Stop(u32),
}

/// Scan parameters as MicroPython gives them.
pub struct ScanParams {
    /// 0 = until stopped.
    pub duration_ms: u32,
    /// Scan interval.
    pub interval_us: u32,
    /// Scan window.
    pub window_us: u32,
    /// Request scan responses.
    pub active: bool,
}

/// What the scanner should do next (with the request's `Ack` sequence number).
pub enum ScanRequest {
    /// Start scanning.
    Start(ScanParams, u32),
    /// Stop scanning.
    Stop(u32),
}

/// Lets a C ABI call wait until the controller has carried out its request,
/// so `gap_advertise`/`gap_scan` return the controller's verdict, as NimBLE's do.
///
/// Requests are numbered; a task that finishes request `n` also answers every
/// earlier one (they were superseded: signals keep only the latest).
pub struct Ack(Mutex<Cell<(u32, u32, i32)>>);

impl Ack {
    /// No request yet.
    pub const fn new() -> Self {
        Self(Mutex::new(Cell::new((0, 0, 0))))
    }

    /// Numbers a new request.
    pub fn next(&self) -> u32 {
        critical_section::with(|cs| {
            let (issued, done, err) = self.0.borrow(cs).get();
            let n = issued.wrapping_add(1);
            self.0.borrow(cs).set((n, done, err));
            n
        })
    }

    /// Records that request `seq` finished with `err` (0 = success).
    pub fn complete(&self, seq: u32, err: i32) {
        critical_section::with(|cs| {
            let (issued, _, _) = self.0.borrow(cs).get();
            self.0.borrow(cs).set((issued, seq, err));
        })
    }

    /// The outcome of request `seq`, once it (or a later one) has finished.
    pub fn result(&self, seq: u32) -> Option<i32> {
        critical_section::with(|cs| {
            let (_, done, err) = self.0.borrow(cs).get();
            // Wrapping comparison: `done` is at or past `seq`.
            (done.wrapping_sub(seq) < u32::MAX / 2).then_some(if done == seq { err } else { 0 })
        })
    }
}

/// Advertiser completions.
pub static ADV_ACK: Ack = Ack::new();
/// Scanner completions.
pub static SCAN_ACK: Ack = Ack::new();

/// Connection request parameters.
pub struct ConnParams {
    /// Peer address type.
    pub addr_type: u8,
    /// Peer address, most significant byte first.
    pub addr: [u8; 6],
    /// How long to try; 0 = until cancelled.
    pub duration_ms: u32,
    /// Connection interval bounds.
    pub min_interval_us: u32,
    /// Connection interval bounds.
    pub max_interval_us: u32,
}

/// What the connector should do next.
pub enum ConnRequest {
    /// Connect to a peripheral.
    Start(ConnParams),
    /// Give up the pending connection attempt.
    Cancel,
}

/// Advertiser requests.
pub static ADV_REQ: Signal<CriticalSectionRawMutex, AdvRequest> = Signal::new();
/// Scanner requests.
pub static SCAN_REQ: Signal<CriticalSectionRawMutex, ScanRequest> = Signal::new();
/// Connector requests.
pub static CONN_REQ: Signal<CriticalSectionRawMutex, ConnRequest> = Signal::new();
/// A scan is running (results are reported only then).
pub static SCANNING: AtomicBool = AtomicBool::new(false);
/// A connection attempt is pending.
pub static CONNECTING: AtomicBool = AtomicBool::new(false);

/// Clears every request and mirror (stack start/stop).
pub fn reset() {
    use core::sync::atomic::Ordering::Relaxed;
    ADV_REQ.reset();
    SCAN_REQ.reset();
    CONN_REQ.reset();
    SCANNING.store(false, Relaxed);
    CONNECTING.store(false, Relaxed);
}

/// Reports every live link, scan and connection attempt as ended, as if the
/// controller had said so (the stack is being rebuilt after a failure).
pub fn report_all_lost() {
    use crate::events::{self, Event};
    use core::sync::atomic::Ordering::AcqRel;
    crate::link::report_all_lost();
    if SCANNING.swap(false, AcqRel) {
        events::push(Event::ScanDone);
    }
    if CONNECTING.swap(false, AcqRel) {
        events::push(Event::Link {
            code: crate::sys::MP_BLUETOOTH_IRQ_PERIPHERAL_DISCONNECT as u8,
            handle: 0xffff,
            addr_type: 0xff,
            addr: [0; 6],
        });
    }
}
