//! Settings from `config()` that the protocol layers read while running:
//! the ATT MTU offered in exchanges and the GAP device name.
#![forbid(unsafe_code)]
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicU16, Ordering};

use critical_section::Mutex;
use heapless::Vec;

use crate::config::{ATT_MTU_MAX, DEFAULT_MTU, GAP_NAME_DEFAULT, GAP_NAME_MAX};

static MTU: AtomicU16 = AtomicU16::new(DEFAULT_MTU);
static NAME: Mutex<RefCell<Vec<u8, GAP_NAME_MAX>>> = Mutex::new(RefCell::new(Vec::new()));
static NAME_SET: AtomicBool = AtomicBool::new(false);

/// The ATT MTU offered in exchanges (`config(mtu=...)`).
pub fn preferred_mtu() -> u16 {
    MTU.load(Ordering::Relaxed)
}

/// Sets the MTU to offer; false outside 23 ..= `ATT_MTU_MAX` (NimBLE's bounds).
pub fn set_preferred_mtu(mtu: u16) -> bool {
    if !(crate::att::server::MIN_MTU..=ATT_MTU_MAX).contains(&mtu) {
        return false;
    }
    MTU.store(mtu, Ordering::Relaxed);
    true
}

/// Runs `f` on the device name (the default until the application sets one).
pub fn with_device_name<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    critical_section::with(|cs| {
        let name = NAME.borrow(cs).borrow();
        f(if NAME_SET.load(Ordering::Relaxed) { &name } else { GAP_NAME_DEFAULT })
    })
}

/// Sets the device name; false if it is longer than `GAP_NAME_MAX`.
pub fn set_device_name(name: &[u8]) -> bool {
    let Ok(v) = Vec::from_slice(name) else { return false };
    critical_section::with(|cs| *NAME.borrow(cs).borrow_mut() = v);
    NAME_SET.store(true, Ordering::Relaxed);
    true
}
