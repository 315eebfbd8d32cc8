//! The credit-based channel table driven by a peer's signalling and K-frames, with the
//! application's calls and the clock in between (the seeded table test's driver, with the
//! choices made by the fuzzer). The notes the application hears keep to MicroPython's event
//! order per channel (ACCEPT/connect, CONNECT, RECV/SEND_READY while open, one DISCONNECT),
//! the outbox always drains into frames that fit, and once the links are gone every channel
//! can be opened again.
#![no_main]
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::Input;
use mptrouble::config::{L2CAP_CHANNELS, L2CAP_MPS};
use mptrouble::l2cap::channels::{Channels, Note};
use mptrouble::l2cap::wire::{self, Signal, SIGNAL_MAX};

/// Where a channel stands in the application's eyes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    /// We asked (`connect`): CONNECT or DISCONNECT comes next.
    Connecting,
    /// The peer asked (ACCEPT): the application's answer, then CONNECT or nothing.
    Accepting,
    Open,
}

#[derive(Default)]
struct Checker {
    chans: HashMap<u16, (u16, Seen)>,
}

impl Checker {
    fn note(&mut self, n: Note) {
        match n {
            Note::Accept { handle, cid, .. } => {
                assert!(!self.chans.contains_key(&cid), "{n:?} for a live channel");
                self.chans.insert(cid, (handle, Seen::Accepting));
            }
            Note::Connect { handle, cid, .. } => {
                let pending =
                    matches!(self.chans.get(&cid), Some(&(h, Seen::Connecting | Seen::Accepting)) if h == handle);
                assert!(pending, "{n:?} for {:?}", self.chans.get(&cid));
                self.chans.insert(cid, (handle, Seen::Open));
            }
            Note::Recv { handle, cid } | Note::SendReady { handle, cid } => {
                assert_eq!(self.chans.get(&cid), Some(&(handle, Seen::Open)), "{n:?}");
            }
            Note::Disconnect { handle, cid, .. } => {
                assert_eq!(self.chans.remove(&cid).map(|c| c.0), Some(handle), "{n:?} for no channel");
            }
        }
    }
}

fn signal(input: &mut Input) -> Vec<u8> {
    if input.byte() & 1 == 0 {
        return input.chunk8().to_vec();
    }
    let cid = |input: &mut Input| 0x40 + input.below(L2CAP_CHANNELS + 1) as u16;
    let s = match input.below(6) {
        0 => Signal::ConnectReq {
            psm: 0x80 + input.below(3) as u16,
            scid: cid(input),
            mtu: input.u16(),
            mps: input.u16(),
            credits: input.u16(),
        },
        1 => Signal::ConnectRsp {
            dcid: cid(input),
            mtu: input.u16(),
            mps: input.u16(),
            credits: input.u16(),
            result: input.below(12) as u16,
        },
        2 => Signal::Credits { cid: cid(input), credits: input.u16() },
        3 => Signal::DisconnectReq { dcid: cid(input), scid: cid(input) },
        4 => Signal::DisconnectRsp { dcid: cid(input), scid: cid(input) },
        _ => Signal::CommandReject { reason: input.u16() },
    };
    let mut out = [0u8; SIGNAL_MAX];
    let n = wire::emit(input.byte(), &s, &mut out);
    out[..n].to_vec()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut t = Channels::new();
    let mut c = Checker::default();
    t.listen(0x80, 500).unwrap();
    t.listen(0x81, 23).unwrap();
    let mut out = [0u8; L2CAP_MPS as usize];
    let mut now = 0u64;
    while !input.is_empty() {
        let handle = 1 + input.below(2) as u16;
        let mut notes = Vec::new();
        let mut sink = |n: Note| notes.push(n);
        match input.below(12) {
            0..=3 => t.on_frame(handle, wire::CID_SIGNALLING, &signal(&mut input), now, &mut sink),
            4..=5 => {
                let cid = 0x40 + input.below(L2CAP_CHANNELS + 1) as u16;
                t.on_frame(handle, cid, input.chunk8(), now, &mut sink);
            }
            6 => t.on_oversized(handle, 0x40 + input.below(L2CAP_CHANNELS + 1) as u16, now),
            7 => {
                if let Ok(cid) = t.connect(handle, 0x80 + input.below(3) as u16, input.u16(), now) {
                    assert!(!c.chans.contains_key(&cid), "connect gave a live channel {cid:#x}");
                    c.chans.insert(cid, (handle, Seen::Connecting));
                }
            }
            8 => {
                let cid = 0x40 + input.below(L2CAP_CHANNELS + 1) as u16;
                let len = input.u16() as usize % 1000;
                let _ = t.send(handle, cid, &vec![0x5a; len]);
            }
            9 => {
                let cid = 0x40 + input.below(L2CAP_CHANNELS + 1) as u16;
                let mut buf = vec![0u8; input.byte() as usize];
                let _ = t.recv(handle, cid, if input.byte() & 1 == 0 { Some(&mut buf) } else { None }, &mut sink);
            }
            10 => {
                let cid = 0x40 + input.below(L2CAP_CHANNELS + 1) as u16;
                match input.below(3) {
                    0 => drop(t.disconnect(handle, cid, now)),
                    1 => {
                        let verdict = i32::from(input.byte() as i8);
                        t.answer_accept(handle, cid, verdict, &mut sink);
                        // A refusal ends the request without a note.
                        if verdict != 0 && c.chans.get(&cid) == Some(&(handle, Seen::Accepting)) {
                            c.chans.remove(&cid);
                        }
                    }
                    _ => t.link_closed(handle, &mut sink),
                }
            }
            _ => now += u64::from(input.u16()) * 8,
        }
        for n in notes {
            c.note(n);
        }
        t.expire(now, &mut |n| c.note(n));
        let mut sent = 0;
        while let Some((_, cid, n)) = t.next_out(&mut out, now, &mut |n| c.note(n)) {
            assert!(n <= out.len());
            if cid == wire::CID_SIGNALLING {
                assert!(wire::parse(&out[..n]).is_ok(), "we sent a malformed command {:02x?}", &out[..n]);
            }
            sent += 1;
            assert!(sent < 10_000, "next_out never runs dry");
        }
    }
    for h in [1, 2] {
        t.link_closed(h, &mut |n| c.note(n));
    }
    assert!(c.chans.is_empty(), "channels outlived their links: {:?}", c.chans);
    t.expire(now + 1_000_000, &mut |n| c.note(n));
    for _ in 0..L2CAP_CHANNELS {
        t.connect(3, 0x80, 100, now).expect("every channel is free again");
    }
});
