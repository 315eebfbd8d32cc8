//! L2CAP credit-based channel entry points: each acts on the channel table
//! (`l2cap::coc`) and wakes the stack to send what it queued.
use super::{errno, kick, ready};
use crate::l2cap::channels::Refusal;
use crate::l2cap::coc as bearer;
use crate::link::slot_of;
use crate::sys;

fn code(r: Refusal) -> i32 {
    (match r {
        Refusal::Invalid => sys::MP_EINVAL,
        Refusal::NoMemory => sys::MP_ENOMEM,
        Refusal::Busy => sys::MP_EBUSY,
    }) as i32
}

/// `l2cap_listen(psm, mtu)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_listen(psm: u16, mtu: u16) -> i32 {
    errno(ready().and_then(|_| bearer::listen(psm, mtu).map_err(code)))
}

/// `l2cap_connect(conn, psm, mtu)`: the outcome arrives as L2CAP_CONNECT or _DISCONNECT.
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_connect(conn: u16, psm: u16, mtu: u16) -> i32 {
    errno((|| {
        ready()?;
        slot_of(conn).ok_or(sys::MP_ENOTCONN as i32)?;
        bearer::connect(conn, psm, mtu).map_err(code)?;
        kick();
        Ok(())
    })())
}

/// `l2cap_disconnect(conn, cid)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_disconnect(conn: u16, cid: u16) -> i32 {
    errno(ready().and_then(|_| bearer::disconnect(conn, cid).map_err(code)).inspect(|_| kick()))
}

/// `l2cap_send(conn, cid, buf)`: `*stalled` tells the caller to wait for SEND_READY.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_l2cap_send(
    conn: u16,
    cid: u16,
    buf: *const u8,
    len: usize,
    stalled: *mut bool,
) -> i32 {
    // SAFETY: modbluetooth.c passes the buffer argument's bytes and a bool of its own.
    let sdu = unsafe { super::bytes(buf, len) };
    errno(ready().and_then(|_| bearer::send(conn, cid, sdu).map_err(code)).map(|s| {
        // SAFETY: as above.
        unsafe { *stalled = s };
        kick();
    }))
}

/// `l2cap_recvinto(conn, cid, buf)`: with no buffer, `*len` is set to the bytes waiting.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_l2cap_recvinto(conn: u16, cid: u16, buf: *mut u8, len: *mut usize) -> i32 {
    // SAFETY: modbluetooth.c passes a writable buffer of `*len` bytes (or NULL
    // to ask for the count) and its own length variable.
    let out = if buf.is_null() { None } else { Some(unsafe { core::slice::from_raw_parts_mut(buf, *len) }) };
    errno(ready().and_then(|_| bearer::recv(conn, cid, out).map_err(code)).map(|(n, credits)| {
        // SAFETY: as above.
        unsafe { *len = n };
        // Only a read that freed room for credits has anything for the stack to send.
        if credits {
            kick();
        }
    }))
}
