//! Reassembly of L2CAP basic frames from ACL fragments, for the channels the
//! backend serves itself (ATT, credit-based channels and their signalling).
//!
//! A first fragment carries the L2CAP header with the frame's length,
//! continuations carry the rest. A frame longer than the buffer (the peer
//! exceeded any MTU we could have agreed) or a fragment that doesn't fit the
//! frame is dropped whole.
#![forbid(unsafe_code)]
use heapless::Vec;

use super::frame::BasicHeader;
use crate::config::ATT_PDU_MAX;

/// Why a fragment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// Longer than any ATT PDU we accept.
    TooLong,
    /// A first fragment without a whole L2CAP header.
    NoHeader,
    /// More bytes than the frame announced.
    Overrun,
    /// A continuation with no frame in progress.
    Stray,
}

/// One connection's frame in progress, of at most `N` payload bytes.
pub struct Reassembler<const N: usize = ATT_PDU_MAX> {
    expected: usize,
    /// The channel id of the frame in progress (or of the last one).
    cid: u16,
    buf: Vec<u8, N>,
    /// Skipping the rest of a dropped frame.
    skipping: usize,
}

impl<const N: usize> Default for Reassembler<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Reassembler<N> {
    /// Nothing in progress.
    pub const fn new() -> Self {
        Self { expected: 0, cid: 0, buf: Vec::new(), skipping: 0 }
    }

    /// The channel id of the frame in progress, or of the last one seen.
    pub fn cid(&self) -> u16 {
        self.cid
    }

    /// Whether a frame is part-way in (continuations expected).
    pub fn in_progress(&self) -> bool {
        self.expected > 0 || self.skipping > 0
    }

    /// Takes one ACL fragment's data (L2CAP bytes). Returns the frame's
    /// payload once complete; the slice is valid until the next call.
    pub fn push(&mut self, first: bool, data: &[u8]) -> Result<Option<&[u8]>, Drop> {
        if first {
            self.buf.clear();
            self.skipping = 0;
            let (Some(header), Some(rest)) = (BasicHeader::parse(data), data.get(super::frame::HEADER..)) else {
                self.expected = 0;
                return Err(Drop::NoHeader);
            };
            self.cid = header.cid;
            let len = usize::from(header.len);
            if len > N {
                self.expected = 0;
                self.skipping = len.saturating_sub(rest.len());
                return Err(Drop::TooLong);
            }
            self.expected = len;
            return self.take(rest);
        }
        if self.skipping > 0 {
            self.skipping = self.skipping.saturating_sub(data.len());
            return Err(Drop::TooLong);
        }
        if self.expected == 0 {
            return Err(Drop::Stray);
        }
        self.take(data)
    }

    fn take(&mut self, data: &[u8]) -> Result<Option<&[u8]>, Drop> {
        if self.buf.len() + data.len() > self.expected {
            self.expected = 0;
            self.buf.clear();
            return Err(Drop::Overrun);
        }
        // Cannot fail: expected <= N was checked on the first fragment.
        let _ = self.buf.extend_from_slice(data);
        if self.buf.len() == self.expected {
            self.expected = 0;
            Ok(Some(&self.buf))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::fragment_lens;
    use super::*;

    #[test]
    fn single_fragment() {
        let mut r = Reassembler::<ATT_PDU_MAX>::new();
        assert_eq!(r.push(true, &[3, 0, 4, 0, 2, 0x17, 0]).unwrap(), Some(&[2, 0x17, 0][..]));
    }

    #[test]
    fn fragmented_frame_and_stray_continuation() {
        let mut r = Reassembler::<ATT_PDU_MAX>::new();
        assert_eq!(r.push(false, &[1]), Err(Drop::Stray));
        assert_eq!(r.push(true, &[5, 0, 4, 0, 1, 2]).unwrap(), None);
        assert_eq!(r.push(false, &[3, 4]).unwrap(), None);
        assert_eq!(r.push(false, &[5]).unwrap(), Some(&[1, 2, 3, 4, 5][..]));
        assert_eq!(r.push(false, &[6]), Err(Drop::Stray));
    }

    #[test]
    fn overruns_and_oversize_are_dropped_whole() {
        let mut r = Reassembler::<ATT_PDU_MAX>::new();
        assert_eq!(r.push(true, &[2, 0, 4, 0, 1, 2, 3]), Err(Drop::Overrun));
        let big = (ATT_PDU_MAX as u16 + 1).to_le_bytes();
        assert_eq!(r.push(true, &[big[0], big[1], 4, 0, 9, 9]), Err(Drop::TooLong));
        assert_eq!(r.push(false, &[9; 100]), Err(Drop::TooLong));
        assert_eq!(r.push(true, &[1, 0]), Err(Drop::NoHeader));
        assert_eq!(r.push(true, &[1, 0, 4, 0, 7]).unwrap(), Some(&[7][..]));
    }

    #[test]
    fn fragments_round_trip() {
        let pdu: std::vec::Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let mut frame = (pdu.len() as u16).to_le_bytes().to_vec();
        frame.extend([4, 0]);
        frame.extend(&pdu);
        for acl_len in [27, 64, 251, 400] {
            let mut r = Reassembler::<ATT_PDU_MAX>::new();
            let (mut out, mut at) = (None, 0);
            for (i, n) in fragment_lens(pdu.len(), acl_len).enumerate() {
                assert!(n <= acl_len);
                if let Some(done) = r.push(i == 0, &frame[at..at + n]).unwrap() {
                    out = Some(done.to_vec());
                }
                at += n;
            }
            assert_eq!(out.as_deref(), Some(&pdu[..]));
        }
    }
}
