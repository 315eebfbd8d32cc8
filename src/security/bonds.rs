//! Bonds in RAM, loaded from the application at `active(True)` and handed
//! back to it after each bonded pairing.
//!
//! The table outlives the stack, so a restart after a host failure (which
//! rebuilds trouble-host without Python's help) restores the same bonds.
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use critical_section::Mutex;
use heapless::Vec;
use trouble_host::prelude::{AddrKind, BdAddr, BondInformation, IdentityResolvingKey, LongTermKey, SecurityLevel};
use trouble_host::{Address, Identity};

use super::record::{BondRecord, LEN};
use crate::config::MAX_BONDS;
use crate::events::{self, Event};
use crate::host::TStack;

/// The secret type bond records are stored under (NimBLE's "peer security" number).
pub const SEC_TYPE_BOND: u8 = 2;

static TABLE: Mutex<RefCell<Vec<BondRecord, MAX_BONDS>>> = Mutex::new(RefCell::new(Vec::new()));
static CORRUPT: AtomicU32 = AtomicU32::new(0);

/// Records the application returned that were not valid bonds, since boot.
pub fn corrupt_count() -> u32 {
    CORRUPT.load(Ordering::Relaxed)
}

/// Replaces the table with the application's bonds (`_IRQ_GET_SECRET` with
/// no key, index 0, 1, ... until it returns None). Python thread, stack off.
pub fn load_from_app() {
    let mut table: Vec<BondRecord, MAX_BONDS> = Vec::new();
    // Bounded, so the loop ends even for an application that never says None.
    for index in 0..(MAX_BONDS as u8).saturating_mul(4) {
        let mut buf = [0u8; LEN];
        let Some(n) = crate::runtime::port::get_secret(SEC_TYPE_BOND, index, None, &mut buf) else { break };
        let parsed = if n > buf.len() { None } else { BondRecord::decode(&buf[..n]).ok() };
        match parsed {
            Some(r) if table.is_full() => {
                // Keep the most recent ones the application lists last.
                table.remove(0);
                let _ = table.push(r);
            }
            Some(r) => {
                let _ = table.push(r);
            }
            None => {
                CORRUPT.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    critical_section::with(|cs| *TABLE.borrow(cs).borrow_mut() = table);
}

/// Gives trouble-host every bond in the table (stack start).
pub fn restore(stack: &TStack) {
    let table = critical_section::with(|cs| TABLE.borrow(cs).borrow().clone());
    for r in table.iter() {
        let _ = stack.add_bond_information(to_trouble(r));
    }
}

/// A bonded pairing finished: keep the bond and hand it to the application.
pub fn remember(bond: &BondInformation) {
    let r = from_trouble(bond);
    let known = critical_section::with(|cs| {
        let mut t = TABLE.borrow(cs).borrow_mut();
        let known = t.contains(&r);
        if let Some(i) = t.iter().position(|o| o.key() == r.key()) {
            t.remove(i);
        }
        if t.is_full() {
            t.remove(0);
        }
        let _ = t.push(r);
        known
    });
    // Encrypting with a stored bond completes a "pairing" too; the
    // application already holds that record.
    if known {
        return;
    }
    let key = r.key();
    let value = r.encode();
    events::push(Event::SetSecret { sec_type: SEC_TYPE_BOND, key: &key, value: &value });
}

fn to_trouble(r: &BondRecord) -> BondInformation {
    let kind = if r.addr_kind == 1 { AddrKind::RANDOM } else { AddrKind::PUBLIC };
    let identity =
        Identity { addr: Address::new(kind, BdAddr::new(r.addr)), irk: r.irk.and_then(IdentityResolvingKey::new) };
    let level = if r.authenticated { SecurityLevel::EncryptedAuthenticated } else { SecurityLevel::Encrypted };
    let mut b = BondInformation::new(identity, LongTermKey::new(r.ltk), level, r.bonded);
    b.ediv = r.ediv;
    b.rand = r.rand;
    b.encryption_key_len = r.key_len;
    b
}

fn from_trouble(b: &BondInformation) -> BondRecord {
    let mut addr = [0u8; 6];
    addr.copy_from_slice(b.identity.addr.addr.raw());
    BondRecord {
        addr_kind: b.identity.addr.kind.as_raw() & 1,
        addr,
        irk: b.identity.irk.map(|k| k.0.get()),
        ltk: b.ltk.0,
        ediv: b.ediv,
        rand: b.rand,
        key_len: b.encryption_key_len.clamp(7, 16),
        authenticated: b.security_level.authenticated(),
        bonded: b.is_bonded,
    }
}
