//! Seeded random input through the signalling parser and the channel table (a
//! fuzz test that runs in `cargo test`): nothing panics, whatever parses is
//! canonical, and a table hit by random frames from a peer still keeps its
//! invariants (channels stay usable, the outbox drains).
use super::channels::{Channels, Note};
use super::wire::{self, Signal, SIGNAL_MAX};
use crate::config::{L2CAP_CHANNELS, L2CAP_MPS};
use crate::testutil::XorShift;

/// A signalling frame: half the time a well-formed command with fields near
/// the values that matter (our PSMs and channel ids), else junk.
fn signal(rng: &mut XorShift) -> Vec<u8> {
    if rng.one_in(2) {
        let cid = |rng: &mut XorShift| 0x40 + rng.below(L2CAP_CHANNELS + 1) as u16;
        let small = |rng: &mut XorShift| rng.below(700) as u16;
        let s = match rng.below(6) {
            0 => Signal::ConnectReq {
                psm: 0x80 + rng.below(3) as u16,
                scid: cid(rng),
                mtu: small(rng),
                mps: small(rng),
                credits: rng.below(40) as u16,
            },
            1 => Signal::ConnectRsp {
                dcid: cid(rng),
                mtu: small(rng),
                mps: small(rng),
                credits: rng.u16(),
                result: rng.below(12) as u16,
            },
            2 => Signal::Credits { cid: cid(rng), credits: rng.u16() },
            3 => Signal::DisconnectReq { dcid: cid(rng), scid: cid(rng) },
            4 => Signal::DisconnectRsp { dcid: cid(rng), scid: cid(rng) },
            _ => Signal::CommandReject { reason: rng.below(3) as u16 },
        };
        let mut out = [0u8; SIGNAL_MAX];
        let n = wire::emit(1 + rng.below(8) as u8, &s, &mut out);
        return out[..n].to_vec();
    }
    let codes = [0x01, 0x06, 0x07, 0x14, 0x15, 0x16];
    let code = if rng.one_in(8) { rng.next() } else { codes[rng.below(codes.len())] };
    let len = if rng.one_in(4) { rng.below(14) } else { [2, 4, 10][rng.below(3)] };
    let mut v = vec![code, rng.next(), len as u8, 0];
    v.extend((0..len).map(|_| rng.next()));
    if rng.one_in(5) {
        v.truncate(rng.below(v.len() + 1));
    }
    v
}

#[test]
fn signalling_parses_canonically_or_not_at_all() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let frame = signal(&mut rng);
        if let Ok((ident, s)) = wire::parse(&frame) {
            let mut out = [0u8; SIGNAL_MAX];
            let n = wire::emit(ident, &s, &mut out);
            let len = u16::from_le_bytes([frame[2], frame[3]]) as usize;
            // Emitting gives back the command's bytes (a longer length field carries extra
            // octets the spec lets a receiver ignore, e.g. a Command Reject's data).
            assert_eq!((out[0], out[1]), (frame[0], frame[1]));
            assert_eq!(out[4..n], frame[4..n], "{frame:02x?}");
            assert!(len >= n - 4);
        }
    }
}

#[test]
fn random_frames_from_a_peer_never_break_the_table() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut t = Channels::new();
    t.listen(0x80, 500).unwrap();
    t.listen(0x81, 100).unwrap();
    let mut out = [0u8; L2CAP_MPS as usize];
    let mut now = 0u64;
    let (mut opened, mut received, mut closed) = (0, 0, 0);
    for round in 0..100_000 {
        now += rng.below(200) as u64;
        let handle = 1 + rng.below(2) as u16;
        let mut notes = Vec::new();
        let mut sink = |n: Note| notes.push(n);
        match rng.below(10) {
            0..=4 => t.on_frame(handle, wire::CID_SIGNALLING, &signal(&mut rng), now, &mut sink),
            5..=7 => {
                let cid = 0x40 + rng.below(L2CAP_CHANNELS + 1) as u16;
                let frame: Vec<u8> = if rng.one_in(2) {
                    // A whole small SDU in one frame.
                    let len = rng.below(30);
                    (len as u16).to_le_bytes().into_iter().chain((0..len).map(|_| rng.next())).collect()
                } else {
                    let n = rng.below(L2CAP_MPS as usize + 8);
                    let mut frame: Vec<u8> = (0..n).map(|_| rng.next()).collect();
                    if n >= 2 && rng.one_in(2) {
                        // A plausible SDU length, so reassembly and its checks get exercised.
                        frame[..2].copy_from_slice(&(rng.below(600) as u16).to_le_bytes());
                    }
                    frame
                };
                t.on_frame(handle, cid, &frame, now, &mut sink);
            }
            8 => {
                let _ = t.connect(handle, 0x80 + rng.below(3) as u16, 23 + rng.below(1000) as u16, now);
            }
            _ => {
                let cid = 0x40 + rng.below(L2CAP_CHANNELS) as u16;
                let _ = t.send(handle, cid, &vec![round as u8; rng.below(600)]);
                let _ = t.recv(handle, cid, Some(&mut [0u8; 64]), &mut sink);
                if rng.one_in(5) {
                    let _ = t.disconnect(handle, cid, now);
                }
                if rng.one_in(10) {
                    t.link_closed(handle, &mut sink);
                }
            }
        }
        // Accept most of what asks, so channels open and carry data.
        for n in &notes {
            match *n {
                Note::Accept { handle, cid, .. } => {
                    let verdict = if rng.one_in(3) { 4 } else { 0 };
                    t.answer_accept(handle, cid, verdict, &mut |n| opened += matches!(n, Note::Connect { .. }) as u32);
                }
                Note::Connect { .. } => opened += 1,
                Note::Recv { .. } => received += 1,
                Note::Disconnect { .. } => closed += 1,
                Note::SendReady { .. } => {}
            }
        }
        t.expire(now, &mut |_| {});
        // The outbox always drains, and frames fit their buffer.
        let mut sent = 0;
        while let Some((_, _, n)) = t.next_out(&mut out, now, &mut |_| {}) {
            assert!(n <= out.len());
            sent += 1;
            assert!(sent < 10_000, "next_out never runs dry");
        }
    }
    // The random peer got somewhere: channels opened, carried SDUs and closed.
    assert!(opened > 100 && received > 80 && closed > 500, "{opened} {received} {closed}");
    // Every channel can still be used once the links go away.
    t.link_closed(1, &mut |_| {});
    t.link_closed(2, &mut |_| {});
    t.expire(u64::MAX / 2, &mut |_| {});
    for _ in 0..L2CAP_CHANNELS {
        t.connect(3, 0x80, 100, now).unwrap();
    }
}
