//! The controller's byte stream as it comes off the UART: H4 framing, the input filter, and
//! the buffer accounting the multiplexer applies to events before trouble-host reads them.
//! Whatever reaches trouble-host must decode with the bt-hci parsers it unwraps, before and
//! after rewriting, and trouble is never told of more completed packets than it sent.
//!
//! The stream has no host-to-controller side, so an ACL packet that passes stands in for a
//! packet sent on its link at that point: trouble's, or ours if the first data byte is odd
//! and one of our buffers is free.
#![no_main]
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::{account, assert_acl_parses, assert_event_decodes, Buffers};
use mptrouble::config::HCI_MAX_PACKET;
use mptrouble::hci::filter::Filter;
use mptrouble::hci::h4::{Framer, Kind};
use mptrouble::hci::packet::Acl;

fuzz_target!(|data: &[u8]| {
    let (mut framer, mut filter, mut buffers) = (Framer::new(), Filter::new(), Buffers::default());
    // Trouble's packets in flight per link, as far as the stand-in sends go.
    let mut trouble_sent: HashMap<u16, u32> = HashMap::new();
    for &b in data {
        let Some(kind) = framer.push(b) else { continue };
        let pkt = framer.packet();
        assert!(pkt.len() <= HCI_MAX_PACKET);
        // The framer hands on exactly what the header announced.
        let announced = match kind {
            Kind::Event => 2 + usize::from(pkt[1]),
            Kind::Acl => 4 + usize::from(u16::from_le_bytes([pkt[2], pkt[3]])),
            Kind::Sco => 3 + usize::from(pkt[2]),
            Kind::Iso => 4 + usize::from(u16::from_le_bytes([pkt[2], pkt[3]]) & 0x3fff),
        };
        assert_eq!(pkt.len(), announced);
        if filter.check(kind, pkt).is_err() {
            continue;
        }
        match kind {
            Kind::Event => {
                assert_event_decodes(pkt);
                let before = pkt.to_vec();
                account(framer.packet_mut(), &mut buffers);
                let after = framer.packet();
                assert_eq!(after.len(), before.len());
                assert_event_decodes(after);
                if before[0] == 0x13 {
                    for (a, b) in after[3..].chunks_exact(4).zip(before[3..].chunks_exact(4)) {
                        assert_eq!(a[..2], b[..2]);
                        let (got, was) = (u16::from_le_bytes([a[2], a[3]]), u16::from_le_bytes([b[2], b[3]]));
                        // No more completions than the controller reported...
                        assert!(got <= was);
                        // ...and, on a link the backend tracks, none beyond trouble's packets.
                        let h = u16::from_le_bytes([a[0], a[1]]) & 0x0fff;
                        if buffers.links.contains_key(&h) {
                            let sent = trouble_sent.entry(h).or_default();
                            assert!(u32::from(got) <= *sent, "{got} completions, {sent} in flight");
                            *sent -= u32::from(got);
                        }
                    }
                }
                if before[0] == 0x05 && before[2] == 0 {
                    trouble_sent.remove(&(u16::from_le_bytes([before[3], before[4]]) & 0x0fff));
                }
                if before[0] == 0x3e && matches!(before[2], 0x01 | 0x0a) && before[3] == 0 {
                    trouble_sent.entry(u16::from_le_bytes([before[4], before[5]]) & 0x0fff).or_default();
                }
            }
            Kind::Acl => {
                assert_acl_parses(pkt);
                let a = Acl::parse(pkt).expect("passed ACL packet has a header");
                if let Some(l) = buffers.links.get_mut(&a.handle) {
                    let ours = a.data.first().is_some_and(|b| b & 1 == 1) && buffers.share.take();
                    if l.sent(ours) && !ours {
                        *trouble_sent.entry(a.handle).or_default() += 1;
                    }
                }
            }
            Kind::Sco | Kind::Iso => panic!("{kind:?} passed the filter"),
        }
    }
});
