//! Writes, CCCDs and queued (long) writes.
use super::*;

/// A Prepare Write Request.
fn prepare(handle: u16, offset: u16, part: &[u8]) -> Vec<u8> {
    let mut v = vec![0x16];
    v.extend(handle.to_le_bytes());
    v.extend(offset.to_le_bytes());
    v.extend(part);
    v
}

/// Writes `value` as GATT's Write Long Characteristic Values does at the link's MTU.
fn write_long(t: &mut T, handle: u16, value: &[u8]) -> Vec<u8> {
    let piece = usize::from(t.link.mtu()) - 5;
    for (i, part) in value.chunks(piece).enumerate() {
        let req = prepare(handle, (i * piece) as u16, part);
        let rsp = t.rsp(&req);
        if rsp[0] != 0x17 {
            return rsp;
        }
        // The response echoes the request so the client can check it.
        assert_eq!(rsp[1..], req[1..]);
    }
    t.rsp(&[0x18, 0x01])
}

#[test]
fn write_request_and_command() {
    let mut t = setup();
    assert_eq!(t.rsp(&[0x12, 16, 0, 1, 2, 3]), [0x13]);
    assert_eq!(t.store.value(16), [1, 2, 3]);
    assert_eq!(t.rsp(&[0x12, 16, 0]), [0x13], "an empty value is a value");
    assert_eq!(t.store.value(16), b"");
    assert_eq!(t.run(&[0x52, 18, 0, 9]).0, Outcome::Silent);
    assert_eq!(t.store.value(18), [9]);
    // A Write Request to a write-without-response characteristic works too (as NimBLE does).
    assert_eq!(t.rsp(&[0x12, 18, 0, 8]), [0x13]);
    assert_eq!(t.app.events, [16, 16, 18, 18].map(|handle| Event::Written { handle }));
    // Failing commands say nothing and change nothing.
    t.app.events.clear();
    for pdu in [&[0x52, 12, 0, 1][..], &[0x52, 99, 0, 1], &[0x52, 0, 0], &[0x52, 13, 0, 1]] {
        assert_eq!(t.run(pdu).0, Outcome::Silent, "{pdu:02x?}");
    }
    assert_eq!(t.store.value(12), [100]);
    assert!(t.app.events.is_empty());
    // A value over 512 bytes is refused even when the MTU would carry it.
    t.link = ServerLink::new(MAX_MTU);
    assert_eq!(t.rsp(&[0x02, 0x05, 0x02]), [0x03, 0x0f, 0x02], "we offer 527; 517 is agreed");
    let mut big = vec![0x12, 16, 0];
    big.extend(long_value(513));
    assert_eq!(t.rsp(&big), err(0x12, 16, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH));
    big.pop();
    assert_eq!(t.rsp(&big), [0x13]);
    assert_eq!(t.store.value(16), long_value(512));
    // The store's own refusal reaches the client.
    assert_eq!(t.rsp(&[0x12, 99, 0, 1]), err(0x12, 99, ErrorCode::INVALID_HANDLE));
}

#[test]
fn cccds_are_per_link() {
    let mut t = setup();
    assert_eq!(t.rsp(&[0x0a, 13, 0]), [0x0b, 0, 0]);
    assert_eq!(t.rsp(&[0x12, 13, 0, 0x01, 0x00]), [0x13]);
    assert_eq!(t.rsp(&[0x12, 19, 0, 0x02, 0x00]), [0x13]);
    assert_eq!(
        t.app.events,
        [Event::CccdChanged { handle: 13, value: 1 }, Event::CccdChanged { handle: 19, value: 2 }]
    );
    assert_eq!((t.link.cccd(13), t.link.cccd(19), t.link.cccd(9)), (1, 2, 0));
    assert_eq!(t.rsp(&[0x0a, 13, 0]), [0x0b, 1, 0]);
    assert_eq!(t.rsp(&[0x12, 13, 0, 0x01]), err(0x12, 13, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH));
    assert_eq!(t.rsp(&[0x12, 13, 0, 0x01, 0, 0]), err(0x12, 13, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH));
    assert_eq!(t.link.cccd(13), 1);
    // Service Changed's CCCD works like any other; reserved bits aren't kept.
    assert_eq!(t.rsp(&[0x12, 9, 0, 0xfe, 0xff]), [0x13]);
    assert_eq!(t.link.cccd(9), 2);
    // A CCCD is never put in the value store, and another link has its own.
    assert!(!t.store.0.contains_key(&13));
    let other = ServerLink::new(256);
    assert_eq!(other.cccd(13), 0);
    t.link.clear_cccds();
    assert_eq!(t.link.cccd(13), 0);
    // Queued writes to a CCCD: exactly two bytes at offset 0.
    assert_eq!(t.rsp(&prepare(13, 0, &[2, 0])), [0x17, 13, 0, 0, 0, 2, 0]);
    assert_eq!(t.rsp(&[0x18, 1]), [0x19]);
    assert_eq!(t.link.cccd(13), 2);
    assert_eq!(t.rsp(&prepare(13, 1, &[2])), [0x17, 13, 0, 1, 0, 2]);
    assert_eq!(t.rsp(&[0x18, 1]), err(0x18, 13, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH));
}

#[test]
fn long_writes_at_two_mtus() {
    for mtu in [23, 185] {
        let mut t = setup();
        if mtu != 23 {
            t.exchange_mtu(mtu);
            t.app.events.clear();
        }
        assert_eq!(write_long(&mut t, 16, &long_value(512)), [0x19], "mtu {mtu}");
        assert_eq!(t.store.value(16), long_value(512));
        assert_eq!(t.app.events, [Event::Written { handle: 16 }], "one event for the whole value");
        // The queue is empty again: executing now writes nothing.
        assert_eq!(t.rsp(&[0x18, 1]), [0x19]);
        assert_eq!(t.app.events.len(), 1);
    }
}

#[test]
fn queued_write_errors() {
    let mut t = setup();
    // One byte over 512: the whole write is refused and the old value kept.
    let rsp = write_long(&mut t, 16, &long_value(513));
    assert_eq!(rsp, err(0x16, 16, ErrorCode::PREPARE_QUEUE_FULL), "the queue holds 512 bytes");
    assert_eq!(t.rsp(&[0x18, 0]), [0x19]);
    assert_eq!(t.store.value(16), long_value(300));
    // Lengths are checked at execution: an offset past 512 overflows the value.
    assert_eq!(t.rsp(&prepare(16, 510, &[1, 2, 3]))[0], 0x17);
    assert_eq!(t.rsp(&[0x18, 1]), err(0x18, 16, ErrorCode::INVALID_OFFSET), "300 bytes now, 510 is past the end");
    assert_eq!(t.rsp(&prepare(16, 300, &[0; 10]))[0], 0x17);
    assert_eq!(t.rsp(&prepare(16, 310, &[0; 10]))[0], 0x17);
    assert_eq!(t.rsp(&prepare(24, 0, &[5]))[0], 0x17);
    assert_eq!(t.rsp(&[0x18, 1]), [0x19]);
    assert_eq!(t.store.value(16).len(), 320);
    assert_eq!(t.store.value(24), [5]);
    assert_eq!(t.app.events, [Event::Written { handle: 16 }, Event::Written { handle: 24 }]);
    // A bad part anywhere leaves every value alone.
    assert_eq!(t.rsp(&prepare(16, 0, &[1]))[0], 0x17);
    assert_eq!(t.rsp(&prepare(16, 400, &[1]))[0], 0x17);
    assert_eq!(t.rsp(&[0x18, 1]), err(0x18, 16, ErrorCode::INVALID_OFFSET));
    assert_eq!(t.store.value(16).len(), 320);
    // Cancelling drops the parts.
    assert_eq!(t.rsp(&prepare(16, 0, &[7; 4]))[0], 0x17);
    assert_eq!(t.rsp(&[0x18, 0]), [0x19]);
    assert_eq!(t.store.value(16).len(), 320);
    // Access is checked when a part is queued.
    assert_eq!(t.rsp(&prepare(12, 0, &[1])), err(0x16, 12, ErrorCode::WRITE_NOT_PERMITTED));
    assert_eq!(t.rsp(&prepare(99, 0, &[1])), err(0x16, 99, ErrorCode::INVALID_HANDLE));
    assert_eq!(t.rsp(&prepare(22, 0, &[1])), err(0x16, 22, ErrorCode::INSUFFICIENT_AUTHENTICATION));
    // Parts that don't continue the one before take a run each; the runs are bounded too.
    let runs = crate::config::PREPARE_QUEUE_ENTRIES;
    for i in 0..runs {
        let handle = [16, 24][i % 2];
        assert_eq!(t.rsp(&prepare(handle, (i / 2) as u16, &[i as u8]))[0], 0x17);
    }
    assert_eq!(t.rsp(&prepare(16, 200, &[1])), err(0x16, 16, ErrorCode::PREPARE_QUEUE_FULL));
    assert_eq!(t.rsp(&[0x18, 1]), [0x19]);
    let evens: Vec<u8> = (0..runs as u8).step_by(2).collect();
    assert_eq!(t.store.value(16), evens);
    assert_eq!(t.store.value(24).len(), runs / 2);
}
