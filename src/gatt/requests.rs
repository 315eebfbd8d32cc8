//! GATT client requests from the C ABI, queued per link: one procedure runs
//! at a time on a connection and the next waits its turn (not an error).
use core::cell::RefCell;

use critical_section::Mutex;
use heapless::{Deque, Vec};

use crate::att::client::Procedure;
use crate::config::{GATTC_QUEUE_DEPTH, MAX_CONNECTIONS, MAX_VALUE_LEN};

/// One queued procedure and, for writes, its value.
pub struct Request {
    /// What to do.
    pub procedure: Procedure,
    /// The value to write (empty otherwise).
    pub value: Vec<u8, MAX_VALUE_LEN>,
    /// A write may use Prepare/Execute Write (mode 2); otherwise, as NimBLE,
    /// a value longer than one Write Request carries is cut to MTU-3.
    pub long: bool,
}

/// One link's procedures: those waiting, and whether one is running.
///
/// The running one counts against the depth from the moment it is posted,
/// so whether a call is accepted never depends on how soon the stack took
/// the previous one off the queue.
struct Queue {
    waiting: Deque<Request, { GATTC_QUEUE_DEPTH + 1 }>,
    running: bool,
}

static QUEUES: Mutex<RefCell<[Queue; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([const { Queue { waiting: Deque::new(), running: false } }; MAX_CONNECTIONS]));

/// Queues a request for the link in `slot`; false if one runs and
/// `GATTC_QUEUE_DEPTH` more wait already.
pub fn post(slot: usize, r: Request) -> bool {
    critical_section::with(|cs| {
        let mut queues = QUEUES.borrow(cs).borrow_mut();
        let Some(q) = queues.get_mut(slot) else { return false };
        q.waiting.len() + usize::from(q.running) <= GATTC_QUEUE_DEPTH && q.waiting.push_back(r).is_ok()
    })
}

/// The next request for the link in `slot`; it counts as running until `finish`.
pub fn take(slot: usize) -> Option<Request> {
    critical_section::with(|cs| {
        let mut queues = QUEUES.borrow(cs).borrow_mut();
        let q = queues.get_mut(slot)?;
        let r = q.waiting.pop_front()?;
        q.running = true;
        Some(r)
    })
}

/// The running request of the link in `slot` has ended.
pub fn finish(slot: usize) {
    critical_section::with(|cs| {
        if let Some(q) = QUEUES.borrow(cs).borrow_mut().get_mut(slot) {
            q.running = false;
        }
    })
}

/// Forgets a closed link's requests.
pub fn clear(slot: usize) {
    critical_section::with(|cs| {
        if let Some(q) = QUEUES.borrow(cs).borrow_mut().get_mut(slot) {
            q.waiting.clear();
            q.running = false;
        }
    })
}
