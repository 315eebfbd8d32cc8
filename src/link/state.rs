//! What the backend keeps about one connection.
use heapless::Deque;

use super::gate::Gate;
use crate::att::client::Procedure;
use crate::att::server::ServerLink;
use crate::config::{ATT_IN_BYTES, ATT_OUT_BYTES, ATT_PDU_MAX, GATTC_QUEUE_DEPTH, GATTC_VALUE_BYTES, L2CAP_MPS};
use crate::events::{self, Event};
use crate::l2cap::reassembly::Reassembler;
use crate::l2cap::share::LinkTx;
use crate::queue::Ring;

/// Where a slot is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Unused.
    Free,
    /// The controller announced the link and hasn't reported it closed.
    Open,
    /// Closed; its session still has to notice and let go of the slot.
    Closed,
}

/// The peer as Python was told of it (CONNECT), and how its end is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The IRQ that reports its end (CENTRAL_ or PERIPHERAL_DISCONNECT).
    pub down_irq: u8,
    /// Address type.
    pub addr_type: u8,
    /// Address, most significant byte first.
    pub addr: [u8; 6],
}

impl Peer {
    /// Tells Python the link `handle` is gone.
    pub fn report_down(&self, handle: u16) {
        events::push(Event::Link { code: self.down_irq, handle, addr_type: self.addr_type, addr: self.addr });
    }
}

/// Where the rest of a frame from the peer goes (decided by its first fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// No frame in progress.
    Idle,
    /// One of ours, into `rx`.
    Ours,
    /// trouble's (SMP, its signalling): continuations pass through.
    Trouble,
    /// Withheld: continuations are dropped.
    Dropped,
}

/// A GATT client procedure waiting or running; a write's value is in `LinkState::values`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// What to do.
    pub procedure: Procedure,
    /// A write may use Prepare/Execute Write (mode 2); otherwise, as NimBLE,
    /// a value longer than one Write Request carries is cut to MTU-3.
    pub long: bool,
}

impl Request {
    /// Whether its value sits in `LinkState::values`.
    pub fn has_value(&self) -> bool {
        matches!(self.procedure, Procedure::Write { .. })
    }
}

/// A pairing request from Python, carried out by the link's session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityOp {
    /// `gap_pair`: pair, or encrypt with a stored bond.
    Pair,
    /// `gap_passkey` for the action Python was asked about.
    Passkey {
        /// MicroPython's action code.
        action: u8,
        /// The passkey, or for numeric comparison non-zero to accept.
        passkey: i64,
    },
}

/// Largest frame reassembled for a credit-based channel or its signalling.
pub const FRAME_IN_MAX: usize = if ATT_PDU_MAX > L2CAP_MPS as usize { ATT_PDU_MAX } else { L2CAP_MPS as usize };

/// Everything about one link.
pub struct LinkState {
    /// Where the slot is in its life.
    pub phase: Phase,
    /// A session task serves the link.
    pub adopted: bool,
    /// Counts the links this slot has served, so a task can tell it still has the same one.
    pub gen: u16,
    /// The HCI connection handle.
    pub handle: u16,
    /// We are the central.
    pub central: bool,
    /// Set once Python was told of the link; its DISCONNECT is then owed.
    pub peer: Option<Peer>,

    /// The frame from the peer in progress and where it goes.
    pub rx: Reassembler<FRAME_IN_MAX>,
    /// Route of the frame in progress.
    pub route: Route,
    /// Bytes of a passed-through or dropped frame still to come.
    pub route_left: u16,
    /// Our packets in flight and trouble's frame in progress.
    pub tx: LinkTx,
    /// Whether trouble has a pairing under way (see `link::gate`).
    pub smp: Gate,
    /// The controller reported a failed encryption and no success since.
    pub encryption_failed: bool,
    /// The peer asked to pair, which this build can't: Pairing Failed is owed.
    #[cfg(not(feature = "pairing"))]
    pub smp_refuse: bool,

    /// ATT PDUs from the peer, waiting for the session.
    pub att_in: Ring<ATT_IN_BYTES>,
    /// ATT PDUs to the peer, oldest first (responses, requests, pushes).
    pub att_out: Ring<ATT_OUT_BYTES>,
    /// The ATT server's state: MTU, subscriptions, prepared writes.
    pub server: ServerLink,
    /// An indication is queued or waits for its confirmation.
    pub indicating: Option<u16>,
    /// A `send_update` indication held back until that one is confirmed.
    pub deferred: Option<u16>,
    /// Python's answer to GATTS_READ_REQUEST: (value handle, result).
    pub answer: Option<(u16, i32)>,

    /// GATT client procedures: the running one first, then those waiting.
    pub requests: Deque<Request, { GATTC_QUEUE_DEPTH + 1 }>,
    /// The first of `requests` is running.
    pub running: bool,
    /// The values of the queued writes, in queue order.
    pub values: Ring<GATTC_VALUE_BYTES>,

    /// Pairing requests from Python, in order.
    pub security: Deque<SecurityOp, 2>,
    /// The passkey action Python was asked about and has not answered.
    pub asked: Option<u8>,
    /// Python asked to disconnect.
    pub disconnect: bool,
}

impl LinkState {
    /// An unused slot (all zero, so the table lands in .bss).
    pub const fn new() -> Self {
        Self {
            phase: Phase::Free,
            adopted: false,
            gen: 0,
            handle: 0,
            central: false,
            peer: None,
            rx: Reassembler::new(),
            route: Route::Idle,
            route_left: 0,
            tx: LinkTx::new(),
            smp: Gate::Idle,
            encryption_failed: false,
            #[cfg(not(feature = "pairing"))]
            smp_refuse: false,
            att_in: Ring::new(),
            att_out: Ring::new(),
            server: ServerLink::unused(),
            indicating: None,
            deferred: None,
            answer: None,
            requests: Deque::new(),
            running: false,
            values: Ring::new(),
            security: Deque::new(),
            asked: None,
            disconnect: false,
        }
    }

    /// Makes the slot unused again, in place (a whole `LinkState` built on
    /// the stack and copied in would take kilobytes of a board's stack).
    pub(super) fn clear(&mut self) {
        self.reset_contents();
        self.phase = Phase::Free;
        self.adopted = false;
        self.gen = 0;
        self.handle = 0;
        self.central = false;
        self.server = ServerLink::unused();
    }

    /// Takes the slot for a new link.
    pub(super) fn open(&mut self, handle: u16, central: bool) {
        self.reset_contents();
        self.phase = Phase::Open;
        self.adopted = false;
        self.gen = self.gen.wrapping_add(1);
        self.handle = handle;
        self.central = central;
        self.server = ServerLink::new(crate::settings::preferred_mtu());
    }

    /// Ends the link: nothing more goes in or out. Returns the peer if
    /// Python was told of it (its DISCONNECT is owed). The slot stays taken
    /// until its session lets go (if it has one).
    pub(super) fn close(&mut self) -> Option<Peer> {
        if self.phase != Phase::Open {
            return None;
        }
        self.phase = if self.adopted { Phase::Closed } else { Phase::Free };
        let peer = self.peer.take();
        self.reset_contents();
        peer
    }

    fn reset_contents(&mut self) {
        self.peer = None;
        self.rx = Reassembler::new();
        self.route = Route::Idle;
        self.route_left = 0;
        self.tx = LinkTx::new();
        self.smp = Gate::Idle;
        self.encryption_failed = false;
        #[cfg(not(feature = "pairing"))]
        {
            self.smp_refuse = false;
        }
        self.att_in.clear();
        self.att_out.clear();
        self.indicating = None;
        self.deferred = None;
        self.answer = None;
        self.requests.clear();
        self.running = false;
        self.values.clear();
        self.security.clear();
        self.asked = None;
        self.disconnect = false;
    }

    /// The ATT_MTU in force.
    pub fn mtu(&self) -> u16 {
        self.server.mtu()
    }

    /// Whether an ATT PDU of `len` bytes from the application fits in the
    /// send queue while room for one response stays free.
    pub fn att_room(&self, len: usize) -> bool {
        self.att_out.space() >= len + ATT_PDU_MAX + 2 * crate::queue::PREFIX
    }

    /// Queues a GATT client procedure; false if `GATTC_QUEUE_DEPTH` wait
    /// behind a running one already, or its value doesn't fit.
    pub fn post_request(&mut self, r: Request, value: &[u8]) -> bool {
        if self.requests.is_full() || (r.has_value() && !self.values.fits(value.len())) {
            return false;
        }
        if r.has_value() {
            self.values.push(value);
        }
        let _ = self.requests.push_back(r);
        true
    }

    /// The next procedure to start, if none runs; it counts as running until `finish_request`.
    pub fn start_request(&mut self) -> Option<Request> {
        if self.running {
            return None;
        }
        let r = *self.requests.front()?;
        self.running = true;
        Some(r)
    }

    /// The running procedure (and its value) ends: its slot is free again.
    pub fn finish_request(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        if let Some(r) = self.requests.pop_front() {
            if r.has_value() {
                self.values.discard();
            }
        }
    }
}

impl Default for LinkState {
    fn default() -> Self {
        Self::new()
    }
}
