//! The bt-hci `Transport` trouble talks through: H4 over the port's
//! `mp_bluetooth_hci_uart_*` functions (extmod/mpbthci.h), filtered, with
//! every packet offered to a `Sink` (the L2CAP multiplexer) before trouble
//! sees it.
//!
//! Reading returns `Pending` when the port has no byte; the port calls
//! `mp_bluetooth_hci_poll()` whenever bytes arrive, which re-polls the reader.
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use bt_hci::transport::{PacketKind, PacketToController, PacketToHost, Transport};
use critical_section::Mutex;

use super::filter::{Filter, FilterStats, Reject};
use super::h4::{Framer, FramerStats, Kind};
use super::port::{self, HciError};
use crate::config::HCI_MAX_PACKET;

/// What becomes of a packet from the controller once the sink has seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// trouble gets it.
    Deliver,
    /// trouble gets it, and the reader pauses once before the next packet
    /// (so the tasks waiting for a new link run before it can be closed).
    DeliverThenYield,
    /// The sink took it (`Reject::Att`/`L2cap` say which, for the counters) or dropped it.
    Taken(Reject),
}

/// The layer above the transport: sees every packet the filter passed,
/// and every ACL packet trouble sends.
pub trait Sink: Sync {
    /// Whether the rest of the stack must run once before this packet is
    /// handled (so that what trouble made of the packets before it is seen first).
    fn settle_before(&self, kind: Kind, pkt: &[u8]) -> bool;
    /// A packet from the controller (H4 body; events may be rewritten in place).
    fn inbound(&self, kind: Kind, pkt: &mut [u8]) -> Verdict;
    /// Whether reading from the controller must wait (the sink has no room
    /// for what may come); the sink wakes the stack when that changes.
    fn paused(&self) -> bool;
    /// trouble is about to send this ACL packet: `Pending` while it must
    /// wait, `Ready` once the sink has accounted for it.
    fn outbound(&self, pkt: &[u8]) -> Poll<()>;
}

struct Rx {
    framer: Framer,
    filter: Filter,
    /// Set after a Connection Complete was handed over; see `Verdict::DeliverThenYield`.
    yield_next: bool,
    /// The framer holds a packet that waits for the stack to settle (`Sink::settle_before`).
    held: Option<Kind>,
}

const RX_NEW: Rx = Rx { framer: Framer::new(), filter: Filter::new(), yield_next: false, held: None };

/// Receive state lives in a static so its counters can be read at any time.
static RX: Mutex<RefCell<Rx>> = Mutex::new(RefCell::new(RX_NEW));

/// Counters of input dropped by framing and filtering since the last reset.
pub fn stats() -> (FramerStats, FilterStats) {
    critical_section::with(|cs| {
        let rx = RX.borrow(cs).borrow();
        (rx.framer.stats, rx.filter.stats)
    })
}

/// H4 transport on the port's HCI UART.
pub struct HciTransport {
    sink: &'static dyn Sink,
}

impl HciTransport {
    /// A transport with fresh framing state and counters, handing packets to `sink`.
    pub fn new(sink: &'static dyn Sink) -> Self {
        critical_section::with(|cs| *RX.borrow(cs).borrow_mut() = RX_NEW);
        Self { sink }
    }

    /// The next packet for trouble: its kind, left in the framer.
    fn next_packet(&self, cx: &mut core::task::Context<'_>) -> Poll<Kind> {
        critical_section::with(|cs| {
            let mut st = RX.borrow(cs).borrow_mut();
            let st = &mut *st;
            if core::mem::take(&mut st.yield_next) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            loop {
                // Leave bytes with the controller (whose flow control holds the
                // peer back) until the sink has room again.
                if self.sink.paused() {
                    return Poll::Pending;
                }
                let kind = match st.held.take() {
                    Some(kind) => kind,
                    None => {
                        let Some(byte) = port::read_byte() else { return Poll::Pending };
                        let Some(kind) = st.framer.push(byte) else { continue };
                        if st.filter.check(kind, st.framer.packet()).is_err() {
                            continue;
                        }
                        if self.sink.settle_before(kind, st.framer.packet()) {
                            st.held = Some(kind);
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        kind
                    }
                };
                match self.sink.inbound(kind, st.framer.packet_mut()) {
                    Verdict::Deliver => return Poll::Ready(kind),
                    Verdict::DeliverThenYield => {
                        st.yield_next = true;
                        return Poll::Ready(kind);
                    }
                    Verdict::Taken(r) => {
                        st.filter.stats.count(r);
                        // The sink may have work for the stack (answers, credits, events).
                        cx.waker().wake_by_ref();
                    }
                }
            }
        })
    }
}

impl embedded_io::ErrorType for HciTransport {
    type Error = HciError;
}

impl Transport for HciTransport {
    async fn read<'a, P: PacketToHost<'a>>(&self, rx: &'a mut [u8]) -> Result<P, Self::Error> {
        let kind = poll_fn(|cx| self.next_packet(cx)).await;
        critical_section::with(|cs| {
            let st = RX.borrow(cs).borrow();
            let mut bytes: &[u8] = st.framer.packet();
            let kind = match kind {
                Kind::Acl => PacketKind::AclData,
                Kind::Event => PacketKind::Event,
                Kind::Sco => PacketKind::SyncData,
                Kind::Iso => PacketKind::IsoData,
            };
            Ok(P::read_hci(kind, &mut bytes, rx)?)
        })
    }

    async fn write<P: PacketToController>(&self, tx: &P) -> Result<(), Self::Error> {
        let mut buf = [0u8; HCI_MAX_PACKET + 2];
        buf[0] = P::KIND as u8;
        let n = tx.size();
        if n + 1 > buf.len() {
            return Err(HciError::Write);
        }
        tx.write_hci(&mut buf[1..]).map_err(|_| HciError::Write)?;
        if P::KIND == PacketKind::AclData {
            poll_fn(|_| self.sink.outbound(&buf[1..n + 1])).await;
        }
        port::write(&buf[..n + 1])
    }
}
