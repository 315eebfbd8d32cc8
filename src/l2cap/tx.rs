//! A channel's send side: whole SDUs queued by the application in a byte
//! ring, cut into K-frames as the peer's credits allow.

/// Bytes of queue each SDU costs beyond its data (its length).
const SDU_OVERHEAD: usize = 2;

/// The send queue of one channel.
pub struct Tx<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
    /// Bytes of the SDU at the head already sent (0: it hasn't started).
    sent: usize,
}

impl<const N: usize> Default for Tx<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Tx<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self { buf: [0; N], head: 0, len: 0, sent: 0 }
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        (self.head, self.len, self.sent) = (0, 0, 0);
    }

    /// Whether an SDU of `len` bytes fits now.
    pub fn fits(&self, len: usize) -> bool {
        N - self.len >= len + SDU_OVERHEAD
    }

    /// Whether nothing waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues one SDU; false (and nothing queued) if it doesn't fit.
    pub fn push(&mut self, sdu: &[u8]) -> bool {
        if !self.fits(sdu.len()) || sdu.len() > u16::MAX as usize {
            return false;
        }
        let len = (sdu.len() as u16).to_le_bytes();
        for &b in len.iter().chain(sdu) {
            self.buf[(self.head + self.len) % N] = b;
            self.len += 1;
        }
        true
    }

    fn at(&self, i: usize) -> u8 {
        self.buf[(self.head + i) % N]
    }

    /// Writes the next K-frame payload of at most `mps` bytes into `out` (which
    /// holds at least `mps`); returns its length, or None if the queue is empty.
    pub fn next_frame(&mut self, mps: usize, out: &mut [u8]) -> Option<usize> {
        if self.len == 0 || mps < 3 {
            return None;
        }
        let sdu_len = u16::from_le_bytes([self.at(0), self.at(1)]) as usize;
        let mut n = 0;
        if self.sent == 0 {
            out[..2].copy_from_slice(&(sdu_len as u16).to_le_bytes());
            n = 2;
        }
        let take = (sdu_len - self.sent).min(mps - n);
        for i in 0..take {
            out[n + i] = self.at(SDU_OVERHEAD + self.sent + i);
        }
        n += take;
        self.sent += take;
        if self.sent == sdu_len {
            self.head = (self.head + SDU_OVERHEAD + sdu_len) % N;
            self.len -= SDU_OVERHEAD + sdu_len;
            self.sent = 0;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l2cap::rx::Rx;

    #[test]
    fn frames_reassemble_through_rx_and_the_ring_wraps() {
        let mut tx = Tx::<300>::new();
        let mut rx = Rx::<600>::new(250, 40);
        let mut out = [0u8; 40];
        let mut sent: Vec<u8> = Vec::new();
        let mut got: Vec<u8> = Vec::new();
        for round in 0..20u8 {
            let sdu: Vec<u8> = (0..(round as usize * 13) % 250).map(|j| (j as u8) ^ round).collect();
            assert!(tx.push(&sdu));
            sent.extend(&sdu);
            while let Some(n) = tx.next_frame(40, &mut out) {
                // The reader keeps up, so credits are topped up before each frame.
                rx.grant();
                rx.frame(&out[..n]).unwrap();
                let mut buf = [0u8; 600];
                let k = rx.read(&mut buf);
                got.extend(&buf[..k]);
            }
            assert!(tx.is_empty());
        }
        assert_eq!(got, sent);
    }

    #[test]
    fn full_queue_refuses_whole_sdus() {
        let mut tx = Tx::<10>::new();
        assert!(tx.fits(8) && !tx.fits(9));
        assert!(tx.push(&[1, 2, 3]));
        assert!(!tx.push(&[0; 4]), "5 bytes left, 6 needed");
        assert!(tx.push(&[4, 5, 6]));
        let mut out = [0u8; 4];
        assert_eq!(tx.next_frame(4, &mut out), Some(4));
        assert_eq!(out, [3, 0, 1, 2]);
        assert_eq!(tx.next_frame(4, &mut out), Some(1));
        assert_eq!(out[0], 3);
        assert_eq!(tx.next_frame(4, &mut out), Some(4));
        assert_eq!(tx.next_frame(4, &mut out), Some(1));
        assert_eq!(tx.next_frame(4, &mut out), None);
    }
}
