//! Delivery of the stack's events to MicroPython's callbacks, on the Python
//! thread, after the poll that queued them (`events`).
use crate::att::uuid::Uuid;
use crate::events::{self, Event, RECORD_MAX};
use crate::sys;

/// A MicroPython UUID object on the stack, valid for one callback.
fn uuid_obj(u: &Uuid) -> sys::mp_obj_bluetooth_uuid_t {
    let mut data = [0u8; 16];
    let n = u.write_le(&mut data).unwrap_or(0);
    sys::mp_obj_bluetooth_uuid_t {
        // SAFETY: a reference to MicroPython's immutable UUID type object.
        base: sys::mp_obj_base_t { type_: unsafe { &sys::mp_type_bluetooth_uuid } },
        type_: n as u8,
        data,
    }
}

/// Delivers every queued event to MicroPython, on the Python thread.
#[no_mangle]
pub extern "C" fn mp_trouble_deliver_events() {
    let mut buf = [0u8; RECORD_MAX];
    while let Some(n) = events::pop(&mut buf) {
        let Some(e) = Event::decode(&buf[..n]) else { continue };
        deliver(e)
    }
    // Room again: a link holding back ATT PDUs may go on.
    crate::runtime::port::wake();
}

/// Hands one event to MicroPython's callbacks.
fn deliver(e: Event<'_>) {
    // SAFETY: MicroPython's callbacks, on the Python thread (delivery is
    // scheduled there) and outside any lock; the buffers they get live in
    // this frame or the caller's until they return. Only plain data is live
    // here, so a Python exception unwinding out of a callback (via nlr)
    // skips no destructor.
    unsafe {
        match e {
            Event::Link { code, handle, addr_type, addr } => {
                sys::mp_bluetooth_gap_on_connected_disconnected(code, handle, addr_type, addr.as_ptr())
            }
            Event::ConnUpdate { handle, interval, latency, timeout, status } => {
                sys::mp_bluetooth_gap_on_connection_update(handle, interval, latency, timeout, status)
            }
            #[cfg(feature = "central")]
            Event::ScanResult { addr_type, addr, adv_type, rssi, data } => sys::mp_bluetooth_gap_on_scan_result(
                addr_type,
                addr.as_ptr(),
                adv_type,
                rssi,
                data.as_ptr(),
                data.len() as u16,
            ),
            #[cfg(feature = "central")]
            Event::ScanDone => sys::mp_bluetooth_gap_on_scan_complete(),
            Event::MtuExchanged { handle, mtu } => sys::mp_bluetooth_gatts_on_mtu_exchanged(handle, mtu),
            Event::GattsWrite { handle, value_handle, app_writes, data } => {
                // `gatts_read` in the handler sees what this event is about.
                crate::gatt::serve::deliver_write(value_handle, app_writes, data, || {
                    sys::mp_bluetooth_gatts_on_write(handle, value_handle)
                });
            }
            Event::IndicateDone { handle, value_handle, status } => {
                sys::mp_bluetooth_gatts_on_indicate_complete(handle, value_handle, status)
            }
            #[cfg(feature = "gatt-client")]
            Event::Service { handle, start, end, uuid } => {
                let mut u = uuid_obj(&uuid);
                sys::mp_bluetooth_gattc_on_primary_service_result(handle, start, end, &mut u)
            }
            #[cfg(feature = "gatt-client")]
            Event::Characteristic { handle, value_handle, end_handle, properties, uuid } => {
                let mut u = uuid_obj(&uuid);
                sys::mp_bluetooth_gattc_on_characteristic_result(handle, value_handle, end_handle, properties, &mut u)
            }
            #[cfg(feature = "gatt-client")]
            Event::Descriptor { handle, dsc_handle, uuid } => {
                let mut u = uuid_obj(&uuid);
                sys::mp_bluetooth_gattc_on_descriptor_result(handle, dsc_handle, &mut u)
            }
            #[cfg(feature = "gatt-client")]
            Event::DiscoverDone { code, handle, status } => {
                sys::mp_bluetooth_gattc_on_discover_complete(code, handle, status)
            }
            #[cfg(feature = "gatt-client")]
            Event::Data { code, handle, value_handle, data } => {
                let mut ptr = data.as_ptr();
                let mut len = data.len() as u16;
                sys::mp_bluetooth_gattc_on_data_available(code, handle, value_handle, &mut ptr, &mut len, 1)
            }
            #[cfg(feature = "gatt-client")]
            Event::Status { code, handle, value_handle, status } => {
                sys::mp_bluetooth_gattc_on_read_write_status(code, handle, value_handle, status)
            }
            #[cfg(feature = "pairing")]
            Event::Encryption { handle, encrypted, authenticated, bonded, key_size } => {
                sys::mp_bluetooth_gatts_on_encryption_update(handle, encrypted, authenticated, bonded, key_size)
            }
            #[cfg(feature = "pairing")]
            Event::Passkey { handle, action, passkey } => {
                sys::mp_bluetooth_gap_on_passkey_action(handle, action, passkey as sys::mp_int_t)
            }
            #[cfg(feature = "pairing")]
            Event::SetSecret { sec_type, key, value } => {
                // The application's verdict changes nothing: the bond is in use either way.
                let _ =
                    sys::mp_bluetooth_gap_on_set_secret(sec_type, key.as_ptr(), key.len(), value.as_ptr(), value.len());
            }
            Event::ReadRequest { handle, value_handle } => {
                let r = sys::mp_bluetooth_gatts_on_read_request(handle, value_handle);
                crate::gatt::serve::answer(handle, value_handle, r as i32);
            }
            #[cfg(feature = "l2cap")]
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
            // Events of parts this build leaves out are never queued.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}

/// Fills the `_trouble.stats()` counters.
#[no_mangle]
pub unsafe extern "C" fn mp_trouble_get_stats(out: *mut sys::mp_trouble_stats_t) {
    let (framer, filter) = crate::hci::transport::stats();
    let stats = sys::mp_trouble_stats_t {
        hci_junk_bytes: framer.junk_bytes,
        hci_oversized: framer.oversized,
        hci_malformed: filter.malformed,
        hci_unknown_handle: filter.unknown_handle,
        hci_unsupported: filter.unsupported,
        att_withheld: filter.att,
        smp_withheld: filter.smp,
        events_dropped: events::dropped(),
        #[cfg(feature = "pairing")]
        bonds_corrupt: crate::security::bonds::corrupt_count(),
        #[cfg(not(feature = "pairing"))]
        bonds_corrupt: 0,
    };
    // SAFETY: glue.c passes a struct on its stack.
    unsafe { *out = stats };
}
