//! ACL fragments from the controller into each link's L2CAP reassembler
//! (src/l2cap/reassembly.rs), sized as the multiplexer sizes it (`FRAME_IN_MAX`, the larger
//! of an ATT PDU and our MPS). Junk fragments of every kind come between well-formed frames;
//! every well-formed frame after them must still arrive whole, once, with its channel id, a
//! frame too long is refused fragment by fragment to its end, and `in_progress` says whether
//! continuations are expected.
//!
//! Which channel ids are routed to the reassembler is the multiplexer's decision
//! (`link::mux`), which needs the running stack; it is not covered here.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::Input;
use mptrouble::config::{ATT_PDU_MAX, L2CAP_MPS};
use mptrouble::l2cap::frame::fragment_lens;
use mptrouble::l2cap::reassembly::{Drop, Reassembler};

/// `link::state::FRAME_IN_MAX`, which the pure build doesn't have.
const FRAME_IN_MAX: usize = if ATT_PDU_MAX > L2CAP_MPS as usize { ATT_PDU_MAX } else { L2CAP_MPS as usize };

type Rx = Reassembler<FRAME_IN_MAX>;

/// What a fragment came to.
#[derive(Debug, PartialEq)]
enum Went {
    /// The frame completed (channel id, payload).
    Delivered(u16, Vec<u8>),
    /// Nothing complete yet.
    Held,
    /// Dropped.
    Refused(Drop),
}

fn push(rx: &mut Rx, start: bool, data: &[u8]) -> Went {
    match rx.push(start, data) {
        Ok(Some(frame)) => {
            let frame = frame.to_vec();
            Went::Delivered(rx.cid(), frame)
        }
        Ok(None) => Went::Held,
        Err(e) => Went::Refused(e),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut links = [(); 2].map(|_| Rx::new());
    while !input.is_empty() {
        let rx = &mut links[input.below(2)];
        match input.below(4) {
            // A well-formed frame, fragmented.
            0 | 1 => {
                let cid = match input.below(4) {
                    0 | 1 => 0x0004,
                    2 => 0x0040 + input.below(0x40) as u16,
                    _ => 0x0005,
                };
                let len = match input.below(4) {
                    0 => input.u16() as usize % 1200,
                    _ => input.byte() as usize,
                };
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut frame = (len as u16).to_le_bytes().to_vec();
                frame.extend(cid.to_le_bytes());
                frame.extend(&payload);
                let sizes: Vec<usize> = if input.byte() & 1 == 0 {
                    fragment_lens(len, 5 + input.below(300)).collect()
                } else {
                    let mut v = vec![(4 + input.below(64)).min(frame.len())];
                    let mut at = v[0];
                    while at < frame.len() {
                        let n = (1 + input.below(255)).min(frame.len() - at);
                        v.push(n);
                        at += n;
                    }
                    v
                };
                assert_eq!(sizes.iter().sum::<usize>(), frame.len());
                let fits = len <= FRAME_IN_MAX;
                let mut at = 0;
                for (k, &n) in sizes.iter().enumerate() {
                    let went = push(rx, k == 0, &frame[at..at + n]);
                    at += n;
                    let last = k + 1 == sizes.len();
                    let expect = match (fits, last) {
                        (false, _) => Went::Refused(Drop::TooLong),
                        (true, true) => Went::Delivered(cid, payload.clone()),
                        (true, false) => Went::Held,
                    };
                    assert_eq!(went, expect, "cid {cid:#x} len {len} sizes {sizes:?} fragment {k}");
                    assert_eq!(rx.in_progress(), !last, "cid {cid:#x} len {len} sizes {sizes:?} fragment {k}");
                    assert_eq!(rx.cid(), cid);
                }
            }
            // Any fragment at all: stray continuations, wrong lengths, cut headers.
            2 => {
                let start = input.byte() & 1 == 0;
                let bytes = input.chunk8();
                if let Went::Delivered(_, frame) = push(rx, start, bytes) {
                    assert!(frame.len() <= FRAME_IN_MAX);
                }
            }
            // The link drops and comes back (`LinkState::open` starts a new reassembler).
            _ => *rx = Rx::new(),
        }
    }
});
