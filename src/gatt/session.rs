//! One connection's life after it is reported: link events, the ATT server
//! and client, and the notifications and indications the application pushes.
use core::future::poll_fn;
use core::task::Poll;

use embassy_futures::select::{select, select4, Either, Either4};
use embassy_time::{Duration, Instant, Timer};
use heapless::Vec;
use trouble_host::prelude::ConnectionEvent;

use super::push::{self, Push, PUSH_ACK};
use super::requests::{self, Request};
use super::serve::{self, DATABASE};
use crate::att::bearer;
use crate::att::client::{self, ClientLink, Direction, Output, Procedure};
use crate::att::server::ServerLink;
use crate::config::{ATT_PDU_MAX, MAX_VALUE_LEN};
use crate::events::{self, Event};
use crate::gap::state::DISCONNECT_REQ;
use crate::security::link::{self as security, LinkSecurity, Op};
use crate::stack::Link;
use crate::sys;

/// ATT's transaction timeout (Vol 3 Part F §3.3.3).
const ATT_TIMEOUT: Duration = Duration::from_secs(30);
/// NimBLE's BLE_HS_ETIMEOUT, which its backend reports as a timed-out status.
const STATUS_TIMEOUT: u16 = 13;
const OP_NOTIFY: u8 = 0x1b;
const OP_INDICATE: u8 = 0x1d;

/// The client side of a link: the running procedure and what it collects.
struct Client {
    link: ClientLink,
    running: Option<Request>,
    read: Vec<u8, MAX_VALUE_LEN>,
    deadline: Option<Instant>,
}

/// What woke the session.
enum Wake {
    Link(ConnectionEvent),
    Disconnect,
    Security(Op, u32),
    Pdu(bearer::Pdu),
    Push(Push),
    Request(Request),
    Answer(u16, i32),
    Timeout,
}

/// Serves the link in slot `i` until it disconnects.
pub async fn run(conn: &Link, i: usize) {
    let handle = conn.handle().raw();
    let mut server = serve::new_link();
    let mut client = Client { link: ClientLink::new(), running: None, read: Vec::new(), deadline: None };
    // The indication awaiting its confirmation: (value handle, deadline).
    let mut indicating: Option<(u16, Instant)> = None;
    // A request held until Python answers GATTS_READ_REQUEST, and the answers so far.
    let mut asking: Option<bearer::Pdu> = None;
    let mut answers = serve::Answers::new();
    // A send_update indication waiting for the one in flight.
    let mut deferred: Option<u16> = None;
    serve::take_answer(i);
    requests::clear(i);
    security::REQ[i].reset();
    let mut sec = LinkSecurity::new(conn);
    loop {
        let deadline = [indicating.map(|(_, at)| at), client.deadline].into_iter().flatten().min();
        let idle = client.running.is_none();
        if idle {
            // Before any of its events can reach Python (they are delivered after the poll).
            requests::finish(i);
        }
        // While a request waits for Python, the client's next request waits too (ATT allows
        // one outstanding request per direction, and this one isn't answered).
        let wake = next_wake(conn, i, handle, idle, deadline, asking.is_some()).await;
        match wake {
            Wake::Link(ConnectionEvent::Disconnected { .. }) => break,
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
            Wake::Link(e) => sec.on_event(conn, &e),
            Wake::Disconnect => conn.disconnect(),
            Wake::Security(op, seq) => security::ACK[i].complete(seq, sec.on_request(conn, op)),
            Wake::Pdu(pdu) => match client::classify(&pdu, client.link.mtu()) {
                Direction::ToServer => {
                    answers.clear();
                    let served = serve::serve(conn, &mut server, &pdu, &answers).await;
                    if served.confirmed {
                        if let Some((value_handle, _)) = indicating.take() {
                            events::push(Event::IndicateDone { handle, value_handle, status: 0 });
                        }
                        if let Some(vh) = deferred.take() {
                            if let Updated::Indicated = update(handle, &server, vh, false).await {
                                indicating = Some((vh, Instant::now() + ATT_TIMEOUT));
                            }
                        }
                    }
                    if let Some(vh) = served.ask {
                        events::push(Event::ReadRequest { handle, value_handle: vh });
                        asking = Some(pdu);
                    }
                    // An exchange the peer started sets the MTU for both roles.
                    client.link.set_mtu(server.mtu());
                }
                Direction::Response => respond(handle, &mut client, &mut server, &pdu).await,
                Direction::Notification { handle: vh } => events::push(Event::Data {
                    code: sys::MP_BLUETOOTH_IRQ_GATTC_NOTIFY as u8,
                    handle,
                    value_handle: vh,
                    data: &pdu[3..],
                }),
                Direction::Indication { handle: vh } => {
                    events::push(Event::Data {
                        code: sys::MP_BLUETOOTH_IRQ_GATTC_INDICATE as u8,
                        handle,
                        value_handle: vh,
                        data: &pdu[3..],
                    });
                    let mut out = [0u8; 1];
                    let n = client::confirmation(&mut out);
                    let _ = bearer::send(handle, &out[..n]).await;
                }
                Direction::Invalid => {}
            },
            Wake::Push(p) if p.update => {
                // An indication waits for the one in flight; the newest is sent
                // (with the value current then) once that one is confirmed.
                match update(handle, &server, p.value_handle, indicating.is_some()).await {
                    Updated::Indicated => indicating = Some((p.value_handle, Instant::now() + ATT_TIMEOUT)),
                    Updated::Deferred => deferred = Some(p.value_handle),
                    Updated::Notified | Updated::NotSubscribed => {}
                }
                PUSH_ACK.complete(p.seq, 0);
            }
            Wake::Push(p) => {
                let r = if p.indicate && indicating.is_some() {
                    Err(sys::MP_EALREADY as i32)
                } else {
                    send_push(handle, &server, &p).await
                };
                if r.is_ok() && p.indicate {
                    indicating = Some((p.value_handle, Instant::now() + ATT_TIMEOUT));
                }
                PUSH_ACK.complete(p.seq, r.err().unwrap_or(0));
            }
            Wake::Request(r) => start(handle, &mut client, r).await,
            Wake::Answer(vh, result) => {
                let _ = answers.push((vh, serve::decision(result)));
                if let Some(pdu) = asking.take() {
                    let served = serve::serve(conn, &mut server, &pdu, &answers).await;
                    if let Some(vh) = served.ask {
                        events::push(Event::ReadRequest { handle, value_handle: vh });
                        asking = Some(pdu);
                    }
                }
            }
            Wake::Timeout => {
                // No answer in time: the bearer is unusable (§3.3.3), so the link goes.
                let now = Instant::now();
                if let Some((value_handle, _)) = indicating.filter(|(_, at)| *at <= now) {
                    indicating = None;
                    events::push(Event::IndicateDone { handle, value_handle, status: STATUS_TIMEOUT as u8 });
                    conn.disconnect();
                }
                if client.deadline.is_some_and(|at| at <= now) {
                    client.deadline = None;
                    let running = client.running.take();
                    client.link.abort(STATUS_TIMEOUT, &mut |o| emit(handle, running.as_ref(), &mut client.read, o));
                    conn.disconnect();
                }
            }
        }
    }
    requests::clear(i);
    if let Some((_, seq)) = security::REQ[i].try_take() {
        security::ACK[i].complete(seq, sys::MP_ENOTCONN as i32);
    }
    bearer::close(handle);
}

async fn next_wake(conn: &Link, i: usize, handle: u16, idle: bool, deadline: Option<Instant>, asking: bool) -> Wake {
    let timer = async {
        match deadline {
            Some(at) => Timer::at(at).await,
            None => core::future::pending().await,
        }
    };
    let request = poll_fn(|_| match idle.then(|| requests::take(i)).flatten() {
        Some(r) => Poll::Ready(r),
        None => Poll::Pending,
    });
    let outgoing = select(push::next(handle), select(request, timer));
    // The peer's next PDU waits while Python decides about the held request.
    let incoming = async {
        if asking {
            let (vh, r) = poll_fn(|_| serve::take_answer(i).map_or(Poll::Pending, Poll::Ready)).await;
            Wake::Answer(vh, r)
        } else {
            Wake::Pdu(bearer::recv(handle).await)
        }
    };
    match select4(conn.next(), select(DISCONNECT_REQ[i].wait(), security::REQ[i].wait()), incoming, outgoing).await {
        Either4::First(e) => Wake::Link(e),
        Either4::Second(Either::First(())) => Wake::Disconnect,
        Either4::Second(Either::Second((op, seq))) => Wake::Security(op, seq),
        Either4::Third(w) => w,
        Either4::Fourth(Either::First(p)) => Wake::Push(p),
        Either4::Fourth(Either::Second(Either::First(r))) => Wake::Request(r),
        Either4::Fourth(Either::Second(Either::Second(()))) => Wake::Timeout,
    }
}

/// Starts a queued client procedure.
async fn start(conn: u16, client: &mut Client, mut r: Request) {
    let mut out = [0u8; ATT_PDU_MAX];
    client.read.clear();
    if let Procedure::Write { handle, with_response: true, .. } = r.procedure {
        let room = (client.link.mtu() as usize).saturating_sub(3);
        if !r.long && r.value.len() > room {
            r.value.truncate(room);
            r.procedure = Procedure::Write { handle, len: room, with_response: true };
        }
    }
    match client.link.start(r.procedure, &r.value, &mut out) {
        Ok(n) => {
            let sent = bearer::send(conn, &out[..n]).await.is_ok();
            if client.link.busy() && sent {
                client.running = Some(r);
                client.deadline = Some(Instant::now() + ATT_TIMEOUT);
            } else if client.link.busy() {
                client.link.abort(STATUS_TIMEOUT, &mut |_| {});
            }
        }
        Err(client::Error::AlreadyExchanged) => {
            // ATT allows one exchange per link: a second request reports the
            // MTU in force again (one documented answer for aioble's
            // `exchange_mtu`, which waits for this event).
            events::push(Event::MtuExchanged { handle: conn, mtu: client.link.mtu() });
        }
        Err(_) => {
            // Refused before anything was sent: report it as the procedure's
            // failure, as NimBLE reports errors.
            let status = crate::att::codes::ErrorCode::REQUEST_NOT_SUPPORTED.0 as u16;
            emit(conn, Some(&r), &mut client.read, Output::Done { status });
        }
    }
}

/// Feeds a response to the running procedure; sends its next request.
async fn respond(conn: u16, client: &mut Client, server: &mut ServerLink, pdu: &[u8]) {
    let Some(running) = client.running.take() else { return };
    let mut out = [0u8; ATT_PDU_MAX];
    let mut mtu = None;
    let next = client.link.on_response(pdu, &running.value, &mut out, &mut |o| {
        if let Output::MtuExchanged { mtu: m } = o {
            mtu = Some(m);
        }
        emit(conn, Some(&running), &mut client.read, o)
    });
    if let Some(m) = mtu {
        server.set_mtu(m);
    }
    match next {
        Some(n) => {
            client.running = Some(running);
            client.deadline = Some(Instant::now() + ATT_TIMEOUT);
            if bearer::send(conn, &out[..n]).await.is_err() {
                client.running = None;
            }
        }
        None if client.link.busy() => client.running = Some(running),
        None => client.deadline = None,
    }
}

/// Turns a procedure's output into MicroPython events.
fn emit(conn: u16, running: Option<&Request>, read: &mut Vec<u8, MAX_VALUE_LEN>, o: Output<'_>) {
    let code = |c: u32| c as u8;
    match o {
        Output::Service { start, end, uuid } => events::push(Event::Service { handle: conn, start, end, uuid }),
        Output::Characteristic { value_handle, end_handle, properties, uuid } => {
            events::push(Event::Characteristic { handle: conn, value_handle, end_handle, properties, uuid })
        }
        Output::Descriptor { handle, uuid } => {
            events::push(Event::Descriptor { handle: conn, dsc_handle: handle, uuid })
        }
        Output::ReadChunk { data } => {
            let room = read.capacity() - read.len();
            let _ = read.extend_from_slice(&data[..data.len().min(room)]);
        }
        Output::MtuExchanged { mtu } => events::push(Event::MtuExchanged { handle: conn, mtu }),
        Output::Done { status } => match running.map(|r| r.procedure) {
            Some(Procedure::DiscoverServices { .. }) => events::push(Event::DiscoverDone {
                code: code(sys::MP_BLUETOOTH_IRQ_GATTC_SERVICE_DONE),
                handle: conn,
                status,
            }),
            Some(Procedure::DiscoverCharacteristics { .. }) => events::push(Event::DiscoverDone {
                code: code(sys::MP_BLUETOOTH_IRQ_GATTC_CHARACTERISTIC_DONE),
                handle: conn,
                status,
            }),
            Some(Procedure::DiscoverDescriptors { .. }) => events::push(Event::DiscoverDone {
                code: code(sys::MP_BLUETOOTH_IRQ_GATTC_DESCRIPTOR_DONE),
                handle: conn,
                status,
            }),
            Some(Procedure::Read { handle }) => {
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
            Some(Procedure::Write { handle, with_response: true, .. }) => events::push(Event::Status {
                code: code(sys::MP_BLUETOOTH_IRQ_GATTC_WRITE_DONE),
                handle: conn,
                value_handle: handle,
                status,
            }),
            _ => {}
        },
    }
}

/// Sends one push; the payload is cut to what the link's MTU carries.
async fn send_push(conn: u16, server: &ServerLink, p: &Push) -> Result<(), i32> {
    let mut pdu: Vec<u8, ATT_PDU_MAX> = Vec::new();
    let _ = pdu.push(if p.indicate { OP_INDICATE } else { OP_NOTIFY });
    let _ = pdu.extend_from_slice(&p.value_handle.to_le_bytes());
    let room = (server.mtu() as usize).saturating_sub(3);
    match &p.data {
        Some(d) => {
            let _ = pdu.extend_from_slice(&d[..d.len().min(room)]);
        }
        None => serve::with_value(p.value_handle, |v| {
            let _ = pdu.extend_from_slice(&v[..v.len().min(room)]);
        }),
    }
    bearer::send(conn, &pdu).await.map_err(|_| sys::MP_ENOTCONN as i32)
}

/// What `send_update` did on a link.
enum Updated {
    Notified,
    Indicated,
    /// Subscribed to indications, one in flight: send after its confirmation.
    Deferred,
    NotSubscribed,
}

/// `send_update`: notify or indicate the current value as this link subscribed.
async fn update(conn: u16, server: &ServerLink, value_handle: u16, indicating: bool) -> Updated {
    let Some(cccd) = critical_section::with(|cs| DATABASE.borrow(cs).borrow().cccd_of(value_handle)) else {
        return Updated::NotSubscribed;
    };
    let subscribed = server.cccd(cccd);
    // As NimBLE: with both bits set, a notification.
    let indicate = subscribed == 0b10;
    if indicate && indicating {
        return Updated::Deferred;
    }
    if subscribed & 0b11 == 0 {
        return Updated::NotSubscribed;
    }
    let p = Push { conn, value_handle, indicate, data: None, update: true, seq: 0 };
    match (send_push(conn, server, &p).await.is_ok(), indicate) {
        (true, true) => Updated::Indicated,
        (true, false) => Updated::Notified,
        (false, _) => Updated::NotSubscribed,
    }
}
