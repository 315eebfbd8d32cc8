//! Lifecycle and settings: active(), config() keys that live in the backend.
use core::cell::RefCell;
use core::sync::atomic::{AtomicU8, Ordering};

use critical_section::Mutex;

use super::{ready, NOT_ACTIVE};
use crate::config::{SHUTDOWN_TIMEOUT_MS, STARTUP_TIMEOUT_MS};
use crate::runtime::port;
use crate::stack::{self, Identity, Phase};
use crate::{gap, sys};

/// MicroPython's address modes.
const ADDR_PUBLIC: u8 = 0;
const ADDR_RANDOM: u8 = 1;
const ADDR_RPA: u8 = 2;

static ADDR_MODE: AtomicU8 = AtomicU8::new(ADDR_PUBLIC);
static RANDOM_ADDR: Mutex<RefCell<Option<[u8; 6]>>> = Mutex::new(RefCell::new(None));
static PRIVATE_ADDR: Mutex<RefCell<Option<[u8; 6]>>> = Mutex::new(RefCell::new(None));

fn identity() -> Identity {
    let random = match ADDR_MODE.load(Ordering::Relaxed) {
        ADDR_RANDOM => critical_section::with(|cs| *RANDOM_ADDR.borrow(cs).borrow()),
        ADDR_RPA => critical_section::with(|cs| *PRIVATE_ADDR.borrow(cs).borrow()),
        _ => None,
    };
    Identity { random }
}

/// Starts the stack and waits (bounded) for the controller.
#[no_mangle]
pub extern "C" fn mp_bluetooth_init() -> i32 {
    init(true)
}

/// (Re)starts the stack; `fresh` also empties the GATT database, which a
/// restart for a new address mode keeps.
fn init(fresh: bool) -> i32 {
    mp_bluetooth_deinit();
    if !port::uart_init() {
        return sys::MP_ENODEV as i32;
    }
    stack::reset_recoveries();
    if fresh {
        // As NimBLE: a fresh start serves only the built-in services until
        // the application registers its own.
        critical_section::with(|cs| {
            crate::gatt::serve::reset_database();
            port::gatts_db_reset(cs);
        });
        // The application holds the bonds (MicroPython's contract); trouble
        // gets them when the stack is built, before any peer can connect.
        #[cfg(feature = "pairing")]
        crate::security::bonds::load_from_app();
        if ADDR_MODE.load(Ordering::Relaxed) == ADDR_RPA {
            // Only privacy needs the local IRK: an application that never
            // asks for it hears nothing of it (as with NimBLE).
            crate::privacy::load_irk();
            // A private address is for one session only.
            let rpa = crate::privacy::new_resolvable_address();
            critical_section::with(|cs| *PRIVATE_ADDR.borrow(cs).borrow_mut() = Some(rpa));
        }
    }
    critical_section::with(|_| stack::start(identity()));
    let r = port::start();
    if r != 0 {
        shutdown();
        return r;
    }
    super::wait_while(STARTUP_TIMEOUT_MS, 10, || stack::phase() == Phase::Starting);
    if stack::phase() != Phase::Ready {
        shutdown();
        return sys::MP_ETIMEDOUT as i32;
    }
    if ADDR_MODE.load(Ordering::Relaxed) == ADDR_PUBLIC && stack::public_address() == [0; 6] {
        // A controller without a public address: identify with a static random one.
        ensure_static_random();
        ADDR_MODE.store(ADDR_RANDOM, Ordering::Relaxed);
        return init(fresh);
    }
    0
}

/// Closes links (bounded wait), then stops the stack and the port.
#[no_mangle]
pub extern "C" fn mp_bluetooth_deinit() {
    if stack::phase() == Phase::Off {
        return;
    }
    if stack::phase() == Phase::Ready {
        super::gap::mp_bluetooth_gap_advertise_stop();
        #[cfg(feature = "central")]
        let _ = super::central::mp_bluetooth_gap_scan_stop();
        crate::link::each(|_, l| l.disconnect = true);
        super::kick();
        super::wait_while(SHUTDOWN_TIMEOUT_MS, 10, || crate::link::count() > 0);
    }
    shutdown();
}

/// Restarts after trouble-host's runner ended (a controller reply it treats
/// as fatal, or a dead transport): Python sees every link, scan and pending
/// connection end, and the stack comes back without `active(False)`.
/// Attempts are limited so a dead controller doesn't keep the thread busy;
/// reaching Ready again resets the count.
fn recover() {
    if stack::recoveries() >= crate::config::MAX_RECOVERIES {
        return;
    }
    gap::state::report_all_lost();
    let id = identity();
    critical_section::with(|_| {
        stack::stop();
        stack::start(id);
    });
    stack::count_recovery();
}

fn shutdown() {
    port::stop();
    critical_section::with(|_| stack::stop());
    crate::events::clear();
    port::uart_deinit();
}

/// True once the controller answered and until deinit.
#[no_mangle]
pub extern "C" fn mp_bluetooth_is_active() -> bool {
    stack::phase() == Phase::Ready
}

/// Runs the stack; called by the port's driver (thread or soft timer).
#[no_mangle]
pub extern "C" fn mp_bluetooth_hci_poll() {
    if stack::phase() == Phase::Failed {
        recover();
    }
    let next = stack::poll();
    NEXT_TIMEOUT_US.store(next.map(|n| n as i64).unwrap_or(-1), Ordering::Release);
    stack::schedule_delivery();
}

static NEXT_TIMEOUT_US: portable_i64::AtomicI64 = portable_i64::AtomicI64::new(-1);

/// The stack's next timer, as computed by the last poll (-1: none).
#[no_mangle]
pub extern "C" fn mp_trouble_next_timeout_us() -> i64 {
    NEXT_TIMEOUT_US.load(Ordering::Acquire)
}

mod portable_i64 {
    //! Cortex-M3/M4 have no 64-bit atomics; the value only crosses the backend lock.
    use core::cell::Cell;
    use core::sync::atomic::Ordering;

    pub struct AtomicI64(critical_section::Mutex<Cell<i64>>);

    impl AtomicI64 {
        pub const fn new(v: i64) -> Self {
            Self(critical_section::Mutex::new(Cell::new(v)))
        }
        pub fn store(&self, v: i64, _o: Ordering) {
            critical_section::with(|cs| self.0.borrow(cs).set(v))
        }
        pub fn load(&self, _o: Ordering) -> i64 {
            critical_section::with(|cs| self.0.borrow(cs).get())
        }
    }
}

/// `config('mac')`: (type, address) in use.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_get_current_address(addr_type: *mut u8, addr: *mut u8) {
    if ready().is_err() {
        super::raise(NOT_ACTIVE);
    }
    let (t, a) = match identity().random {
        Some(a) => (1, a),
        None => (0, stack::public_address()),
    };
    // SAFETY: modbluetooth.c passes a byte and a 6-byte buffer of its own.
    unsafe {
        *addr_type = t;
        core::ptr::copy_nonoverlapping(a.as_ptr(), addr, 6);
    }
}

/// `config(addr_mode=...)`: switching restarts the stack with the new identity.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_set_address_mode(mode: u8) {
    if ready().is_err() {
        super::raise(NOT_ACTIVE);
    }
    // A non-resolvable private address can't be a connectable identity
    // (NimBLE accepts it and then fails to advertise). Refuse clearly.
    if !matches!(mode, ADDR_PUBLIC | ADDR_RANDOM | ADDR_RPA) {
        super::raise(sys::MP_EINVAL as i32);
    }
    if ADDR_MODE.load(Ordering::Relaxed) == mode {
        return;
    }
    if mode == ADDR_PUBLIC && stack::public_address() == [0; 6] {
        super::raise(sys::MP_EINVAL as i32);
    }
    if crate::link::count() > 0 {
        super::raise(sys::MP_EBUSY as i32);
    }
    match mode {
        ADDR_RANDOM => ensure_static_random(),
        ADDR_RPA => {
            crate::privacy::load_irk();
            let rpa = crate::privacy::new_resolvable_address();
            critical_section::with(|cs| *PRIVATE_ADDR.borrow(cs).borrow_mut() = Some(rpa));
        }
        _ => {}
    }
    ADDR_MODE.store(mode, Ordering::Relaxed);
    let r = init(false);
    if r != 0 {
        super::raise(r);
    }
}

/// One static random address per boot: it must not change while powered.
fn ensure_static_random() {
    if critical_section::with(|cs| RANDOM_ADDR.borrow(cs).borrow().is_none()) {
        let mut a = [0u8; 6];
        port::random(&mut a);
        a[0] |= 0xc0; // static random: the two most significant bits set
        critical_section::with(|cs| *RANDOM_ADDR.borrow(cs).borrow_mut() = Some(a));
    }
}

/// `config('gap_name')`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gap_get_device_name(buf: *mut *const u8) -> usize {
    // MicroPython copies the name before anything can change it, and the
    // storage is static, so the pointer stays valid after the lock.
    crate::settings::with_device_name(|name| {
        // SAFETY: modbluetooth.c passes a pointer variable of its own.
        unsafe { *buf = name.as_ptr() };
        name.len()
    })
}

/// `config(gap_name=...)`.
#[no_mangle]
pub unsafe extern "C" fn mp_bluetooth_gap_set_device_name(buf: *const u8, len: usize) -> i32 {
    // SAFETY: modbluetooth.c passes the name argument's buffer.
    let bytes = unsafe { super::bytes(buf, len) };
    if crate::settings::set_device_name(bytes) {
        0
    } else {
        sys::MP_EINVAL as i32
    }
}

/// `config('mtu')`.
#[no_mangle]
pub extern "C" fn mp_bluetooth_get_preferred_mtu() -> i32 {
    if stack::phase() != Phase::Ready {
        super::raise(NOT_ACTIVE);
    }
    i32::from(crate::settings::preferred_mtu())
}

/// `config(mtu=...)`: 23 ..= 527, NimBLE's bounds.
#[no_mangle]
pub extern "C" fn mp_bluetooth_set_preferred_mtu(mtu: u16) -> i32 {
    if stack::phase() != Phase::Ready {
        return NOT_ACTIVE;
    }
    if crate::settings::set_preferred_mtu(mtu) {
        0
    } else {
        sys::MP_EINVAL as i32
    }
}

/// `config(bond=...)`.
#[cfg(feature = "pairing")]
#[no_mangle]
pub extern "C" fn mp_bluetooth_set_bonding(enabled: bool) {
    crate::security::policy::set_bond(enabled);
}

/// `config(mitm=...)`.
#[cfg(feature = "pairing")]
#[no_mangle]
pub extern "C" fn mp_bluetooth_set_mitm_protection(enabled: bool) {
    crate::security::policy::set_mitm(enabled);
}

/// `config(le_secure=...)`.
#[cfg(feature = "pairing")]
#[no_mangle]
pub extern "C" fn mp_bluetooth_set_le_secure(enabled: bool) {
    crate::security::policy::set_le_secure(enabled);
}

/// `config(io=...)`.
#[cfg(feature = "pairing")]
#[no_mangle]
pub extern "C" fn mp_bluetooth_set_io_capability(capability: u8) {
    crate::security::policy::set_io(capability);
}
