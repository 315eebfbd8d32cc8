//! The L2CAP basic frame header (Vol 3 Part A §3.1) and how a frame is cut
//! into ACL fragments. Every layer reads channel ids and lengths through here.
#![forbid(unsafe_code)]

/// Bytes of the basic header: length, channel id.
pub const HEADER: usize = 4;
/// The attribute protocol's fixed channel.
pub const CID_ATT: u16 = 0x0004;
/// The LE signalling channel.
pub const CID_SIGNALLING: u16 = 0x0005;
/// The security manager's fixed channel.
pub const CID_SMP: u16 = 0x0006;
/// Dynamically allocated channel ids on LE (credit-based channels).
pub const CID_DYNAMIC: core::ops::RangeInclusive<u16> = 0x0040..=0x007f;

/// The header of a basic frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicHeader {
    /// Payload bytes of the whole frame.
    pub len: u16,
    /// The destination channel.
    pub cid: u16,
}

impl BasicHeader {
    /// The header at the start of a first fragment's data.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let h = data.get(..HEADER)?;
        Some(Self { len: u16::from_le_bytes([h[0], h[1]]), cid: u16::from_le_bytes([h[2], h[3]]) })
    }

    /// The header's bytes.
    pub fn emit(&self) -> [u8; HEADER] {
        let [a, b] = self.len.to_le_bytes();
        let [c, d] = self.cid.to_le_bytes();
        [a, b, c, d]
    }
}

/// Payload sizes of the ACL fragments that carry a frame with `payload_len`
/// bytes when each holds at most `acl_len`: the first includes the header.
pub fn fragment_lens(payload_len: usize, acl_len: usize) -> impl Iterator<Item = usize> {
    let acl_len = acl_len.max(HEADER + 1);
    let mut left = payload_len + HEADER;
    core::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(acl_len);
        left -= n;
        Some(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = BasicHeader { len: 300, cid: CID_ATT };
        assert_eq!(BasicHeader::parse(&h.emit()), Some(h));
        assert_eq!(BasicHeader::parse(&[1, 0, 4]), None);
    }

    #[test]
    fn fragments_cover_the_frame() {
        for (len, acl) in [(0, 27), (23, 27), (300, 27), (300, 251), (1000, 5)] {
            let lens: std::vec::Vec<usize> = fragment_lens(len, acl).collect();
            assert_eq!(lens.iter().sum::<usize>(), len + HEADER);
            assert!(lens.iter().all(|&n| n >= 1 && n <= acl.max(HEADER + 1)));
        }
    }
}
