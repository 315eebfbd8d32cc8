//! Seeded random responses to every procedure (a fuzz test that runs in `cargo test`): nothing
//! panics, every procedure ends exactly once, requests stay well-formed and within the MTU,
//! discoveries only move forward and report handles inside their range, reads stop at 512.
use super::*;
use crate::att::codes::Kind;

use crate::testutil::XorShift;

/// A random procedure, often with a small range so discoveries end by the range too.
fn procedure(rng: &mut XorShift) -> Procedure {
    let start = if rng.one_in(4) { rng.u16() } else { 1 + rng.below(40) as u16 };
    let end = if rng.one_in(4) { 0xffff } else { start.saturating_add(rng.below(60) as u16) };
    let uuid = match rng.next() % 4 {
        0 => Some(Uuid::Uuid16(0x2a00 + u16::from(rng.next() % 3))),
        1 => Some(Uuid::Uuid128([rng.next() % 2; 16])),
        _ => None,
    };
    match rng.next() % 6 {
        0 => Procedure::DiscoverServices { uuid },
        1 => Procedure::DiscoverCharacteristics { start, end, uuid },
        2 => Procedure::DiscoverDescriptors { start, end },
        3 => Procedure::Read { handle: start },
        4 => Procedure::Write { handle: start, len: rng.below(600), with_response: !rng.one_in(8) },
        _ => Procedure::ExchangeMtu { mtu: rng.u16() % 600 },
    }
}

/// A handle near where the request started, sometimes behind it, sometimes anywhere.
fn handle_near(rng: &mut XorShift, start: u16) -> u16 {
    match rng.next() % 8 {
        0 => rng.u16(),
        1 => start.saturating_sub(u16::from(rng.next() % 3)),
        2 => 0xffff,
        _ => start.saturating_add(u16::from(rng.next() % 8)),
    }
}

/// A response to `req`: mostly the right opcode with plausible contents, sometimes broken.
fn response(rng: &mut XorShift, req: &[u8], mtu: u16) -> Vec<u8> {
    let req_op = req.first().copied().unwrap_or(0);
    let start = match req {
        [_, lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
        _ => 1,
    };
    let mut v = Vec::new();
    match rng.next() % 10 {
        // An Error Response, usually naming the request.
        0 | 1 => {
            let op = if rng.one_in(4) { rng.next() } else { req_op };
            let code = [0x0a, 0x0a, 0x0b, 0x00, 0x01, 0x07, rng.next()][rng.below(7)];
            v.extend([0x01, op, rng.next(), rng.next(), code]);
        }
        // Any response opcode, any bytes.
        2 => {
            let ops: Vec<u8> = (0..=255u8).filter(|&o| Opcode(o).kind() == Some(Kind::Response)).collect();
            v.push(ops[rng.below(ops.len())]);
            v.extend((0..rng.below(30)).map(|_| rng.next()));
        }
        // Anything at all, responses or not.
        3 => v.extend((0..rng.below(12)).map(|_| rng.next())),
        // The matching response, built to look right.
        _ => {
            v.push(req_op.wrapping_add(1));
            let n = 1 + rng.below(4);
            match req_op {
                0x10 => {
                    let wide = rng.one_in(3);
                    v.push(if wide { 20 } else { 6 });
                    let mut h = start;
                    for _ in 0..n {
                        let s = handle_near(rng, h);
                        let e = handle_near(rng, s);
                        v.extend(le(s));
                        v.extend(le(e));
                        v.extend((0..if wide { 16 } else { 2 }).map(|_| rng.next()));
                        h = e.saturating_add(1);
                    }
                }
                0x06 => {
                    let mut h = start;
                    for _ in 0..n {
                        let s = handle_near(rng, h);
                        let e = handle_near(rng, s);
                        v.extend(le(s));
                        v.extend(le(e));
                        h = e.saturating_add(1);
                    }
                }
                0x08 => {
                    let wide = rng.one_in(3);
                    v.push(if wide { 21 } else { 7 });
                    let mut h = start;
                    for _ in 0..n {
                        let d = handle_near(rng, h);
                        v.extend(le(d));
                        v.push(rng.next());
                        v.extend(le(d.wrapping_add(1)));
                        let uuid: Vec<u8> = if wide { vec![rng.next() % 2; 16] } else { vec![rng.next() % 3, 0x2a] };
                        v.extend(uuid);
                        h = d.saturating_add(1);
                    }
                }
                0x04 => {
                    let wide = rng.one_in(3);
                    v.push(if wide { 2 } else { 1 });
                    let mut h = start;
                    for _ in 0..n {
                        let d = handle_near(rng, h);
                        v.extend(le(d));
                        v.extend((0..if wide { 16 } else { 2 }).map(|_| rng.next()));
                        h = d.saturating_add(1);
                    }
                }
                0x0a | 0x0c => {
                    // Full responses often, so long reads go on.
                    let len = if rng.one_in(2) { usize::from(mtu) - 1 } else { rng.below(usize::from(mtu) + 2) };
                    v.extend((0..len).map(|_| rng.next()));
                }
                // The echo, sometimes spoiled.
                0x16 => {
                    v.extend(req.get(1..).unwrap_or(&[]));
                    if rng.one_in(8) {
                        let i = rng.below(v.len());
                        v[i] ^= 1 << (rng.next() % 8);
                    }
                }
                0x02 => v.extend(le(rng.u16() % 600)),
                _ => {}
            }
            // Cut or lengthened now and then.
            match rng.next() % 12 {
                0 if v.len() > 1 => v.truncate(1 + rng.below(v.len() - 1)),
                1 => v.push(rng.next()),
                _ => {}
            }
        }
    }
    v
}

/// The start handle of a discovery request, to check rounds move forward.
fn round_start(req: &[u8]) -> Option<u16> {
    match *req {
        [0x10 | 0x06 | 0x08 | 0x04, lo, hi, ..] => Some(u16::from_le_bytes([lo, hi])),
        _ => None,
    }
}

#[test]
fn random_responses_never_break_the_client() {
    let mut rng = XorShift(0x5eed_c11e_47ab_1e00);
    let mut ended = [0usize; 3];
    // Successful procedures that took several rounds (long reads and writes, discoveries).
    let mut deep = 0;
    for _ in 0..20_000 {
        let mut c = C::new([23, 23, 48, 185, 517][rng.below(5)]);
        let p = procedure(&mut rng);
        c.value = long_value(600);
        let mut out = [0u8; 600];
        let Ok(n) = c.link.start(p, &c.value, &mut out) else { continue };
        let mut req = out[..n].to_vec();
        if !c.link.busy() {
            assert!(matches!(p, Procedure::Write { with_response: false, .. }), "{p:?}");
            continue;
        }
        let (lo, hi) = match p {
            Procedure::DiscoverCharacteristics { start, end, .. } | Procedure::DiscoverDescriptors { start, end } => {
                (start, end)
            }
            _ => (1, 0xffff),
        };
        let mut read = 0;
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 70_000, "{p:?} never ends");
            let rsp = response(&mut rng, &req, c.link.mtu());
            let mut got = Vec::new();
            let next = c.link.on_response(&rsp, &c.value, &mut out, &mut |o| got.push(Got::from(o)));
            for g in &got {
                match *g {
                    Got::Service(s, e, _) => assert!(s <= e && s >= 1, "{p:?}: {g:?}"),
                    Got::Char { end_handle, .. } => assert!(end_handle <= hi && end_handle >= lo, "{p:?}: {g:?}"),
                    Got::Desc(h, _) => assert!(h >= lo && h <= hi, "{p:?}: {g:?}"),
                    Got::Chunk(ref d) => read += d.len(),
                    _ => {}
                }
            }
            assert!(read <= 512);
            let ends = got.iter().filter(|g| matches!(g, Got::Done(_) | Got::Mtu(_))).count();
            match next {
                Some(n) => {
                    assert_eq!(ends, 0, "{p:?}");
                    assert!(c.link.busy() && n <= usize::from(c.link.mtu()));
                    let next_req = &out[..n];
                    let parsed = Pdu::parse(next_req).unwrap_or_else(|e| panic!("{next_req:02x?}: {e:?}"));
                    assert_eq!(parsed.opcode().kind(), Some(Kind::Request));
                    if let (Some(a), Some(b)) = (round_start(&req), round_start(next_req)) {
                        assert!(b > a, "{p:?}: round from {a:#x} then {b:#x}");
                    }
                    req = next_req.to_vec();
                }
                None if c.link.busy() => {
                    // Not a response: ignored without a trace.
                    assert!(got.is_empty());
                    assert_ne!(classify(&rsp, 23), Direction::Response, "{rsp:02x?}");
                }
                None => {
                    assert_eq!(ends, 1, "{p:?}: {got:?}");
                    assert!(matches!(got.last(), Some(Got::Done(_) | Got::Mtu(_))));
                    if rounds >= 3 && matches!(got.last(), Some(Got::Done(0))) {
                        deep += 1;
                    }
                    ended[match got.last() {
                        Some(Got::Done(0) | Got::Mtu(_)) => 0,
                        Some(Got::Done(STATUS_INVALID_RESPONSE)) => 1,
                        _ => 2,
                    }] += 1;
                    break;
                }
            }
        }
    }
    // The generator reaches success, broken responses and server errors alike.
    assert!(ended.iter().all(|&n| n > 1000), "{ended:?}");
    assert!(deep > 200, "{deep}");
}
