//! LE Long Term Key Requests that trouble-host can't answer.
//!
//! When a peer starts encryption, the controller asks the host for the link's key (HCI LE
//! Long Term Key Request). trouble-host 0.8 answers when it holds a key for the peer, but
//! without one it drops the link (Authentication Failure) instead of answering LTK Negative
//! Reply (Vol 4 Part E §7.8.26), after which the peer would learn the key is missing (PIN or
//! Key Missing) and the link would carry on unencrypted. So the request is screened before
//! trouble sees it ([`screen`], which the stack gives the multiplexer): one trouble can
//! answer goes on to it; for any other the backend sends the negative reply itself ([`run`]).

#[cfg(feature = "pairing")]
use trouble_host::prelude::BondInformation;
#[cfg(feature = "pairing")]
use trouble_host::Identity;

/// Whether trouble-host answers an LTK request with `ediv` and `rand` from `peer` with a key:
/// it takes the first stored key whose identity matches the peer, and (with its
/// legacy-pairing feature) uses it only if EDIV and Rand match too; Secure Connections keys,
/// and the STK of a legacy pairing under way, have both zero.
#[cfg(feature = "pairing")]
pub fn trouble_answers(bonds: &[BondInformation], peer: &Identity, ediv: u16, rand: &[u8; 8]) -> bool {
    bonds.iter().find(|b| b.identity.match_identity(peer)).is_some_and(|b| b.ediv == ediv && &b.rand == rand)
}

#[cfg(not(any(test, fuzzing)))]
pub use running::{run, screen};

#[cfg(not(any(test, fuzzing)))]
mod running {
    use bt_hci::cmd::le::LeLongTermKeyRequestNegativeReply;
    use bt_hci::param::ConnHandle;
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use embassy_sync::channel::Channel;

    #[cfg(feature = "pairing")]
    use super::trouble_answers;
    use crate::config::MAX_CONNECTIONS;
    use crate::host::TStack;

    /// Links whose LTK request waits for its negative reply.
    static REFUSE: Channel<CriticalSectionRawMutex, u16, MAX_CONNECTIONS> = Channel::new();

    /// Screens an LTK request (from inside the stack's poll, before trouble sees the event):
    /// true if trouble is to have it; false if it is withheld and the negative reply queued.
    ///
    /// A link trouble hasn't handed to the backend yet is left to trouble: before that, the
    /// peer's identity can't be asked for without ending the link (see `get_connected_handle`).
    #[cfg(feature = "pairing")]
    pub fn screen(stack: &TStack, handle: u16, ediv: u16, rand: [u8; 8]) -> bool {
        // Only links already accepted (refcount held by the backend's slot): dropping this
        // temporary handle then can't be the last reference, which would close the link.
        let answers = stack.get_connected_handle(ConnHandle::new(handle)).map(|c| {
            let peer = c.peer_identity();
            stack.with_bond_information(|bonds| trouble_answers(bonds, &peer, ediv, &rand))
        });
        match answers {
            Some(false) => REFUSE.try_send(handle).is_err(),
            _ => true,
        }
    }

    /// Without pairing there are no keys: every request gets the negative reply (trouble
    /// without its security manager would leave it unanswered).
    #[cfg(not(feature = "pairing"))]
    pub fn screen(_stack: &TStack, handle: u16, _ediv: u16, _rand: [u8; 8]) -> bool {
        REFUSE.try_send(handle).is_err()
    }

    /// Sends the queued negative replies; runs beside the rest of the stack.
    pub async fn run(stack: &TStack) {
        loop {
            let handle = REFUSE.receive().await;
            // A link gone meanwhile makes the controller refuse it; nothing else to do.
            let _ = stack.command(LeLongTermKeyRequestNegativeReply::new(ConnHandle::new(handle))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trouble_host::prelude::{AddrKind, BdAddr, IdentityResolvingKey, LongTermKey, SecurityLevel};
    use trouble_host::Address;

    fn identity(last: u8, irk: Option<u128>) -> Identity {
        Identity {
            addr: Address::new(AddrKind::RANDOM, BdAddr::new([last, 2, 3, 4, 5, 0xc6])),
            irk: irk.and_then(IdentityResolvingKey::new),
        }
    }

    fn bond(id: Identity, ediv: u16, rand: [u8; 8]) -> BondInformation {
        let mut b = BondInformation::new(id, LongTermKey(7), SecurityLevel::Encrypted, true);
        (b.ediv, b.rand) = (ediv, rand);
        b
    }

    #[test]
    fn a_key_only_for_the_peer_and_its_ediv_and_rand() {
        let (a, b) = (identity(1, None), identity(2, None));
        let bonds = [bond(a, 0, [0; 8]), bond(b, 0x1234, [9; 8])];
        assert!(trouble_answers(&bonds, &a, 0, &[0; 8]));
        assert!(!trouble_answers(&bonds, &a, 1, &[0; 8]), "EDIV differs");
        assert!(trouble_answers(&bonds, &b, 0x1234, &[9; 8]));
        assert!(!trouble_answers(&bonds, &b, 0x1234, &[8; 8]), "Rand differs");
        assert!(!trouble_answers(&bonds, &identity(3, None), 0, &[0; 8]), "no bond with this peer");
        assert!(!trouble_answers(&[], &a, 0, &[0; 8]));
    }

    #[test]
    fn only_the_first_key_of_a_peer_counts() {
        // As trouble looks it up: a second, matching entry for the same peer is never used.
        let a = identity(1, None);
        let bonds = [bond(a, 5, [1; 8]), bond(a, 0, [0; 8])];
        assert!(!trouble_answers(&bonds, &a, 0, &[0; 8]));
        assert!(trouble_answers(&bonds, &a, 5, &[1; 8]));
    }

    #[test]
    fn a_peer_known_by_its_irk() {
        // The bond names the peer's identity and IRK; the link knows the same IRK.
        let stored = identity(1, Some(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10));
        let seen = identity(9, Some(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10));
        assert!(trouble_answers(&[bond(stored, 0, [0; 8])], &seen, 0, &[0; 8]));
    }
}
