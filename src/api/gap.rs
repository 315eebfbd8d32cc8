//! GAP entry points of every role: advertise, disconnect.
use core::cell::RefCell;

use critical_section::Mutex;
use heapless::Vec;

use super::{await_ack, errno, kick, ready};
use crate::config::{ADV_DATA_MAX, DEFAULT_ADV_INTERVAL_US};
use crate::gap::state::{AdvParams, AdvRequest, ADV_ACK, ADV_REQ};
use crate::sys;

/// The last payloads, reused when MicroPython passes None (NULL) for one.
static LAST_ADV: Mutex<RefCell<(Vec<u8, ADV_DATA_MAX>, Vec<u8, ADV_DATA_MAX>)>> =
    Mutex::new(RefCell::new((Vec::new(), Vec::new())));

/// A payload MicroPython passed, or (NULL: None in Python) the last one.
///
/// # Safety
/// As for `super::bytes`.
unsafe fn payload(data: *const u8, len: usize, last: &Vec<u8, ADV_DATA_MAX>) -> Result<Vec<u8, ADV_DATA_MAX>, i32> {
    if data.is_null() {
        return Ok(last.clone());
    }
    // SAFETY: the caller's promise.
    Vec::from_slice(unsafe { super::bytes(data, len) }).map_err(|_| sys::MP_EINVAL as i32)
}

/// `gap_advertise(interval_us, adv_data, resp_data=, connectable=)`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gap_advertise_start(
    connectable: bool,
    interval_us: i32,
    adv_data: *const u8,
    adv_data_len: usize,
    sr_data: *const u8,
    sr_data_len: usize,
) -> i32 {
    errno((|| {
        ready()?;
        if interval_us < 0 {
            return Err(sys::MP_EINVAL as i32);
        }
        // As NimBLE: 0 picks the stack's default interval.
        let interval_us = if interval_us == 0 { DEFAULT_ADV_INTERVAL_US } else { interval_us as u32 };
        let (adv, sr) = critical_section::with(|cs| {
            let last = LAST_ADV.borrow(cs).borrow();
            // SAFETY: modbluetooth.c passes the buffers of its arguments (or NULL for None).
            unsafe {
                Ok::<_, i32>((payload(adv_data, adv_data_len, &last.0)?, payload(sr_data, sr_data_len, &last.1)?))
            }
        })?;
        critical_section::with(|cs| *LAST_ADV.borrow(cs).borrow_mut() = (adv.clone(), sr.clone()));
        let seq = ADV_ACK.next();
        ADV_REQ.signal(AdvRequest::Start(AdvParams { connectable, interval_us, adv, sr }, seq));
        kick();
        await_ack(&ADV_ACK, seq)
    })())
}

/// `gap_advertise(None)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_advertise_stop() {
    if ready().is_ok() {
        let seq = ADV_ACK.next();
        ADV_REQ.signal(AdvRequest::Stop(seq));
        kick();
        let _ = await_ack(&ADV_ACK, seq);
    }
}

/// `gap_disconnect(conn_handle)`: ENOTCONN (-> False) for an unknown handle.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_disconnect(conn_handle: u16) -> i32 {
    errno((|| {
        ready()?;
        crate::link::with(conn_handle, |l| l.disconnect = true).ok_or(sys::MP_ENOTCONN as i32)?;
        kick();
        Ok(())
    })())
}
