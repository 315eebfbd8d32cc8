//! One connection's life after it is reported: link events, pairing, the ATT
//! server and client, and the timers of indications and requests.
//!
//! The session owns no queues: it takes PDUs from the link's inbox, puts
//! responses and requests in its send queue, and takes the application's
//! requests from the link's state, each step in one short critical section.
//! Only trouble-host's connection object (events, pairing, disconnect) is its
//! own, which is why a task per link is needed at all.
#![forbid(unsafe_code)]
use core::future::poll_fn;
use core::task::Poll;

use embassy_futures::select::{select3, Either3};
use embassy_time::{Duration, Instant, Timer};
use trouble_host::prelude::ConnectionEvent;
#[cfg(feature = "pairing")]
use trouble_host::prelude::SecurityLevel;

#[cfg(feature = "gatt-client")]
use super::client::{Client, ClientStep};
use super::serve::{self, Answers};
use crate::att::client::{classify, confirmation, Direction};
use crate::att::server::Security;
use crate::config::ATT_PDU_MAX;
use crate::events::{self, Event, STATUS_TIMEOUT};
use crate::host::Link;
use crate::link::{self, LinkState, Phase};
use crate::runtime::executor;
#[cfg(feature = "pairing")]
use crate::security::link::LinkSecurity;
use crate::sys;

/// ATT's transaction timeout.
pub const ATT_TIMEOUT: Duration = Duration::from_millis(crate::att::TRANSACTION_TIMEOUT_MS);

/// What woke the session.
enum Wake {
    Link(ConnectionEvent),
    /// Work in the link's state (PDUs, requests, answers, security, disconnect).
    Work,
    Timeout,
    /// The link's state says it closed (trouble-host's per-link event queue is
    /// two deep and can drop the Disconnected event behind others).
    Closed,
}

/// The session's own state across awaits.
struct Session {
    slot: usize,
    gen: u16,
    handle: u16,
    #[cfg(feature = "gatt-client")]
    client: Client,
    /// The indication in flight and its deadline.
    indication: Option<(u16, Instant)>,
    /// The front PDU of the inbox waits for Python's GATTS_READ_REQUEST answer.
    asking: bool,
    answers: Answers,
}

/// Serves the link in `slot` (opened as `gen`) until it disconnects.
pub async fn run(conn: &Link, slot: usize, gen: u16) {
    let handle = conn.handle().raw();
    let mut s = Session {
        slot,
        gen,
        handle,
        #[cfg(feature = "gatt-client")]
        client: Client::new(),
        indication: None,
        asking: false,
        answers: Answers::new(),
    };
    #[cfg(feature = "pairing")]
    let mut sec = LinkSecurity::new(conn);
    loop {
        let deadline = [s.indication.map(|(_, at)| at), s.client_deadline()].into_iter().flatten().min();
        match next_wake(conn, &s, deadline).await {
            Wake::Link(ConnectionEvent::Disconnected { .. }) | Wake::Closed => break,
            Wake::Link(ConnectionEvent::ConnectionParamsUpdated {
                conn_interval,
                peripheral_latency,
                supervision_timeout,
            }) => events::push(Event::ConnUpdate {
                handle,
                interval: (conn_interval.as_micros() / 1250) as u16,
                latency: peripheral_latency,
                timeout: (supervision_timeout.as_millis() / 10) as u16,
                status: 0,
            }),
            #[cfg(feature = "pairing")]
            Wake::Link(e) => sec.on_event(conn, &e),
            #[cfg(not(feature = "pairing"))]
            Wake::Link(_) => {}
            Wake::Work => {
                if s.with(|l| core::mem::take(&mut l.disconnect)) == Some(true) {
                    conn.disconnect();
                }
                #[cfg(feature = "pairing")]
                while let Some(Some(op)) = s.with(|l| l.security.pop_front()) {
                    // Refusals were found when the call was made (see `api::security`).
                    let _ = sec.on_request(conn, op);
                }
                s.work(security(conn));
            }
            Wake::Timeout => s.timeout(conn),
        }
    }
}

/// Runs `f` on the link in `slot`, if the slot still holds the one opened as `gen`.
fn with<R>(slot: usize, gen: u16, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
    link::with_slot(slot, |l| (l.gen == gen && l.phase == Phase::Open).then(|| f(l))).flatten()
}

impl Session {
    /// Runs `f` on this session's link, if the slot still holds it.
    fn with<R>(&self, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
        with(self.slot, self.gen, f)
    }

    /// Everything the link's state has for the session, in one pass.
    fn work(&mut self, security: Security) {
        self.serve_inbox(security);
        #[cfg(feature = "gatt-client")]
        self.client.step(self.slot, self.gen, self.handle);
        self.track_indication();
    }

    /// When the running client procedure times out, if one runs.
    fn client_deadline(&self) -> Option<Instant> {
        #[cfg(feature = "gatt-client")]
        return self.client.deadline();
        #[cfg(not(feature = "gatt-client"))]
        None
    }

    /// Serves PDUs from the inbox while events and responses have room.
    fn serve_inbox(&mut self, security: Security) {
        let (slot, gen, handle) = (self.slot, self.gen, self.handle);
        let mut pdu = [0u8; ATT_PDU_MAX];
        while events::has_room() {
            let (answers, asking) = (&mut self.answers, &mut self.asking);
            let step = with(slot, gen, |l| {
                if *asking {
                    let (vh, result) = l.answer.take()?;
                    let _ = answers.push((vh, serve::decision(result)));
                }
                l.att_in.front_len()?;
                if !l.att_room(0) || critical_section::with(serve::held) {
                    return None;
                }
                let n = l.att_in.peek(0, &mut pdu);
                Some(inbound(l, handle, security, &pdu[..n], answers, asking))
            });
            match step.flatten() {
                None | Some(Served::Asked) => return,
                Some(Served::Done { mtu, confirmed }) => {
                    #[cfg(feature = "gatt-client")]
                    self.client.set_mtu(mtu);
                    #[cfg(not(feature = "gatt-client"))]
                    let _ = mtu;
                    if let Some(vh) = confirmed {
                        self.indication = None;
                        events::push(Event::IndicateDone { handle, value_handle: vh, status: 0 });
                        super::notify::send_deferred(slot, gen);
                    }
                }
                #[cfg(feature = "gatt-client")]
                Some(Served::Response(n)) => {
                    if let ClientStep::Mtu(mtu) = self.client.on_response(slot, gen, handle, &pdu[..n]) {
                        self.with(|l| l.server.set_mtu(mtu));
                    }
                }
                // No procedure of ours runs: a response is unsolicited.
                #[cfg(not(feature = "gatt-client"))]
                Some(Served::Response(_)) => {}
                Some(Served::Other) => {}
            }
            // Room in the inbox: the transport may read the controller again.
            executor::wake();
        }
    }

    /// Whether the client has a procedure to start or a response to take.
    fn client_has_work(&self, l: &LinkState) -> bool {
        #[cfg(feature = "gatt-client")]
        return self.client.has_work(l);
        #[cfg(not(feature = "gatt-client"))]
        {
            let _ = l;
            false
        }
    }

    /// Starts the deadline of an indication the application queued.
    fn track_indication(&mut self) {
        let queued = self.with(|l| l.indicating).flatten();
        match (queued, self.indication) {
            (Some(vh), None) => self.indication = Some((vh, Instant::now() + ATT_TIMEOUT)),
            (None, Some(_)) => self.indication = None,
            _ => {}
        }
    }

    /// No answer in time: the bearer is unusable (§3.3.3), so the link goes.
    fn timeout(&mut self, conn: &Link) {
        let now = Instant::now();
        if let Some((vh, _)) = self.indication.filter(|(_, at)| *at <= now) {
            self.indication = None;
            self.with(|l| l.indicating = None);
            events::push(Event::IndicateDone { handle: self.handle, value_handle: vh, status: STATUS_TIMEOUT as u8 });
            conn.disconnect();
        }
        #[cfg(feature = "gatt-client")]
        if self.client.expired(now) {
            self.client.time_out(self.slot, self.gen, self.handle);
            conn.disconnect();
        }
    }
}

/// What one PDU from the inbox came to.
enum Served {
    /// Python must answer a read request first; the PDU stays at the front.
    Asked,
    /// A request or command was served.
    Done { mtu: u16, confirmed: Option<u16> },
    /// A response of this length, for the client.
    Response(usize),
    /// A push from the peer, or a PDU nobody serves.
    Other,
}

/// Handles the PDU at the front of the link's inbox (under the lock).
fn inbound(
    l: &mut LinkState,
    handle: u16,
    security: Security,
    pdu: &[u8],
    answers: &mut Answers,
    asking: &mut bool,
) -> Served {
    let direction = classify(pdu, l.mtu());
    if let Direction::ToServer = direction {
        let served = serve::serve(l, security, pdu, answers);
        if let Some(vh) = served.ask {
            *asking = true;
            events::push(Event::ReadRequest { handle, value_handle: vh });
            return Served::Asked;
        }
        *asking = false;
        answers.clear();
        l.att_in.discard();
        let confirmed = if served.confirmed { l.indicating.take() } else { None };
        // An exchange the peer started sets the MTU for both roles.
        return Served::Done { mtu: l.mtu(), confirmed };
    }
    l.att_in.discard();
    match direction {
        Direction::Response => Served::Response(pdu.len()),
        // Without a GATT client nobody subscribed: pushes are dropped, though
        // an indication is still confirmed, as the peer's bearer needs.
        #[cfg(feature = "gatt-client")]
        Direction::Notification { handle: vh } => {
            let code = sys::MP_BLUETOOTH_IRQ_GATTC_NOTIFY as u8;
            events::push(Event::Data { code, handle, value_handle: vh, data: &pdu[3..] });
            Served::Other
        }
        Direction::Indication { handle: _vh } => {
            #[cfg(feature = "gatt-client")]
            events::push(Event::Data {
                code: sys::MP_BLUETOOTH_IRQ_GATTC_INDICATE as u8,
                handle,
                value_handle: _vh,
                data: &pdu[3..],
            });
            let mut out = [0u8; 1];
            let n = confirmation(&mut out);
            let _ = l.att_out.push(&out[..n]);
            Served::Other
        }
        _ => Served::Other,
    }
}

/// The link's security as the server's permission checks need it.
#[cfg(feature = "pairing")]
fn security(conn: &Link) -> Security {
    let level = conn.security_level().unwrap_or(SecurityLevel::NoEncryption);
    Security {
        encrypted: level.encrypted(),
        authenticated: level.authenticated(),
        key_size: crate::security::link::key_size(conn),
    }
}

/// Without pairing a link is never encrypted.
#[cfg(not(feature = "pairing"))]
fn security(_conn: &Link) -> Security {
    Security { encrypted: false, authenticated: false, key_size: 0 }
}

async fn next_wake(conn: &Link, s: &Session, deadline: Option<Instant>) -> Wake {
    let timer = async {
        match deadline {
            Some(at) => Timer::at(at).await,
            None => core::future::pending().await,
        }
    };
    // Every change to the link's state wakes the stack, which polls this again.
    let work = poll_fn(|_| {
        let pending = s.with(|l| {
            l.disconnect
                || !l.security.is_empty()
                || (!l.att_in.is_empty()
                    && (!s.asking || l.answer.is_some())
                    && l.att_room(0)
                    && events::has_room()
                    && !critical_section::with(serve::held))
                || s.client_has_work(l)
                || l.indicating.is_some() != s.indication.is_some()
        });
        match pending {
            Some(true) => Poll::Ready(Wake::Work),
            Some(false) => Poll::Pending,
            None => Poll::Ready(Wake::Closed),
        }
    });
    match select3(conn.next(), work, timer).await {
        Either3::First(e) => Wake::Link(e),
        Either3::Second(w) => w,
        Either3::Third(()) => Wake::Timeout,
    }
}
