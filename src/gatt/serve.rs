//! Serving one link's ATT requests: PDUs from the link's inbox through
//! `att::server` against the shared database, responses into the link's
//! send queue, events to Python. Values live in MicroPython's gatts db.
use core::cell::{Cell, RefCell};

use critical_section::{CriticalSection, Mutex};
use heapless::Vec;

use crate::att::codes::ErrorCode;
use crate::att::db::{Database, GAP_APPEARANCE_HANDLE, GAP_DEVICE_NAME_HANDLE};
use crate::att::server::{self, Access, Decision, Event, Hooks, Outcome, Security, ValueStore};
use crate::config::{ATT_PDU_MAX, GAP_NAME_MAX};
use crate::events;
use crate::link::LinkState;
use crate::runtime::executor;
use crate::sys;

/// Records Python's GATTS_READ_REQUEST answer for the link `conn` (Python thread).
pub fn answer(conn: u16, value_handle: u16, result: i32) {
    if crate::link::with(conn, |l| l.answer = Some((value_handle, result))).is_some() {
        executor::wake();
    }
}

/// The attribute database every link serves.
pub static DATABASE: Mutex<RefCell<Database>> = Mutex::new(RefCell::new(Database::new()));

/// Rebuilds the database with only the built-in services (stack start).
pub fn reset_database() {
    critical_section::with(|cs| DATABASE.borrow(cs).borrow_mut().begin());
}

/// Attribute values: the built-in GAP ones here, the application's in
/// MicroPython's gatts db (read and written in place). Valid while the lock
/// it was made under is held.
struct Values<'cs> {
    name: Vec<u8, GAP_NAME_MAX>,
    cs: CriticalSection<'cs>,
}

/// The gatts db entry of an application attribute.
///
/// The Python thread changes entries (and their buffers) only under the
/// backend lock (MICROPY_PY_BLUETOOTH_ENTER), so while the lock `cs` proves
/// is held, the entry and its buffer stay put.
fn entry(_cs: CriticalSection<'_>, handle: u16) -> Option<&mut sys::mp_bluetooth_gatts_db_entry_t> {
    // SAFETY: the db is MicroPython's map of entries (a GC root, never freed
    // while the backend runs); a lookup doesn't allocate, and nothing changes
    // the map or its entries while the lock is held.
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

impl<'cs> Values<'cs> {
    /// The store as it stands: the GAP name is copied from the settings.
    fn current(cs: CriticalSection<'cs>) -> Self {
        let mut name = Vec::new();
        crate::settings::with_device_name(|n| name = Vec::from_slice(n).unwrap_or_default());
        Self { name, cs }
    }
}

impl ValueStore for Values<'_> {
    fn value(&self, handle: u16) -> &[u8] {
        match handle {
            GAP_DEVICE_NAME_HANDLE => &self.name,
            GAP_APPEARANCE_HANDLE => &APPEARANCE,
            _ => match entry(self.cs, handle) {
                // SAFETY: `data` holds `data_len` (<= `data_alloc`) bytes and
                // stays put while the lock is held (see `entry`).
                Some(e) if !e.data.is_null() => unsafe { core::slice::from_raw_parts(e.data, e.data_len) },
                _ => &[],
            },
        }
    }

    /// As NimBLE's backend: a value never outgrows its buffer (the poll may
    /// not allocate on MicroPython's heap); longer writes are truncated, and
    /// an append-mode buffer (`gatts_set_buffer(..., True)`) collects writes.
    fn write(&mut self, handle: u16, offset: usize, data: &[u8]) -> Result<(), ErrorCode> {
        let Some(e) = entry(self.cs, handle) else { return Err(ErrorCode::WRITE_NOT_PERMITTED) };
        if e.data.is_null() {
            return Err(ErrorCode::INSUFFICIENT_RESOURCES);
        }
        let start = if e.append { e.data_len } else { offset.min(e.data_len) };
        let end = (start + data.len()).min(e.data_alloc);
        let n = end.saturating_sub(start);
        // SAFETY: start + n <= data_alloc, the buffer's size; see `entry`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), e.data.add(start), n) };
        e.data_len = end.max(start);
        Ok(())
    }
}

/// Set while Python runs a GATTS_WRITE handler: the stack serves no PDU
/// then, so no later write changes the value the handler reads (NimBLE runs
/// the handler inside the write, which holds its host the same way).
static IN_WRITE_HANDLER: Mutex<Cell<bool>> = Mutex::new(Cell::new(false));

/// Whether inbound ATT must wait for Python's GATTS_WRITE handler.
pub fn held(cs: CriticalSection<'_>) -> bool {
    IN_WRITE_HANDLER.borrow(cs).get()
}

/// Runs Python's GATTS_WRITE handler `f` with this write's value back in
/// MicroPython's db (later writes may have changed it while the event
/// waited) and the stack's ATT serving held until it returns. Python
/// thread; no allocation: a value never outgrows its buffer. Append
/// buffers are left alone.
pub fn deliver_write<R>(value_handle: u16, data: &[u8], f: impl FnOnce() -> R) -> R {
    critical_section::with(|cs| {
        IN_WRITE_HANDLER.borrow(cs).set(true);
        if let Some(e) = entry(cs, value_handle) {
            if !e.append && !e.data.is_null() {
                let n = data.len().min(e.data_alloc);
                // SAFETY: n <= data_alloc; see `entry`.
                unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), e.data, n) };
                e.data_len = n;
            }
        }
    });
    // The callback catches Python exceptions (it returns), so this runs.
    let r = f();
    critical_section::with(|cs| IN_WRITE_HANDLER.borrow(cs).set(false));
    executor::wake();
    r
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

/// Runs `f` on the current value of an attribute (under the backend lock).
pub fn with_value<R>(handle: u16, f: impl FnOnce(&[u8]) -> R) -> R {
    critical_section::with(|cs| f(Values::current(cs).value(handle)))
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

/// Answers one PDU from the peer (the link's state under the lock): the
/// response goes into its send queue, events to Python; or says which read
/// Python must decide first, having changed nothing.
pub fn serve(l: &mut LinkState, security: Security, pdu: &[u8], answers: &Answers) -> Served {
    let handle = l.handle;
    let mut out = [0u8; ATT_PDU_MAX];
    let mut hooks = ToPython { handle, confirmed: false, answers, written: Vec::new() };
    let outcome = critical_section::with(|cs| {
        let mut values = Values::current(cs);
        let db = DATABASE.borrow(cs).borrow();
        let outcome = server::handle_request(&db, &mut values, &mut l.server, security, &mut hooks, pdu, &mut out);
        for &vh in hooks.written.iter() {
            // Append buffers collect writes; Python reads the whole of them.
            let data = if entry(cs, vh).is_some_and(|e| e.append) { &[][..] } else { values.value(vh) };
            events::push(events::Event::GattsWrite { handle, value_handle: vh, data });
        }
        outcome
    });
    match outcome {
        Outcome::Respond(n) => {
            // The session only serves when a response fits (`LinkState::att_room`).
            let _ = l.att_out.push(&out[..n]);
            Served { confirmed: hooks.confirmed, ask: None }
        }
        Outcome::Ask { handle, .. } => Served { confirmed: hooks.confirmed, ask: Some(handle) },
        Outcome::Silent => Served { confirmed: hooks.confirmed, ask: None },
    }
}
