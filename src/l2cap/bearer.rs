//! The channel table in the running stack: frames in from the transport,
//! the application's calls, and the task that sends what the table wants sent.
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use critical_section::Mutex;
use embassy_futures::select::{select, Either};
use embassy_time::{Instant, Timer};

use super::channels::{Channels, Note, Refusal};
use crate::att::reassembly::{Drop, Reassembler};
use crate::config::{L2CAP_MPS, MAX_CONNECTIONS};
use crate::events::{self, Event};
use crate::hci::transport;
use crate::sys;

/// Largest frame the task sends (a signalling command is far smaller).
const FRAME_MAX: usize = L2CAP_MPS as usize;

/// One link's frame in progress.
struct LinkRx {
    open: bool,
    handle: u16,
    rx: Reassembler<FRAME_MAX>,
}

static CHANNELS: Mutex<RefCell<Channels>> = Mutex::new(RefCell::new(Channels::new()));
static LINKS: Mutex<RefCell<[LinkRx; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([const { LinkRx { open: false, handle: 0, rx: Reassembler::new() } }; MAX_CONNECTIONS]));

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

/// Turns the table's notes into `_IRQ_L2CAP_*` events (the fields after the
/// cid, as in the IRQ tuples).
fn note(n: Note) {
    use sys::{
        MP_BLUETOOTH_IRQ_L2CAP_ACCEPT as ACCEPT, MP_BLUETOOTH_IRQ_L2CAP_CONNECT as CONNECT,
        MP_BLUETOOTH_IRQ_L2CAP_DISCONNECT as DISCONNECT, MP_BLUETOOTH_IRQ_L2CAP_RECV as RECV,
        MP_BLUETOOTH_IRQ_L2CAP_SEND_READY as SEND_READY,
    };
    let (code, handle, cid, a, b, c) = match n {
        Note::Accept { handle, cid, psm, our_mtu, peer_mtu } => (ACCEPT, handle, cid, psm, our_mtu, peer_mtu),
        Note::Connect { handle, cid, psm, our_mtu, peer_mtu } => (CONNECT, handle, cid, psm, our_mtu, peer_mtu),
        Note::Disconnect { handle, cid, psm, status } => (DISCONNECT, handle, cid, psm, status, 0),
        Note::Recv { handle, cid } => (RECV, handle, cid, 0, 0, 0),
        Note::SendReady { handle, cid } => (SEND_READY, handle, cid, 0, 0, 0),
    };
    events::push(Event::L2cap { code: code as u8, handle, cid, a, b, c });
}

fn with<R>(f: impl FnOnce(&mut Channels) -> R) -> R {
    critical_section::with(|cs| f(&mut CHANNELS.borrow(cs).borrow_mut()))
}

/// Takes one ACL fragment of a diverted L2CAP frame from the transport.
pub fn on_fragment(handle: u16, first: bool, data: &[u8]) {
    critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        let known = links.iter().position(|l| l.open && l.handle == handle);
        let Some(i) = known.or_else(|| links.iter().position(|l| !l.open)) else { return };
        let link = &mut links[i];
        if known.is_none() {
            *link = LinkRx { open: true, handle, rx: Reassembler::new() };
        }
        let mut table = CHANNELS.borrow(cs).borrow_mut();
        let cid = if first { data.get(2..4).map_or(0, |c| u16::from_le_bytes([c[0], c[1]])) } else { link.rx.cid() };
        match link.rx.push(first, data) {
            Ok(Some(frame)) => table.on_frame(handle, cid, frame, now_ms(), &mut note),
            Ok(None) => {}
            // Only a frame beyond our MPS can be too long; it breaks the channel's rules.
            Err(Drop::TooLong) if first => table.on_oversized(handle, cid, now_ms()),
            Err(_) => {}
        }
    });
}

/// The link closed: its channels end (with events) and its state is forgotten.
pub fn close(handle: u16) {
    critical_section::with(|cs| {
        for l in LINKS.borrow(cs).borrow_mut().iter_mut() {
            if l.open && l.handle == handle {
                l.open = false;
            }
        }
        CHANNELS.borrow(cs).borrow_mut().link_closed(handle, &mut note);
    });
}

/// Forgets everything (the stack was switched off).
pub fn reset() {
    critical_section::with(|cs| {
        CHANNELS.borrow(cs).borrow_mut().clear();
        for l in LINKS.borrow(cs).borrow_mut().iter_mut() {
            l.open = false;
        }
    });
}

/// `l2cap_listen`.
pub fn listen(psm: u16, mtu: u16) -> Result<(), Refusal> {
    with(|t| t.listen(psm, mtu))
}

/// `l2cap_connect`.
pub fn connect(handle: u16, psm: u16, mtu: u16) -> Result<u16, Refusal> {
    with(|t| t.connect(handle, psm, mtu, now_ms()))
}

/// `l2cap_disconnect`.
pub fn disconnect(handle: u16, cid: u16) -> Result<(), Refusal> {
    with(|t| t.disconnect(handle, cid, now_ms()))
}

/// `l2cap_send`: true if the caller must wait for SEND_READY.
pub fn send(handle: u16, cid: u16, sdu: &[u8]) -> Result<bool, Refusal> {
    with(|t| t.send(handle, cid, sdu))
}

/// `l2cap_recvinto`: the byte count, and whether credits wait to be sent.
pub fn recv(handle: u16, cid: u16, out: Option<&mut [u8]>) -> Result<(usize, bool), Refusal> {
    with(|t| t.recv(handle, cid, out, &mut note))
}

/// Python's verdict on an `_IRQ_L2CAP_ACCEPT`.
pub fn answer_accept(handle: u16, cid: u16, verdict: i32) {
    with(|t| t.answer_accept(handle, cid, verdict, &mut note));
}

/// Sends whatever the table wants sent, and ends requests left unanswered.
pub async fn run() {
    let mut frame = [0u8; FRAME_MAX];
    loop {
        let deadline = with(|t| t.expire(now_ms(), &mut note));
        let ready = poll_fn(|_| {
            // Everything that adds work to the table also wakes the stack, which polls this again.
            match with(|t| t.next_out(&mut frame, now_ms(), &mut note)) {
                Some(out) => Poll::Ready(out),
                None => Poll::Pending,
            }
        });
        let timer = Timer::at(deadline.map_or(Instant::MAX, Instant::from_millis));
        if let Either::First((handle, cid, n)) = select(ready, timer).await {
            // A failed send means the link is going away; its close cleans up.
            let _ = transport::send_frame(handle, cid, &frame[..n]).await;
        }
    }
}
