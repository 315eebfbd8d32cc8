//! Seeded random streams through the framer and the filter (a fuzz test that
//! runs in `cargo test`): nothing panics, and whatever passes the filter
//! parses with the bt-hci parsers trouble-host unwraps.
use bt_hci::event::le::LeEventPacket;
use bt_hci::event::{Event, EventKind, EventPacket};
use bt_hci::FromHciBytes;

use super::filter::Filter;
use super::h4::{Framer, Kind};

use crate::testutil::XorShift;

/// Random bytes, biased towards plausible H4 headers so parsers get exercised.
fn stream(rng: &mut XorShift, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        match rng.next() % 4 {
            0 => v.push(rng.next()),
            1 => {
                // An event with a plausible code and a random (often wrong) length.
                let code = [0x0e, 0x0f, 0x05, 0x08, 0x13, 0x3e, 0x30, 0xff][rng.next() as usize % 8];
                let n = rng.next() % 40;
                v.extend([4, code, n]);
                if code == 0x3e {
                    v.push(rng.next() % 0x2a);
                }
                for _ in 0..rng.next() % 40 {
                    v.push(rng.next());
                }
            }
            2 => {
                let n = rng.next() % 30;
                v.extend([2, rng.next() % 4, rng.next() % 0x30, n, 0]);
                for _ in 0..rng.next() % 32 {
                    v.push(rng.next());
                }
            }
            _ => v.push([2, 3, 4, 5][rng.next() as usize % 4]),
        }
    }
    v
}

#[test]
fn random_streams_never_reach_trouble_malformed() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut passed, mut dropped) = (0u32, 0u32);
    for _ in 0..2000 {
        let mut framer = Framer::new();
        let mut filter = Filter::new();
        for b in stream(&mut rng, 600) {
            let Some(kind) = framer.push(b) else { continue };
            let pkt = framer.packet();
            if filter.check(kind, pkt).is_err() {
                dropped += 1;
                continue;
            }
            passed += 1;
            if kind == Kind::Event {
                let ev = EventPacket::from_hci_bytes_complete(pkt).expect("passed event parses");
                if ev.kind == EventKind::Le {
                    LeEventPacket::from_hci_bytes_complete(ev.data).expect("passed LE event parses");
                }
                Event::try_from(ev).expect("passed event decodes fully");
            }
        }
    }
    // The generator must actually exercise both outcomes.
    assert!(passed > 100 && dropped > 100, "passed {passed}, dropped {dropped}");
}
