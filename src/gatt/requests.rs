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

type Queue = Deque<Request, GATTC_QUEUE_DEPTH>;

static QUEUES: Mutex<RefCell<[Queue; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([const { Deque::new() }; MAX_CONNECTIONS]));

/// Queues a request for the link in `slot`; false if its queue is full.
pub fn post(slot: usize, r: Request) -> bool {
    critical_section::with(|cs| QUEUES.borrow(cs).borrow_mut().get_mut(slot).is_some_and(|q| q.push_back(r).is_ok()))
}

/// The next request for the link in `slot`.
pub fn take(slot: usize) -> Option<Request> {
    critical_section::with(|cs| QUEUES.borrow(cs).borrow_mut().get_mut(slot)?.pop_front())
}

/// Forgets a closed link's requests.
pub fn clear(slot: usize) {
    critical_section::with(|cs| {
        if let Some(q) = QUEUES.borrow(cs).borrow_mut().get_mut(slot) {
            q.clear();
        }
    })
}
