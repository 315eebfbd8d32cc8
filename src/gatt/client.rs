//! The GATT client of one link in the running stack: starts the procedures
//! the application queued in the link's state, feeds them the server's
//! responses and turns their results into events.
//!
//! A procedure's slot in the queue is given back before its final event is
//! pushed, so an application that reacts to `..._DONE` by queuing the next
//! call always finds room.
#![forbid(unsafe_code)]
use embassy_time::Instant;

/// ATT's transaction timeout.
const ATT_TIMEOUT: Duration = Duration::from_millis(crate::att::TRANSACTION_TIMEOUT_MS);
use heapless::Vec;

use crate::att::client::{self, ClientLink, Output, Procedure};
use crate::att::codes::ErrorCode;
use crate::config::{ATT_PDU_MAX, MAX_VALUE_LEN};
use crate::events::{self, Event, STATUS_TIMEOUT};
use crate::link::{self, LinkState, Phase, Request};
use crate::sys;
use embassy_time::Duration;

/// What a response came to.
pub enum ClientStep {
    /// The MTU exchange we started set this MTU.
    Mtu(u16),
    /// Nothing the session must act on.
    Other,
}

/// The running procedure and what it collects.
pub struct Client {
    link: ClientLink,
    running: Option<Request>,
    read: Vec<u8, MAX_VALUE_LEN>,
    deadline: Option<Instant>,
}

/// The event that ends a procedure, pushed after its queue slot is free.
enum Last {
    Done(u16),
    Mtu(u16),
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// No procedure.
    pub const fn new() -> Self {
        Self { link: ClientLink::new(), running: None, read: Vec::new(), deadline: None }
    }

    /// When the running procedure times out.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the running procedure has timed out.
    pub fn expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|at| at <= now)
    }

    /// The MTU either side's exchange set.
    pub fn set_mtu(&mut self, mtu: u16) {
        self.link.set_mtu(mtu);
    }

    /// Whether a queued procedure can start.
    pub fn has_work(&self, l: &LinkState) -> bool {
        self.running.is_none() && !l.requests.is_empty() && l.att_room(0)
    }

    /// Starts the next queued procedure, if none runs.
    pub fn step(&mut self, slot: usize, gen: u16, conn: u16) {
        while self.running.is_none() {
            let mut out = [0u8; ATT_PDU_MAX];
            let mut value = [0u8; MAX_VALUE_LEN];
            let started = with(slot, gen, |l| {
                if !l.att_room(0) {
                    return None;
                }
                let mut r = l.start_request()?;
                let n = if r.has_value() { l.values.peek(0, &mut value) } else { 0 };
                let value = &value[..n];
                // As NimBLE: without mode 2, a Write Request carries what fits.
                if let Procedure::Write { handle, with_response: true, .. } = r.procedure {
                    let room = usize::from(self.link.mtu()).saturating_sub(3);
                    if !r.long && value.len() > room {
                        r.procedure = Procedure::Write { handle, len: room, with_response: true };
                    }
                }
                let result = self.link.start(r.procedure, value, &mut out);
                if let Ok(n) = result {
                    let _ = l.att_out.push(&out[..n]);
                }
                let done = result.is_err() || !self.link.busy();
                if done {
                    l.finish_request();
                }
                Some((r, result, done))
            })
            .flatten();
            let Some((r, result, done)) = started else { return };
            self.read.clear();
            if !done {
                self.running = Some(r);
                self.deadline = Some(Instant::now() + ATT_TIMEOUT);
                return;
            }
            match result {
                // A Write Command is complete once queued; nothing to report.
                Ok(_) => {}
                Err(client::Error::AlreadyExchanged) => {
                    // ATT allows one exchange per link: a second request reports
                    // the MTU in force again (aioble's `exchange_mtu` waits for it).
                    events::push(Event::MtuExchanged { handle: conn, mtu: self.link.mtu() })
                }
                // Refused before anything was sent: reported as the procedure's
                // failure, as NimBLE reports errors.
                Err(_) => finish_event(conn, &r, &self.read, u16::from(ErrorCode::REQUEST_NOT_SUPPORTED.0)),
            }
        }
    }

    /// Feeds a response to the running procedure.
    pub fn on_response(&mut self, slot: usize, gen: u16, conn: u16, pdu: &[u8]) -> ClientStep {
        let Some(running) = self.running else { return ClientStep::Other };
        let mut out = [0u8; ATT_PDU_MAX];
        let mut value = [0u8; MAX_VALUE_LEN];
        let n = with(slot, gen, |l| if running.has_value() { l.values.peek(0, &mut value) } else { 0 }).unwrap_or(0);
        let mut last = None;
        let read = &mut self.read;
        let next = self.link.on_response(pdu, &value[..n], &mut out, &mut |o| match o {
            Output::ReadChunk { data } => {
                let room = read.capacity() - read.len();
                let _ = read.extend_from_slice(&data[..data.len().min(room)]);
            }
            Output::Done { status } => last = Some(Last::Done(status)),
            Output::MtuExchanged { mtu } => last = Some(Last::Mtu(mtu)),
            found => result_event(conn, found),
        });
        if let Some(n) = next {
            with(slot, gen, |l| l.att_out.push(&out[..n]));
            self.deadline = Some(Instant::now() + ATT_TIMEOUT);
            return ClientStep::Other;
        }
        if self.link.busy() {
            return ClientStep::Other;
        }
        self.running = None;
        self.deadline = None;
        with(slot, gen, |l| l.finish_request());
        match last {
            Some(Last::Done(status)) => {
                finish_event(conn, &running, &self.read, status);
                ClientStep::Other
            }
            Some(Last::Mtu(mtu)) => {
                events::push(Event::MtuExchanged { handle: conn, mtu });
                ClientStep::Mtu(mtu)
            }
            None => ClientStep::Other,
        }
    }

    /// The running procedure timed out: it ends with NimBLE's timeout status.
    pub fn time_out(&mut self, slot: usize, gen: u16, conn: u16) {
        let Some(running) = self.running.take() else { return };
        self.deadline = None;
        let mut status = None;
        self.link.abort(STATUS_TIMEOUT, &mut |o| {
            if let Output::Done { status: s } = o {
                status = Some(s);
            }
        });
        with(slot, gen, |l| l.finish_request());
        if let Some(s) = status {
            finish_event(conn, &running, &self.read, s);
        }
    }
}

fn with<R>(slot: usize, gen: u16, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
    link::with_slot(slot, |l| (l.gen == gen && l.phase == Phase::Open).then(|| f(l))).flatten()
}

/// A discovery result as its event.
fn result_event(conn: u16, o: Output<'_>) {
    match o {
        Output::Service { start, end, uuid } => events::push(Event::Service { handle: conn, start, end, uuid }),
        Output::Characteristic { value_handle, end_handle, properties, uuid } => {
            events::push(Event::Characteristic { handle: conn, value_handle, end_handle, properties, uuid })
        }
        Output::Descriptor { handle, uuid } => {
            events::push(Event::Descriptor { handle: conn, dsc_handle: handle, uuid })
        }
        _ => {}
    }
}

/// The events that end procedure `r` with `status` (a read's value first).
fn finish_event(conn: u16, r: &Request, read: &[u8], status: u16) {
    let code = |c: u32| c as u8;
    match r.procedure {
        Procedure::DiscoverServices { .. } => events::push(Event::DiscoverDone {
            code: code(sys::MP_BLUETOOTH_IRQ_GATTC_SERVICE_DONE),
            handle: conn,
            status,
        }),
        Procedure::DiscoverCharacteristics { .. } => events::push(Event::DiscoverDone {
            code: code(sys::MP_BLUETOOTH_IRQ_GATTC_CHARACTERISTIC_DONE),
            handle: conn,
            status,
        }),
        Procedure::DiscoverDescriptors { .. } => events::push(Event::DiscoverDone {
            code: code(sys::MP_BLUETOOTH_IRQ_GATTC_DESCRIPTOR_DONE),
            handle: conn,
            status,
        }),
        Procedure::Read { handle } => {
            if status == 0 {
                events::push(Event::Data {
                    code: code(sys::MP_BLUETOOTH_IRQ_GATTC_READ_RESULT),
                    handle: conn,
                    value_handle: handle,
                    data: read,
                });
            }
            events::push(Event::Status {
                code: code(sys::MP_BLUETOOTH_IRQ_GATTC_READ_DONE),
                handle: conn,
                value_handle: handle,
                status,
            })
        }
        Procedure::Write { handle, with_response: true, .. } => events::push(Event::Status {
            code: code(sys::MP_BLUETOOTH_IRQ_GATTC_WRITE_DONE),
            handle: conn,
            value_handle: handle,
            status,
        }),
        _ => {}
    }
}
