//! Attribute types as they travel in ATT PDUs: 16-bit or 128-bit UUIDs, little-endian.
//!
//! ATT has no 32-bit form (Core v5.4 Vol 3 Part F §3.2.1): a 32-bit UUID is
//! sent as its 128-bit expansion, so only the two wire forms exist here.

/// The Bluetooth Base UUID 00000000-0000-1000-8000-00805F9B34FB, as a number.
const BASE: u128 = 0x0000_0000_0000_1000_8000_0080_5f9b_34fb;
/// Bits of the Base UUID that a 16- or 32-bit alias replaces (the top 32).
const ALIAS_SHIFT: u32 = 96;

/// A UUID in one of its two ATT wire forms; equality is by form (see [`Uuid::same_as`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Uuid {
    /// A 16-bit alias of the Bluetooth Base UUID (2 bytes on the wire).
    Uuid16(u16),
    /// A full 128-bit UUID, bytes in wire (little-endian) order.
    Uuid128([u8; 16]),
}

impl Uuid {
    /// The "Primary Service" attribute type, used by service discovery.
    pub const PRIMARY_SERVICE: Uuid = Uuid::Uuid16(0x2800);
    /// The "Secondary Service" attribute type.
    pub const SECONDARY_SERVICE: Uuid = Uuid::Uuid16(0x2801);
    /// The "Include" attribute type.
    pub const INCLUDE: Uuid = Uuid::Uuid16(0x2802);
    /// The "Characteristic" declaration attribute type.
    pub const CHARACTERISTIC: Uuid = Uuid::Uuid16(0x2803);
    /// The Client Characteristic Configuration descriptor type.
    pub const CCCD: Uuid = Uuid::Uuid16(0x2902);

    /// Reads a UUID from its wire bytes; `None` unless there are exactly 2 or 16.
    pub fn from_le_slice(bytes: &[u8]) -> Option<Uuid> {
        match *bytes {
            [lo, hi] => Some(Uuid::Uuid16(u16::from_le_bytes([lo, hi]))),
            _ => <[u8; 16]>::try_from(bytes).ok().map(Uuid::Uuid128),
        }
    }

    /// A 128-bit UUID from its conventional (big-endian, as written) numeric value.
    pub const fn from_u128(value: u128) -> Uuid {
        Uuid::Uuid128(value.to_le_bytes())
    }

    /// A 32-bit alias: kept 16-bit when it fits (ATT can carry that), else expanded to 128 bits.
    pub const fn from_u32(value: u32) -> Uuid {
        if value <= 0xffff {
            Uuid::Uuid16(value as u16)
        } else {
            Uuid::from_u128(BASE | ((value as u128) << ALIAS_SHIFT))
        }
    }

    /// The full 128-bit value, expanding a 16-bit alias over the Base UUID.
    pub const fn to_u128(&self) -> u128 {
        match *self {
            Uuid::Uuid16(v) => BASE | ((v as u128) << ALIAS_SHIFT),
            Uuid::Uuid128(bytes) => u128::from_le_bytes(bytes),
        }
    }

    /// The shortest wire form: a 128-bit UUID built on the Base UUID with a 16-bit alias becomes `Uuid16`.
    pub const fn shortened(&self) -> Uuid {
        let v = self.to_u128();
        let alias = v >> ALIAS_SHIFT;
        if v & !(u128::MAX << ALIAS_SHIFT) == BASE && alias <= 0xffff {
            Uuid::Uuid16(alias as u16)
        } else {
            *self
        }
    }

    /// Whether two UUIDs name the same thing whatever their wire form (attribute type matching).
    pub const fn same_as(&self, other: &Uuid) -> bool {
        self.to_u128() == other.to_u128()
    }

    /// The 16-bit value when this is the 16-bit form.
    pub const fn as_u16(&self) -> Option<u16> {
        match *self {
            Uuid::Uuid16(v) => Some(v),
            Uuid::Uuid128(_) => None,
        }
    }

    /// Bytes this UUID takes on the wire: 2 or 16.
    pub const fn wire_len(&self) -> usize {
        match self {
            Uuid::Uuid16(_) => 2,
            Uuid::Uuid128(_) => 16,
        }
    }

    /// Writes the wire bytes to the start of `out`; `None` (nothing written) if it is too short.
    pub fn write_le(&self, out: &mut [u8]) -> Option<usize> {
        let n = self.wire_len();
        let dst = out.get_mut(..n)?;
        match self {
            Uuid::Uuid16(v) => dst.copy_from_slice(&v.to_le_bytes()),
            Uuid::Uuid128(bytes) => dst.copy_from_slice(bytes),
        }
        Some(n)
    }
}

impl From<u16> for Uuid {
    fn from(v: u16) -> Uuid {
        Uuid::Uuid16(v)
    }
}

impl From<[u8; 16]> for Uuid {
    /// Takes the bytes in wire (little-endian) order.
    fn from(bytes: [u8; 16]) -> Uuid {
        Uuid::Uuid128(bytes)
    }
}

impl From<u128> for Uuid {
    fn from(v: u128) -> Uuid {
        Uuid::from_u128(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_parse_and_write() {
        assert_eq!(Uuid::from_le_slice(&[0x00, 0x28]), Some(Uuid::PRIMARY_SERVICE));
        let le: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(Uuid::from_le_slice(&le), Some(Uuid::Uuid128(le)));
        for n in [0, 1, 3, 4, 15, 17] {
            assert_eq!(Uuid::from_le_slice(&[0u8; 17][..n]), None, "len {n}");
        }
        let mut out = [0u8; 16];
        assert_eq!(Uuid::CCCD.write_le(&mut out), Some(2));
        assert_eq!(out[..2], [0x02, 0x29]);
        assert_eq!(Uuid::Uuid128(le).write_le(&mut out), Some(16));
        assert_eq!(out, le);
        assert_eq!(Uuid::Uuid128(le).write_le(&mut out[..15]), None);
    }

    #[test]
    fn base_uuid_expansion() {
        // Heart Rate service 0x180D is 0000180D-0000-1000-8000-00805F9B34FB.
        let full = Uuid::from_u128(0x0000180d_0000_1000_8000_00805f9b34fb);
        assert_eq!(Uuid::Uuid16(0x180d).to_u128(), full.to_u128());
        assert!(full.same_as(&Uuid::Uuid16(0x180d)));
        assert_ne!(full, Uuid::Uuid16(0x180d));
        assert_eq!(full.shortened(), Uuid::Uuid16(0x180d));
        // Wire order is little-endian: the Base UUID's last byte comes first.
        let Uuid::Uuid128(bytes) = full else { unreachable!() };
        assert_eq!(bytes[0], 0xfb);
        assert_eq!(bytes[12..], [0x0d, 0x18, 0x00, 0x00]);
    }

    #[test]
    fn aliases_and_non_base_uuids() {
        assert_eq!(Uuid::from_u32(0x2a37), Uuid::Uuid16(0x2a37));
        let big = Uuid::from_u32(0x1234_5678);
        assert_eq!(big.to_u128() >> 96, 0x1234_5678);
        assert_eq!(big.shortened(), big, "a 32-bit alias has no 16-bit form");
        let custom = Uuid::from_u128(0x6e400001_b5a3_f393_e0a9_e50e24dcca9e);
        assert_eq!(custom.shortened(), custom);
        assert!(!custom.same_as(&Uuid::Uuid16(0x0001)));
        assert_eq!(Uuid::from(0x2800u16).as_u16(), Some(0x2800));
        assert_eq!(custom.as_u16(), None);
    }
}
