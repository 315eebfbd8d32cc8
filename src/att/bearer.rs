//! The ATT bearer: each link's reassembled PDUs waiting for its ATT task, and
//! sending with the backend's share of the controller's buffers.
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use critical_section::Mutex;
use heapless::{Deque, Vec};

use super::reassembly::Reassembler;
use crate::config::{ATT_INBOX_DEPTH, ATT_PDU_MAX, MAX_CONNECTIONS};
use crate::hci::transport;

/// One ATT PDU.
pub type Pdu = Vec<u8, ATT_PDU_MAX>;

struct Link {
    /// In use (a flag rather than `Option`, so the table is zero-initialised
    /// and costs no flash on microcontrollers).
    open: bool,
    handle: u16,
    rx: Reassembler,
    inbox: Deque<Pdu, ATT_INBOX_DEPTH>,
    dropped: u32,
}

impl Link {
    const fn new() -> Self {
        Self { open: false, handle: 0, rx: Reassembler::new(), inbox: Deque::new(), dropped: 0 }
    }
}

static LINKS: Mutex<RefCell<[Link; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([const { Link::new() }; MAX_CONNECTIONS]));

fn find(links: &mut [Link], handle: u16) -> Option<&mut Link> {
    links.iter_mut().find(|l| l.open && l.handle == handle)
}

/// Takes an ACL fragment of ATT traffic from the transport. A PDU that finds
/// the link's inbox full is dropped and counted: a well-behaved client has at
/// most one request outstanding, so only a flood of commands can do that.
pub fn on_fragment(handle: u16, first: bool, data: &[u8]) {
    critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        let known = links.iter().any(|l| l.open && l.handle == handle);
        let link = if known {
            find(&mut links[..], handle)
        } else {
            links.iter_mut().find(|l| !l.open).map(|l| {
                *l = Link { open: true, handle, ..Link::new() };
                l
            })
        };
        let Some(link) = link else { return };
        match link.rx.push(first, data) {
            Ok(Some(pdu)) => {
                let pdu = Vec::from_slice(pdu).unwrap_or_default();
                if link.inbox.push_back(pdu).is_err() {
                    link.dropped = link.dropped.wrapping_add(1);
                }
            }
            Ok(None) => {}
            Err(_) => link.dropped = link.dropped.wrapping_add(1),
        }
    })
}

/// True if some link's inbox is full: the transport then stops reading the
/// controller (whose flow control holds the peer back) rather than drop PDUs.
pub fn any_full() -> bool {
    critical_section::with(|cs| LINKS.borrow(cs).borrow().iter().any(|l| l.open && l.inbox.is_full()))
}

/// Forgets a closed link's state.
pub fn close(handle: u16) {
    critical_section::with(|cs| {
        if let Some(l) = find(&mut LINKS.borrow(cs).borrow_mut()[..], handle) {
            *l = Link::new();
        }
    })
}

/// The next PDU from the peer on `handle`, once Python has room for the
/// events it may cause.
pub async fn recv(handle: u16) -> Pdu {
    poll_fn(|cx| {
        if !crate::events::has_room() {
            // Event delivery wakes the stack when it frees room.
            return Poll::Pending;
        }
        let pdu = critical_section::with(|cs| {
            find(&mut LINKS.borrow(cs).borrow_mut()[..], handle).and_then(|l| l.inbox.pop_front())
        });
        // Arrivals are handled in the same top-level poll as this task (the
        // runner is polled first), so no waker needs to be kept for them; a
        // taken PDU may unblock the transport, so poll again.
        if pdu.is_some() {
            cx.waker().wake_by_ref();
        }
        pdu.map_or(Poll::Pending, Poll::Ready)
    })
    .await
}

/// Sends one PDU to the peer on `handle`.
pub async fn send(handle: u16, pdu: &[u8]) -> Result<(), transport::HciError> {
    transport::send_att(handle, pdu).await
}
