//! Entry points whose features are not built yet: pairing (issue 4). Each
//! fails cleanly with EOPNOTSUPP so MicroPython raises OSError instead of
//! pretending to work.
use crate::sys::{self, mp_int_t};

const UNSUPPORTED: i32 = sys::MP_EOPNOTSUPP as i32;

/// Not built yet (pairing).
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_pair(_conn: u16) -> i32 {
    UNSUPPORTED
}

/// Not built yet (pairing).
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_passkey(_conn: u16, _action: u8, _passkey: mp_int_t) -> i32 {
    UNSUPPORTED
}
