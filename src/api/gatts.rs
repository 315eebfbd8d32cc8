//! GATT server entry points: service registration, local values, pushes.
//!
//! The attribute layout lives in `gatt::serve::DATABASE`; values live in
//! MicroPython's gatts db, whose entries are created here on the Python
//! thread (they are allocated on its heap) under the backend lock, which the
//! stack holds while it reads or writes them.
use super::{errno, ready};
use crate::att::db::DbError;
use crate::att::uuid::Uuid;
use crate::gatt::notify;
use crate::gatt::serve::DATABASE;
use crate::link;
use crate::sys::{self, mp_obj_bluetooth_uuid_t};

/// A MicroPython UUID object as an ATT UUID.
///
/// # Safety
/// `u` is null or points at a UUID object alive for the call.
pub unsafe fn uuid_of(u: *const mp_obj_bluetooth_uuid_t) -> Result<Uuid, i32> {
    // SAFETY: the caller's promise.
    let u = unsafe { u.as_ref() }.ok_or(sys::MP_EINVAL as i32)?;
    match u.type_ {
        4 => Ok(Uuid::from_u32(u32::from_le_bytes([u.data[0], u.data[1], u.data[2], u.data[3]]))),
        n => Uuid::from_le_slice(u.data.get(..n as usize).ok_or(sys::MP_EINVAL as i32)?).ok_or(sys::MP_EINVAL as i32),
    }
}

fn db_errno(e: DbError) -> i32 {
    match e {
        DbError::Full => sys::MP_ENOMEM as i32,
        _ => sys::MP_EINVAL as i32,
    }
}

/// Starts a registration; replacing the database is refused while connected (as NimBLE).
#[no_mangle]
pub extern "C" fn mp_bluetooth_gatts_register_service_begin(append: bool) -> i32 {
    errno((|| {
        ready()?;
        if !append {
            if link::count() > 0 {
                return Err(sys::MP_EBUSY as i32);
            }
            critical_section::with(|cs| {
                DATABASE.borrow(cs).borrow_mut().begin();
                crate::runtime::port::gatts_db_reset(cs);
            });
        }
        Ok(())
    })())
}

/// Adds one service; fills `handles` with each characteristic's value handle
/// followed by its descriptors' handles, as modbluetooth.c lays them out.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gatts_register_service(
    service_uuid: *mut mp_obj_bluetooth_uuid_t,
    characteristic_uuids: *mut *mut mp_obj_bluetooth_uuid_t,
    characteristic_flags: *mut u16,
    descriptor_uuids: *mut *mut mp_obj_bluetooth_uuid_t,
    descriptor_flags: *mut u16,
    num_descriptors: *mut u8,
    handles: *mut u16,
    num_characteristics: usize,
) -> i32 {
    // SAFETY: modbluetooth.c passes a UUID object, arrays of
    // `num_characteristics` UUIDs, flags and descriptor counts, arrays with
    // as many descriptor UUIDs and flags as the counts add up to, and room for
    // one handle per characteristic and descriptor; all alive for the call.
    errno(unsafe {
        (|| {
            ready()?;
            let service = uuid_of(service_uuid)?;
            let (mut h, mut d) = (0usize, 0usize);
            let mut created = heapless::Vec::<u16, { crate::config::MAX_ATTRIBUTES }>::new();
            critical_section::with(|cs| {
                let mut db = DATABASE.borrow(cs).borrow_mut();
                db.add_service(service).map_err(db_errno)?;
                for c in 0..num_characteristics {
                    let u = uuid_of(*characteristic_uuids.add(c))?;
                    let (value, _cccd) = db.add_characteristic(u, *characteristic_flags.add(c)).map_err(db_errno)?;
                    *handles.add(h) = value;
                    h += 1;
                    let _ = created.push(value);
                    for _ in 0..*num_descriptors.add(c) {
                        let du = uuid_of(*descriptor_uuids.add(d))?;
                        let dh = db.add_descriptor(du, *descriptor_flags.add(d)).map_err(db_errno)?;
                        *handles.add(h) = dh;
                        h += 1;
                        d += 1;
                        let _ = created.push(dh);
                    }
                }
                Ok::<(), i32>(())
            })?;
            // Creating entries allocates on MicroPython's heap (this is the Python
            // thread) and grows the map the stack looks values up in: under the lock.
            critical_section::with(|_| {
                let db = sys::mp_trouble_gatts_db();
                for handle in created {
                    sys::mp_bluetooth_gatts_db_create_entry(db, handle, sys::MP_BLUETOOTH_DEFAULT_ATTR_LEN as usize);
                }
            });
            Ok(())
        })()
    })
}

/// Ends a registration.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gatts_register_service_end() -> i32 {
    errno(ready())
}

/// `gatts_read(handle)`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gatts_read(handle: u16, value: *mut *const u8, len: *mut usize) -> i32 {
    errno((|| {
        ready()?;
        // SAFETY: MicroPython's own db and out-pointers from modbluetooth.c;
        // the stack only writes values in place, never moves their buffers.
        match unsafe { sys::mp_bluetooth_gatts_db_read(sys::mp_trouble_gatts_db(), handle, value, len) } {
            0 => Ok(()),
            e => Err(e),
        }
    })())
}

/// `gatts_write(handle, data, send_update)`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gatts_write(handle: u16, value: *const u8, len: usize, send_update: bool) -> i32 {
    errno((|| {
        ready()?;
        // SAFETY: MicroPython's own db (it takes the backend lock itself) and
        // the data argument's buffer from modbluetooth.c.
        match unsafe { sys::mp_bluetooth_gatts_db_write(sys::mp_trouble_gatts_db(), handle, value, len) } {
            0 => {}
            e => return Err(e),
        }
        if send_update {
            notify::update(handle)?;
        }
        Ok(())
    })())
}

/// `gatts_set_buffer(handle, len, append)`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_gatts_set_buffer(handle: u16, len: usize, append: bool) -> i32 {
    errno((|| {
        ready()?;
        // A negative length arrives as a huge one, whose block count overflows in
        // gc_realloc; a zero length frees the value but fails the resize, leaving
        // the db pointing at freed memory. Both are refused before the db sees them.
        if len == 0 || len > i32::MAX as usize {
            return Err(sys::MP_EINVAL as i32);
        }
        // SAFETY: MicroPython's own db; it reallocates under the backend lock,
        // which the stack holds whenever it touches a value.
        match unsafe { sys::mp_bluetooth_gatts_db_resize(sys::mp_trouble_gatts_db(), handle, len, append) } {
            0 => Ok(()),
            e => Err(e),
        }
    })())
}

/// `gatts_notify` / `gatts_indicate`: queued on the link (see `gatt::notify`).
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gatts_notify_indicate(
    conn: u16,
    value_handle: u16,
    op: i32,
    value: *const u8,
    len: usize,
) -> i32 {
    errno((|| {
        ready()?;
        // SAFETY: modbluetooth.c passes the data argument's buffer, or NULL for none.
        let data = if value.is_null() { None } else { Some(unsafe { super::bytes(value, len) }) };
        let indicate = op == sys::MP_BLUETOOTH_GATTS_OP_INDICATE as i32;
        notify::push(conn, value_handle, indicate, data)
    })())
}
