//! GATT client entry points: each queues a procedure on its link and returns;
//! results and the final status arrive as events. A write without response
//! goes straight into the link's send queue when no procedure waits before it.
use super::gatts::uuid_of;
use super::{errno, kick, ready};
use crate::att::client::Procedure;
use crate::att::wire::Pdu;
use crate::config::{ATT_PDU_MAX, MAX_VALUE_LEN};
use crate::link::{self, LinkState, Request};
use crate::sys::{self, mp_obj_bluetooth_uuid_t};

fn queue(conn: u16, procedure: Procedure, value: &[u8]) -> i32 {
    queue_write(conn, procedure, value, false)
}

/// Queues a procedure: ENOTCONN without the link, ENOMEM when one runs and
/// `GATTC_QUEUE_DEPTH` wait already (or a value doesn't fit), as NimBLE.
fn queue_write(conn: u16, procedure: Procedure, value: &[u8], long: bool) -> i32 {
    errno((|| {
        ready()?;
        let r = Request { procedure, long };
        let queued = link::with(conn, |l| command(l, r, value) || l.post_request(r, value));
        match queued {
            None => Err(sys::MP_ENOTCONN as i32),
            Some(false) => Err(sys::MP_ENOMEM as i32),
            Some(true) => {
                kick();
                Ok(())
            }
        }
    })())
}

/// A write without response, queued as its PDU when nothing waits before it
/// (so calls keep their order); what doesn't fit the MTU is cut (Part G §4.9.1).
fn command(l: &mut LinkState, r: Request, value: &[u8]) -> bool {
    let Procedure::Write { handle, with_response: false, .. } = r.procedure else { return false };
    if !l.requests.is_empty() {
        return false;
    }
    let fits = usize::from(l.mtu()).saturating_sub(3);
    let mut out = [0u8; ATT_PDU_MAX];
    let Ok(n) = (Pdu::WriteCmd { handle, value: &value[..value.len().min(fits)] }).emit(&mut out) else {
        return false;
    };
    l.att_room(n) && l.att_out.push(&out[..n])
}

fn optional_uuid(u: *const mp_obj_bluetooth_uuid_t) -> Result<Option<crate::att::uuid::Uuid>, i32> {
    if u.is_null() {
        Ok(None)
    } else {
        // SAFETY: modbluetooth.c passes a UUID object alive for the call.
        unsafe { uuid_of(u) }.map(Some)
    }
}

/// `gattc_discover_services(conn, uuid=None)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gattc_discover_primary_services(conn: u16, uuid: *const mp_obj_bluetooth_uuid_t) -> i32 {
    match optional_uuid(uuid) {
        Ok(uuid) => queue(conn, Procedure::DiscoverServices { uuid }, &[]),
        Err(e) => e,
    }
}

/// `gattc_discover_characteristics(conn, start, end, uuid=None)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gattc_discover_characteristics(
    conn: u16,
    start: u16,
    end: u16,
    uuid: *const mp_obj_bluetooth_uuid_t,
) -> i32 {
    match optional_uuid(uuid) {
        Ok(uuid) => queue(conn, Procedure::DiscoverCharacteristics { start, end, uuid }, &[]),
        Err(e) => e,
    }
}

/// `gattc_discover_descriptors(conn, start, end)`. As NimBLE, `start` is the
/// characteristic's value handle and is not reported itself: discovery
/// begins after it.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gattc_discover_descriptors(conn: u16, start: u16, end: u16) -> i32 {
    if start >= end && start != 0 {
        // Nothing after the value handle: done at once, as NimBLE reports it.
        if let Err(e) = ready().and_then(|()| link::slot_of(conn).ok_or(sys::MP_ENOTCONN as i32)) {
            return e;
        }
        crate::events::push(crate::events::Event::DiscoverDone {
            code: sys::MP_BLUETOOTH_IRQ_GATTC_DESCRIPTOR_DONE as u8,
            handle: conn,
            status: 0,
        });
        kick();
        return 0;
    }
    queue(conn, Procedure::DiscoverDescriptors { start: start.saturating_add(1), end }, &[])
}

/// `gattc_read(conn, handle)`: long values continue with Read Blob.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gattc_read(conn: u16, handle: u16) -> i32 {
    queue(conn, Procedure::Read { handle }, &[])
}

/// Mode of `gattc_write` beyond MicroPython's 0 and 1: a long write.
const MODE_LONG: u32 = 2;

/// `gattc_write(conn, handle, data, mode)`: mode 0 is a Write Command, mode 1
/// a Write Request (cut to MTU-3 like NimBLE, which MicroPython's own tests
/// expect), mode 2 writes values of any length up to 512 bytes with
/// Prepare/Execute Write (the "long write" GATT procedure) and reports
/// WRITE_DONE like mode 1.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gattc_write(
    conn: u16,
    handle: u16,
    value: *const u8,
    len: usize,
    mode: u32,
) -> i32 {
    if len > MAX_VALUE_LEN || mode > MODE_LONG {
        return sys::MP_EINVAL as i32;
    }
    // SAFETY: modbluetooth.c passes the data argument's buffer.
    let value = unsafe { super::bytes(value, len) };
    queue_write(conn, Procedure::Write { handle, len, with_response: mode != 0 }, value, mode == MODE_LONG)
}

/// `gattc_exchange_mtu(conn)`: offers `config('mtu')`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gattc_exchange_mtu(conn: u16) -> i32 {
    queue(conn, Procedure::ExchangeMtu { mtu: crate::settings::preferred_mtu() }, &[])
}
