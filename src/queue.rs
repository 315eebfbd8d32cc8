//! A byte ring of variable-length records, without a heap: events for
//! Python, and each link's ATT PDUs in and out.
//!
//! Each record is a 2-byte length followed by its bytes; a record that doesn't
//! fit is refused whole (the caller decides what that means), so nothing is
//! ever torn. The oldest record can be read in parts and discarded later,
//! which lets a sender cut it into fragments without copying it whole.
#![forbid(unsafe_code)]

/// Bytes of a record's length prefix.
pub const PREFIX: usize = 2;

/// Records of up to `u16::MAX` bytes in `N` bytes of storage.
pub struct Ring<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Ring<N> {
    /// Empty.
    pub const fn new() -> Self {
        Self { buf: [0; N], head: 0, len: 0 }
    }

    /// Bytes free for records (including their length prefixes).
    pub fn space(&self) -> usize {
        N - self.len
    }

    /// Whether a record of `len` bytes fits now.
    pub fn fits(&self, len: usize) -> bool {
        len <= u16::MAX as usize && len + PREFIX <= self.space()
    }

    /// True if no record waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every record.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Appends one record; false (nothing written) if it doesn't fit.
    pub fn push(&mut self, record: &[u8]) -> bool {
        self.push_parts(&[record])
    }

    /// Appends one record made of several parts (a header and a payload,
    /// say) without assembling it first; false if it doesn't fit.
    pub fn push_parts(&mut self, parts: &[&[u8]]) -> bool {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        if !self.fits(n) {
            return false;
        }
        self.put(&(n as u16).to_le_bytes());
        for p in parts {
            self.put(p);
        }
        true
    }

    /// Length of the oldest record, if any.
    pub fn front_len(&self) -> Option<usize> {
        if self.len < PREFIX {
            return None;
        }
        let mut l = [0u8; PREFIX];
        self.copy_out(0, &mut l);
        Some(u16::from_le_bytes(l) as usize)
    }

    /// Copies bytes of the oldest record from `offset` into `out`; returns
    /// how many (fewer at the record's end, 0 if there is none).
    pub fn peek(&self, offset: usize, out: &mut [u8]) -> usize {
        let Some(n) = self.front_len() else { return 0 };
        let take = n.saturating_sub(offset).min(out.len());
        self.copy_out(PREFIX + offset, &mut out[..take]);
        take
    }

    /// Drops the oldest record.
    pub fn discard(&mut self) {
        if let Some(n) = self.front_len() {
            self.skip(PREFIX + n);
        }
    }

    /// Takes the oldest record into `out`; returns its length, or None if
    /// empty. A record longer than `out` is dropped and reported as 0 bytes.
    pub fn pop(&mut self, out: &mut [u8]) -> Option<usize> {
        let n = self.front_len()?;
        let got = if n > out.len() { 0 } else { self.peek(0, &mut out[..n]) };
        self.discard();
        Some(got)
    }

    fn put(&mut self, bytes: &[u8]) {
        let tail = (self.head + self.len) % N;
        let first = bytes.len().min(N - tail);
        self.buf[tail..tail + first].copy_from_slice(&bytes[..first]);
        self.buf[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        self.len += bytes.len();
    }

    /// Copies `out.len()` bytes starting `at` bytes past the head.
    fn copy_out(&self, at: usize, out: &mut [u8]) {
        let start = (self.head + at) % N;
        let first = out.len().min(N - start);
        let (a, b) = out.split_at_mut(first);
        a.copy_from_slice(&self.buf[start..start + first]);
        b.copy_from_slice(&self.buf[..b.len()]);
    }

    fn skip(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % N;
        self.len -= n;
        if self.len == 0 {
            // Whole records from the start again: fewer wraps to copy around.
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_out_whole_and_in_order_across_the_wrap() {
        let mut r: Ring<16> = Ring::new();
        let mut out = [0u8; 16];
        for round in 0..20u8 {
            assert!(r.push(&[round, round, round]));
            assert!(r.push(&[round; 5]));
            assert!(!r.push(&[0; 9]), "full: refused whole");
            assert_eq!(r.pop(&mut out), Some(3));
            assert_eq!(&out[..3], &[round; 3]);
            // Leave one record behind so the next round wraps.
            if round % 2 == 0 {
                assert_eq!(r.pop(&mut out), Some(5));
                assert_eq!(&out[..5], &[round; 5]);
                assert_eq!(r.pop(&mut out), None);
            } else {
                assert!(r.push(&[9]));
                assert_eq!(r.pop(&mut out), Some(5));
                assert_eq!(r.pop(&mut out), Some(1));
            }
        }
    }

    #[test]
    fn an_oversized_record_is_skipped() {
        let mut r: Ring<32> = Ring::new();
        assert!(r.push(&[7; 10]));
        assert!(r.push(&[1]));
        let mut small = [0u8; 4];
        assert_eq!(r.pop(&mut small), Some(0));
        assert_eq!(r.pop(&mut small), Some(1));
        assert_eq!(small[0], 1);
    }

    #[test]
    fn the_front_record_reads_in_parts_across_the_wrap() {
        let mut r: Ring<12> = Ring::new();
        assert!(r.push(&[1, 2]));
        assert!(r.push_parts(&[&[10, 11, 12], &[13, 14]]));
        r.discard();
        // Its prefix lands on the last byte and the first, its data after.
        assert!(r.push(&[30, 31, 32]));
        assert_eq!(r.front_len(), Some(5));
        let mut part = [0u8; 2];
        assert_eq!(r.peek(2, &mut part), 2);
        assert_eq!(part, [12, 13]);
        assert_eq!(r.peek(4, &mut part), 1);
        assert_eq!(part[0], 14);
        r.discard();
        assert_eq!(r.front_len(), Some(3));
        assert_eq!(r.peek(0, &mut part), 2);
        assert_eq!(part, [30, 31]);
        assert_eq!(r.peek(2, &mut part), 1);
        assert_eq!(part[0], 32);
        assert_eq!(r.peek(3, &mut part), 0);
        assert!(r.fits(r.space() - PREFIX) && !r.fits(r.space() - 1));
    }
}
