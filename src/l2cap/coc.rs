//! The channel table in the running stack: whole frames in from the
//! multiplexer, the application's calls, frames out to the multiplexer's
//! send task, and a task that ends requests left unanswered.
use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::Poll;

use critical_section::Mutex;
use embassy_time::{Instant, Timer};

use super::channels::{Channels, Note, Refusal};
use crate::events::{self, Event};
use crate::sys;

static CHANNELS: Mutex<RefCell<Channels>> = Mutex::new(RefCell::new(Channels::new()));

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

/// A whole frame for one of our channel ids (signalling or K-frame).
pub fn on_frame(handle: u16, cid: u16, payload: &[u8]) {
    with(|t| t.on_frame(handle, cid, payload, now_ms(), &mut note));
}

/// A frame on one of our channels was longer than our MPS allows.
pub fn on_oversized(handle: u16, cid: u16) {
    with(|t| t.on_oversized(handle, cid, now_ms()));
}

/// The link closed: its channels end (with events).
pub fn link_closed(handle: u16) {
    with(|t| t.link_closed(handle, &mut note));
}

/// Forgets everything (the stack was switched off).
pub fn reset() {
    with(|t| t.clear());
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

/// The next frame to send (signalling first, then K-frames in turn), into
/// `out`; (handle, channel id, length). Taken out of the table: the caller sends it.
pub fn next_out(out: &mut [u8]) -> Option<(u16, u16, usize)> {
    with(|t| t.next_out(out, now_ms(), &mut note))
}

/// Ends requests left unanswered, at their deadlines.
pub async fn run() {
    loop {
        let at = |d: Option<u64>| d.map_or(Instant::MAX, Instant::from_millis);
        let deadline = at(with(|t| t.expire(now_ms(), &mut note)));
        let mut timer = Timer::at(deadline);
        // Every change to the table wakes the stack, which polls this again:
        // a request made meanwhile may bring a nearer deadline.
        poll_fn(|cx| {
            if Pin::new(&mut timer).poll(cx).is_ready() || at(with(|t| t.expire(now_ms(), &mut note))) < deadline {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}
