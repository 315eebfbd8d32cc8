//! Notifications and indications from the local server, built on the
//! calling (Python) thread straight into the link's send queue: nothing
//! waits for the stack, so pushes go out at the rate the link carries.
//!
//! One indication per link may be unconfirmed (Vol 3 Part F §3.4.7.2): a
//! second `gatts_indicate` meanwhile is refused, and a `send_update` to an
//! indication subscriber waits for the confirmation and then sends the value
//! current at that time.
#![forbid(unsafe_code)]
use super::serve::{with_value, DATABASE};
use crate::att::wire::Pdu;
use crate::config::ATT_PDU_MAX;
use crate::link::{self, LinkState, Phase};
use crate::runtime::executor;
use crate::sys;

/// Queues a notification or indication of `value_handle` with `data` (or
/// the attribute's current value), cut to what the link's MTU carries.
/// False if the send queue has no room for it.
fn queue(l: &mut LinkState, value_handle: u16, indicate: bool, data: Option<&[u8]>) -> bool {
    let room = usize::from(l.mtu()).saturating_sub(3);
    let mut out = [0u8; ATT_PDU_MAX];
    let mut emit = |v: &[u8]| {
        let value = &v[..v.len().min(room)];
        let pdu = if indicate {
            Pdu::HandleValueInd { handle: value_handle, value }
        } else {
            Pdu::HandleValueNtf { handle: value_handle, value }
        };
        pdu.emit(&mut out).unwrap_or(0)
    };
    let n = match data {
        Some(d) => emit(d),
        None => with_value(value_handle, emit),
    };
    n > 0 && l.att_room(n) && l.att_out.push(&out[..n])
}

/// `gatts_notify` / `gatts_indicate`: sent whether or not the client
/// subscribed (MicroPython's contract). ENOMEM when the link's send queue is
/// full (as NimBLE when it runs out of buffers), EALREADY for an indication
/// while one is unconfirmed.
pub fn push(conn: u16, value_handle: u16, indicate: bool, data: Option<&[u8]>) -> Result<(), i32> {
    let r = link::with(conn, |l| {
        if indicate && l.indicating.is_some() {
            return Err(sys::MP_EALREADY as i32);
        }
        if !queue(l, value_handle, indicate, data) {
            return Err(sys::MP_ENOMEM as i32);
        }
        if indicate {
            l.indicating = Some(value_handle);
        }
        Ok(())
    })
    .unwrap_or(Err(sys::MP_ENOTCONN as i32));
    executor::wake();
    r
}

/// `gatts_write(..., send_update=True)`: each link gets the current value as
/// its client subscribed (a notification if both bits are set, as NimBLE),
/// queued in call order so updates neither merge nor overtake. ENOMEM if a
/// link's send queue had no room (that link misses this update).
pub fn update(value_handle: u16) -> Result<(), i32> {
    let Some(cccd) = critical_section::with(|cs| DATABASE.borrow(cs).borrow().cccd_of(value_handle)) else {
        return Ok(());
    };
    let mut full = false;
    link::each(|_, l| {
        if l.phase != Phase::Open {
            return;
        }
        let subscribed = l.server.cccd(cccd);
        let ok = if subscribed & 0b01 != 0 {
            queue(l, value_handle, false, None)
        } else if subscribed & 0b10 != 0 && l.indicating.is_some() {
            l.deferred = Some(value_handle);
            true
        } else if subscribed & 0b10 != 0 {
            let ok = queue(l, value_handle, true, None);
            if ok {
                l.indicating = Some(value_handle);
            }
            ok
        } else {
            true
        };
        full |= !ok;
    });
    executor::wake();
    if full {
        Err(sys::MP_ENOMEM as i32)
    } else {
        Ok(())
    }
}

/// The link's indication was confirmed: a `send_update` held back for it goes out now.
pub fn send_deferred(slot: usize, gen: u16) {
    link::with_slot(slot, |l| {
        if l.gen != gen || l.phase != Phase::Open || l.indicating.is_some() {
            return;
        }
        if let Some(vh) = l.deferred.take() {
            if queue(l, vh, true, None) {
                l.indicating = Some(vh);
            }
        }
    });
}
