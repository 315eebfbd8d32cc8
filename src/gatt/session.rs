//! One connection's life after it is reported: link events, the ATT server,
//! and the notifications and indications the application pushes.
use embassy_futures::select::{select, select4, Either, Either4};
use embassy_time::{Instant, Timer};
use heapless::Vec;
use trouble_host::prelude::ConnectionEvent;

use super::push::{self, Push, PUSH_ACK, UPDATES};
use super::serve::{self, DATABASE};
use crate::att::bearer;
use crate::att::server::ServerLink;
use crate::config::ATT_PDU_MAX;
use crate::events::{self, Event};
use crate::gap::state::DISCONNECT_REQ;
use crate::stack::Link;
use crate::sys;

/// ATT's transaction timeout (Vol 3 Part F §3.3.3).
const ATT_TIMEOUT_S: u64 = 30;
/// NimBLE's BLE_HS_ETIMEOUT, which its backend reports as INDICATE_DONE's status.
const STATUS_TIMEOUT: u8 = 13;
const OP_NOTIFY: u8 = 0x1b;
const OP_INDICATE: u8 = 0x1d;

/// Serves the link in slot `i` until it disconnects.
pub async fn run(conn: &Link, i: usize) {
    let handle = conn.handle().raw();
    let mut server = serve::new_link();
    // The indication awaiting its confirmation: (value handle, deadline).
    let mut indicating: Option<(u16, Instant)> = None;
    UPDATES[i].reset();
    loop {
        let deadline = async {
            match indicating {
                Some((_, at)) => Timer::at(at).await,
                None => core::future::pending().await,
            }
        };
        let outgoing = select(push::next(handle), UPDATES[i].wait());
        match select4(conn.next(), DISCONNECT_REQ[i].wait(), bearer::recv(handle), select(outgoing, deadline)).await {
            Either4::First(ConnectionEvent::Disconnected { .. }) => break,
            Either4::First(ConnectionEvent::ConnectionParamsUpdated {
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
            Either4::First(_) => {}
            Either4::Second(()) => conn.disconnect(),
            Either4::Third(pdu) => {
                if serve::serve(conn, &mut server, &pdu).await {
                    if let Some((value_handle, _)) = indicating.take() {
                        events::push(Event::IndicateDone { handle, value_handle, status: 0 });
                    }
                }
            }
            Either4::Fourth(Either::First(Either::First(p))) => {
                let r = if p.indicate && indicating.is_some() {
                    Err(sys::MP_EALREADY as i32)
                } else {
                    send(handle, &server, &p).await
                };
                if r.is_ok() && p.indicate {
                    indicating =
                        Some((p.value_handle, Instant::now() + embassy_time::Duration::from_secs(ATT_TIMEOUT_S)));
                }
                PUSH_ACK.complete(p.seq, r.err().unwrap_or(0));
            }
            Either4::Fourth(Either::First(Either::Second(value_handle))) => {
                update(handle, &server, value_handle, indicating.is_some()).await.into_iter().for_each(|ind| {
                    indicating = Some((ind, Instant::now() + embassy_time::Duration::from_secs(ATT_TIMEOUT_S)));
                });
            }
            Either4::Fourth(Either::Second(())) => {
                // No confirmation: the bearer is unusable (§3.3.3), so the link goes.
                if let Some((value_handle, _)) = indicating.take() {
                    events::push(Event::IndicateDone { handle, value_handle, status: STATUS_TIMEOUT });
                }
                conn.disconnect();
            }
        }
    }
    bearer::close(handle);
}

/// Sends one push; the payload is cut to what the link's MTU carries.
async fn send(conn: u16, server: &ServerLink, p: &Push) -> Result<(), i32> {
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

/// `send_update`: notify or indicate the new value as this link subscribed.
/// Returns the value handle if an indication went out.
async fn update(conn: u16, server: &ServerLink, value_handle: u16, indicating: bool) -> Option<u16> {
    let cccd = critical_section::with(|cs| DATABASE.borrow(cs).borrow().cccd_of(value_handle))?;
    let subscribed = server.cccd(cccd);
    let indicate = subscribed & 0b10 != 0 && !indicating;
    if subscribed & 0b01 == 0 && !indicate {
        return None;
    }
    let p = Push { conn, value_handle, indicate, data: None, seq: 0 };
    let ok = send(conn, server, &p).await.is_ok();
    (ok && indicate).then_some(value_handle)
}
