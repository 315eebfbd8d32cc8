//! `gap_pair` and `gap_passkey`: validated here against the link's state,
//! carried out by its session; neither waits for the stack.
use super::{errno, kick, ready};
use crate::link::{self, SecurityOp as Op};
use crate::sys::{self, mp_int_t};

/// Posts `op` to the link `conn` once `check` accepts it.
fn post(conn: u16, op: Op, check: impl FnOnce(&link::LinkState) -> Result<(), i32>) -> Result<(), i32> {
    ready()?;
    link::with(conn, |l| {
        check(l)?;
        l.security.push_back(op).map_err(|_| sys::MP_EALREADY as i32)
    })
    .unwrap_or(Err(sys::MP_ENOTCONN as i32))?;
    kick();
    Ok(())
}

/// `gap_pair(conn)`: a pairing request (central), a security request
/// (peripheral), or encryption with the bond stored for the peer. A pairing
/// trouble-host can't start then (another link is pairing) ends with an
/// ENCRYPTION_UPDATE that reports the link unencrypted.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_pair(conn: u16) -> i32 {
    errno(post(conn, Op::Pair, |_| Ok(())))
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
    // ENOENT if Python wasn't asked, EINVAL for another action (NimBLE's
    // values); the passkey itself is checked where it is used.
    let asked = move |l: &link::LinkState| match l.asked {
        None => Err(sys::MP_ENOENT as i32),
        Some(a) if a != action => Err(sys::MP_EINVAL as i32),
        Some(_) if action == sys::MP_BLUETOOTH_PASSKEY_ACTION_INPUT as u8 && !(0..=999_999).contains(&passkey) => {
            Err(sys::MP_EINVAL as i32)
        }
        Some(_) => Ok(()),
    };
    // mp_int_t is 32 bits on microcontrollers, 64 on unix.
    #[allow(clippy::useless_conversion)]
    let passkey = i64::from(passkey);
    errno(post(conn, Op::Passkey { action, passkey }, asked))
}
