//! Entry points whose features are not built yet: notifications and the
//! GATT client (issue 3), L2CAP channels (issue 4). Each fails cleanly with
//! EOPNOTSUPP so MicroPython raises OSError instead of pretending to work.
use crate::sys;

const UNSUPPORTED: i32 = sys::MP_EOPNOTSUPP as i32;

/// Not built yet (L2CAP).
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_listen(_psm: u16, _mtu: u16) -> i32 {
    UNSUPPORTED
}

/// Not built yet (L2CAP).
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_connect(_c: u16, _psm: u16, _mtu: u16) -> i32 {
    UNSUPPORTED
}

/// Not built yet (L2CAP).
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_disconnect(_c: u16, _cid: u16) -> i32 {
    UNSUPPORTED
}

/// Not built yet (L2CAP).
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_send(_c: u16, _cid: u16, _b: *const u8, _l: usize, _st: *mut bool) -> i32 {
    UNSUPPORTED
}

/// Not built yet (L2CAP).
#[no_mangle]
pub extern "C" fn mp_bluetooth_l2cap_recvinto(_c: u16, _cid: u16, _b: *mut u8, _l: *mut usize) -> i32 {
    UNSUPPORTED
}
