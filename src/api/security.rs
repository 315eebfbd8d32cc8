//! `gap_pair` and `gap_passkey`: validated here, carried out by the link's session.
use super::{await_ack, errno, kick, ready};
use crate::gap::state::slot_of;
use crate::security::link::{Op, ACK, REQ};
use crate::sys::{self, mp_int_t};

/// Posts `op` to the link `conn` and waits for its session's verdict.
fn post(conn: u16, op: Op) -> Result<(), i32> {
    ready()?;
    let slot = slot_of(conn).ok_or(sys::MP_ENOTCONN as i32)?;
    let seq = ACK[slot].next();
    REQ[slot].signal((op, seq));
    kick();
    await_ack(&ACK[slot], seq)
}

/// `gap_pair(conn)`: a pairing request (central), a security request
/// (peripheral), or encryption with the bond stored for the peer.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_pair(conn: u16) -> i32 {
    errno(post(conn, Op::Pair))
}

/// `gap_passkey(conn, action, passkey)`: answers a PASSKEY_ACTION.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_passkey(conn: u16, action: u8, passkey: mp_int_t) -> i32 {
    let known = [
        sys::MP_BLUETOOTH_PASSKEY_ACTION_INPUT,
        sys::MP_BLUETOOTH_PASSKEY_ACTION_DISPLAY,
        sys::MP_BLUETOOTH_PASSKEY_ACTION_NUMERIC_COMPARISON,
    ];
    if let Err(e) = ready() {
        return e;
    }
    if !known.contains(&(action as u32)) {
        return sys::MP_EINVAL as i32;
    }
    errno(post(conn, Op::Passkey { action, passkey: i64::from(passkey) }))
}
