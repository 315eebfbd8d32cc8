//! The queue between the stack and Python, and delivery on the Python thread.
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use critical_section::Mutex;

use super::record::Event;
use crate::queue::Ring;
use crate::att::uuid::Uuid;
use crate::config::{ATT_PDU_MAX, EVENT_RING_BYTES};
use crate::sys;

static RING: Mutex<RefCell<Ring<EVENT_RING_BYTES>>> = Mutex::new(RefCell::new(Ring::new()));
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// The longest encoded event (a 512-byte read result plus its header).
const RECORD_MAX: usize = ATT_PDU_MAX + 16;

/// Queues an event; one that doesn't fit is dropped and counted.
pub fn push(e: Event<'_>) {
    let mut buf = [0u8; RECORD_MAX];
    let ok = match e.encode(&mut buf) {
        Some(n) => critical_section::with(|cs| RING.borrow(cs).borrow_mut().push(&buf[..n])),
        None => false,
    };
    if !ok {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// True if a burst of the largest events still fits: the ATT layer takes
/// no more PDUs from the air until it does, so a fast peer is slowed down
/// (through the controller's flow control) instead of losing events.
pub fn has_room() -> bool {
    critical_section::with(|cs| RING.borrow(cs).borrow().space() >= 4 * (RECORD_MAX + 2))
}

/// True if events wait for delivery.
pub fn pending() -> bool {
    critical_section::with(|cs| !RING.borrow(cs).borrow().is_empty())
}

/// Forgets undelivered events (the stack was switched off).
pub fn clear() {
    critical_section::with(|cs| RING.borrow(cs).borrow_mut().clear());
}

/// A MicroPython UUID object on the stack, valid for one callback.
fn uuid_obj(u: &Uuid) -> sys::mp_obj_bluetooth_uuid_t {
    let mut data = [0u8; 16];
    let n = u.write_le(&mut data).unwrap_or(0);
    sys::mp_obj_bluetooth_uuid_t {
        base: sys::mp_obj_base_t { type_: unsafe { &sys::mp_type_bluetooth_uuid } },
        type_: n as u8,
        data,
    }
}

/// Delivers every queued event to MicroPython, on the Python thread.
#[no_mangle]
pub extern "C" fn mp_trouble_deliver_events() {
    let mut buf = [0u8; RECORD_MAX];
    while let Some(n) = critical_section::with(|cs| RING.borrow(cs).borrow_mut().pop(&mut buf)) {
        let Some(e) = Event::decode(&buf[..n]) else { continue };
        // Only plain data is live here, so a Python exception unwinding out of
        // a callback (via nlr) skips no destructor.
        unsafe { deliver(e) }
    }
    // Room again: a link holding back ATT PDUs may go on.
    unsafe { sys::mp_trouble_port_wake() };
}

unsafe fn deliver(e: Event<'_>) {
    match e {
        Event::Link { code, handle, addr_type, addr } => {
            sys::mp_bluetooth_gap_on_connected_disconnected(code, handle, addr_type, addr.as_ptr())
        }
        Event::ConnUpdate { handle, interval, latency, timeout, status } => {
            sys::mp_bluetooth_gap_on_connection_update(handle, interval, latency, timeout, status)
        }
        Event::ScanResult { addr_type, addr, adv_type, rssi, data } => sys::mp_bluetooth_gap_on_scan_result(
            addr_type,
            addr.as_ptr(),
            adv_type,
            rssi,
            data.as_ptr(),
            data.len() as u16,
        ),
        Event::ScanDone => sys::mp_bluetooth_gap_on_scan_complete(),
        Event::MtuExchanged { handle, mtu } => sys::mp_bluetooth_gatts_on_mtu_exchanged(handle, mtu),
        Event::GattsWrite { handle, value_handle, data } => {
            // The stack keeps serving while Python catches up, so later writes
            // may have changed the value already; put this write's value back
            // so `gatts_read` in the handler sees what this event is about, as
            // with NimBLE, which runs the handler inside the write.
            crate::gatt::serve::restore_written(value_handle, data);
            sys::mp_bluetooth_gatts_on_write(handle, value_handle)
        }
        Event::IndicateDone { handle, value_handle, status } => {
            sys::mp_bluetooth_gatts_on_indicate_complete(handle, value_handle, status)
        }
        Event::Service { handle, start, end, uuid } => {
            let mut u = uuid_obj(&uuid);
            sys::mp_bluetooth_gattc_on_primary_service_result(handle, start, end, &mut u)
        }
        Event::Characteristic { handle, value_handle, end_handle, properties, uuid } => {
            let mut u = uuid_obj(&uuid);
            sys::mp_bluetooth_gattc_on_characteristic_result(handle, value_handle, end_handle, properties, &mut u)
        }
        Event::Descriptor { handle, dsc_handle, uuid } => {
            let mut u = uuid_obj(&uuid);
            sys::mp_bluetooth_gattc_on_descriptor_result(handle, dsc_handle, &mut u)
        }
        Event::DiscoverDone { code, handle, status } => {
            sys::mp_bluetooth_gattc_on_discover_complete(code, handle, status)
        }
        Event::Data { code, handle, value_handle, data } => {
            let mut ptr = data.as_ptr();
            let mut len = data.len() as u16;
            sys::mp_bluetooth_gattc_on_data_available(code, handle, value_handle, &mut ptr, &mut len, 1)
        }
        Event::Status { code, handle, value_handle, status } => {
            sys::mp_bluetooth_gattc_on_read_write_status(code, handle, value_handle, status)
        }
        Event::Encryption { handle, encrypted, authenticated, bonded, key_size } => {
            sys::mp_bluetooth_gatts_on_encryption_update(handle, encrypted, authenticated, bonded, key_size)
        }
        Event::Passkey { handle, action, passkey } => {
            sys::mp_bluetooth_gap_on_passkey_action(handle, action, passkey as sys::mp_int_t)
        }
        Event::SetSecret { sec_type, key, value } => {
            // The application's verdict changes nothing: the bond is in use either way.
            let _ = sys::mp_bluetooth_gap_on_set_secret(sec_type, key.as_ptr(), key.len(), value.as_ptr(), value.len());
        }
        Event::ReadRequest { handle, value_handle } => {
            let r = sys::mp_bluetooth_gatts_on_read_request(handle, value_handle);
            crate::gatt::serve::answer(handle, value_handle, r as i32);
        }
        Event::L2cap { code, handle, cid, a, b, c } => match code as u32 {
            sys::MP_BLUETOOTH_IRQ_L2CAP_ACCEPT => {
                let r = sys::mp_bluetooth_on_l2cap_accept(handle, cid, a, b, c);
                crate::l2cap::coc::answer_accept(handle, cid, r.clamp(i32::MIN as _, i32::MAX as _) as i32);
            }
            sys::MP_BLUETOOTH_IRQ_L2CAP_CONNECT => sys::mp_bluetooth_on_l2cap_connect(handle, cid, a, b, c),
            sys::MP_BLUETOOTH_IRQ_L2CAP_DISCONNECT => sys::mp_bluetooth_on_l2cap_disconnect(handle, cid, a, b),
            sys::MP_BLUETOOTH_IRQ_L2CAP_RECV => sys::mp_bluetooth_on_l2cap_recv(handle, cid),
            _ => sys::mp_bluetooth_on_l2cap_send_ready(handle, cid, 0),
        },
    }
}

/// Fills the `_trouble.stats()` counters.
#[no_mangle]
pub unsafe extern "C" fn mp_trouble_get_stats(out: *mut sys::mp_trouble_stats_t) {
    let (framer, filter) = crate::hci::transport::stats();
    *out = sys::mp_trouble_stats_t {
        hci_junk_bytes: framer.junk_bytes,
        hci_oversized: framer.oversized,
        hci_malformed: filter.malformed,
        hci_unknown_handle: filter.unknown_handle,
        hci_unsupported: filter.unsupported,
        att_withheld: filter.att,
        smp_withheld: filter.smp,
        events_dropped: DROPPED.load(Ordering::Relaxed),
        bonds_corrupt: crate::security::bonds::corrupt_count(),
    };
}
