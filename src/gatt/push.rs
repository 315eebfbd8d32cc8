//! Notifications and indications from the local server: requests from the C
//! ABI waiting for their link's task.
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use critical_section::Mutex;
use heapless::Vec;

use crate::config::ATT_PDU_MAX;
use crate::gap::state::Ack;

/// One notification or indication to send.
pub struct Push {
    /// The connection.
    pub conn: u16,
    /// The characteristic value handle.
    pub value_handle: u16,
    /// Indication (confirmed) rather than notification.
    pub indicate: bool,
    /// The payload; `None` sends the characteristic's current value.
    pub data: Option<Vec<u8, ATT_PDU_MAX>>,
    /// `send_update`: notify or indicate as the link's client subscribed
    /// (`indicate` and `data` are then unused).
    pub update: bool,
    /// The `PUSH_ACK` number to answer.
    pub seq: u32,
}

/// The request being handed over (the C ABI waits on `PUSH_ACK`, so one at a time).
pub static PUSH: Mutex<RefCell<Option<Push>>> = Mutex::new(RefCell::new(None));
/// Completion of push requests (errno as the verdict).
pub static PUSH_ACK: Ack = Ack::new();
/// The next push request for `conn`.
pub async fn next(conn: u16) -> Push {
    poll_fn(|_| {
        critical_section::with(|cs| {
            let mut slot = PUSH.borrow(cs).borrow_mut();
            match slot.take() {
                Some(p) if p.conn == conn => Poll::Ready(p),
                other => {
                    *slot = other;
                    Poll::Pending
                }
            }
        })
    })
    .await
}
