//! The controller's byte stream as it comes off the UART: H4 framing, the input filter, and
//! the buffer accounting applied to events before trouble-host reads them. Whatever reaches
//! trouble-host must decode with the bt-hci parsers it unwraps, before and after rewriting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::{account, assert_acl_parses, assert_event_decodes};
use mptrouble::config::HCI_MAX_PACKET;
use mptrouble::hci::acl::BufferShare;
use mptrouble::hci::filter::Filter;
use mptrouble::hci::h4::{Framer, Kind};

fuzz_target!(|data: &[u8]| {
    let (mut framer, mut filter, mut share) = (Framer::new(), Filter::new(), BufferShare::new());
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
                account(framer.packet_mut(), &mut share);
                let after = framer.packet();
                assert_eq!(after.len(), before.len());
                assert_event_decodes(after);
                if before[0] == 0x13 {
                    // trouble is told of no more completions than the controller reported.
                    for (a, b) in after[3..].chunks_exact(4).zip(before[3..].chunks_exact(4)) {
                        assert_eq!(a[..2], b[..2]);
                        assert!(u16::from_le_bytes([a[2], a[3]]) <= u16::from_le_bytes([b[2], b[3]]));
                    }
                }
            }
            Kind::Acl => assert_acl_parses(pkt),
            Kind::Sco | Kind::Iso => panic!("{kind:?} passed the filter"),
        }
    }
});
