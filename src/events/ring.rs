//! A byte ring of variable-length records: events for Python, copied in by
//! the stack and taken out on the Python thread, in order, without a heap.
//!
//! Each record is a 2-byte length followed by its bytes; a record that doesn't
//! fit is refused whole (the caller counts it), so nothing is ever torn.
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

    /// Bytes free for records (including their 2-byte length prefixes).
    pub fn space(&self) -> usize {
        N - self.len
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
        let need = record.len() + 2;
        if record.len() > u16::MAX as usize || need > N - self.len {
            return false;
        }
        self.put(&(record.len() as u16).to_le_bytes());
        self.put(record);
        true
    }

    /// Takes the oldest record into `out`; returns its length, or None if
    /// empty. A record longer than `out` is dropped (and None returned only if
    /// the ring is empty: the caller just loops).
    pub fn pop(&mut self, out: &mut [u8]) -> Option<usize> {
        if self.len < 2 {
            return None;
        }
        let mut l = [0u8; 2];
        self.take(&mut l);
        let n = u16::from_le_bytes(l) as usize;
        if n > out.len() {
            self.skip(n);
            return Some(0);
        }
        self.take(&mut out[..n]);
        Some(n)
    }

    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.buf[(self.head + self.len) % N] = b;
            self.len += 1;
        }
    }

    fn take(&mut self, out: &mut [u8]) {
        for o in out.iter_mut() {
            *o = self.buf[self.head];
            self.head = (self.head + 1) % N;
            self.len -= 1;
        }
    }

    fn skip(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % N;
        self.len -= n;
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
            assert_eq!(r.pop(&mut out), Some(5));
            assert_eq!(&out[..5], &[round; 5]);
            assert_eq!(r.pop(&mut out), None);
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
}
