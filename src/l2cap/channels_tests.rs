//! Two channel tables talking to each other through their frames.
use super::*;

/// One side: its table and what its application heard.
struct Side {
    t: Channels,
    notes: Vec<Note>,
}

impl Side {
    fn new() -> Self {
        Self { t: Channels::new(), notes: Vec::new() }
    }

    fn take(&mut self) -> Vec<Note> {
        core::mem::take(&mut self.notes)
    }
}

/// Moves every frame `from` wants to send to `to`; returns how many moved.
fn pump(from: &mut Side, to: &mut Side) -> usize {
    let mut out = [0u8; 300];
    let mut moved = 0;
    while let Some((h, cid, n)) = from.t.next_out(&mut out, 0, &mut |e| from.notes.push(e)) {
        let notes = &mut to.notes;
        to.t.on_frame(h, cid, &out[..n], 0, &mut |e| notes.push(e));
        moved += 1;
    }
    moved
}

fn settle(a: &mut Side, b: &mut Side) {
    while pump(a, b) + pump(b, a) > 0 {}
}

/// a connects to b on PSM 0x80; returns (a's cid, b's cid).
fn open(a: &mut Side, b: &mut Side, mtu: u16) -> (u16, u16) {
    b.t.listen(0x80, mtu).unwrap();
    let ca = a.t.connect(1, 0x80, mtu, 0).unwrap();
    pump(a, b);
    let Note::Accept { cid: cb, psm: 0x80, our_mtu, peer_mtu, .. } = b.take()[0] else { panic!() };
    assert_eq!((our_mtu, peer_mtu), (mtu, mtu));
    b.t.answer_accept(1, cb, 0, &mut |e| b.notes.push(e));
    assert!(matches!(b.take()[..], [Note::Connect { .. }]));
    pump(b, a);
    assert_eq!(a.take(), [Note::Connect { handle: 1, cid: ca, psm: 0x80, our_mtu: mtu, peer_mtu: mtu }]);
    (ca, cb)
}

#[test]
fn bulk_transfer_with_a_slow_reader_loses_nothing() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 1024);
    let mut sent: Vec<u8> = Vec::new();
    let mut got: Vec<u8> = Vec::new();
    let mut rng = crate::testutil::XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200 {
        let len = rng.below(1025);
        let sdu: Vec<u8> = (0..len).map(|_| rng.next()).collect();
        match a.t.send(1, ca, &sdu) {
            Ok(stalled) => {
                sent.extend(&sdu);
                if stalled {
                    // Wait for SEND_READY, reading slowly meanwhile.
                    loop {
                        settle(&mut a, &mut b);
                        let mut buf = [0u8; 100];
                        let n = b.t.recv(1, cb, Some(&mut buf), &mut |_| {}).unwrap().0;
                        got.extend(&buf[..n]);
                        if a.take().iter().any(|e| matches!(e, Note::SendReady { .. })) {
                            break;
                        }
                    }
                }
            }
            Err(e) => panic!("send refused after no stall: {e:?}"),
        }
        settle(&mut a, &mut b);
    }
    loop {
        settle(&mut a, &mut b);
        let mut buf = [0u8; 700];
        let n = b.t.recv(1, cb, Some(&mut buf), &mut |_| {}).unwrap().0;
        if n == 0 {
            break;
        }
        got.extend(&buf[..n]);
    }
    assert_eq!(got.len(), sent.len());
    assert!(got == sent);
}

#[test]
fn refusals_by_psm_and_by_the_application() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let ca = a.t.connect(1, 0x81, 100, 0).unwrap();
    settle(&mut a, &mut b);
    assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x81, status: result::PSM_NOT_SUPPORTED }]);
    b.t.listen(0x81, 100).unwrap();
    let ca = a.t.connect(1, 0x81, 100, 0).unwrap();
    pump(&mut a, &mut b);
    let Note::Accept { cid: cb, .. } = b.take()[0] else { panic!() };
    b.t.answer_accept(1, cb, 1, &mut |_| panic!("no note for a refusal"));
    settle(&mut a, &mut b);
    assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x81, status: result::NO_RESOURCES }]);
    // Every entry is free again.
    for _ in 0..L2CAP_CHANNELS {
        a.t.connect(2, 0x81, 100, 0).unwrap();
    }
    assert_eq!(a.t.connect(2, 0x81, 100, 0), Err(Refusal::NoMemory));
}

#[test]
fn disconnect_both_ways_and_link_loss() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 200);
    a.t.disconnect(1, ca, 0).unwrap();
    assert_eq!(a.t.send(1, ca, b"x"), Err(Refusal::Invalid), "closing channels take no data");
    settle(&mut a, &mut b);
    assert_eq!(b.take(), [Note::Disconnect { handle: 1, cid: cb, psm: 0x80, status: 0 }]);
    assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x80, status: 0 }]);
    let (ca, cb) = open(&mut a, &mut b, 200);
    a.t.link_closed(1, &mut |e| a.notes.push(e));
    assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x80, status: 0 }]);
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Ok((0, false)));
    assert_eq!(a.t.recv(1, ca, None, &mut |_| {}), Err(Refusal::Invalid));
}

#[test]
fn a_peer_breaking_credits_or_sizes_is_disconnected() {
    for bad in [&[0u8; 248][..], &[0xff, 0xff, 1][..]] {
        let (mut a, mut b) = (Side::new(), Side::new());
        let (ca, cb) = open(&mut a, &mut b, 200);
        b.t.on_frame(1, cb, bad, 0, &mut |_| {});
        settle(&mut a, &mut b);
        assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x80, status: 0 }]);
        assert_eq!(b.take(), [Note::Disconnect { handle: 1, cid: cb, psm: 0x80, status: 0 }]);
    }
    // Frames beyond the credits granted.
    let (mut a, mut b) = (Side::new(), Side::new());
    let (_, cb) = open(&mut a, &mut b, 200);
    for _ in 0..L2CAP_RX_BYTES / L2CAP_MPS as usize {
        b.t.on_frame(1, cb, &[1, 0, 7], 0, &mut |_| {});
    }
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Ok((L2CAP_RX_BYTES / L2CAP_MPS as usize, false)));
    b.t.on_frame(1, cb, &[1, 0, 7], 0, &mut |_| {});
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Err(Refusal::Invalid), "closing after a frame without credit");
    // Credit overflow.
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, _) = open(&mut a, &mut b, 200);
    let mut out = [0u8; SIGNAL_MAX];
    let n = wire::emit(9, &Signal::Credits { cid: 0x40, credits: 0xffff }, &mut out);
    a.t.on_frame(1, wire::CID_SIGNALLING, &out[..n], 0, &mut |_| {});
    assert_eq!(a.t.send(1, ca, b"x"), Err(Refusal::Invalid));
}

#[test]
fn malformed_and_unexpected_signalling_is_answered_not_obeyed() {
    let mut b = Side::new();
    b.t.on_frame(1, wire::CID_SIGNALLING, &[0x14, 3, 10, 0, 0x80], 0, &mut |_| panic!());
    b.t.on_frame(1, wire::CID_SIGNALLING, &[], 0, &mut |_| panic!());
    // Disconnect for a channel that doesn't exist, responses nobody asked for.
    for s in [
        Signal::DisconnectReq { dcid: 0x41, scid: 0x40 },
        Signal::DisconnectRsp { dcid: 0x41, scid: 0x40 },
        Signal::ConnectRsp { dcid: 0x40, mtu: 100, mps: 100, credits: 1, result: 0 },
        Signal::Credits { cid: 0x40, credits: 5 },
    ] {
        let mut out = [0u8; SIGNAL_MAX];
        let n = wire::emit(4, &s, &mut out);
        b.t.on_frame(1, wire::CID_SIGNALLING, &out[..n], 0, &mut |_| panic!());
    }
    let mut frames = Vec::new();
    let mut out = [0u8; 300];
    while let Some((_, cid, n)) = b.t.next_out(&mut out, 0, &mut |_| {}) {
        assert_eq!(cid, wire::CID_SIGNALLING);
        frames.push(wire::parse(&out[..n]).unwrap().1);
    }
    assert_eq!(
        frames,
        [
            Signal::CommandReject { reason: reject::NOT_UNDERSTOOD },
            Signal::CommandReject { reason: reject::NOT_UNDERSTOOD },
            Signal::CommandReject { reason: reject::INVALID_CID },
        ]
    );
    // A request with bad parameters is refused with the matching result.
    b.t.listen(0x80, 100).unwrap();
    for (scid, mtu, code) in [(0x20, 100, result::INVALID_SOURCE_CID), (0x40, 10, result::UNACCEPTABLE_PARAMETERS)] {
        let s = Signal::ConnectReq { psm: 0x80, scid, mtu, mps: 100, credits: 1 };
        let mut buf = [0u8; SIGNAL_MAX];
        let n = wire::emit(5, &s, &mut buf);
        b.t.on_frame(1, wire::CID_SIGNALLING, &buf[..n], 0, &mut |_| panic!());
        let (_, _, n) = b.t.next_out(&mut out, 0, &mut |_| {}).unwrap();
        assert!(matches!(wire::parse(&out[..n]), Ok((5, Signal::ConnectRsp { result, .. })) if result == code));
    }
}

#[test]
fn unanswered_requests_time_out() {
    let mut a = Side::new();
    let ca = a.t.connect(1, 0x80, 100, 1000).unwrap();
    assert_eq!(a.t.expire(1000, &mut |_| panic!()), Some(1000 + L2CAP_SIGNAL_TIMEOUT_MS));
    a.t.expire(1000 + L2CAP_SIGNAL_TIMEOUT_MS, &mut |e| a.notes.push(e));
    assert_eq!(a.take(), [Note::Disconnect { handle: 1, cid: ca, psm: 0x80, status: STATUS_TIMEOUT }]);
}

#[test]
fn arguments_are_checked() {
    let mut t = Channels::new();
    assert_eq!(t.listen(0, 100), Err(Refusal::Invalid));
    assert_eq!(t.listen(0x80, 22), Err(Refusal::Invalid));
    assert_eq!(t.listen(0x80, (L2CAP_RX_BYTES - L2CAP_MPS as usize - 1) as u16), Err(Refusal::Invalid));
    assert!(t.listen(0x81, (L2CAP_RX_BYTES - L2CAP_MPS as usize - 2) as u16).is_ok());
    t.clear();
    assert!(t.listen(0x80, 1024).is_ok());
    assert_eq!(t.connect(1, 0x100, 100, 0), Err(Refusal::Invalid));
    assert_eq!(t.send(1, 0x40, b"x"), Err(Refusal::Invalid));
    assert_eq!(t.recv(1, 0x40, None, &mut |_| {}), Err(Refusal::Invalid));
    assert_eq!(t.disconnect(1, 0x40, 0), Err(Refusal::Invalid));
    for psm in 0x81..0x81 + L2CAP_LISTEN_MAX as u16 - 1 {
        t.listen(psm, 100).unwrap();
    }
    assert_eq!(t.listen(0x90, 100), Err(Refusal::NoMemory));
}

#[test]
fn credits_reach_a_peer_whose_channel_ids_differ() {
    let (mut a, mut b) = (Side::new(), Side::new());
    // Another link takes a's first channel id, so the two ends differ.
    a.t.connect(2, 0x80, 100, 0).unwrap();
    assert!(a.t.next_out(&mut [0u8; 300], 0, &mut |_| {}).is_some(), "that request is lost on the way");
    let (ca, cb) = open(&mut a, &mut b, 500);
    assert_ne!(ca, cb);
    let mut got = 0;
    for _ in 0..4 * L2CAP_RX_BYTES / 500 {
        // Queue as much as fits, then let the receiver read it all.
        while a.t.send(1, ca, &[7; 500]).is_ok() {}
        settle(&mut a, &mut b);
        let mut buf = [0u8; 500];
        loop {
            let n = b.t.recv(1, cb, Some(&mut buf), &mut |_| {}).unwrap().0;
            got += n;
            if n == 0 {
                break;
            }
        }
        settle(&mut a, &mut b);
    }
    assert!(got >= 4 * L2CAP_RX_BYTES, "only {got} bytes got through");
}

#[test]
fn data_received_before_a_close_stays_readable() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 200);
    // Closed right after sending: the data still goes first.
    a.t.send(1, ca, b"last words").unwrap();
    a.t.disconnect(1, ca, 0).unwrap();
    assert_eq!(a.t.send(1, ca, b"more"), Err(Refusal::Invalid), "closing channels take no data");
    settle(&mut a, &mut b);
    assert_eq!(
        b.take(),
        [Note::Recv { handle: 1, cid: cb }, Note::Disconnect { handle: 1, cid: cb, psm: 0x80, status: 0 }]
    );
    assert_eq!(b.t.send(1, cb, b"x"), Err(Refusal::Invalid), "closed for sending");
    let mut buf = [0u8; 4];
    assert_eq!(b.t.recv(1, cb, Some(&mut buf), &mut |_| {}), Ok((4, false)));
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Ok((6, false)));
    let mut rest = [0u8; 10];
    assert_eq!(b.t.recv(1, cb, Some(&mut rest), &mut |_| {}), Ok((6, false)));
    assert_eq!((&buf[..], &rest[..6]), (&b"last"[..], &b" words"[..]));
    // End of stream once, then the channel is gone.
    assert_eq!(b.t.recv(1, cb, Some(&mut rest), &mut |_| {}), Ok((0, false)));
    assert_eq!(b.t.recv(1, cb, Some(&mut rest), &mut |_| {}), Err(Refusal::Invalid));
    // An entry kept only for unread data gives way to a new channel.
    a.take();
    let (ca, cb) = open(&mut a, &mut b, 200);
    a.t.send(1, ca, b"unread").unwrap();
    settle(&mut a, &mut b);
    a.t.link_closed(1, &mut |_| {});
    b.t.link_closed(1, &mut |_| {});
    for _ in 0..L2CAP_CHANNELS {
        a.t.connect(2, 0x80, 100, 0).unwrap();
        b.t.connect(2, 0x80, 100, 0).unwrap();
    }
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Err(Refusal::Invalid));
}

#[test]
fn a_repeated_disconnect_request_does_not_close_a_draining_channel_again() {
    // Found by fuzzing (fuzz/fuzz_targets/l2cap_channels.rs): the second request used to
    // report a second DISCONNECT for the same channel.
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 200);
    a.t.send(1, ca, b"unread").unwrap();
    settle(&mut a, &mut b);
    let request = |ident| {
        let mut out = [0u8; SIGNAL_MAX];
        let n = wire::emit(ident, &Signal::DisconnectReq { dcid: cb, scid: ca }, &mut out);
        out[..n].to_vec()
    };
    b.t.on_frame(1, wire::CID_SIGNALLING, &request(0x31), 0, &mut |e| b.notes.push(e));
    b.t.on_frame(1, wire::CID_SIGNALLING, &request(0x32), 0, &mut |e| b.notes.push(e));
    assert_eq!(b.take()[1..], [Note::Disconnect { handle: 1, cid: cb, psm: 0x80, status: 0 }]);
    // The first is answered, the repeat names no channel any more.
    let mut out = [0u8; 300];
    let rsp = b.t.next_out(&mut out, 0, &mut |_| {}).unwrap();
    assert_eq!(wire::parse(&out[..rsp.2]), Ok((0x31, Signal::DisconnectRsp { dcid: cb, scid: ca })));
    let rej = b.t.next_out(&mut out, 0, &mut |_| {}).unwrap();
    assert_eq!(wire::parse(&out[..rej.2]), Ok((0x32, Signal::CommandReject { reason: reject::INVALID_CID })));
    // The data is still there to read.
    assert_eq!(b.t.recv(1, cb, None, &mut |_| {}), Ok((6, false)));
}

#[test]
fn recv_is_reported_once_until_read_and_again_while_data_is_left() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 200);
    for sdu in [&b"one"[..], b"two", b"three"] {
        a.t.send(1, ca, sdu).unwrap();
    }
    settle(&mut a, &mut b);
    let recv = Note::Recv { handle: 1, cid: cb };
    assert_eq!(b.take(), [recv], "three SDUs, one event");
    let mut buf = [0u8; 10];
    let mut notes = Vec::new();
    // One SDU per read: each read that leaves some behind reports again.
    assert_eq!(b.t.recv(1, cb, Some(&mut buf), &mut |n| notes.push(n)), Ok((3, false)));
    assert_eq!(b.t.recv(1, cb, Some(&mut buf), &mut |n| notes.push(n)), Ok((3, false)));
    assert_eq!(notes, [recv, recv]);
    notes.clear();
    assert_eq!(b.t.recv(1, cb, Some(&mut buf), &mut |n| notes.push(n)), Ok((5, false)));
    assert_eq!(notes, [], "all read: nothing to report");
    a.t.send(1, ca, b"four").unwrap();
    settle(&mut a, &mut b);
    assert_eq!(b.take(), [recv], "new data after a full read is reported");
}

#[test]
fn a_closed_channel_with_unread_data_frees_the_peers_channel_id() {
    let (mut a, mut b) = (Side::new(), Side::new());
    let (ca, cb) = open(&mut a, &mut b, 200);
    a.t.send(1, ca, b"unread").unwrap();
    a.t.disconnect(1, ca, 0).unwrap();
    settle(&mut a, &mut b);
    a.take();
    assert_eq!(b.take().last(), Some(&Note::Disconnect { handle: 1, cid: cb, psm: 0x80, status: 0 }));
    // b keeps the data for its application, but the peer's id is free again:
    // the next channel on the same PSM (a reuses its id) opens.
    let (ca2, cb2) = open(&mut a, &mut b, 200);
    assert_eq!(ca2, ca, "a hands out the same id again");
    assert_ne!(cb2, cb);
    let mut buf = [0u8; 10];
    assert_eq!(b.t.recv(1, cb, Some(&mut buf), &mut |_| {}), Ok((6, false)), "the old data is still there");
    // A disconnection request naming the closed channel is not obeyed twice.
    let mut out = [0u8; SIGNAL_MAX];
    let n = wire::emit(9, &Signal::DisconnectReq { dcid: cb, scid: ca }, &mut out);
    b.t.on_frame(1, wire::CID_SIGNALLING, &out[..n], 0, &mut |e| panic!("{e:?}"));
    let mut frame = [0u8; 300];
    let (_, _, n) = b.t.next_out(&mut frame, 0, &mut |_| {}).unwrap();
    assert_eq!(wire::parse(&frame[..n]), Ok((9, Signal::CommandReject { reason: reject::INVALID_CID })));
    // The new channel carries its own data.
    a.t.send(1, ca2, b"second").unwrap();
    settle(&mut a, &mut b);
    assert_eq!(b.t.recv(1, cb2, Some(&mut buf), &mut |_| {}).map(|r| r.0), Ok(6));
    assert_eq!(&buf[..6], b"second");
}
