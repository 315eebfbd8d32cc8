//! Which SMP commands from the air may reach trouble-host's security manager.
//!
//! trouble-host drops the link when an SMP command finds no pairing that
//! expects it (its host loop disconnects on `InvalidState`). Some such
//! commands are ordinary: a peer that accepted a numeric comparison sends its
//! DHKey Check before it learns that we rejected it, and a stray Pairing
//! Failed would be answered with another. The spec lets a device ignore SMP
//! commands outside a pairing (Vol 3 Part H §3.6.7 for the Security Request;
//! after a failure the pairing is over, §3.5.5), so the gate withholds them
//! instead, and passes only what starts a pairing in the link's role.
#![forbid(unsafe_code)]

/// SMP Pairing Request.
pub const PAIRING_REQUEST: u8 = 0x01;
/// SMP Pairing Response.
pub const PAIRING_RESPONSE: u8 = 0x02;
/// SMP Pairing Failed.
pub const PAIRING_FAILED: u8 = 0x05;
/// SMP Security Request.
pub const SECURITY_REQUEST: u8 = 0x0b;
/// Pairing Failed reason: Pairing Not Supported (what a build without pairing answers).
#[cfg(not(feature = "pairing"))]
pub const PAIRING_NOT_SUPPORTED: u8 = 0x05;

/// One link's view of trouble's pairing state, learnt from the SMP commands
/// going either way. Only a failure shows on the wire; after a successful
/// pairing the gate stays open (trouble's events arrive too late to close it
/// without racing a new pairing), so a stray command then still costs the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// No pairing under way: only a command that starts one passes.
    Idle,
    /// A pairing is under way: everything passes (trouble judges it).
    Pairing,
}

impl Gate {
    /// Whether a command from the peer (`op`, or `None` if its first
    /// fragment doesn't carry the opcode) may reach trouble; updates the state.
    pub fn admit(&mut self, op: Option<u8>, central: bool) -> bool {
        let pass = match (*self, op) {
            (Gate::Pairing, _) => true,
            (Gate::Idle, Some(PAIRING_REQUEST)) => !central,
            (Gate::Idle, Some(SECURITY_REQUEST)) => central,
            (Gate::Idle, _) => false,
        };
        if pass {
            *self = if op == Some(PAIRING_FAILED) { Gate::Idle } else { Gate::Pairing };
        }
        pass
    }

    /// Notes a command trouble sends to the peer.
    pub fn note_sent(&mut self, op: u8) {
        match op {
            PAIRING_FAILED => *self = Gate::Idle,
            PAIRING_REQUEST | PAIRING_RESPONSE | SECURITY_REQUEST => *self = Gate::Pairing,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DHKEY_CHECK: u8 = 0x0d;
    const PUBLIC_KEY: u8 = 0x0c;

    #[test]
    fn idle_passes_only_what_starts_a_pairing_in_the_role() {
        let mut g = Gate::Idle;
        assert!(!g.admit(Some(DHKEY_CHECK), false));
        assert!(!g.admit(Some(PAIRING_FAILED), false));
        assert!(!g.admit(Some(SECURITY_REQUEST), false));
        assert!(!g.admit(None, false));
        assert_eq!(g, Gate::Idle);
        assert!(!g.admit(Some(PAIRING_REQUEST), true), "a central is never asked to pair");
        assert!(g.admit(Some(PAIRING_REQUEST), false));
        assert_eq!(g, Gate::Pairing);
        let mut c = Gate::Idle;
        assert!(c.admit(Some(SECURITY_REQUEST), true));
        assert_eq!(c, Gate::Pairing);
    }

    #[test]
    fn a_late_command_after_our_pairing_failed_is_withheld() {
        let mut g = Gate::Idle;
        assert!(g.admit(Some(PAIRING_REQUEST), false));
        assert!(g.admit(Some(PUBLIC_KEY), false));
        // We reject the numeric comparison; the peer's DHKey Check crosses our Pairing Failed.
        g.note_sent(PAIRING_FAILED);
        assert!(!g.admit(Some(DHKEY_CHECK), false));
        // A new pairing still starts.
        assert!(g.admit(Some(PAIRING_REQUEST), false));
    }

    #[test]
    fn the_peers_pairing_failed_ends_the_pairing() {
        let mut g = Gate::Idle;
        g.note_sent(PAIRING_REQUEST);
        assert_eq!(g, Gate::Pairing);
        assert!(g.admit(Some(PAIRING_FAILED), true));
        assert_eq!(g, Gate::Idle);
        assert!(!g.admit(Some(PAIRING_FAILED), true), "no ping-pong of Pairing Failed");
    }
}
