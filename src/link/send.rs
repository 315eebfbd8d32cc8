//! The multiplexer's send side: one task cuts the frames queued for every
//! link (ATT PDUs from the link's queue, K-frames and signalling from the
//! channel table) into ACL packets, in turn, with the backend's share of the
//! controller's buffers. Nothing above calls down into it: it takes what the
//! queues hold.
use core::future::poll_fn;
use core::task::Poll;

use super::mux::SHARE;
use super::state::Phase;
use super::table::LINKS;
use crate::config::{HCI_MAX_PACKET, L2CAP_MPS, MAX_CONNECTIONS};
use crate::hci::packet::{Acl, ACL_HEADER};
use crate::hci::port;
#[cfg(feature = "l2cap")]
use crate::l2cap::coc;
use crate::l2cap::frame::{fragment_lens, BasicHeader, CID_ATT, HEADER};
use crate::l2cap::wire;
use crate::runtime::executor;

/// Bytes of packets written to the port at once (at least one packet of the
/// largest size the host builds).
const SEND_BATCH: usize = if 512 > HCI_MAX_PACKET + 1 { 512 } else { HCI_MAX_PACKET + 1 };

/// Largest frame taken from the channel table.
const CHANNEL_FRAME_MAX: usize =
    if (L2CAP_MPS as usize) > wire::SIGNAL_MAX { L2CAP_MPS as usize } else { wire::SIGNAL_MAX };

/// One frame to send.
#[derive(Clone, Copy)]
enum Job {
    /// The oldest ATT PDU of the link in `slot` (opened as `gen`).
    Att { slot: usize, gen: u16, handle: u16, len: usize },
    /// A frame the channel table handed over, in the task's buffer.
    Channel { handle: u16, cid: u16, len: usize },
}

/// Sends queued frames until the stack stops.
pub async fn run() {
    let mut turn = 0usize;
    let mut frame = [0u8; CHANNEL_FRAME_MAX];
    loop {
        let job = poll_fn(|_| next(&mut turn, &mut frame)).await;
        send(job, &frame).await;
    }
}

/// The next frame, taking links and the channel table in turn.
fn next(turn: &mut usize, frame: &mut [u8]) -> Poll<Job> {
    let sources = MAX_CONNECTIONS + 1;
    for k in 0..sources {
        let i = (*turn + k) % sources;
        let job = if i < MAX_CONNECTIONS {
            super::table::with_slot(i, |l| {
                let len = l.att_out.front_len().filter(|_| l.phase == Phase::Open)?;
                Some(Job::Att { slot: i, gen: l.gen, handle: l.handle, len })
            })
            .flatten()
            .or_else(|| smp_refusal(i, frame))
        } else {
            #[cfg(feature = "l2cap")]
            let job = coc::next_out(frame).map(|(handle, cid, len)| Job::Channel { handle, cid, len });
            #[cfg(not(feature = "l2cap"))]
            let job = None;
            job
        };
        if let Some(job) = job {
            *turn = i + 1;
            return Poll::Ready(job);
        }
    }
    Poll::Pending
}

/// Pairing Failed (Pairing Not Supported) for a link the multiplexer found
/// asking to pair, in a build without pairing (Vol 3 Part H §3.5.5, §3.6.7).
fn smp_refusal(slot: usize, frame: &mut [u8]) -> Option<Job> {
    #[cfg(not(feature = "pairing"))]
    return super::table::with_slot(slot, |l| {
        if l.phase != Phase::Open || !core::mem::take(&mut l.smp_refuse) {
            return None;
        }
        frame[..2].copy_from_slice(&[crate::link::gate::PAIRING_FAILED, crate::link::gate::PAIRING_NOT_SUPPORTED]);
        Some(Job::Channel { handle: l.handle, cid: crate::l2cap::frame::CID_SMP, len: 2 })
    })
    .flatten();
    #[cfg(feature = "pairing")]
    {
        let _ = (slot, frame);
        None
    }
}

/// What became of one fragment.
enum Step {
    Sent,
    /// The link is gone (or now serves another connection).
    Gone,
}

/// Sends one frame, fragment by fragment; a link that goes away meanwhile ends it.
async fn send(job: Job, frame: &[u8]) {
    let (handle, cid, len) = match job {
        Job::Att { handle, len, .. } => (handle, CID_ATT, len),
        Job::Channel { handle, cid, len } => (handle, cid, len),
    };
    if !claim(handle).await {
        return;
    }
    let header = BasicHeader { len: len as u16, cid }.emit();
    let mut at = 0usize;
    let acl_len = critical_section::with(|cs| SHARE.borrow(cs).borrow().acl_len());
    let mut ok = true;
    // Packets collect here and go to the port in one write while buffers are
    // free: one system call for many small fragments, not one each.
    let mut batch = [0u8; SEND_BATCH];
    let mut used = 0usize;
    for (i, n) in fragment_lens(len, usize::from(acl_len)).enumerate() {
        let size = 1 + ACL_HEADER + n;
        if used + size > batch.len() || !buffer_free() {
            // Nothing waits unsent while the task waits for buffers to come back.
            ok = flush(&batch[..used]);
            used = 0;
            if !ok {
                break;
            }
        }
        let pkt = &mut batch[used..used + size];
        pkt[0] = bt_hci::transport::PacketKind::AclData as u8;
        pkt[1..1 + ACL_HEADER].copy_from_slice(&Acl::header(handle, i == 0, n));
        let step = poll_fn(|_| fill(job, handle, at, &header, frame, &mut pkt[1 + ACL_HEADER..])).await;
        if matches!(step, Step::Gone) {
            ok = false;
            break;
        }
        used += size;
        at += n;
    }
    ok &= flush(&batch[..used]);
    critical_section::with(|cs| SHARE.borrow(cs).borrow_mut().release());
    if let (true, Job::Att { slot, gen, .. }) = (ok, job) {
        super::table::with_slot(slot, |l| {
            if l.gen == gen && l.phase == Phase::Open {
                l.att_out.discard();
            }
        });
    }
    // trouble may be waiting to send on this link.
    executor::wake();
}

/// Writes collected packets to the port; false if it refused them.
fn flush(packets: &[u8]) -> bool {
    packets.is_empty() || port::write(packets).is_ok()
}

/// Whether one of the backend's controller buffers is free now.
fn buffer_free() -> bool {
    critical_section::with(|cs| SHARE.borrow(cs).borrow().free() > 0)
}

/// Waits until neither side is mid-frame on the link; false if it is gone.
async fn claim(handle: u16) -> bool {
    poll_fn(|_| {
        critical_section::with(|cs| {
            let links = LINKS.borrow(cs).borrow();
            let Some(l) = links.iter().find(|l| l.phase == Phase::Open && l.handle == handle) else {
                return Poll::Ready(false);
            };
            if SHARE.borrow(cs).borrow_mut().claim(handle, &l.tx) {
                Poll::Ready(true)
            } else {
                // trouble's frame completes with its next writes, which wake the stack.
                Poll::Pending
            }
        })
    })
    .await
}

/// Once a buffer is free: copies the frame's bytes from `at` into `out` and
/// records the packet as ours in flight, in one step so that neither a close
/// nor a completion can come between.
fn fill(job: Job, handle: u16, at: usize, header: &[u8; HEADER], frame: &[u8], out: &mut [u8]) -> Poll<Step> {
    critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        let link = match job {
            Job::Att { slot, gen, .. } => links.get_mut(slot).filter(|l| l.gen == gen && l.phase == Phase::Open),
            Job::Channel { .. } => links.iter_mut().find(|l| l.phase == Phase::Open && l.handle == handle),
        };
        let Some(l) = link else { return Poll::Ready(Step::Gone) };
        if !SHARE.borrow(cs).borrow_mut().take() {
            // Completions give buffers back and wake the stack.
            return Poll::Pending;
        }
        let mut filled = 0;
        if at < HEADER {
            let h = &header[at..HEADER.min(at + out.len())];
            out[..h.len()].copy_from_slice(h);
            filled = h.len();
        }
        let from = (at + filled) - HEADER;
        let rest = &mut out[filled..];
        match job {
            Job::Att { .. } => {
                l.att_out.peek(from, rest);
            }
            Job::Channel { .. } => rest.copy_from_slice(&frame[from..from + rest.len()]),
        }
        l.tx.sent(true);
        Poll::Ready(Step::Sent)
    })
}
