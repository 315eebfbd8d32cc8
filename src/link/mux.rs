//! The multiplexer's receive side: every packet the filter passed comes here
//! before trouble-host may see it.
//!
//! Events about links open and close `LinkState`s and keep the controller's
//! buffers shared (`l2cap::share`). ACL data is taken apart by channel id:
//! ATT (4) into the link's inbox, credit-based channels and their signalling
//! into the channel table, SMP (6) to trouble when the link's `Gate` allows,
//! trouble's other signalling to trouble; frames for any other channel are
//! dropped (Vol 3 Part A §4: unknown channel ids are discarded), and so is a
//! continuation with no frame begun. trouble's own ACL packets pass
//! `outbound` so the share knows whose packets are in flight.
use core::cell::RefCell;
use core::task::Poll;

use critical_section::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;

use super::gate;
use super::state::{LinkState, Phase, Route, FRAME_IN_MAX};
use super::table::LINKS;
use crate::config::ATT_PDU_MAX;
use crate::hci::filter::Reject;
use crate::hci::h4::Kind;
use crate::hci::packet::{
    Acl, EventView, ERR_UNKNOWN_CONNECTION, EV_COMMAND_COMPLETE, EV_COMMAND_STATUS, EV_DISCONNECTION_COMPLETE,
    EV_ENCRYPTION_CHANGE, EV_ENCRYPTION_KEY_REFRESH, EV_NUMBER_OF_COMPLETED_PACKETS, LE_CONNECTION_COMPLETE,
    LE_ENHANCED_CONNECTION_COMPLETE, LE_LONG_TERM_KEY_REQUEST, OP_LE_ENABLE_ENCRYPTION, OP_LE_LTK_NEGATIVE_REPLY,
    OP_LE_LTK_REPLY,
};
use crate::hci::transport::{Sink, Verdict};
use crate::l2cap::frame::{BasicHeader, CID_ATT, CID_DYNAMIC, CID_SIGNALLING, CID_SMP, HEADER};
use crate::l2cap::reassembly::Drop;
use crate::l2cap::share::{self, BufferShare};
#[cfg(feature = "l2cap")]
use crate::l2cap::{coc, wire};
use crate::queue::PREFIX;
use crate::runtime::executor;

/// Decides whether trouble gets an LE Long Term Key Request (handle, EDIV,
/// Rand); the stack sets it, since only trouble knows its keys.
pub type LtkScreen = fn(u16, u16, [u8; 8]) -> bool;

static LTK_SCREEN: Mutex<core::cell::Cell<Option<LtkScreen>>> = Mutex::new(core::cell::Cell::new(None));

/// Sets the screen for LTK requests (stack start).
pub fn set_ltk_screen(screen: LtkScreen) {
    critical_section::with(|cs| LTK_SCREEN.borrow(cs).set(Some(screen)));
}

/// The controller's buffers, shared with trouble.
pub(super) static SHARE: Mutex<RefCell<BufferShare>> = Mutex::new(RefCell::new(BufferShare::new()));

/// The multiplexer, as the transport's sink.
pub struct Mux;

/// The one multiplexer.
pub static MUX: Mux = Mux;

/// Encryption commands for a link the controller has already closed (the
/// peer left between its key request, or our pairing, and the command) fail
/// with Unknown Connection Identifier. trouble's control task ends on such
/// an error, and the whole stack with it, every other link included; the
/// link's own Disconnection Complete follows anyway. So for these commands
/// that error reads as success: there is nothing left to encrypt.
fn forgive_gone_link(pkt: &mut [u8]) {
    const FORGIVEN: [u16; 3] = [OP_LE_LTK_REPLY, OP_LE_LTK_NEGATIVE_REPLY, OP_LE_ENABLE_ENCRYPTION];
    let Some((op, at)) = EventView::parse(pkt).and_then(|e| e.command_status()) else { return };
    if FORGIVEN.contains(&op) && pkt[at] == ERR_UNKNOWN_CONNECTION {
        pkt[at] = 0;
    }
}

/// The controller's public address (HCI order), as it answered trouble's
/// Read BD_ADDR. trouble reads it right after its own initialisation, so its
/// arrival also says the stack can take commands. Taking it from trouble's
/// read rather than sending another: a command issued before that point
/// busy-waits in trouble (an `OnceLock` that wakes itself), and a second
/// Read BD_ADDR in flight parks on a bt-hci waker nothing wakes.
static PUBLIC_ADDRESS: Signal<CriticalSectionRawMutex, [u8; 6]> = Signal::new();

/// Waits for the controller's public address (HCI order).
pub async fn public_address() -> [u8; 6] {
    PUBLIC_ADDRESS.wait().await
}

/// Forgets the controller's buffers and address (the stack is being rebuilt).
pub fn reset() {
    critical_section::with(|cs| *SHARE.borrow(cs).borrow_mut() = BufferShare::new());
    PUBLIC_ADDRESS.reset();
}

/// The link is gone: its packets in flight were flushed by the controller.
fn forget(handle: u16, l: &mut LinkState) {
    critical_section::with(|cs| SHARE.borrow(cs).borrow_mut().forget(handle, &mut l.tx));
}

/// A frame that is complete and ours, to hand on outside the lock.
enum Frame {
    Att,
    /// A channel's frame of `len` bytes, copied out into the caller's buffer.
    #[cfg(feature = "l2cap")]
    Channel {
        cid: u16,
        len: usize,
    },
    #[cfg(feature = "l2cap")]
    Oversized {
        cid: u16,
    },
}

impl Sink for Mux {
    /// A link's end waits until the sessions have taken what trouble made of
    /// the packets before it (a pairing that completed just before, say), so
    /// its DISCONNECT follows every event of the link, in HCI order.
    fn settle_before(&self, kind: Kind, pkt: &[u8]) -> bool {
        kind == Kind::Event && pkt.first() == Some(&EV_DISCONNECTION_COMPLETE)
    }

    fn inbound(&self, kind: Kind, pkt: &mut [u8]) -> Verdict {
        match kind {
            Kind::Event => event(pkt),
            _ => acl(pkt),
        }
    }

    fn paused(&self) -> bool {
        critical_section::with(|cs| {
            LINKS.borrow(cs).borrow().iter().any(|l| l.phase == Phase::Open && l.att_in.space() < ATT_PDU_MAX + PREFIX)
        })
    }

    fn outbound(&self, pkt: &[u8]) -> Poll<()> {
        let Some(a) = Acl::parse(pkt) else { return Poll::Ready(()) };
        critical_section::with(|cs| {
            let share = SHARE.borrow(cs).borrow();
            if share.blocks_trouble(a.handle) {
                // The send task wakes the stack when its frame is out.
                return Poll::Pending;
            }
            let mut links = LINKS.borrow(cs).borrow_mut();
            if let Some(l) = links.iter_mut().find(|l| l.phase == Phase::Open && l.handle == a.handle) {
                l.tx.sent(false);
                l.tx.trouble_fragment(a.first, a.data);
                if a.first && BasicHeader::parse(a.data).is_some_and(|h| h.cid == CID_SMP) {
                    if let Some(&op) = a.data.get(HEADER) {
                        l.smp.note_sent(op);
                    }
                }
            }
            Poll::Ready(())
        })
    }
}

/// Events: links open and close here, buffer counts are split, and events
/// naming a connection the controller never announced are dropped.
fn event(pkt: &mut [u8]) -> Verdict {
    let Some(e) = EventView::parse(pkt) else { return Verdict::Taken(Reject::Malformed) };
    match (e.code, e.le_subevent()) {
        (_, Some(LE_CONNECTION_COMPLETE | LE_ENHANCED_CONNECTION_COMPLETE)) => {
            let (status, handle, role) = (e.params.get(1), e.u16_at(2), e.params.get(4));
            if let (Some(0), Some(handle), Some(&role)) = (status, handle, role) {
                if super::table::slot_of(handle).is_some() {
                    // A second "complete" for a live handle contradicts the first.
                    return Verdict::Taken(Reject::UnknownHandle);
                }
                // No free slot: trouble takes the link, nobody serves it, and
                // it is dropped when its connection object is.
                super::table::open(handle, role == 0);
            }
            Verdict::DeliverThenYield
        }
        (_, Some(LE_LONG_TERM_KEY_REQUEST)) => match known(e.u16_at(1)) {
            Verdict::Deliver => ltk_request(&e),
            v => v,
        },
        (EV_DISCONNECTION_COMPLETE, _) => {
            if let (Some(0), Some(handle)) = (e.params.first(), e.u16_at(1)) {
                let handle = handle & 0x0fff;
                super::table::with(handle, |l| forget(handle, l));
                super::table::on_closed(handle);
                executor::wake();
            }
            Verdict::Deliver
        }
        (EV_ENCRYPTION_CHANGE | EV_ENCRYPTION_KEY_REFRESH, _) => {
            let ok = e.params.first() == Some(&0);
            let handle = e.u16_at(1).map(|h| h & 0x0fff);
            let found = handle.and_then(|h| super::table::with(h, |l| l.encryption_failed = !ok));
            if found.is_some() {
                Verdict::Deliver
            } else {
                Verdict::Taken(Reject::UnknownHandle)
            }
        }
        (EV_NUMBER_OF_COMPLETED_PACKETS, _) => {
            let mut ours = false;
            critical_section::with(|cs| {
                let mut share = SHARE.borrow(cs).borrow_mut();
                let mut links = LINKS.borrow(cs).borrow_mut();
                share::rewrite_completed_packets(pkt, |handle, n| {
                    let l = links.iter_mut().find(|l| l.phase == Phase::Open && l.handle == handle);
                    let trouble = share.completed(l.map(|l| &mut l.tx), n);
                    ours |= trouble < n;
                    trouble
                });
            });
            if ours {
                // Buffers came back for the send task.
                executor::wake();
            }
            Verdict::Deliver
        }
        (EV_COMMAND_COMPLETE, _) => {
            if let Some(a) = e.bd_addr() {
                PUBLIC_ADDRESS.signal(a);
            }
            forgive_gone_link(pkt);
            critical_section::with(|cs| share::rewrite_read_buffer_size(pkt, &mut SHARE.borrow(cs).borrow_mut()));
            Verdict::Deliver
        }
        (EV_COMMAND_STATUS, _) => {
            forgive_gone_link(pkt);
            Verdict::Deliver
        }
        _ => Verdict::Deliver,
    }
}

/// An LTK request trouble has no key for is answered by the backend (see `security::ltk`).
fn ltk_request(e: &EventView<'_>) -> Verdict {
    // subevent, handle, Rand (8), EDIV
    let (Some(handle), Some(rand), Some(ediv)) = (e.u16_at(1), e.params.get(3..11), e.u16_at(11)) else {
        return Verdict::Taken(Reject::Malformed);
    };
    let mut r = [0u8; 8];
    r.copy_from_slice(rand);
    let screen = critical_section::with(|cs| LTK_SCREEN.borrow(cs).get());
    match screen {
        Some(screen) if !screen(handle & 0x0fff, ediv, r) => Verdict::Taken(Reject::Smp),
        _ => Verdict::Deliver,
    }
}

fn known(handle: Option<u16>) -> Verdict {
    match handle.and_then(|h| super::table::slot_of(h & 0x0fff)) {
        Some(_) => Verdict::Deliver,
        None => Verdict::Taken(Reject::UnknownHandle),
    }
}

/// ACL data from the peer, routed by channel id.
fn acl(pkt: &mut [u8]) -> Verdict {
    let Some(a) = Acl::parse(pkt) else { return Verdict::Taken(Reject::Malformed) };
    let mut done = None;
    let mut buf = [0u8; FRAME_IN_MAX];
    let verdict = super::table::with(a.handle, |l| route(l, a, &mut done, &mut buf))
        .unwrap_or(Verdict::Taken(Reject::UnknownHandle));
    match done {
        #[cfg(feature = "l2cap")]
        Some(Frame::Channel { cid, len }) => coc::on_frame(a.handle, cid, &buf[..len]),
        #[cfg(feature = "l2cap")]
        Some(Frame::Oversized { cid }) => coc::on_oversized(a.handle, cid),
        Some(Frame::Att) | None => {}
    }
    verdict
}

/// Decides where one fragment goes; a frame of ours that completes is
/// queued (ATT) or copied out into `done` (channels, handled after the lock).
fn route(l: &mut LinkState, a: Acl<'_>, done: &mut Option<Frame>, buf: &mut [u8]) -> Verdict {
    if !a.first {
        return match l.route {
            Route::Idle => Verdict::Taken(Reject::Malformed),
            Route::Ours => {
                let taken = if l.rx.cid() == CID_ATT { Reject::Att } else { Reject::L2cap };
                reassemble(l, a, done, buf);
                Verdict::Taken(taken)
            }
            Route::Trouble | Route::Dropped => {
                let verdict = if l.route == Route::Trouble { Verdict::Deliver } else { Verdict::Taken(Reject::Smp) };
                l.route_left = l.route_left.saturating_sub(a.data.len() as u16);
                if l.route_left == 0 {
                    l.route = Route::Idle;
                }
                verdict
            }
        };
    }
    // A new first fragment ends whatever frame was in progress.
    let Some(h) = BasicHeader::parse(a.data) else {
        l.route = Route::Idle;
        // Not even an L2CAP header: nobody can use it.
        return Verdict::Taken(Reject::Malformed);
    };
    let left = (usize::from(h.len) + HEADER).saturating_sub(a.data.len()) as u16;
    let opcode = a.data.get(HEADER).copied();
    let (route, verdict) = match h.cid {
        CID_ATT => (Route::Ours, Verdict::Taken(Reject::Att)),
        #[cfg(feature = "l2cap")]
        CID_SIGNALLING if opcode.is_some_and(wire::is_ours) => (Route::Ours, Verdict::Taken(Reject::L2cap)),
        // Without channels of ours, trouble refuses their requests (SPSM not supported).
        CID_SIGNALLING => (Route::Trouble, Verdict::Deliver),
        #[cfg(feature = "l2cap")]
        cid if CID_DYNAMIC.contains(&cid) && usize::from(h.len) > usize::from(crate::config::L2CAP_MPS) => {
            // Beyond our MPS: the channel's rules are broken (Vol 3 Part A §10.1).
            *done = Some(Frame::Oversized { cid });
            (Route::Dropped, Verdict::Taken(Reject::L2cap))
        }
        #[cfg(feature = "l2cap")]
        cid if CID_DYNAMIC.contains(&cid) => (Route::Ours, Verdict::Taken(Reject::L2cap)),
        #[cfg(not(feature = "pairing"))]
        CID_SMP => {
            // No security manager: a request to pair is refused (Pairing Not
            // Supported, sent by `link::send`); anything else is dropped.
            if a.first && matches!(opcode, Some(gate::PAIRING_REQUEST | gate::SECURITY_REQUEST)) {
                l.smp_refuse = true;
                executor::wake();
            }
            (Route::Dropped, Verdict::Taken(Reject::Smp))
        }
        #[cfg(feature = "pairing")]
        CID_SMP => {
            // A Security Request to a central whose encryption with a stored
            // bond just failed would make trouble unwrap the missing bond (a
            // panic from the air); ignoring it is allowed (Vol 3 Part H §3.6.7).
            let unusable_bond =
                l.central && l.encryption_failed && opcode.is_none_or(|op| op == gate::SECURITY_REQUEST);
            if !unusable_bond && l.smp.admit(opcode, l.central) {
                (Route::Trouble, Verdict::Deliver)
            } else {
                (Route::Dropped, Verdict::Taken(Reject::Smp))
            }
        }
        // No one serves this channel id: discarded.
        _ => (Route::Dropped, Verdict::Taken(Reject::L2cap)),
    };
    if route == Route::Ours {
        reassemble(l, a, done, buf);
    } else {
        l.route = if left > 0 { route } else { Route::Idle };
        l.route_left = left;
    }
    verdict
}

/// Feeds one fragment of a frame of ours to the link's reassembler.
fn reassemble(l: &mut LinkState, a: Acl<'_>, done: &mut Option<Frame>, buf: &mut [u8]) {
    let cid = if a.first { BasicHeader::parse(a.data).map_or(0, |h| h.cid) } else { l.rx.cid() };
    let pushed = l.rx.push(a.first, a.data);
    if let (Err(Drop::TooLong), true, CID_ATT, Some(&op)) = (&pushed, a.first, cid, a.data.get(HEADER)) {
        // An ATT PDU longer than any MTU can't be kept, but a request still
        // deserves its answer: its opcode alone reaches the server, which
        // refuses it as Invalid PDU (a command is ignored).
        let _ = l.att_in.push(&[op]);
        *done = Some(Frame::Att);
    }
    if let Ok(Some(frame)) = pushed {
        if cid == CID_ATT {
            // Room was checked before the packet was read (`paused`).
            let _ = l.att_in.push(frame);
            *done = Some(Frame::Att);
        } else {
            #[cfg(feature = "l2cap")]
            {
                buf[..frame.len()].copy_from_slice(frame);
                *done = Some(Frame::Channel { cid, len: frame.len() });
            }
            #[cfg(not(feature = "l2cap"))]
            let _ = buf;
        }
    }
    // A frame too long for any MTU is skipped to its end; a broken one is dropped.
    l.route = if l.rx.in_progress() { Route::Ours } else { Route::Idle };
}
