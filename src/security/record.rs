//! Bond records: the bytes handed to Python through `_IRQ_SET_SECRET` and read
//! back through `_IRQ_GET_SECRET`.
//!
//! The application stores them wherever it likes (a dict, a JSON file), so
//! they come back from outside the firmware and are checked like air input:
//! a record that is not exactly what `encode` makes is refused, never trusted.
//! Layout (version 1, little-endian, fixed 52 bytes):
//! `version, flags, key_len, addr_kind, addr[6], ltk[16], ediv[2], rand[8], irk[16]`.

/// Version byte of the current layout; a new layout gets a new number.
pub const VERSION: u8 = 1;
/// Encoded length of a version 1 record.
pub const LEN: usize = 52;
/// Length of the secret's key (the peer's identity address: kind, then address).
pub const KEY_LEN: usize = 7;

const FLAG_BONDED: u8 = 0b001;
const FLAG_AUTHENTICATED: u8 = 0b010;
const FLAG_IRK: u8 = 0b100;

/// One bond as the backend keeps it (independent of trouble-host's types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BondRecord {
    /// Identity address kind: 0 public, 1 random.
    pub addr_kind: u8,
    /// Identity address, as on the wire (least significant byte first).
    pub addr: [u8; 6],
    /// Identity resolving key, if the peer distributed one.
    pub irk: Option<u128>,
    /// Long-term key.
    pub ltk: u128,
    /// Legacy pairing's EDIV (0 for Secure Connections).
    pub ediv: u16,
    /// Legacy pairing's Rand (zero for Secure Connections).
    pub rand: [u8; 8],
    /// Encryption key size in bytes (7..=16).
    pub key_len: u8,
    /// The key came from an MITM-protected pairing.
    pub authenticated: bool,
    /// Both sides agreed to bond.
    pub bonded: bool,
}

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corrupt {
    /// Not the length of the layout its version names.
    Length,
    /// A version this firmware does not know.
    Version,
    /// A field outside its range (flags, key size, address kind, zero IRK).
    Field,
}

impl BondRecord {
    /// The secret's key: identity address kind and address.
    pub fn key(&self) -> [u8; KEY_LEN] {
        let mut k = [0u8; KEY_LEN];
        k[0] = self.addr_kind;
        k[1..].copy_from_slice(&self.addr);
        k
    }

    /// The record's bytes.
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = VERSION;
        b[1] = (self.bonded as u8 * FLAG_BONDED)
            | (self.authenticated as u8 * FLAG_AUTHENTICATED)
            | (self.irk.is_some() as u8 * FLAG_IRK);
        b[2] = self.key_len;
        b[3] = self.addr_kind;
        b[4..10].copy_from_slice(&self.addr);
        b[10..26].copy_from_slice(&self.ltk.to_le_bytes());
        b[26..28].copy_from_slice(&self.ediv.to_le_bytes());
        b[28..36].copy_from_slice(&self.rand);
        b[36..52].copy_from_slice(&self.irk.unwrap_or(0).to_le_bytes());
        b
    }

    /// Parses a record made by `encode`; anything else is refused.
    pub fn decode(b: &[u8]) -> Result<Self, Corrupt> {
        match b.first() {
            None => return Err(Corrupt::Length),
            Some(&VERSION) => {}
            Some(_) => return Err(Corrupt::Version),
        }
        let b: &[u8; LEN] = b.try_into().map_err(|_| Corrupt::Length)?;
        let flags = b[1];
        let (key_len, addr_kind) = (b[2], b[3]);
        if flags & !(FLAG_BONDED | FLAG_AUTHENTICATED | FLAG_IRK) != 0 || !(7..=16).contains(&key_len) || addr_kind > 1
        {
            return Err(Corrupt::Field);
        }
        let u128_at = |at: usize| {
            let mut v = [0u8; 16];
            v.copy_from_slice(&b[at..at + 16]);
            u128::from_le_bytes(v)
        };
        let irk = u128_at(36);
        let irk = match (flags & FLAG_IRK != 0, irk) {
            (true, 0) => return Err(Corrupt::Field),
            (true, k) => Some(k),
            (false, 0) => None,
            (false, _) => return Err(Corrupt::Field),
        };
        let mut addr = [0u8; 6];
        addr.copy_from_slice(&b[4..10]);
        let mut rand = [0u8; 8];
        rand.copy_from_slice(&b[28..36]);
        Ok(Self {
            addr_kind,
            addr,
            irk,
            ltk: u128_at(10),
            ediv: u16::from_le_bytes([b[26], b[27]]),
            rand,
            key_len,
            authenticated: flags & FLAG_AUTHENTICATED != 0,
            bonded: flags & FLAG_BONDED != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BondRecord {
        BondRecord {
            addr_kind: 1,
            addr: [1, 2, 3, 4, 5, 0xc6],
            irk: Some(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            ltk: 0xffee_ddcc_bbaa_9988_7766_5544_3322_1100,
            ediv: 0x1234,
            rand: [9, 8, 7, 6, 5, 4, 3, 2],
            key_len: 16,
            authenticated: true,
            bonded: true,
        }
    }

    #[test]
    fn round_trips() {
        let r = sample();
        assert_eq!(BondRecord::decode(&r.encode()), Ok(r));
        let plain = BondRecord { irk: None, authenticated: false, key_len: 7, addr_kind: 0, ..r };
        assert_eq!(BondRecord::decode(&plain.encode()), Ok(plain));
        assert_eq!(r.key(), [1, 1, 2, 3, 4, 5, 0xc6]);
    }

    #[test]
    fn layout_is_fixed() {
        let b = sample().encode();
        assert_eq!(b[..4], [VERSION, 0b111, 16, 1]);
        assert_eq!(b[4..10], [1, 2, 3, 4, 5, 0xc6]);
        assert_eq!(b[10], 0x00);
        assert_eq!(b[26..28], [0x34, 0x12]);
        assert_eq!(b[51], 0x01);
    }

    #[test]
    fn refuses_wrong_lengths_and_versions() {
        let b = sample().encode();
        assert_eq!(BondRecord::decode(&[]), Err(Corrupt::Length));
        for cut in 1..LEN {
            assert_eq!(BondRecord::decode(&b[..cut]), Err(Corrupt::Length));
        }
        let mut long = [0u8; LEN + 1];
        long[..LEN].copy_from_slice(&b);
        assert_eq!(BondRecord::decode(&long), Err(Corrupt::Length));
        let mut v2 = b;
        v2[0] = 2;
        assert_eq!(BondRecord::decode(&v2), Err(Corrupt::Version));
        assert_eq!(BondRecord::decode(b"{\"json\": 1}"), Err(Corrupt::Version));
    }

    #[test]
    fn refuses_fields_out_of_range() {
        let b = sample().encode();
        let with = |i: usize, v: u8| {
            let mut c = b;
            c[i] = v;
            BondRecord::decode(&c)
        };
        assert_eq!(with(1, 0b1000), Err(Corrupt::Field));
        assert_eq!(with(2, 6), Err(Corrupt::Field));
        assert_eq!(with(2, 17), Err(Corrupt::Field));
        assert_eq!(with(3, 2), Err(Corrupt::Field));
        // An IRK flag without a key, and a key without its flag.
        let mut no_irk = b;
        no_irk[36..].fill(0);
        assert_eq!(BondRecord::decode(&no_irk), Err(Corrupt::Field));
        assert_eq!(with(1, 0b011), Err(Corrupt::Field));
    }

    #[test]
    fn garbage_never_panics() {
        // Every byte value in every position of a valid record, and pseudo-random buffers.
        let b = sample().encode();
        for i in 0..LEN {
            for v in 0..=255u8 {
                let mut c = b;
                c[i] = v;
                let _ = BondRecord::decode(&c);
            }
        }
        let mut x = 0x1234_5678u32;
        for n in 0..2000 {
            let mut buf = [0u8; 64];
            for byte in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *byte = x as u8;
            }
            buf[0] = if n % 2 == 0 { VERSION } else { buf[0] };
            let _ = BondRecord::decode(&buf[..n % 65]);
        }
    }
}
