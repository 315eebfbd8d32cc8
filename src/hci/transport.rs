//! The bt-hci `Transport` trouble talks through: H4 over the port's
//! `mp_bluetooth_hci_uart_*` functions (extmod/mpbthci.h), filtered.
//!
//! Reading returns `Pending` when the port has no byte; the port calls
//! `mp_bluetooth_hci_poll()` whenever bytes arrive, which re-polls the reader.
use core::cell::RefCell;

use core::future::poll_fn;
use core::task::Poll;
use critical_section::Mutex;

use bt_hci::transport::{PacketKind, PacketToController, PacketToHost, Transport};
use bt_hci::ReadHciError;

use super::acl::{self, BufferShare};
use super::filter::{Filter, FilterStats, Reject};
use super::h4::{Framer, FramerStats, Kind};
use crate::att::reassembly::fragment_lens;
use crate::config::HCI_MAX_PACKET;
use crate::sys;

/// Transport failures: only a broken port write ends the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HciError {
    /// The port refused bytes.
    Write,
    /// bt-hci could not decode a packet the filter passed.
    Decode,
}

impl core::fmt::Display for HciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for HciError {}

impl embedded_io::Error for HciError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl<E: embedded_io::Error> From<ReadHciError<E>> for HciError {
    fn from(_: ReadHciError<E>) -> Self {
        HciError::Decode
    }
}

struct Rx {
    framer: Framer,
    filter: Filter,
    share: BufferShare,
    /// Set after a Connection Complete was handed over; see `read`.
    yield_next: bool,
}

/// Receive state lives in a static so its counters can be read at any time.
static RX: Mutex<RefCell<Rx>> = Mutex::new(RefCell::new(Rx {
    framer: Framer::new(),
    filter: Filter::new(),
    share: BufferShare::new(),
    yield_next: false,
}));

/// Counters of input dropped by framing and filtering since the last reset.
pub fn stats() -> (FramerStats, FilterStats) {
    critical_section::with(|cs| {
        let rx = RX.borrow(cs).borrow();
        (rx.framer.stats, rx.filter.stats)
    })
}

/// H4 transport on the port's HCI UART.
pub struct HciTransport(());

impl HciTransport {
    /// A transport with fresh framing state and counters.
    pub fn new() -> Self {
        critical_section::with(|cs| {
            *RX.borrow(cs).borrow_mut() =
                Rx { framer: Framer::new(), filter: Filter::new(), share: BufferShare::new(), yield_next: false }
        });
        Self(())
    }
}

impl embedded_io::ErrorType for HciTransport {
    type Error = HciError;
}

impl Transport for HciTransport {
    async fn read<'a, P: PacketToHost<'a>>(&self, rx: &'a mut [u8]) -> Result<P, Self::Error> {
        let kind = poll_fn(|cx| {
            critical_section::with(|cs| {
                let mut st = RX.borrow(cs).borrow_mut();
                let st = &mut *st;
                // trouble only reports a new link to whoever awaits it when that
                // task is polled; a Disconnection Complete read in the same batch
                // would remove the link first and it would never be reported.
                // Pausing once after a Connection Complete lets the rest of the
                // top-level future run before the next packet is handled.
                if core::mem::take(&mut st.yield_next) {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // A full ATT inbox: leave the bytes with the controller until the
                // link's task has taken a PDU (it wakes the stack when it does).
                if crate::att::bearer::any_full() {
                    return Poll::Pending;
                }
                loop {
                    let c = unsafe { sys::mp_bluetooth_hci_uart_readchar() };
                    if c < 0 {
                        return Poll::Pending;
                    }
                    let Some(kind) = st.framer.push(c as u8) else { continue };
                    match st.filter.check(kind, st.framer.packet()) {
                        Ok(()) => {
                            st.yield_next = is_connection_complete(kind, st.framer.packet());
                            if kind == Kind::Event {
                                account(st.framer.packet_mut(), &mut st.share);
                                // Completions may have returned the ATT layer's buffers.
                                cx.waker().wake_by_ref();
                            }
                            return Poll::Ready(kind);
                        }
                        // ATT traffic is the backend's own: hand it to the bearer.
                        Err(Reject::Att) => {
                            let pkt = st.framer.packet();
                            if let (Some(handle), Some(data)) = (acl::handle_of(pkt), pkt.get(4..)) {
                                crate::att::bearer::on_fragment(handle, pkt[1] & 0x30 != 0x10, data);
                            }
                            if crate::att::bearer::any_full() {
                                return Poll::Pending;
                            }
                        }
                        Err(Reject::L2cap) => {
                            let pkt = st.framer.packet();
                            if let (Some(handle), Some(data)) = (acl::handle_of(pkt), pkt.get(4..)) {
                                crate::l2cap::bearer::on_fragment(handle, pkt[1] & 0x30 != 0x10, data);
                            }
                            // The channel task may have answers or credits to send.
                            cx.waker().wake_by_ref();
                        }
                        Err(_) => {}
                    }
                }
            })
        })
        .await;
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
            let (Some(handle), Some(data)) = (acl::handle_of(&buf[1..]), buf.get(5..n + 1)) else {
                return Err(HciError::Write);
            };
            // Hold trouble's fragment back while a backend frame is going out on the link.
            poll_fn(|_| {
                let blocked = critical_section::with(|cs| RX.borrow(cs).borrow().share.blocks_trouble(handle));
                if blocked {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            let first = buf[2] & 0x30 != 0x10;
            critical_section::with(|cs| {
                let st = &mut *RX.borrow(cs).borrow_mut();
                st.filter.to_peer(&buf[1..n + 1]);
                st.share.sent(handle, false);
                st.share.trouble_fragment(handle, first, data);
            });
        }
        uart_write(&buf[..n + 1])
    }
}

fn uart_write(bytes: &[u8]) -> Result<(), HciError> {
    if unsafe { sys::mp_bluetooth_hci_uart_write(bytes.as_ptr(), bytes.len()) } < 0 {
        Err(HciError::Write)
    } else {
        Ok(())
    }
}

/// Keeps the buffer share in step with an event about to reach trouble.
fn account(pkt: &mut [u8], share: &mut BufferShare) {
    match pkt.first() {
        Some(0x0e) => acl::rewrite_read_buffer_size(pkt, share),
        Some(0x13) => acl::rewrite_completed_packets(pkt, share),
        // Disconnection Complete: the controller flushed the link's packets.
        Some(0x05) if pkt.len() >= 6 && pkt[2] == 0 => {
            let handle = u16::from_le_bytes([pkt[3], pkt[4]]) & 0x0fff;
            share.forget(handle);
            crate::att::bearer::close(handle);
            crate::l2cap::bearer::close(handle);
            crate::gap::state::link_closed(handle);
        }
        _ => {}
    }
}

/// LE Connection Complete or LE Enhanced Connection Complete.
fn is_connection_complete(kind: Kind, pkt: &[u8]) -> bool {
    kind == Kind::Event && pkt.len() > 2 && pkt[0] == 0x3e && matches!(pkt[2], 0x01 | 0x0a)
}

/// Sends one ATT PDU on `handle` as an L2CAP channel 4 frame.
pub async fn send_att(handle: u16, pdu: &[u8]) -> Result<(), HciError> {
    send_frame(handle, 4, pdu).await
}

/// Largest L2CAP payload the backend sends itself.
const FRAME_MAX: usize = if crate::config::ATT_PDU_MAX > crate::config::L2CAP_MPS as usize {
    crate::config::ATT_PDU_MAX
} else {
    crate::config::L2CAP_MPS as usize
};

/// Sends one L2CAP frame on `handle` and channel `cid`, with the backend's
/// own controller buffers (see `acl::BufferShare`).
pub async fn send_frame(handle: u16, cid: u16, pdu: &[u8]) -> Result<(), HciError> {
    if pdu.len() > FRAME_MAX {
        return Err(HciError::Write);
    }
    poll_fn(|cx| {
        if critical_section::with(|cs| RX.borrow(cs).borrow_mut().share.claim(handle)) {
            Poll::Ready(())
        } else {
            // trouble finishes its frame with writes of its own; poll again.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
    let acl_len = critical_section::with(|cs| RX.borrow(cs).borrow().share.acl_len()) as usize;
    let mut frame = [0u8; FRAME_MAX + 4];
    frame[..2].copy_from_slice(&(pdu.len() as u16).to_le_bytes());
    frame[2..4].copy_from_slice(&cid.to_le_bytes());
    frame[4..4 + pdu.len()].copy_from_slice(pdu);
    let mut result = Ok(());
    let mut at = 0;
    for (i, len) in fragment_lens(pdu.len(), acl_len).enumerate() {
        poll_fn(|_| {
            // Credits come back with Number Of Completed Packets, read by the runner.
            if critical_section::with(|cs| RX.borrow(cs).borrow_mut().share.take()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        if !critical_section::with(|cs| RX.borrow(cs).borrow().share.blocks_trouble(handle)) {
            // The link closed meanwhile (its Disconnection Complete dropped our claim).
            result = Err(HciError::Write);
            break;
        }
        let mut buf = [0u8; HCI_MAX_PACKET + 2];
        let pb: u16 = if i == 0 { 0x0000 } else { 0x1000 };
        buf[0] = PacketKind::AclData as u8;
        buf[1..3].copy_from_slice(&(handle | pb).to_le_bytes());
        buf[3..5].copy_from_slice(&(len as u16).to_le_bytes());
        buf[5..5 + len].copy_from_slice(&frame[at..at + len]);
        at += len;
        if let Err(e) = uart_write(&buf[..5 + len]) {
            result = Err(e);
            break;
        }
        critical_section::with(|cs| RX.borrow(cs).borrow_mut().share.sent(handle, true));
    }
    critical_section::with(|cs| RX.borrow(cs).borrow_mut().share.release());
    result
}
