//! The controller's LE ACL buffers, shared between trouble-host and the
//! backend's own ATT traffic.
//!
//! trouble-host believes it owns every buffer the controller announces in LE
//! Read Buffer Size. The backend sends ATT PDUs itself (trouble has no raw ATT
//! API), so the announcement is rewritten to keep a few buffers back, and each
//! Number Of Completed Packets event is split: per connection the controller
//! completes packets in the order they were sent, so a FIFO of owners tells
//! whose packets finished; trouble sees only its own count.
//!
//! Fragments of two L2CAP frames must not interleave on one link, so the
//! share also tracks which side is in the middle of a frame: the backend
//! waits until trouble's frame is complete before it starts one, and holds
//! trouble's packets back while its own frame is going out.
use crate::config::{BACKEND_TX_BUFFERS, MAX_CONNECTIONS};

/// Most packets one connection can have in flight (bits in `Fifo::owners`).
const FIFO_MAX: u8 = 64;

/// Packets of one connection in flight, oldest first: bit i set = ours.
#[derive(Clone, Copy)]
struct Fifo {
    handle: u16,
    owners: u64,
    len: u8,
    /// Bytes of trouble's current L2CAP frame still to be sent.
    trouble_remaining: u16,
}

/// Who owns which controller buffer.
pub struct BufferShare {
    /// Buffers kept back for the backend's own packets.
    reserved: u8,
    /// Of those, not in flight.
    free: u8,
    /// The controller's LE ACL data packet length.
    acl_len: u16,
    /// The link the backend is sending a frame on.
    claimed: Option<u16>,
    fifos: [Option<Fifo>; MAX_CONNECTIONS * 2],
}

impl Default for BufferShare {
    fn default() -> Self {
        Self::new()
    }
}

impl BufferShare {
    /// Nothing announced yet.
    pub const fn new() -> Self {
        Self { reserved: 0, free: 0, acl_len: 27, claimed: None, fifos: [None; MAX_CONNECTIONS * 2] }
    }

    /// Takes the controller's buffer count; returns trouble's share.
    /// With one or two buffers in all, trouble keeps them (and we send nothing).
    pub fn split(&mut self, total: u8) -> u8 {
        self.reserved = if total > 2 { BACKEND_TX_BUFFERS.min(total / 2) } else { 0 };
        self.free = self.reserved;
        total - self.reserved
    }

    /// Claims one of our buffers for a packet about to be sent.
    pub fn take(&mut self) -> bool {
        if self.free == 0 {
            return false;
        }
        self.free -= 1;
        true
    }

    /// The controller's LE ACL data packet length (payload bytes per fragment).
    pub fn acl_len(&self) -> u16 {
        self.acl_len
    }

    /// Starts a backend frame on `handle` unless either side is mid-frame there.
    pub fn claim(&mut self, handle: u16) -> bool {
        let trouble_busy = self.fifo(handle).is_some_and(|f| f.trouble_remaining > 0);
        if self.claimed.is_some() || trouble_busy {
            return false;
        }
        self.claimed = Some(handle);
        true
    }

    /// Ends the backend's frame.
    pub fn release(&mut self) {
        self.claimed = None;
    }

    /// Whether trouble must hold back a packet for `handle`.
    pub fn blocks_trouble(&self, handle: u16) -> bool {
        self.claimed == Some(handle)
    }

    /// Follows trouble's L2CAP framing on a link from the packets it sends.
    pub fn trouble_fragment(&mut self, handle: u16, first: bool, data: &[u8]) {
        let Some(f) = self.fifo(handle) else { return };
        f.trouble_remaining = if first {
            let len = data.get(..2).map_or(0, |l| u16::from_le_bytes([l[0], l[1]]) as usize);
            (len + 4).saturating_sub(data.len()) as u16
        } else {
            f.trouble_remaining.saturating_sub(data.len() as u16)
        };
    }

    fn fifo(&mut self, handle: u16) -> Option<&mut Fifo> {
        if let Some(i) = self.fifos.iter().position(|f| matches!(f, Some(f) if f.handle == handle)) {
            return self.fifos[i].as_mut();
        }
        let slot = self.fifos.iter_mut().find(|f| f.is_none())?;
        *slot = Some(Fifo { handle, owners: 0, len: 0, trouble_remaining: 0 });
        slot.as_mut()
    }

    /// Records a packet handed to the controller (ours after `take`, or trouble's).
    /// A connection with too many packets in flight can't be tracked: false.
    pub fn sent(&mut self, handle: u16, ours: bool) -> bool {
        let Some(f) = self.fifo(handle) else { return false };
        if f.len >= FIFO_MAX {
            return false;
        }
        f.owners |= u64::from(ours) << f.len;
        f.len += 1;
        true
    }

    /// Takes `n` completed packets of `handle`; returns how many were trouble's.
    /// Completions beyond what was sent (a confused controller) go to trouble,
    /// which ignores what it didn't send.
    pub fn completed(&mut self, handle: u16, n: u16) -> u16 {
        let Some(f) = self.fifos.iter_mut().flatten().find(|f| f.handle == handle) else { return n };
        let take = n.min(f.len as u16) as u8;
        let mask = if take >= 64 { u64::MAX } else { (1u64 << take) - 1 };
        let ours = (f.owners & mask).count_ones() as u8;
        f.owners = if take >= 64 { 0 } else { f.owners >> take };
        f.len -= take;
        self.free = (self.free + ours).min(self.reserved);
        n - ours as u16
    }

    /// The link is gone: the controller flushed its packets without completing them.
    pub fn forget(&mut self, handle: u16) {
        for slot in self.fifos.iter_mut() {
            if let Some(f) = slot {
                if f.handle == handle {
                    self.free = (self.free + f.owners.count_ones() as u8).min(self.reserved);
                    *slot = None;
                }
            }
        }
        if self.claimed == Some(handle) {
            self.claimed = None;
        }
    }
}

const OP_LE_READ_BUFFER_SIZE: [u8; 2] = [0x02, 0x20];

/// Rewrites a Command Complete of LE Read Buffer Size (H4 body, already
/// checked by the filter) so trouble sees only its share of the buffers.
pub fn rewrite_read_buffer_size(pkt: &mut [u8], share: &mut BufferShare) {
    // 0e len ncmd op op status acl_len acl_len total
    if pkt.len() == 9 && pkt[0] == 0x0e && pkt[3..5] == OP_LE_READ_BUFFER_SIZE && pkt[5] == 0 {
        // Packets to the controller are built in HCI_MAX_PACKET-sized buffers
        // (ours and trouble's alike): a controller announcing bigger buffers
        // just gets smaller fragments.
        share.acl_len = u16::from_le_bytes([pkt[6], pkt[7]]).clamp(5, (crate::config::HCI_MAX_PACKET - 4) as u16);
        pkt[6..8].copy_from_slice(&share.acl_len.to_le_bytes());
        pkt[8] = share.split(pkt[8]);
    }
}

/// Rewrites a Number Of Completed Packets event (checked by the filter) so
/// trouble's counts leave out the backend's packets.
pub fn rewrite_completed_packets(pkt: &mut [u8], share: &mut BufferShare) {
    if pkt.len() < 3 || pkt[0] != 0x13 {
        return;
    }
    let n = pkt[2] as usize;
    for i in 0..n {
        let at = 3 + 4 * i;
        let Some(entry) = pkt.get_mut(at..at + 4) else { return };
        let handle = u16::from_le_bytes([entry[0], entry[1]]) & 0x0fff;
        let count = u16::from_le_bytes([entry[2], entry[3]]);
        entry[2..4].copy_from_slice(&share.completed(handle, count).to_le_bytes());
    }
}

/// The connection handle of an outgoing ACL packet (H4 body, no indicator).
pub fn handle_of(acl: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*acl.first()?, *acl.get(1)?]) & 0x0fff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_buffers_back_only_when_there_are_enough() {
        let mut s = BufferShare::new();
        assert_eq!(s.split(8), 8 - BACKEND_TX_BUFFERS.min(4));
        assert_eq!(s.split(2), 2);
        assert!(!s.take());
    }

    #[test]
    fn splits_completions_by_owner_in_order() {
        let mut s = BufferShare::new();
        s.split(8);
        assert!(s.take());
        // trouble, ours, trouble, trouble
        for ours in [false, true, false, false] {
            assert!(s.sent(1, ours));
        }
        assert_eq!(s.completed(1, 2), 1);
        assert_eq!(s.completed(1, 2), 2);
        // More completions than packets: passed through for trouble to ignore.
        assert_eq!(s.completed(1, 3), 3);
        assert_eq!(s.completed(7, 1), 1);
        // Our buffer came back.
        assert!(s.take() && s.take());
    }

    #[test]
    fn a_closed_link_returns_our_buffers() {
        let mut s = BufferShare::new();
        s.split(4);
        assert!(s.take() && s.take() && !s.take());
        s.sent(3, true);
        s.sent(3, true);
        s.forget(3);
        assert!(s.take() && s.take());
    }

    #[test]
    fn frames_do_not_interleave_on_a_link() {
        let mut s = BufferShare::new();
        s.split(8);
        // trouble starts a 69-byte frame (e.g. an SMP public key) in a 27-byte fragment.
        s.sent(1, false);
        let mut first = [0u8; 27];
        first[..4].copy_from_slice(&[65, 0, 6, 0]);
        s.trouble_fragment(1, true, &first);
        assert!(!s.claim(1), "mid-frame: the backend waits");
        assert!(s.claim(2), "other links are free");
        s.release();
        s.trouble_fragment(1, false, &[0; 27]);
        s.trouble_fragment(1, false, &[0; 15]);
        assert!(s.claim(1));
        assert!(s.blocks_trouble(1) && !s.blocks_trouble(2));
        s.release();
        assert!(!s.blocks_trouble(1));
    }

    #[test]
    fn rewrites_events_in_place() {
        let mut s = BufferShare::new();
        let mut rbs = [0x0e, 7, 1, 0x02, 0x20, 0, 27, 0, 10];
        rewrite_read_buffer_size(&mut rbs, &mut s);
        assert_eq!(rbs[8], 10 - BACKEND_TX_BUFFERS.min(5));
        // A buffer longer than the host builds packets for is announced shorter.
        let mut big = [0x0e, 7, 1, 0x02, 0x20, 0, 0xe8, 0x03, 10];
        rewrite_read_buffer_size(&mut big, &mut s);
        assert_eq!(u16::from_le_bytes([big[6], big[7]]), 255);
        assert_eq!(s.acl_len(), 255);
        assert!(s.take());
        s.sent(0x40, true);
        s.sent(0x40, false);
        let mut nocp = [0x13, 5, 1, 0x40, 0x00, 2, 0];
        rewrite_completed_packets(&mut nocp, &mut s);
        assert_eq!(&nocp[5..7], &[1, 0]);
        // Truncated entries are left alone (the filter rejects them anyway).
        let mut short = [0x13, 5, 2, 0x40, 0x00, 2, 0];
        rewrite_completed_packets(&mut short, &mut s);
    }
}
