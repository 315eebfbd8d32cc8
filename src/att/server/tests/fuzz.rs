//! No request, however malformed or random, panics or breaks the response rules.
use super::*;
use crate::att::wire::Pdu;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }

    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

/// One valid request of every kind the server handles.
fn valid_requests() -> Vec<Vec<u8>> {
    let mut v = vec![
        vec![0x02, 0x00, 0x01],
        vec![0x04, 1, 0, 0xff, 0xff],
        vec![0x06, 1, 0, 0xff, 0xff, 0x00, 0x28, 0x0f, 0x18],
        vec![0x08, 1, 0, 0xff, 0xff, 0x03, 0x28],
        vec![0x0a, 16, 0],
        vec![0x0c, 16, 0, 22, 0],
        vec![0x0e, 3, 0, 5, 0, 16, 0],
        vec![0x10, 1, 0, 0xff, 0xff, 0x00, 0x28],
        vec![0x12, 13, 0, 1, 0],
        vec![0x16, 16, 0, 0, 0, 1, 2, 3],
        vec![0x18, 1],
        vec![0x1e],
        vec![0x20, 12, 0, 16, 0],
        vec![0x52, 18, 0, 1],
    ];
    let mut long = vec![0x08, 1, 0, 0xff, 0xff];
    long.extend(le128(CHR1));
    v.push(long);
    v
}

/// Runs one PDU and checks what any response must satisfy.
fn check(t: &mut T, pdu: &[u8]) {
    let mtu = usize::from(t.link.mtu());
    let (outcome, rsp) = t.run(pdu);
    let op = pdu.first().copied().map(Opcode);
    match outcome {
        Outcome::Respond(n) => {
            assert!(n <= mtu, "{pdu:02x?}: {n} bytes over MTU {mtu}");
            assert!(!op.unwrap().is_command(), "{pdu:02x?}: a command was answered");
            // Every response is a well-formed PDU: the lists' entries line up.
            let parsed = Pdu::parse(&rsp).unwrap_or_else(|e| panic!("{pdu:02x?} -> {rsp:02x?}: {e:?}"));
            let expected = Opcode(op.unwrap().0 + 1);
            assert!(parsed.opcode() == expected || parsed.opcode() == Opcode::ERROR_RSP, "{pdu:02x?} -> {rsp:02x?}");
        }
        Outcome::Silent => {
            if let Some(op) = op {
                let answerable = op.kind() == Some(crate::att::codes::Kind::Request) || op.kind().is_none();
                assert!(!answerable || op.is_command(), "{pdu:02x?}: a request went unanswered");
            }
        }
        Outcome::Ask { .. } => {}
    }
}

#[test]
fn every_prefix_of_valid_requests() {
    let mut t = setup();
    for req in valid_requests() {
        for k in 0..=req.len() {
            check(&mut t, &req[..k]);
        }
    }
}

#[test]
fn random_requests() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let valid = valid_requests();
    for round in 0..200 {
        let mut t = setup();
        if round % 2 == 1 {
            t.exchange_mtu(23 + rng.below(500) as u16);
        }
        t.security = Security { encrypted: rng.below(2) == 1, authenticated: rng.below(2) == 1, key_size: 16 };
        for _ in 0..200 {
            let mut pdu = match rng.below(3) {
                // A valid request with bytes flipped, cut or added.
                0 | 1 => {
                    let mut p = valid[rng.below(valid.len())].clone();
                    for _ in 0..rng.below(3) {
                        let i = rng.below(p.len());
                        p[i] = rng.next() as u8;
                    }
                    p.truncate(rng.below(p.len() + 2));
                    p
                }
                _ => (0..rng.below(24)).map(|_| rng.next() as u8).collect(),
            };
            // Handles near the database so lookups hit something.
            if pdu.len() >= 3 && rng.below(2) == 0 {
                pdu[1] = rng.below(30) as u8;
                pdu[2] = 0;
            }
            for h in [12u16, 16, 20, 24] {
                let d = match rng.below(4) {
                    0 => Decision::Ask,
                    1 => Decision::Deny(ErrorCode(0x80 + rng.below(32) as u8)),
                    _ => Decision::Allow,
                };
                t.app.decisions.insert(h, d);
            }
            check(&mut t, &pdu);
        }
    }
}
