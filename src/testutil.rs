//! Helpers shared by the crate's seeded fuzz tests.

/// A tiny deterministic generator: runs are repeatable from their seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next pseudo-random byte.
    pub fn next(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }

    /// The next pseudo-random 16-bit value.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.next(), self.next()])
    }

    /// True about once in `n` calls.
    pub fn one_in(&mut self, n: u8) -> bool {
        self.next().is_multiple_of(n)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u16()) % n.max(1)
    }
}
