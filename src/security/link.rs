//! One link's pairing dialogue: trouble-host's security events become
//! MicroPython IRQs, and Python's `gap_pair`/`gap_passkey` reach trouble
//! through the link's session task (the C ABI never touches trouble itself).
//! The passkey action Python was asked about is kept in the link's state, so
//! `gap_passkey` can check its arguments without waiting for the stack.
use bt_hci::param::LeConnRole;
use trouble_host::prelude::{ConnectionEvent, SecurityLevel};

use super::{bonds, policy};
use crate::events::{self, Event};
use crate::host::Link;
use crate::link::{self, SecurityOp as Op};
use crate::sys;

/// MicroPython's passkey actions.
const ACTION_INPUT: u8 = sys::MP_BLUETOOTH_PASSKEY_ACTION_INPUT as u8;
const ACTION_DISPLAY: u8 = sys::MP_BLUETOOTH_PASSKEY_ACTION_DISPLAY as u8;
const ACTION_COMPARE: u8 = sys::MP_BLUETOOTH_PASSKEY_ACTION_NUMERIC_COMPARISON as u8;

/// The fields of one ENCRYPTION_UPDATE.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shown {
    encrypted: bool,
    authenticated: bool,
    bonded: bool,
    key_size: u8,
}

/// A link's security state as the session keeps it.
pub struct LinkSecurity {
    handle: u16,
    /// What the last ENCRYPTION_UPDATE said.
    shown: Option<Shown>,
    /// Whether the last pairing on this link bonded, once it completed.
    paired_bonded: Option<bool>,
}

impl LinkSecurity {
    /// A new link: bondable as configured, so a pairing the peer starts bonds too.
    pub fn new(conn: &Link) -> Self {
        let _ = conn.set_bondable(policy::bond());
        Self { handle: conn.handle().raw(), shown: None, paired_bonded: None }
    }

    /// Records the passkey action Python is asked about (before the event
    /// that asks it, so its answer always finds it), or that none is pending.
    fn set_asked(&self, action: Option<u8>) {
        link::with(self.handle, |l| l.asked = action);
    }

    /// Turns one of trouble's security events into IRQs and stored bonds.
    pub fn on_event(&mut self, conn: &Link, e: &ConnectionEvent) {
        let handle = conn.handle().raw();
        let ask = |action: u8, passkey: u32| {
            self.set_asked(Some(action));
            events::push(Event::Passkey { handle, action, passkey });
        };
        match e {
            ConnectionEvent::PassKeyDisplay(k) => ask(ACTION_DISPLAY, k.value()),
            ConnectionEvent::PassKeyConfirm(k) => ask(ACTION_COMPARE, k.value()),
            ConnectionEvent::PassKeyInput => ask(ACTION_INPUT, 0),
            ConnectionEvent::PairingComplete { security_level, bond } => {
                self.set_asked(None);
                if let Some(b) = bond {
                    bonds::remember(b);
                }
                // Encryption with a stored bond also ends here, without a
                // new bond (no features were exchanged): it is still bonded.
                let bonded = bond.as_ref().map_or_else(|| conn.is_bonded_peer(), |b| b.is_bonded);
                self.paired_bonded = Some(bonded);
                // The peripheral may have reported this pairing when the link
                // became encrypted; it hears again only if the outcome differs.
                let again = !responder(conn);
                self.report(conn, *security_level, bonded, again);
            }
            ConnectionEvent::PairingFailed(_) => {
                self.set_asked(None);
                self.paired_bonded = None;
                self.show(conn, Shown { encrypted: false, authenticated: false, bonded: false, key_size: 0 }, true);
            }
            // Encryption from a stored bond.
            ConnectionEvent::Encrypted { security_level, bond: Some(b) } => {
                self.report(conn, *security_level, b.is_bonded, true)
            }
            // A fresh pairing's link encryption (HCI Encryption Change), before
            // the keys are distributed. The central waits for PairingComplete:
            // its `gap_pair` caller takes the first update as the pairing's
            // end, and the central distributes its keys last. The peripheral
            // reports now, so it knows the link is encrypted even if the
            // central drops the link right after the key distribution; `bonded`
            // is what this side asked for until the pairing's end says otherwise.
            ConnectionEvent::Encrypted { security_level, bond: None } if responder(conn) => {
                let bonded = self.paired_bonded.unwrap_or_else(|| conn.bondable().unwrap_or(false));
                self.report(conn, *security_level, bonded, false);
            }
            _ => {}
        }
    }

    /// Carries out Python's request; returns an errno as NimBLE's backend would.
    pub fn on_request(&mut self, conn: &Link, op: Op) -> i32 {
        match op {
            Op::Pair => {
                if conn.security_level().is_ok_and(|l| l.encrypted()) {
                    // trouble has nothing to do; the caller (aioble's `pair()`)
                    // still waits for the link's state.
                    if let Ok(level) = conn.security_level() {
                        self.report(conn, level, conn.is_bonded_peer(), true);
                    }
                    return 0;
                }
                let _ = conn.set_bondable(policy::bond());
                match conn.request_security() {
                    Ok(()) => 0,
                    Err(trouble_host::Error::Disconnected) => sys::MP_ENOTCONN as i32,
                    Err(_) => {
                        // Python was told the request was taken: it hears the outcome.
                        self.report(conn, SecurityLevel::NoEncryption, false, true);
                        sys::MP_EALREADY as i32
                    }
                }
            }
            Op::Passkey { action, passkey } => self.answer(conn, action, passkey),
        }
    }

    fn answer(&mut self, conn: &Link, action: u8, passkey: i64) -> i32 {
        // Checked by the C ABI when it was queued; the pairing may have ended since.
        let asked = link::with(self.handle, |l| l.asked).flatten();
        if asked != Some(action) {
            return sys::MP_ENOENT as i32;
        }
        let r = match action {
            ACTION_INPUT => match u32::try_from(passkey) {
                Ok(k) if k <= 999_999 => conn.pass_key_input(k),
                _ => return sys::MP_EINVAL as i32,
            },
            ACTION_COMPARE if passkey != 0 => conn.pass_key_confirm(),
            // Rejecting ends the pairing, which trouble reports as an error; that is the intent.
            ACTION_COMPARE => {
                let _ = conn.pass_key_cancel();
                Ok(())
            }
            // trouble shows its own passkey and needs no answer (see the README).
            _ => Ok(()),
        };
        self.set_asked(None);
        match r {
            Ok(()) => 0,
            Err(_) => sys::MP_ENOENT as i32,
        }
    }

    /// Reports the link's state; `always` false skips a report that would repeat the last one.
    fn report(&mut self, conn: &Link, level: SecurityLevel, bonded: bool, always: bool) {
        let state = Shown {
            encrypted: level.encrypted(),
            authenticated: level.authenticated(),
            bonded,
            key_size: key_size(conn),
        };
        self.show(conn, state, always);
    }

    fn show(&mut self, conn: &Link, state: Shown, always: bool) {
        // Python has already been told the link is gone: nothing more about it.
        if !conn.is_connected() || (!always && self.shown == Some(state)) {
            return;
        }
        self.shown = Some(state);
        let Shown { encrypted, authenticated, bonded, key_size } = state;
        let handle = conn.handle().raw();
        events::push(Event::Encryption { handle, encrypted, authenticated, bonded, key_size });
    }
}

/// Whether this side answers pairing (in LE only the central starts it).
fn responder(conn: &Link) -> bool {
    conn.role() == LeConnRole::Peripheral
}

/// The link's encryption key size in bytes (0 unencrypted).
pub fn key_size(conn: &Link) -> u8 {
    match conn.security_level() {
        Ok(l) if l.encrypted() => conn.encryption_key_len().unwrap_or(16),
        _ => 0,
    }
}
