//! Advertising reports from the air, as the controller relays them (LE Advertising Report and
//! LE Extended Advertising Report). A report list the filter passes must iterate completely
//! with bt-hci (the scanner stops at the first bad entry), and a well-formed list must pass
//! with every report's data intact.
#![no_main]
use bt_hci::event::le::{LeEvent, LeEventPacket};
use bt_hci::event::{Event, EventPacket};
use bt_hci::FromHciBytes;
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::{assert_event_decodes, Input};
use mptrouble::hci::filter::Filter;
use mptrouble::hci::h4::Kind;

/// Builds a well-formed report list from the input; returns the event and each report's data.
fn well_formed(input: &mut Input, extended: bool) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut body = vec![0u8];
    let mut datas = Vec::new();
    let fixed = if extended { 24 } else { 10 };
    while !input.is_empty() {
        let want = input.below(if extended { 230 } else { 32 });
        if 3 + body.len() + fixed + want > 255 {
            break;
        }
        let mut r = Vec::new();
        if extended {
            r.extend(input.u16().to_le_bytes()); // event type bits
            r.push(input.byte()); // address type
            r.extend(input.bytes(6));
            r.resize(9, 0);
            r.push([1, 3][input.below(2)]); // primary PHY
            r.push(input.below(4) as u8); // secondary PHY (0: none)
            r.extend([input.byte(), input.byte(), input.byte()]); // SID, TX power, RSSI
            r.extend(input.u16().to_le_bytes()); // periodic interval
            r.push(input.byte()); // direct address type
            r.extend(input.bytes(6));
            r.resize(23, 0);
        } else {
            r.push(input.below(5) as u8); // event type
            r.push(input.byte());
            r.extend(input.bytes(6));
            r.resize(8, 0);
        }
        let data = input.bytes(want).to_vec();
        r.push(data.len() as u8);
        r.extend(&data);
        if !extended {
            r.push(input.byte()); // RSSI
        }
        body.extend(r);
        body[0] += 1;
        datas.push(data);
    }
    let mut ev = vec![0x3e, 0, if extended { 0x0d } else { 0x02 }];
    ev.extend(body);
    ev[1] = (ev.len() - 2) as u8;
    (ev, datas)
}

/// The data of every report in a passed event, in order.
fn report_data(pkt: &[u8]) -> Vec<Vec<u8>> {
    let ev = EventPacket::from_hci_bytes_complete(pkt).unwrap();
    match Event::try_from(ev).unwrap() {
        Event::Le(LeEvent::LeAdvertisingReport(e)) => {
            e.reports.iter().map(|r| r.expect("a passed report parses").data.to_vec()).collect()
        }
        Event::Le(LeEvent::LeExtendedAdvertisingReport(e)) => {
            e.reports.iter().map(|r| r.expect("a passed report parses").data.to_vec()).collect()
        }
        other => panic!("{other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let extended = mode & 1 == 1;
    let mut filter = Filter::new();
    if mode & 2 == 0 {
        let (ev, datas) = well_formed(&mut input, extended);
        assert_eq!(filter.check(Kind::Event, &ev), Ok(()), "{ev:02x?}");
        assert_eq!(report_data(&ev), datas);
        return;
    }
    // Any report bytes behind a correct event header.
    let body = input.bytes(252);
    let mut ev = vec![0x3e, (body.len() + 1) as u8, if extended { 0x0d } else { 0x02 }];
    ev.extend(body);
    if filter.check(Kind::Event, &ev).is_ok() {
        assert_event_decodes(&ev);
        let packet = EventPacket::from_hci_bytes_complete(&ev).unwrap();
        LeEventPacket::from_hci_bytes_complete(packet.data).unwrap();
        report_data(&ev);
    }
});
