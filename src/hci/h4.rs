//! H4 (UART) framing of controller-to-host packets, one byte at a time.
//!
//! The framer never trusts a length field: packets longer than its buffer are
//! skipped whole and counted, unknown packet indicators are dropped byte by
//! byte until a known one resynchronises the stream.
#![forbid(unsafe_code)]
use crate::config::HCI_MAX_PACKET;

/// H4 packet indicators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ACL data.
    Acl = 2,
    /// Synchronous (SCO) data.
    Sco = 3,
    /// Event.
    Event = 4,
    /// Isochronous data.
    Iso = 5,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            2 => Some(Kind::Acl),
            3 => Some(Kind::Sco),
            4 => Some(Kind::Event),
            5 => Some(Kind::Iso),
            _ => None,
        }
    }

    fn header_len(self) -> usize {
        match self {
            Kind::Acl | Kind::Iso => 4,
            Kind::Sco => 3,
            Kind::Event => 2,
        }
    }

    fn payload_len(self, h: &[u8]) -> usize {
        match self {
            Kind::Acl => u16::from_le_bytes([h[2], h[3]]) as usize,
            Kind::Iso => (u16::from_le_bytes([h[2], h[3]]) & 0x3fff) as usize,
            Kind::Sco => h[2] as usize,
            Kind::Event => h[1] as usize,
        }
    }
}

/// Counters of what the framer threw away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while looking for a packet indicator.
    pub junk_bytes: u32,
    /// Packets dropped because they exceed the buffer.
    pub oversized: u32,
}

enum State {
    Idle,
    Header(Kind),
    Payload(Kind, usize),
    Skip(usize),
}

/// Reassembles H4 packets from a byte stream.
pub struct Framer {
    state: State,
    buf: [u8; HCI_MAX_PACKET],
    len: usize,
    /// What was dropped so far.
    pub stats: FramerStats,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    /// An idle framer.
    pub const fn new() -> Self {
        Self {
            state: State::Idle,
            buf: [0; HCI_MAX_PACKET],
            len: 0,
            stats: FramerStats { junk_bytes: 0, oversized: 0 },
        }
    }

    /// Feeds one byte; returns the kind of a packet completed by it.
    /// The packet (header and payload, no indicator) is then `packet()`.
    pub fn push(&mut self, b: u8) -> Option<Kind> {
        match self.state {
            State::Idle => {
                match Kind::from_byte(b) {
                    Some(k) => {
                        self.len = 0;
                        self.state = State::Header(k);
                    }
                    None => self.stats.junk_bytes = self.stats.junk_bytes.wrapping_add(1),
                }
                None
            }
            State::Header(k) => {
                self.buf[self.len] = b;
                self.len += 1;
                if self.len < k.header_len() {
                    return None;
                }
                let n = k.payload_len(&self.buf[..self.len]);
                if self.len + n > HCI_MAX_PACKET {
                    self.stats.oversized = self.stats.oversized.wrapping_add(1);
                    self.state = if n == 0 { State::Idle } else { State::Skip(n) };
                    None
                } else if n == 0 {
                    self.state = State::Idle;
                    Some(k)
                } else {
                    self.state = State::Payload(k, n);
                    None
                }
            }
            State::Payload(k, remaining) => {
                self.buf[self.len] = b;
                self.len += 1;
                if remaining == 1 {
                    self.state = State::Idle;
                    Some(k)
                } else {
                    self.state = State::Payload(k, remaining - 1);
                    None
                }
            }
            State::Skip(remaining) => {
                self.state = if remaining == 1 { State::Idle } else { State::Skip(remaining - 1) };
                None
            }
        }
    }

    /// The last completed packet.
    pub fn packet(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The last completed packet, for rewriting in place before it is handed on.
    pub fn packet_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Forgets any partial packet (after a controller reset).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(f: &mut Framer, bytes: &[u8]) -> Vec<(Kind, Vec<u8>)> {
        let mut out = Vec::new();
        for &b in bytes {
            if let Some(k) = f.push(b) {
                out.push((k, f.packet().to_vec()));
            }
        }
        out
    }

    #[test]
    fn frames_event_and_acl() {
        let mut f = Framer::new();
        let got = feed(&mut f, &[4, 0x0e, 4, 1, 3, 0x0c, 0, 2, 0x01, 0x20, 2, 0, 0xaa, 0xbb]);
        assert_eq!(
            got,
            vec![(Kind::Event, vec![0x0e, 4, 1, 3, 0x0c, 0]), (Kind::Acl, vec![0x01, 0x20, 2, 0, 0xaa, 0xbb])]
        );
    }

    #[test]
    fn junk_is_skipped_and_counted() {
        let mut f = Framer::new();
        let got = feed(&mut f, &[0, 9, 0xff, 4, 0x13, 0]);
        assert_eq!(got, vec![(Kind::Event, vec![0x13, 0])]);
        assert_eq!(f.stats.junk_bytes, 3);
    }

    #[test]
    fn oversized_acl_is_skipped_whole() {
        let mut f = Framer::new();
        let mut bytes = vec![2, 1, 0, 0x00, 0x02]; // 512-byte payload
        bytes.extend(std::iter::repeat_n(4, 512)); // payload full of indicator bytes
        bytes.extend([4, 0x13, 0]);
        let got = feed(&mut f, &bytes);
        assert_eq!(got, vec![(Kind::Event, vec![0x13, 0])]);
        assert_eq!(f.stats.oversized, 1);
    }

    #[test]
    fn empty_payload_completes_at_header() {
        let mut f = Framer::new();
        assert_eq!(feed(&mut f, &[2, 1, 0, 0, 0]), vec![(Kind::Acl, vec![1, 0, 0, 0])]);
    }
}
