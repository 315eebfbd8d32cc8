//! Seeded random PDUs through the parser (a fuzz test that runs in `cargo test`): nothing
//! panics, and whatever parses is canonical — emitting it gives back the very same bytes.
use super::codes::Opcode;
use super::wire::{Error, Pdu};

use crate::testutil::XorShift;

/// Random bytes, mostly behind a known opcode and with small lengths so list parsers get exercised.
fn pdu(rng: &mut XorShift) -> Vec<u8> {
    let known: Vec<u8> = (0..=255u8).filter(|&op| Opcode(op).kind().is_some()).collect();
    let op = if rng.next().is_multiple_of(8) { rng.next() } else { known[rng.next() as usize % known.len()] };
    let len = match rng.next() % 5 {
        0 => rng.next() as usize % 6,
        1 => rng.next() as usize % 24,
        2 => rng.next() as usize * 2,
        // A format or length byte followed by whole entries of a plausible size.
        _ => 1 + (1 + rng.next() as usize % 3) * [2, 4, 5, 6, 7, 18][rng.next() as usize % 6],
    };
    let mut v = vec![op];
    if rng.next().is_multiple_of(6) {
        // Handle–length–value tuples (0x23) that line up, sometimes cut short.
        for _ in 0..1 + rng.next() % 3 {
            let n = rng.next() % 6;
            v.extend([rng.next(), 0, n, 0]);
            v.extend((0..n).map(|_| rng.next()));
        }
        if rng.next().is_multiple_of(3) {
            v.truncate(1 + rng.next() as usize % v.len());
        }
        return v;
    }
    if len > 0 && rng.next().is_multiple_of(2) {
        v.push(rng.next() % 8);
    }
    while v.len() <= len {
        // Small values often, so length and format bytes are sometimes plausible.
        v.push(if rng.next().is_multiple_of(3) { rng.next() % 8 } else { rng.next() });
    }
    v
}

#[test]
fn random_pdus_never_panic_and_parse_canonically() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut ok, mut truncated, mut invalid, mut unknown) = (0u32, 0u32, 0u32, 0u32);
    let mut out = [0u8; 600];
    let mut parsed_by_opcode = [0u32; 256];
    for _ in 0..100_000 {
        let bytes = pdu(&mut rng);
        match Pdu::parse(&bytes) {
            Ok(p) => {
                ok += 1;
                parsed_by_opcode[usize::from(p.opcode().0)] += 1;
                p.assert_lists_whole();
                assert_eq!(p.buffer_len(), bytes.len());
                let n = p.emit(&mut out).expect("fits");
                assert_eq!(out[..n], bytes[..], "{p:?}");
            }
            Err(Error::Truncated) => truncated += 1,
            Err(Error::Invalid) => invalid += 1,
            Err(Error::UnknownOpcode(op)) => {
                unknown += 1;
                assert_eq!(Some(&op.0), bytes.first());
            }
            Err(Error::BufferTooSmall) => panic!("parse never reports BufferTooSmall"),
        }
    }
    // The generator must actually exercise every outcome.
    eprintln!("ok {ok}, truncated {truncated}, invalid {invalid}, unknown {unknown}");
    for op in (0..=255u8).filter(|&op| Opcode(op).kind().is_some()) {
        let n = parsed_by_opcode[usize::from(op)];
        assert!(n >= 10, "opcode {op:#04x} parsed only {n} times");
    }
    assert!(
        ok > 10_000 && truncated > 2000 && invalid > 2000 && unknown > 2000,
        "{ok} {truncated} {invalid} {unknown}"
    );
}
