//! The channel table: the state machine of LE credit-based channels
//! (Vol 3 Part A §4.22–4.24, §10.1), driven by the application's calls, the
//! peer's signalling and K-frames, and the sending task. Pure: time comes in
//! as milliseconds, and what the application must hear goes to a sink.
use heapless::Deque;

use super::rx::Rx;
use super::tx::Tx;
use super::wire::{self, reject, result, Malformed, Signal, CID_DYNAMIC, SIGNAL_MAX};
use crate::config::{
    L2CAP_CHANNELS, L2CAP_LISTEN_MAX, L2CAP_MPS, L2CAP_OUTBOX, L2CAP_RX_BYTES, L2CAP_SIGNAL_TIMEOUT_MS, L2CAP_TX_BYTES,
};

/// Smallest MTU and MPS of an LE credit-based channel.
const MIN_MTU: u16 = 23;
/// The status reported for a request the peer never answered.
pub use crate::events::STATUS_TIMEOUT;

/// What the application must hear about (the `_IRQ_L2CAP_*` events; the
/// fields are those of the IRQ tuples).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// A peer asks to open a channel; answer with `answer_accept`.
    Accept { handle: u16, cid: u16, psm: u16, our_mtu: u16, peer_mtu: u16 },
    /// A channel is open.
    Connect { handle: u16, cid: u16, psm: u16, our_mtu: u16, peer_mtu: u16 },
    /// A channel closed, or an attempt failed (`status` is the L2CAP result).
    Disconnect { handle: u16, cid: u16, psm: u16, status: u16 },
    /// An SDU arrived.
    Recv { handle: u16, cid: u16 },
    /// A stalled sender may send again.
    SendReady { handle: u16, cid: u16 },
}

/// Why an application call was refused (mapped to errno by the C ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Bad arguments, or no such channel.
    Invalid,
    /// No free channel or listener slot.
    NoMemory,
    /// The send queue has no room for this SDU yet.
    Busy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// We asked the peer; waiting for its response.
    Connecting,
    /// The peer asked; waiting for the application's verdict.
    Accepting,
    Open,
    /// The application closed it; what it queued still goes out first.
    Flushing,
    /// We asked the peer to close; waiting for its response.
    Closing,
    /// Closed, with received data the application has not read yet: it stays
    /// readable (then reads return 0) until read out or the entry is needed.
    Draining,
}

struct Channel {
    state: State,
    handle: u16,
    psm: u16,
    peer_cid: u16,
    our_mtu: u16,
    peer_mtu: u16,
    peer_mps: u16,
    /// K-frames we may still send.
    peer_credits: u16,
    /// Identifier of our outstanding request, or of the peer's request being accepted.
    ident: u8,
    /// When the outstanding request was sent (ms).
    since: u64,
    /// SEND_READY is owed.
    stalled: bool,
    /// RECV was reported and nothing has been read since: more SDUs don't
    /// repeat it (a slow reader would otherwise flood the event queue).
    told: bool,
    rx: Rx<L2CAP_RX_BYTES>,
    tx: Tx<L2CAP_TX_BYTES>,
}

impl Channel {
    const fn new() -> Self {
        Self {
            state: State::Free,
            handle: 0,
            psm: 0,
            peer_cid: 0,
            our_mtu: 0,
            peer_mtu: 0,
            peer_mps: 0,
            peer_credits: 0,
            ident: 0,
            since: 0,
            stalled: false,
            told: false,
            // All zero, so the table lands in .bss (no flash image of its buffers).
            rx: Rx::new(0, 0),
            tx: Tx::new(),
        }
    }

    fn reset(&mut self) {
        self.state = State::Free;
        self.rx.reset(0, L2CAP_MPS);
        self.tx.clear();
        self.stalled = false;
        self.told = false;
        self.peer_credits = 0;
    }

    /// Takes a free entry into use, in place (a `Channel` is too big to build on small stacks).
    fn start(&mut self, state: State, handle: u16, psm: u16, our_mtu: u16, ident: u8, since: u64) {
        self.reset();
        (self.state, self.handle, self.psm, self.our_mtu, self.ident, self.since) =
            (state, handle, psm, our_mtu, ident, since);
        (self.peer_cid, self.peer_mtu, self.peer_mps) = (0, 0, 0);
        self.rx.reset(our_mtu, L2CAP_MPS);
    }
}

/// A signalling command waiting to be sent.
#[derive(Clone, Copy)]
struct Outgoing {
    handle: u16,
    ident: u8,
    signal: Signal,
}

/// Every channel of every link, the listened PSMs and the signalling outbox.
pub struct Channels {
    chans: [Channel; L2CAP_CHANNELS],
    listening: [(u16, u16); L2CAP_LISTEN_MAX],
    outbox: Deque<Outgoing, L2CAP_OUTBOX>,
    next_ident: u8,
    /// Where the round-robin over channels with data resumes.
    turn: usize,
}

/// Our channel id for table index `i`: unique on every link.
fn cid_of(i: usize) -> u16 {
    *CID_DYNAMIC.start() + i as u16
}

impl Default for Channels {
    fn default() -> Self {
        Self::new()
    }
}

impl Channels {
    /// No channels, nothing listened.
    pub const fn new() -> Self {
        Self {
            chans: [const { Channel::new() }; L2CAP_CHANNELS],
            listening: [(0, 0); L2CAP_LISTEN_MAX],
            outbox: Deque::new(),
            next_ident: 0,
            turn: 0,
        }
    }

    /// A free entry, or else one only kept for unread data (that data is dropped).
    fn vacant(&mut self) -> Option<usize> {
        let i = self.chans.iter().position(|c| c.state == State::Free);
        let i = i.or_else(|| self.chans.iter().position(|c| c.state == State::Draining))?;
        self.chans[i].reset();
        Some(i)
    }

    fn index(&self, handle: u16, cid: u16) -> Option<usize> {
        let i = cid.checked_sub(*CID_DYNAMIC.start())? as usize;
        let c = self.chans.get(i)?;
        (c.state != State::Free && c.handle == handle).then_some(i)
    }

    fn open(&mut self, handle: u16, cid: u16) -> Result<&mut Channel, Refusal> {
        let i = self.index(handle, cid).ok_or(Refusal::Invalid)?;
        let c = &mut self.chans[i];
        if c.state == State::Open {
            Ok(c)
        } else {
            Err(Refusal::Invalid)
        }
    }

    /// Still receiving: open, or flushing what the application queued before closing.
    fn receiving(state: State) -> bool {
        matches!(state, State::Open | State::Flushing)
    }

    /// A fresh signalling identifier (never 0, which the spec reserves).
    fn ident(&mut self) -> u8 {
        self.next_ident = self.next_ident.checked_add(1).unwrap_or(1);
        self.next_ident
    }

    fn signal(&mut self, handle: u16, ident: u8, signal: Signal) {
        // Credits for a channel already waiting in the outbox are merged into that indication.
        if let Signal::Credits { cid, credits } = signal {
            for o in self.outbox.iter_mut() {
                if let (true, Signal::Credits { cid: c, credits: n }) = (o.handle == handle, &mut o.signal) {
                    if *c == cid {
                        *n = n.saturating_add(credits);
                        return;
                    }
                }
            }
        }
        // A full outbox (a peer flooding us with bad requests) drops the answer.
        let _ = self.outbox.push_back(Outgoing { handle, ident, signal });
    }

    /// `l2cap_listen(psm, mtu)`: accept channels on `psm` with SDUs up to `mtu`.
    pub fn listen(&mut self, psm: u16, mtu: u16) -> Result<(), Refusal> {
        if !(1..=0xff).contains(&psm) || !mtu_ok(mtu) {
            return Err(Refusal::Invalid);
        }
        if let Some(l) = self.listening.iter_mut().find(|l| l.0 == psm) {
            l.1 = mtu;
            return Ok(());
        }
        let slot = self.listening.iter_mut().find(|l| l.0 == 0).ok_or(Refusal::NoMemory)?;
        *slot = (psm, mtu);
        Ok(())
    }

    /// Forgets every listened PSM (the stack was switched off).
    pub fn clear(&mut self) {
        // In place: `*self = Self::new()` builds the whole table, rings and
        // all, on the stack first (17 KB on a Cortex-M, measured with
        // -Z emit-stack-sizes), more than a board's stack can spare.
        for c in &mut self.chans {
            c.reset();
            (c.handle, c.psm, c.peer_cid, c.our_mtu, c.peer_mtu, c.peer_mps, c.ident, c.since) =
                (0, 0, 0, 0, 0, 0, 0, 0);
        }
        self.listening = [(0, 0); L2CAP_LISTEN_MAX];
        self.outbox.clear();
        self.next_ident = 0;
        self.turn = 0;
    }

    /// `l2cap_connect(conn, psm, mtu)`: asks the peer for a channel; returns our cid.
    pub fn connect(&mut self, handle: u16, psm: u16, mtu: u16, now: u64) -> Result<u16, Refusal> {
        if !(1..=0xff).contains(&psm) || !mtu_ok(mtu) {
            return Err(Refusal::Invalid);
        }
        let i = self.vacant().ok_or(Refusal::NoMemory)?;
        let ident = self.ident();
        let c = &mut self.chans[i];
        c.start(State::Connecting, handle, psm, mtu, ident, now);
        let credits = c.rx.grant();
        let cid = cid_of(i);
        self.signal(handle, ident, Signal::ConnectReq { psm, scid: cid, mtu, mps: L2CAP_MPS, credits });
        Ok(cid)
    }

    /// `l2cap_disconnect(conn, cid)`.
    pub fn disconnect(&mut self, handle: u16, cid: u16, now: u64) -> Result<(), Refusal> {
        let c = self.open(handle, cid)?;
        if c.tx.is_empty() {
            self.close(cid as usize - *CID_DYNAMIC.start() as usize, now);
        } else {
            // Data sent just before a close still goes (as far as credits allow in time).
            (c.state, c.since) = (State::Flushing, now);
        }
        Ok(())
    }

    fn close(&mut self, i: usize, now: u64) {
        let ident = self.ident();
        let c = &mut self.chans[i];
        c.state = State::Closing;
        c.ident = ident;
        c.since = now;
        let (handle, dcid) = (c.handle, c.peer_cid);
        self.signal(handle, ident, Signal::DisconnectReq { dcid, scid: cid_of(i) });
    }

    /// `l2cap_send`: queues one SDU; returns true if the caller must wait for SEND_READY.
    pub fn send(&mut self, handle: u16, cid: u16, sdu: &[u8]) -> Result<bool, Refusal> {
        let c = self.open(handle, cid)?;
        let biggest = (c.peer_mtu as usize).min(L2CAP_TX_BYTES - 2);
        if sdu.len() > biggest {
            return Err(Refusal::Invalid);
        }
        if !c.tx.push(sdu) {
            return Err(Refusal::Busy);
        }
        c.stalled = !c.tx.fits(biggest);
        Ok(c.stalled)
    }

    /// `l2cap_recvinto`: copies out received bytes (or, with no buffer, counts them).
    /// Returns the byte count and whether credits were queued for the peer. A read
    /// that leaves SDUs behind reports RECV again, so a reader taking one SDU per
    /// event still sees them all.
    pub fn recv(
        &mut self,
        handle: u16,
        cid: u16,
        out: Option<&mut [u8]>,
        sink: &mut impl FnMut(Note),
    ) -> Result<(usize, bool), Refusal> {
        let i = self.index(handle, cid).ok_or(Refusal::Invalid)?;
        let c = &mut self.chans[i];
        if c.state == State::Draining {
            // What arrived before the close, then end of stream (0) once, then gone.
            let reading = out.is_some();
            let n = out.map_or(c.rx.available(), |out| c.rx.read(out));
            if n == 0 && reading {
                c.reset();
            }
            return Ok((n, false));
        }
        if !Self::receiving(c.state) {
            return Err(Refusal::Invalid);
        }
        let Some(out) = out else { return Ok((c.rx.available(), false)) };
        let n = c.rx.read(out);
        c.told = c.rx.available() > 0;
        if c.told {
            sink(Note::Recv { handle, cid });
        }
        let credits = c.rx.grant();
        if credits > 0 {
            // The indication names the sender's own channel id (Vol 3 Part A §4.24).
            let ident = self.ident();
            self.signal(handle, ident, Signal::Credits { cid, credits });
        }
        Ok((n, credits > 0))
    }

    /// The application's answer to `Note::Accept`: 0 accepts; a non-zero
    /// L2CAP result code refuses with that code, anything else with "no resources".
    pub fn answer_accept(&mut self, handle: u16, cid: u16, verdict: i32, sink: &mut impl FnMut(Note)) {
        let Some(i) = self.index(handle, cid) else { return };
        let c = &mut self.chans[i];
        if c.state != State::Accepting {
            return;
        }
        let ident = c.ident;
        if verdict != 0 {
            let code = if (2..=0x0b).contains(&verdict) { verdict as u16 } else { result::NO_RESOURCES };
            c.reset();
            self.signal(handle, ident, refusal(code));
            return;
        }
        c.state = State::Open;
        let credits = c.rx.grant();
        let (psm, our_mtu, peer_mtu) = (c.psm, c.our_mtu, c.peer_mtu);
        let rsp = Signal::ConnectRsp { dcid: cid, mtu: our_mtu, mps: L2CAP_MPS, credits, result: result::SUCCESS };
        self.signal(handle, ident, rsp);
        sink(Note::Connect { handle, cid, psm, our_mtu, peer_mtu });
    }

    /// Takes one complete frame for one of our channel ids (signalling or K-frame).
    pub fn on_frame(&mut self, handle: u16, cid: u16, payload: &[u8], now: u64, sink: &mut impl FnMut(Note)) {
        if cid == wire::CID_SIGNALLING {
            match wire::parse(payload) {
                Ok((ident, s)) => self.on_signal(handle, ident, s, now, sink),
                Err(Malformed::Truncated | Malformed::Unknown) => {
                    let ident = payload.get(1).copied().unwrap_or(0);
                    self.signal(handle, ident, Signal::CommandReject { reason: reject::NOT_UNDERSTOOD });
                }
            }
            return;
        }
        let Some(i) = self.index(handle, cid) else { return };
        let c = &mut self.chans[i];
        if !Self::receiving(c.state) {
            return;
        }
        match c.rx.frame(payload) {
            Ok(true) if !c.told => {
                c.told = true;
                sink(Note::Recv { handle, cid })
            }
            Ok(_) => {}
            Err(_) => self.close(i, now),
        }
    }

    /// A frame on one of our channels was longer than our MPS allows.
    pub fn on_oversized(&mut self, handle: u16, cid: u16, now: u64) {
        if let Some(i) = self.index(handle, cid) {
            if Self::receiving(self.chans[i].state) {
                self.close(i, now);
            }
        }
    }

    fn on_signal(&mut self, handle: u16, ident: u8, s: Signal, now: u64, sink: &mut impl FnMut(Note)) {
        match s {
            Signal::ConnectReq { psm, scid, mtu, mps, credits } => match self.admit(handle, psm, scid, mtu, mps) {
                Ok(our_mtu) => {
                    let Some(i) = self.vacant() else {
                        return self.signal(handle, ident, refusal(result::NO_RESOURCES));
                    };
                    let c = &mut self.chans[i];
                    c.start(State::Accepting, handle, psm, our_mtu, ident, now);
                    (c.peer_cid, c.peer_mtu, c.peer_mps, c.peer_credits) = (scid, mtu, mps, credits);
                    sink(Note::Accept { handle, cid: cid_of(i), psm, our_mtu, peer_mtu: mtu });
                }
                Err(code) => self.signal(handle, ident, refusal(code)),
            },
            Signal::ConnectRsp { dcid, mtu, mps, credits, result: code } => {
                let Some(i) = self.pending(handle, State::Connecting, |c| c.ident == ident) else { return };
                let c = &mut self.chans[i];
                let (cid, psm, our_mtu) = (cid_of(i), c.psm, c.our_mtu);
                let sane = CID_DYNAMIC.contains(&dcid) && mtu >= MIN_MTU && mps >= MIN_MTU;
                if code == result::SUCCESS && sane {
                    (c.state, c.peer_cid, c.peer_mtu, c.peer_mps, c.peer_credits) =
                        (State::Open, dcid, mtu, mps, credits);
                    sink(Note::Connect { handle, cid, psm, our_mtu, peer_mtu: mtu });
                } else if code == result::SUCCESS {
                    // Opened with parameters we can't use: close it again.
                    c.peer_cid = dcid;
                    self.close(i, now);
                } else {
                    c.reset();
                    sink(Note::Disconnect { handle, cid, psm, status: code });
                }
            }
            Signal::Credits { cid, credits } => {
                let found = self.chans.iter().position(|c| {
                    c.handle == handle
                        && c.peer_cid == cid
                        && matches!(c.state, State::Open | State::Flushing | State::Closing)
                });
                let Some(i) = found else { return };
                let c = &mut self.chans[i];
                match c.peer_credits.checked_add(credits) {
                    Some(n) => c.peer_credits = n,
                    // More than 65535 credits outstanding: the peer broke the rules (§10.1).
                    None if Self::receiving(c.state) => self.close(i, now),
                    None => {}
                }
            }
            Signal::DisconnectReq { dcid, scid } => {
                // A channel already closed (kept for unread data) is not closed again.
                let live = |c: &Channel| c.peer_cid == scid && c.state != State::Draining;
                match self.index(handle, dcid).filter(|&i| live(&self.chans[i])) {
                    Some(i) => {
                        self.signal(handle, ident, Signal::DisconnectRsp { dcid, scid });
                        self.finish(i, 0, sink);
                    }
                    None => self.signal(handle, ident, Signal::CommandReject { reason: reject::INVALID_CID }),
                }
            }
            Signal::DisconnectRsp { scid, .. } => {
                let Some(i) = self.pending(handle, State::Closing, |c| c.ident == ident) else { return };
                if cid_of(i) == scid {
                    self.finish(i, 0, sink);
                }
            }
            Signal::CommandReject { .. } => {
                // A peer that doesn't understand the request has no such PSM for us.
                if let Some(i) = self.pending(handle, State::Connecting, |c| c.ident == ident) {
                    self.finish(i, result::PSM_NOT_SUPPORTED, sink);
                } else if let Some(i) = self.pending(handle, State::Closing, |c| c.ident == ident) {
                    self.finish(i, 0, sink);
                }
            }
        }
    }

    /// Checks a connection request; the MTU we offer, or the result code refusing it.
    fn admit(&self, handle: u16, psm: u16, scid: u16, mtu: u16, mps: u16) -> Result<u16, u16> {
        let our_mtu = self.listening.iter().find(|l| l.0 != 0 && l.0 == psm).ok_or(result::PSM_NOT_SUPPORTED)?.1;
        if !CID_DYNAMIC.contains(&scid) {
            return Err(result::INVALID_SOURCE_CID);
        }
        // A closed channel kept only for its unread data no longer holds the
        // peer's id: the peer may (and trouble-based peers do) hand it out again.
        if self
            .chans
            .iter()
            .any(|c| !matches!(c.state, State::Free | State::Draining) && c.handle == handle && c.peer_cid == scid)
        {
            return Err(result::SOURCE_CID_IN_USE);
        }
        if mtu < MIN_MTU || !(MIN_MTU..=65533).contains(&mps) {
            return Err(result::UNACCEPTABLE_PARAMETERS);
        }
        Ok(our_mtu)
    }

    fn pending(&self, handle: u16, state: State, f: impl Fn(&Channel) -> bool) -> Option<usize> {
        self.chans.iter().position(|c| c.state == state && c.handle == handle && f(c))
    }

    fn finish(&mut self, i: usize, status: u16, sink: &mut impl FnMut(Note)) {
        let c = &mut self.chans[i];
        let (handle, psm) = (c.handle, c.psm);
        if Self::receiving(c.state) && c.rx.available() > 0 {
            c.state = State::Draining;
            c.tx.clear();
            (c.stalled, c.peer_credits) = (false, 0);
        } else {
            c.reset();
        }
        sink(Note::Disconnect { handle, cid: cid_of(i), psm, status });
    }

    /// The link is gone: its channels close and its queued commands are dropped.
    pub fn link_closed(&mut self, handle: u16, sink: &mut impl FnMut(Note)) {
        for i in 0..L2CAP_CHANNELS {
            if !matches!(self.chans[i].state, State::Free | State::Draining) && self.chans[i].handle == handle {
                self.finish(i, 0, sink);
            }
        }
        let keep = self.outbox.len();
        for _ in 0..keep {
            if let Some(o) = self.outbox.pop_front() {
                if o.handle != handle {
                    let _ = self.outbox.push_back(o);
                }
            }
        }
    }

    /// Requests unanswered for too long end; returns the next deadline, if any.
    pub fn expire(&mut self, now: u64, sink: &mut impl FnMut(Note)) -> Option<u64> {
        let mut next = None::<u64>;
        for i in 0..L2CAP_CHANNELS {
            let c = &self.chans[i];
            if !matches!(c.state, State::Connecting | State::Flushing | State::Closing) {
                continue;
            }
            let due = c.since + L2CAP_SIGNAL_TIMEOUT_MS;
            if now >= due && c.state == State::Flushing {
                // The peer gave no credits for what was left: drop it and close.
                self.close(i, now);
                next = Some(next.map_or(now + L2CAP_SIGNAL_TIMEOUT_MS, |n| n.min(now + L2CAP_SIGNAL_TIMEOUT_MS)));
            } else if now >= due {
                let status = if c.state == State::Connecting { STATUS_TIMEOUT } else { 0 };
                self.finish(i, status, sink);
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        next
    }

    /// The next frame to send: a signalling command first, else a K-frame of a
    /// channel with data and credits (in turn). Writes its payload into `out`
    /// (at least `SIGNAL_MAX` and `L2CAP_MPS` bytes); returns (handle, cid, length).
    pub fn next_out(&mut self, out: &mut [u8], now: u64, sink: &mut impl FnMut(Note)) -> Option<(u16, u16, usize)> {
        if let Some(o) = self.outbox.pop_front() {
            let mut buf = [0u8; SIGNAL_MAX];
            let n = wire::emit(o.ident, &o.signal, &mut buf);
            out[..n].copy_from_slice(&buf[..n]);
            return Some((o.handle, wire::CID_SIGNALLING, n));
        }
        for k in 0..L2CAP_CHANNELS {
            let i = (self.turn + k) % L2CAP_CHANNELS;
            let c = &mut self.chans[i];
            if !Self::receiving(c.state) || c.peer_credits == 0 {
                continue;
            }
            let mps = c.peer_mps.min(L2CAP_MPS) as usize;
            let Some(n) = c.tx.next_frame(mps, out) else { continue };
            c.peer_credits -= 1;
            self.turn = i + 1;
            let (handle, peer_cid) = (c.handle, c.peer_cid);
            let biggest = (c.peer_mtu as usize).min(L2CAP_TX_BYTES - 2);
            if c.state == State::Flushing {
                if c.tx.is_empty() {
                    // The disconnection request follows this last frame.
                    self.close(i, now);
                }
            } else if c.stalled && c.tx.fits(biggest) {
                c.stalled = false;
                sink(Note::SendReady { handle, cid: cid_of(i) });
            }
            return Some((handle, peer_cid, n));
        }
        None
    }
}

fn mtu_ok(mtu: u16) -> bool {
    mtu >= MIN_MTU && Rx::<L2CAP_RX_BYTES>::fits(mtu, L2CAP_MPS)
}

fn refusal(code: u16) -> Signal {
    Signal::ConnectRsp { dcid: 0, mtu: 0, mps: 0, credits: 0, result: code }
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
