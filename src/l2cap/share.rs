//! The controller's LE ACL buffers, shared between trouble-host and the
//! backend's own frames (ATT, credit-based channels and their signalling).
//!
//! trouble-host believes it owns every buffer the controller announces in LE
//! Read Buffer Size. The backend sends its frames itself, so the announcement
//! is rewritten to keep some buffers back, and each Number Of Completed
//! Packets event is split: per connection the controller completes packets in
//! the order they were sent, so a FIFO of owners (`LinkTx`, one per link)
//! tells whose packets finished; trouble sees only its own count.
//!
//! Fragments of two L2CAP frames must not interleave on one link, so the
//! share also tracks which side is in the middle of a frame: the backend
//! waits until trouble's frame is complete before it starts one, and holds
//! trouble's packets back while its own frame is going out.
#![forbid(unsafe_code)]
use super::frame::BasicHeader;
use crate::config::BACKEND_TX_BUFFERS;
use crate::hci::packet::{EventView, EV_COMMAND_COMPLETE, EV_NUMBER_OF_COMPLETED_PACKETS};

/// Most packets one connection can have in flight (bits in `LinkTx::owners`):
/// the buffers announced to both sides together never exceed it, so every
/// packet is tracked.
const FIFO_MAX: u8 = 128;
/// Buffers trouble keeps at least, when the controller has more than two:
/// enough for an SMP public key in 27-byte fragments without waiting.
const TROUBLE_MIN: u8 = 4;

/// One link's packets in flight, oldest first, and trouble's frame in progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkTx {
    /// Bit i set: the i-th oldest packet in flight is ours.
    owners: u128,
    len: u8,
    /// Bytes of trouble's current L2CAP frame still to be sent.
    trouble_remaining: u16,
}

impl LinkTx {
    /// Nothing in flight.
    pub const fn new() -> Self {
        Self { owners: 0, len: 0, trouble_remaining: 0 }
    }

    /// Records a packet handed to the controller (ours after `BufferShare::take`,
    /// or trouble's). Beyond `FIFO_MAX` in flight it can't be tracked: false.
    pub fn sent(&mut self, ours: bool) -> bool {
        if self.len >= FIFO_MAX {
            return false;
        }
        self.owners |= u128::from(ours) << self.len;
        self.len += 1;
        true
    }

    /// Follows trouble's L2CAP framing on the link from the packets it sends.
    pub fn trouble_fragment(&mut self, first: bool, data: &[u8]) {
        self.trouble_remaining = if first {
            let len = BasicHeader::parse(data).map_or(0, |h| usize::from(h.len));
            (len + super::frame::HEADER).saturating_sub(data.len()) as u16
        } else {
            self.trouble_remaining.saturating_sub(data.len() as u16)
        };
    }

    /// Takes `n` completions of packets in flight; returns (ours, trouble's).
    /// Completions beyond what is in flight (a confused or hostile
    /// controller) are dropped: trouble would take them as credit for
    /// buffers the controller doesn't have.
    fn complete(&mut self, n: u16) -> (u8, u8) {
        let take = n.min(u16::from(self.len)) as u8;
        let mask = if take >= 128 { u128::MAX } else { (1u128 << take) - 1 };
        let ours = (self.owners & mask).count_ones() as u8;
        self.owners = if take >= 128 { 0 } else { self.owners >> take };
        self.len -= take;
        (ours, take - ours)
    }
}

/// Who owns which controller buffer.
#[derive(Debug)]
pub struct BufferShare {
    /// Buffers kept back for the backend's own packets.
    reserved: u8,
    /// Of those, not in flight.
    free: u8,
    /// The controller's LE ACL data packet length.
    acl_len: u16,
    /// The link the backend is sending a frame on.
    claimed: Option<u16>,
}

impl Default for BufferShare {
    fn default() -> Self {
        Self::new()
    }
}

impl BufferShare {
    /// Nothing announced yet.
    pub const fn new() -> Self {
        Self { reserved: 0, free: 0, acl_len: 27, claimed: None }
    }

    /// Takes the controller's buffer count; returns trouble's share.
    /// With one or two buffers in all, trouble keeps them (and we send nothing).
    pub fn split(&mut self, total: u8) -> u8 {
        self.reserved = if total > 2 { BACKEND_TX_BUFFERS.min(total - TROUBLE_MIN.min(total / 2)) } else { 0 };
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

    /// Our buffers not in flight.
    pub fn free(&self) -> u8 {
        self.free
    }

    /// The controller's LE ACL data packet length (payload bytes per fragment).
    pub fn acl_len(&self) -> u16 {
        self.acl_len
    }

    /// Starts a backend frame on `handle` unless either side is mid-frame there.
    pub fn claim(&mut self, handle: u16, link: &LinkTx) -> bool {
        if self.claimed.is_some() || link.trouble_remaining > 0 {
            return false;
        }
        self.claimed = Some(handle);
        true
    }

    /// Ends the backend's frame.
    pub fn release(&mut self) {
        self.claimed = None;
    }

    /// The link the backend is sending a frame on, if any.
    pub fn claimed(&self) -> Option<u16> {
        self.claimed
    }

    /// Whether trouble must hold back a packet for `handle`.
    pub fn blocks_trouble(&self, handle: u16) -> bool {
        self.claimed == Some(handle)
    }

    /// Takes `n` completed packets of a link; returns how many were
    /// trouble's. A link with no state here (none was free for it) is
    /// trouble's alone and passes unchanged.
    pub fn completed(&mut self, link: Option<&mut LinkTx>, n: u16) -> u16 {
        let Some(link) = link else { return n };
        let (ours, trouble) = link.complete(n);
        self.free = self.free.saturating_add(ours).min(self.reserved);
        u16::from(trouble)
    }

    /// The link `handle` is gone: the controller flushed its packets without completing them.
    pub fn forget(&mut self, handle: u16, link: &mut LinkTx) {
        let ours = link.owners.count_ones() as u8;
        self.free = self.free.saturating_add(ours).min(self.reserved);
        *link = LinkTx::new();
        if self.claimed == Some(handle) {
            self.claimed = None;
        }
    }
}

const OP_LE_READ_BUFFER_SIZE: u16 = 0x2002;

/// Rewrites a Command Complete of LE Read Buffer Size (H4 body, already
/// checked by the filter) so trouble sees only its share of the buffers.
pub fn rewrite_read_buffer_size(pkt: &mut [u8], share: &mut BufferShare) {
    let Some(e) = EventView::parse(pkt) else { return };
    // ncmd, opcode, status, acl_len (2), total
    if e.code != EV_COMMAND_COMPLETE || e.params.len() != 7 || e.u16_at(1) != Some(OP_LE_READ_BUFFER_SIZE) {
        return;
    }
    if e.params[3] != 0 {
        return;
    }
    // Packets to the controller are built in HCI_MAX_PACKET-sized buffers
    // (ours and trouble's alike): a controller announcing bigger buffers
    // just gets smaller fragments.
    let announced = e.u16_at(4).unwrap_or(0);
    share.acl_len = announced.clamp(5, (crate::config::HCI_MAX_PACKET - 4) as u16);
    // Never more in flight on a link than `LinkTx` can track.
    let total = e.params[6].min(FIFO_MAX);
    let p = &mut pkt[2..];
    p[4..6].copy_from_slice(&share.acl_len.to_le_bytes());
    p[6] = share.split(total);
}

/// Rewrites a Number Of Completed Packets event (checked by the filter) so
/// trouble's counts leave out the backend's packets; `count(handle, n)`
/// takes the link's completions and returns trouble's part.
pub fn rewrite_completed_packets(pkt: &mut [u8], mut count: impl FnMut(u16, u16) -> u16) {
    if pkt.len() < 3 || pkt[0] != EV_NUMBER_OF_COMPLETED_PACKETS {
        return;
    }
    let n = usize::from(pkt[2]);
    for i in 0..n {
        let at = 3 + 4 * i;
        let Some(entry) = pkt.get_mut(at..at + 4) else { return };
        let handle = u16::from_le_bytes([entry[0], entry[1]]) & 0x0fff;
        let done = u16::from_le_bytes([entry[2], entry[3]]);
        entry[2..4].copy_from_slice(&count(handle, done).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_buffers_back_only_when_there_are_enough() {
        let mut s = BufferShare::new();
        assert_eq!(s.split(8), 4);
        assert_eq!(s.split(64), 64 - BACKEND_TX_BUFFERS.min(60));
        assert_eq!(s.split(2), 2);
        assert!(!s.take());
    }

    #[test]
    fn splits_completions_by_owner_in_order() {
        let mut s = BufferShare::new();
        let mut l = LinkTx::new();
        s.split(8);
        assert!(s.take());
        // trouble, ours, trouble, trouble
        for ours in [false, true, false, false] {
            assert!(l.sent(ours));
        }
        assert_eq!(s.completed(Some(&mut l), 2), 1);
        assert_eq!(s.completed(Some(&mut l), 2), 2);
        // More completions than packets in flight: trouble gets no credit for them.
        assert_eq!(s.completed(Some(&mut l), 3), 0);
        assert_eq!(s.completed(None, 1), 1);
        // Our buffer came back.
        assert_eq!(s.free(), 4);
    }

    #[test]
    fn a_closed_link_returns_our_buffers() {
        let mut s = BufferShare::new();
        let mut l = LinkTx::new();
        s.split(4);
        assert!(s.take() && s.take() && !s.take());
        l.sent(true);
        l.sent(true);
        assert!(s.claim(3, &l));
        s.forget(3, &mut l);
        assert!(s.claimed().is_none());
        assert!(s.take() && s.take());
    }

    #[test]
    fn frames_do_not_interleave_on_a_link() {
        let mut s = BufferShare::new();
        let (mut one, two) = (LinkTx::new(), LinkTx::new());
        s.split(8);
        // trouble starts a 69-byte frame (e.g. an SMP public key) in a 27-byte fragment.
        one.sent(false);
        let mut first = [0u8; 27];
        first[..4].copy_from_slice(&[65, 0, 6, 0]);
        one.trouble_fragment(true, &first);
        assert!(!s.claim(1, &one), "mid-frame: the backend waits");
        assert!(s.claim(2, &two), "other links are free");
        s.release();
        one.trouble_fragment(false, &[0; 27]);
        one.trouble_fragment(false, &[0; 15]);
        assert!(s.claim(1, &one));
        assert!(s.blocks_trouble(1) && !s.blocks_trouble(2));
        s.release();
        assert!(!s.blocks_trouble(1));
    }

    #[test]
    fn rewrites_events_in_place() {
        let mut s = BufferShare::new();
        let mut rbs = [0x0e, 7, 1, 0x02, 0x20, 0, 27, 0, 10];
        rewrite_read_buffer_size(&mut rbs, &mut s);
        assert_eq!(rbs[8], 10 - BACKEND_TX_BUFFERS.min(10 - 4));
        // A buffer longer than the host builds packets for is announced shorter.
        let mut big = [0x0e, 7, 1, 0x02, 0x20, 0, 0xe8, 0x03, 10];
        rewrite_read_buffer_size(&mut big, &mut s);
        assert_eq!(u16::from_le_bytes([big[6], big[7]]), 255);
        assert_eq!(s.acl_len(), 255);
        let mut l = LinkTx::new();
        assert!(s.take());
        l.sent(true);
        l.sent(false);
        let mut nocp = [0x13, 5, 1, 0x40, 0x00, 2, 0];
        rewrite_completed_packets(&mut nocp, |h, n| if h == 0x40 { s.completed(Some(&mut l), n) } else { n });
        assert_eq!(&nocp[5..7], &[1, 0]);
        // Truncated entries are left alone (the filter rejects them anyway).
        let mut short = [0x13, 5, 2, 0x40, 0x00, 2, 0];
        rewrite_completed_packets(&mut short, |_, n| n);
    }
}
