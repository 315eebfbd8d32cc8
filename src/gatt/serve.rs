//! Serving one link's ATT requests: the bearer's PDUs through `att::server`
//! against the shared database, responses back through the bearer, events to
//! Python.
use core::cell::RefCell;

use critical_section::Mutex;
use heapless::Vec;
use trouble_host::prelude::SecurityLevel;

use super::db::{Database, GAP_APPEARANCE_HANDLE, GAP_DEVICE_NAME_HANDLE};
use crate::att::bearer;
use crate::att::codes::ErrorCode;
use crate::att::server::{self, Access, Decision, Event, Hooks, Outcome, Security, ServerLink, ValueStore};
use crate::config::{ATT_PDU_MAX, GAP_NAME_MAX, MAX_CONNECTIONS};
use crate::events;
use crate::stack::Link;
use crate::sys;

/// Python's GATTS_READ_REQUEST answers, per link slot: (value handle, result).
static ANSWERS: Mutex<RefCell<[Option<(u16, i32)>; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([None; MAX_CONNECTIONS]));

/// Records Python's answer for the link `conn` (called on the Python thread).
pub fn answer(conn: u16, value_handle: u16, result: i32) {
    if let Some(slot) = crate::gap::state::slot_of(conn) {
        critical_section::with(|cs| ANSWERS.borrow(cs).borrow_mut()[slot] = Some((value_handle, result)));
        unsafe { sys::mp_trouble_port_wake() };
    }
}

/// Takes the answer waiting for slot `i`.
pub fn take_answer(i: usize) -> Option<(u16, i32)> {
    critical_section::with(|cs| ANSWERS.borrow(cs).borrow_mut().get_mut(i)?.take())
}

/// Puts a written value back into MicroPython's db just before its
/// GATTS_WRITE is delivered (Python thread; no allocation: a value never
/// outgrows its buffer). Append buffers are left alone.
pub fn restore_written(value_handle: u16, data: &[u8]) {
    critical_section::with(|_| {
        if let Some(e) = entry(value_handle) {
            if !e.append && !e.data.is_null() {
                let n = data.len().min(e.data_alloc);
                unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), e.data, n) };
                e.data_len = n;
            }
        }
    })
}

/// The attribute database every link serves.
pub static DATABASE: Mutex<RefCell<Database>> = Mutex::new(RefCell::new(Database::new()));

/// Rebuilds the database with only the built-in services (stack start).
pub fn reset_database() {
    critical_section::with(|cs| DATABASE.borrow(cs).borrow_mut().begin());
}

/// A fresh server state for a new link, offering the configured MTU.
pub fn new_link() -> ServerLink {
    ServerLink::new(crate::api::settings::preferred_mtu())
}

/// Attribute values: the built-in GAP ones here, the application's in
/// MicroPython's gatts db (read and written in place, under the backend lock).
struct Values {
    name: Vec<u8, GAP_NAME_MAX>,
}

/// The gatts db entry of an application attribute.
fn entry(handle: u16) -> Option<&'static mut sys::mp_bluetooth_gatts_db_entry_t> {
    unsafe {
        let db = sys::mp_trouble_gatts_db();
        if db.is_null() {
            return None;
        }
        sys::mp_bluetooth_gatts_db_lookup(db, handle).as_mut()
    }
}

/// Appearance 0: "unknown" (Assigned Numbers §2.6).
const APPEARANCE: [u8; 2] = [0, 0];

impl Values {
    /// The store as it stands: the GAP name is copied from the settings.
    fn current() -> Self {
        let mut name = Vec::new();
        crate::api::settings::with_device_name(|n| name = Vec::from_slice(n).unwrap_or_default());
        Self { name }
    }
}

impl ValueStore for Values {
    fn value(&self, handle: u16) -> &[u8] {
        match handle {
            GAP_DEVICE_NAME_HANDLE => &self.name,
            GAP_APPEARANCE_HANDLE => &APPEARANCE,
            _ => match entry(handle) {
                Some(e) if !e.data.is_null() => unsafe { core::slice::from_raw_parts(e.data, e.data_len) },
                _ => &[],
            },
        }
    }

    /// As NimBLE's backend: a value never outgrows its buffer (the poll may
    /// not allocate on MicroPython's heap); longer writes are truncated, and
    /// an append-mode buffer (`gatts_set_buffer(..., True)`) collects writes.
    fn write(&mut self, handle: u16, offset: usize, data: &[u8]) -> Result<(), ErrorCode> {
        let Some(e) = entry(handle) else { return Err(ErrorCode::WRITE_NOT_PERMITTED) };
        if e.data.is_null() {
            return Err(ErrorCode::INSUFFICIENT_RESOURCES);
        }
        let start = if e.append { e.data_len } else { offset.min(e.data_len) };
        let end = (start + data.len()).min(e.data_alloc);
        let n = end.saturating_sub(start);
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), e.data.add(start), n) };
        e.data_len = end.max(start);
        Ok(())
    }
}

/// The application's answers to GATTS_READ_REQUEST for the request being
/// served (a Read Multiple may need several before it can be answered).
pub type Answers = Vec<(u16, Decision), 8>;

/// Turns server events into MicroPython events for this link.
struct ToPython<'a> {
    handle: u16,
    confirmed: bool,
    answers: &'a Answers,
    /// Attributes written by this request, reported once it is done.
    written: Vec<u16, 8>,
}

impl Hooks for ToPython<'_> {
    /// Reads of application values wait for Python's GATTS_READ_REQUEST
    /// answer (on every port; NimBLE asks only on STM32). Writes need no
    /// decision: MicroPython has no write-authorization hook.
    fn decide(&mut self, handle: u16, access: Access) -> Decision {
        match access {
            Access::Write => Decision::Allow,
            Access::Read => self.answers.iter().find(|(h, _)| *h == handle).map_or(Decision::Ask, |(_, d)| *d),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::MtuExchanged { mtu } => events::push(events::Event::MtuExchanged { handle: self.handle, mtu }),
            Event::Written { handle } => {
                let _ = self.written.push(handle);
            }
            Event::Confirmation => self.confirmed = true,
            Event::CccdChanged { .. } => {}
        }
    }
}

fn security(conn: &Link) -> Security {
    let level = conn.security_level().unwrap_or(SecurityLevel::NoEncryption);
    Security {
        encrypted: level.encrypted(),
        authenticated: level.authenticated(),
        key_size: crate::security::link::key_size(conn),
    }
}

/// Runs `f` on the current value of an attribute (under the backend lock).
pub fn with_value(handle: u16, f: impl FnOnce(&[u8])) {
    let values = Values::current();
    critical_section::with(|_| f(values.value(handle)))
}

/// What serving a PDU came to.
pub struct Served {
    /// It confirmed our indication.
    pub confirmed: bool,
    /// Nothing was answered yet: Python must decide about reading this handle.
    pub ask: Option<u16>,
}

/// The GATTS_READ_REQUEST answer as the server's decision (0 allows).
pub fn decision(result: i32) -> Decision {
    match u8::try_from(result) {
        Ok(0) => Decision::Allow,
        Ok(code) => Decision::Deny(ErrorCode(code)),
        Err(_) => Decision::Deny(ErrorCode::UNLIKELY_ERROR),
    }
}

/// Answers one PDU from the peer, or says which read Python must decide first.
pub async fn serve(conn: &Link, link: &mut ServerLink, pdu: &[u8], answers: &Answers) -> Served {
    let handle = conn.handle().raw();
    let mut values = Values::current();
    let mut out = [0u8; ATT_PDU_MAX];
    let mut hooks = ToPython { handle, confirmed: false, answers, written: Vec::new() };
    let outcome = critical_section::with(|cs| {
        let db = DATABASE.borrow(cs).borrow();
        let outcome = server::handle_request(&db, &mut values, link, security(conn), &mut hooks, pdu, &mut out);
        for &vh in hooks.written.iter() {
            // Append buffers collect writes; Python reads the whole of them.
            let data = if entry(vh).is_some_and(|e| e.append) { &[][..] } else { values.value(vh) };
            events::push(events::Event::GattsWrite { handle, value_handle: vh, data });
        }
        outcome
    });
    let confirmed = hooks.confirmed;
    match outcome {
        Outcome::Respond(n) => {
            // A failed send means the link is closing; its disconnection is reported anyway.
            let _ = bearer::send(handle, &out[..n]).await;
            Served { confirmed, ask: None }
        }
        Outcome::Ask { handle, .. } => Served { confirmed, ask: Some(handle) },
        Outcome::Silent => Served { confirmed, ask: None },
    }
}
