//! A channel's receive side: K-frames reassembled into SDUs in a byte ring,
//! read by the application at its own pace, with credits granted only for
//! room the ring really has (so a peer that respects credits can never
//! overrun it, and a slow reader slows the sender down instead of losing data).

/// How a K-frame broke the channel's rules; the channel must be disconnected
/// (Vol 3 Part A §3.4.3 and §10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A K-frame arrived while the peer held no credits.
    NoCredits,
    /// The payload exceeded our MPS.
    FrameTooLong,
    /// The SDU length exceeded our MTU.
    SduTooLong,
    /// More payload than the SDU length announced.
    SduOverrun,
    /// A first K-frame without its SDU length field.
    NoSduLength,
}

/// The receive ring of one channel. Each complete SDU is kept with its
/// 2-byte length, as it came on the wire, so reads never cross an SDU
/// boundary: one SDU comes out of one read when the buffer is big enough.
pub struct Rx<const N: usize> {
    buf: [u8; N],
    /// Where the oldest unread byte (or the next SDU's length) is.
    head: usize,
    /// Ring bytes of complete SDUs not yet read, lengths included.
    used: usize,
    /// Payload bytes of complete SDUs not yet read.
    ready: usize,
    /// Payload bytes of the SDU at `head` still to be read (0: at a length).
    head_left: usize,
    /// Ring bytes of the SDU in progress received so far, its length included.
    partial: usize,
    /// Payload bytes of the SDU in progress still to come (0: none in progress).
    left: usize,
    /// Payload length of the SDU in progress.
    sdu_len: usize,
    /// Credits the peer holds.
    credits: u16,
    mps: u16,
    mtu: u16,
}

impl<const N: usize> Rx<N> {
    /// An empty ring that accepts SDUs up to `mtu` in K-frames up to `mps`.
    pub const fn new(mtu: u16, mps: u16) -> Self {
        Self {
            buf: [0; N],
            head: 0,
            used: 0,
            ready: 0,
            head_left: 0,
            partial: 0,
            left: 0,
            sdu_len: 0,
            credits: 0,
            mps,
            mtu,
        }
    }

    /// Empties the ring for a new channel (the bytes stay; they are unreachable).
    pub fn reset(&mut self, mtu: u16, mps: u16) {
        (self.head, self.used, self.ready, self.head_left) = (0, 0, 0, 0);
        (self.partial, self.left, self.sdu_len, self.credits) = (0, 0, 0, 0);
        (self.mps, self.mtu) = (mps, mtu);
    }

    /// Whether `mtu` SDUs in `mps` frames can always make progress in this ring:
    /// a whole SDU with its length plus one frame must fit.
    pub const fn fits(mtu: u16, mps: u16) -> bool {
        mtu as usize + 2 + mps as usize <= N
    }

    /// Bytes of complete SDUs waiting to be read.
    pub fn available(&self) -> usize {
        self.ready
    }

    fn put(&mut self, bytes: &[u8]) {
        // Room is guaranteed: credits were granted only for free bytes.
        let mut at = (self.head + self.used + self.partial) % N;
        for &b in bytes {
            self.buf[at] = b;
            at = (at + 1) % N;
        }
        self.partial += bytes.len();
    }

    /// Takes one K-frame's information payload. Returns true when it completed an SDU.
    pub fn frame(&mut self, payload: &[u8]) -> Result<bool, Violation> {
        if self.credits == 0 {
            return Err(Violation::NoCredits);
        }
        self.credits -= 1;
        if payload.len() > self.mps as usize {
            return Err(Violation::FrameTooLong);
        }
        let data_len = if self.left == 0 {
            let Some(len) = payload.get(..2) else { return Err(Violation::NoSduLength) };
            let len = u16::from_le_bytes([len[0], len[1]]);
            if len > self.mtu {
                return Err(Violation::SduTooLong);
            }
            if payload.len() - 2 > len as usize {
                return Err(Violation::SduOverrun);
            }
            if len == 0 {
                // An empty SDU: nothing for a reader, nothing to keep.
                return Ok(false);
            }
            (self.left, self.sdu_len, self.partial) = (len as usize, len as usize, 0);
            payload.len() - 2
        } else {
            if payload.len() > self.left {
                return Err(Violation::SduOverrun);
            }
            payload.len()
        };
        self.put(payload);
        self.left -= data_len;
        if self.left > 0 {
            return Ok(false);
        }
        self.used += self.partial;
        self.ready += self.sdu_len;
        self.partial = 0;
        Ok(true)
    }

    fn take(&mut self) -> u8 {
        let b = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.used -= 1;
        b
    }

    /// Copies out up to `out.len()` bytes of the oldest complete SDU; returns how many.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        if self.ready == 0 || out.is_empty() {
            return 0;
        }
        if self.head_left == 0 {
            self.head_left = u16::from_le_bytes([self.take(), self.take()]) as usize;
        }
        let n = out.len().min(self.head_left);
        for o in out[..n].iter_mut() {
            *o = self.take();
        }
        self.head_left -= n;
        self.ready -= n;
        n
    }

    /// Credits to hand to the peer now (already counted as held by it), or 0.
    /// Each credit stands for `mps` free bytes; small top-ups are held back
    /// until the peer runs low, so credit indications don't cost more than
    /// the data they let through.
    pub fn grant(&mut self) -> u16 {
        let free = N - self.used - self.partial;
        let promised = self.credits as usize * self.mps as usize;
        let more = (free.saturating_sub(promised) / self.mps.max(1) as usize).min(u16::MAX as usize) as u16;
        let window = (N / self.mps.max(1) as usize) as u16;
        if more == 0 || (more < window / 4 && self.credits > 1) {
            return 0;
        }
        self.credits += more;
        more
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdu_frames(sdu: &[u8], mps: usize) -> Vec<Vec<u8>> {
        let mut first = (sdu.len() as u16).to_le_bytes().to_vec();
        first.extend(&sdu[..sdu.len().min(mps - 2)]);
        let mut frames = vec![first];
        for chunk in sdu[sdu.len().min(mps - 2)..].chunks(mps) {
            frames.push(chunk.to_vec());
        }
        frames
    }

    #[test]
    fn reassembles_sdus_and_reads_partially() {
        let mut rx = Rx::<256>::new(100, 30);
        assert!(Rx::<256>::fits(100, 30) && Rx::<256>::fits(224, 30) && !Rx::<256>::fits(225, 30));
        assert_eq!(rx.grant(), 8);
        let sdu: Vec<u8> = (0..75).collect();
        let frames = sdu_frames(&sdu, 30);
        assert_eq!(frames.len(), 3);
        assert_eq!(rx.frame(&frames[0]), Ok(false));
        assert_eq!(rx.available(), 0, "incomplete SDUs are not readable");
        assert_eq!(rx.frame(&frames[1]), Ok(false));
        assert_eq!(rx.frame(&frames[2]), Ok(true));
        let mut out = [0u8; 50];
        assert_eq!(rx.read(&mut out), 50);
        assert_eq!(&out[..], &sdu[..50]);
        assert_eq!(rx.read(&mut out), 25);
        assert_eq!(&out[..25], &sdu[50..]);
        assert_eq!(rx.read(&mut out), 0);
    }

    #[test]
    fn credits_follow_free_room_and_wrap() {
        let mut rx = Rx::<128>::new(60, 20);
        let mut granted = rx.grant() as usize;
        assert_eq!(granted, 6);
        let mut sent = Vec::new();
        let mut got: Vec<u8> = Vec::new();
        // A slow reader: 40 SDUs of 37 bytes through a 128-byte ring.
        for i in 0..40u8 {
            let sdu: Vec<u8> = (0..37).map(|j| i.wrapping_mul(7).wrapping_add(j)).collect();
            for f in sdu_frames(&sdu, 20) {
                while granted == 0 {
                    let mut out = [0u8; 11];
                    let n = rx.read(&mut out);
                    got.extend(&out[..n]);
                    granted += rx.grant() as usize;
                    assert!(n > 0 || granted > 0, "stuck with nothing to read and no credits");
                }
                rx.frame(&f).unwrap();
                granted -= 1;
            }
            sent.extend(sdu);
        }
        let mut out = [0u8; 128];
        loop {
            let n = rx.read(&mut out);
            if n == 0 {
                break;
            }
            got.extend(&out[..n]);
        }
        assert_eq!(got, sent);
    }

    #[test]
    fn reads_stop_at_sdu_boundaries() {
        let mut rx = Rx::<256>::new(100, 30);
        rx.grant();
        for sdu in [&b"one"[..], b"", b"three"] {
            rx.frame(&[&(sdu.len() as u16).to_le_bytes()[..], sdu].concat()).unwrap();
        }
        assert_eq!(rx.available(), 8);
        let mut out = [0u8; 50];
        assert_eq!(rx.read(&mut out), 3);
        assert_eq!(&out[..3], b"one");
        assert_eq!(rx.read(&mut out[..2]), 2);
        assert_eq!(rx.read(&mut out), 3);
        assert_eq!(&out[..3], b"ree");
        assert_eq!(rx.read(&mut out), 0);
    }

    #[test]
    fn violations() {
        let mut rx = Rx::<256>::new(100, 30);
        assert_eq!(rx.frame(&[1, 0, 9]), Err(Violation::NoCredits));
        rx.grant();
        assert_eq!(rx.frame(&[0; 31]), Err(Violation::FrameTooLong));
        assert_eq!(rx.frame(&[101, 0]), Err(Violation::SduTooLong));
        assert_eq!(rx.frame(&[1]), Err(Violation::NoSduLength));
        assert_eq!(rx.frame(&[2, 0, 1, 2, 3]), Err(Violation::SduOverrun));
        let mut rx = Rx::<256>::new(100, 30);
        rx.grant();
        assert_eq!(rx.frame(&[3, 0, 1, 2]), Ok(false));
        assert_eq!(rx.frame(&[3, 4]), Err(Violation::SduOverrun));
    }
}
