//! Resolvable private addresses (Vol 6 Part B §1.3.2.2, hash function `ah` of
//! Vol 3 Part H §2.2.2), in the spec's byte order.
//!
//! trouble-host 0.8 resolves such addresses correctly but generates them with
//! the random part and the hash byte-swapped, which other hosts can't resolve,
//! so the backend makes its own.
#![forbid(unsafe_code)]
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

/// `ah(k, r)`: the 24-bit hash of `prand` (little-endian, as on the wire) under
/// the IRK `irk` (its numeric value); the result is little-endian too.
pub fn ah(irk: u128, prand: [u8; 3]) -> [u8; 3] {
    // r' = padding || r, most significant byte first, as e() takes it.
    let mut block = [0u8; 16];
    block[13..].copy_from_slice(&[prand[2], prand[1], prand[0]]);
    let mut block = block.into();
    Aes128::new(&irk.to_be_bytes().into()).encrypt_block(&mut block);
    [block[15], block[14], block[13]]
}

/// A resolvable private address from `irk` and random bits (the top two are
/// replaced by 0b01), least significant byte first (as on the wire).
pub fn resolvable_address(irk: u128, mut prand: [u8; 3]) -> [u8; 6] {
    prand[2] = (prand[2] & 0b0011_1111) | 0b0100_0000;
    let hash = ah(irk, prand);
    [hash[0], hash[1], hash[2], prand[0], prand[1], prand[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_sample_data() {
        // Vol 3 Part H Appendix D.7: IRK, prand 0x708194 -> hash 0x0dfbaa.
        let irk = 0xec0234a3_57c8ad05_341010a6_0a397d9b;
        assert_eq!(ah(irk, [0x94, 0x81, 0x70]), [0xaa, 0xfb, 0x0d]);
        assert_eq!(resolvable_address(irk, [0x94, 0x81, 0x70]), [0xaa, 0xfb, 0x0d, 0x94, 0x81, 0x70]);
    }

    #[test]
    fn trouble_resolves_our_addresses() {
        let irk = 0x0123_4567_89ab_cdef_0f1e_2d3c_4b5a_6978;
        let key = trouble_host::IdentityResolvingKey::new(irk).unwrap();
        for prand in [[0, 0, 0], [1, 2, 3], [0xff, 0xff, 0xff]] {
            let a = resolvable_address(irk, prand);
            assert_eq!(a[5] >> 6, 0b01);
            assert!(key.resolve_address(&bt_hci::param::BdAddr::new(a)));
        }
    }
}
