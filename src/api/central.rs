//! GAP entry points of the central role: scan, connect (MicroPython's
//! `ENABLE_CENTRAL_MODE`).
use core::sync::atomic::Ordering;

use super::{await_ack, errno, kick, ready};
use crate::gap::state::{
    ConnParams, ConnRequest, ScanParams, ScanRequest, CONNECTING, CONN_REQ, SCANNING, SCAN_ACK, SCAN_REQ,
};
use crate::sys;

/// `gap_scan(duration_ms, interval_us, window_us, active)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_scan_start(duration_ms: i32, interval_us: i32, window_us: i32, active: bool) -> i32 {
    errno((|| {
        ready()?;
        if duration_ms < 0 || interval_us < 0 || window_us < 0 || window_us > interval_us {
            return Err(sys::MP_EINVAL as i32);
        }
        if SCANNING.swap(true, Ordering::AcqRel) {
            return Err(sys::MP_EALREADY as i32);
        }
        let seq = SCAN_ACK.next();
        SCAN_REQ.signal(ScanRequest::Start(
            ScanParams {
                duration_ms: duration_ms as u32,
                interval_us: interval_us as u32,
                window_us: window_us as u32,
                active,
            },
            seq,
        ));
        kick();
        let r = await_ack(&SCAN_ACK, seq);
        if r.is_err() {
            SCANNING.store(false, Ordering::Release);
        }
        r
    })())
}

/// `gap_scan(None)`: SCAN_DONE follows once the controller stopped.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_scan_stop() -> i32 {
    errno((|| {
        ready()?;
        if SCANNING.swap(false, Ordering::AcqRel) {
            let seq = SCAN_ACK.next();
            SCAN_REQ.signal(ScanRequest::Stop(seq));
            kick();
            await_ack(&SCAN_ACK, seq)?;
        }
        Ok(())
    })())
}

/// `gap_connect(addr_type, addr, scan_duration_ms, min_us, max_us)`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gap_peripheral_connect(
    addr_type: u8,
    addr: *const u8,
    duration_ms: i32,
    min_conn_interval_us: i32,
    max_conn_interval_us: i32,
) -> i32 {
    errno((|| {
        ready()?;
        if addr_type > 1 || duration_ms < 0 || min_conn_interval_us < 0 || max_conn_interval_us < min_conn_interval_us {
            return Err(sys::MP_EINVAL as i32);
        }
        if CONNECTING.swap(true, Ordering::AcqRel) {
            return Err(sys::MP_EALREADY as i32);
        }
        // As NimBLE: connecting ends a running scan.
        if SCANNING.swap(false, Ordering::AcqRel) {
            SCAN_REQ.signal(ScanRequest::Stop(SCAN_ACK.next()));
        }
        let mut a = [0u8; 6];
        // SAFETY: modbluetooth.c checked that the address buffer has 6 bytes.
        a.copy_from_slice(unsafe { super::bytes(addr, 6) });
        CONN_REQ.signal(ConnRequest::Start(ConnParams {
            addr_type,
            addr: a,
            duration_ms: duration_ms as u32,
            min_interval_us: min_conn_interval_us as u32,
            max_interval_us: max_conn_interval_us as u32,
        }));
        kick();
        Ok(())
    })())
}

/// `gap_connect(None)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gap_peripheral_connect_cancel() -> i32 {
    errno((|| {
        ready()?;
        if !CONNECTING.load(Ordering::Acquire) {
            return Err(sys::MP_EALREADY as i32);
        }
        CONN_REQ.signal(ConnRequest::Cancel);
        kick();
        Ok(())
    })())
}
