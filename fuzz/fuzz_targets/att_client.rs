//! A hostile server answering our GATT client: one procedure, then any responses (raw bytes,
//! error responses, the expected opcode with any contents, exact echoes). Every procedure ends
//! exactly once; each request is well-formed, within the MTU, and moves forward; results stay
//! inside the requested range; a read never exceeds 512 bytes; a long write sends the value's
//! own bytes, in order, and commits only when all of them were queued; a response longer than
//! the MTU ends the procedure as invalid and yields nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::Input;
use mptrouble::att::client::{classify, ClientLink, Direction, Output, Procedure, STATUS_INVALID_RESPONSE};
use mptrouble::att::codes::Kind;
use mptrouble::att::uuid::Uuid;
use mptrouble::att::wire::Pdu;

fn uuid(input: &mut Input) -> Option<Uuid> {
    match input.below(4) {
        0 => Some(Uuid::Uuid16(input.u16())),
        1 => {
            let mut u = [0u8; 16];
            u.copy_from_slice(&[input.bytes(16), &[0; 16]].concat()[..16]);
            Some(Uuid::Uuid128(u))
        }
        _ => None,
    }
}

fn procedure(input: &mut Input) -> Procedure {
    let (start, end) = (input.u16(), input.u16());
    match input.below(6) {
        0 => Procedure::DiscoverServices { uuid: uuid(input) },
        1 => Procedure::DiscoverCharacteristics { start, end, uuid: uuid(input) },
        2 => Procedure::DiscoverDescriptors { start, end },
        3 => Procedure::Read { handle: start },
        4 => Procedure::Write { handle: start, len: usize::from(end % 700), with_response: input.byte() & 1 == 0 },
        _ => Procedure::ExchangeMtu { mtu: end },
    }
}

/// The start handle of a discovery request, to check rounds move forward.
fn round_start(req: &[u8]) -> Option<u16> {
    match *req {
        [0x10 | 0x06 | 0x08 | 0x04, lo, hi, ..] => Some(u16::from_le_bytes([lo, hi])),
        _ => None,
    }
}

/// A request must fit the MTU, parse, and for a write carry the value's own bytes in order.
fn check_request(p: Procedure, value: &[u8], prepared: usize, req: &[u8], mtu: u16) {
    assert!(req.len() <= usize::from(mtu), "{req:02x?} over MTU {mtu}");
    let parsed = Pdu::parse(req).unwrap_or_else(|e| panic!("{req:02x?}: {e:?}"));
    assert_eq!(parsed.opcode().kind(), Some(Kind::Request));
    if let Procedure::Write { len, .. } = p {
        match parsed {
            Pdu::WriteReq { value: v, .. } => assert_eq!(v, &value[..len]),
            Pdu::PrepareWriteReq { offset, value: v, .. } => {
                assert_eq!(usize::from(offset), prepared, "parts in order, none skipped");
                assert_eq!(v, &value[prepared..prepared + v.len()]);
                assert!(prepared + v.len() <= len);
            }
            Pdu::ExecuteWriteReq { commit: true } => assert_eq!(prepared, len, "committed a partial value"),
            _ => {}
        }
    }
}

fn response(input: &mut Input, req: &[u8]) -> Vec<u8> {
    let op = req[0];
    match input.below(6) {
        0 => input.chunk16().to_vec(),
        1 => {
            let [lo, hi] = input.u16().to_le_bytes();
            vec![0x01, op, lo, hi, input.byte()]
        }
        // The exact echo a Prepare Write Request wants (any other request: its bare response).
        2 => [&[op + 1][..], if op == 0x16 { &req[1..] } else { &[] }].concat(),
        _ => [&[op + 1][..], input.chunk8()].concat(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut link = ClientLink::new();
    link.set_mtu(input.u16());
    let p = procedure(&mut input);
    let value: Vec<u8> = (0..700).map(|i| (i * 7 % 251) as u8).collect();
    let mut out = [0u8; 600];
    let Ok(n) = link.start(p, &value, &mut out) else { return };
    let mut req = out[..n].to_vec();
    if !link.busy() {
        assert!(matches!(p, Procedure::Write { with_response: false, .. }), "{p:?}");
        return;
    }
    let (lo, hi) = match p {
        Procedure::DiscoverCharacteristics { start, end, .. } | Procedure::DiscoverDescriptors { start, end } => {
            (start, end)
        }
        _ => (1, 0xffff),
    };
    let (mut read, mut prepared) = (0usize, 0usize);
    check_request(p, &value, prepared, &req, link.mtu());
    loop {
        if input.is_empty() {
            // The bearer times out: the procedure ends, once.
            let mut ends = 0;
            link.abort(0x0e, &mut |o| ends += matches!(o, Output::Done { status: 0x0e }) as u32);
            assert_eq!(ends, 1);
            assert!(!link.busy());
            return;
        }
        let rsp = response(&mut input, &req);
        if let (Ok(Pdu::PrepareWriteReq { value: sent, .. }), Ok(Pdu::PrepareWriteRsp { value: echo, .. })) =
            (Pdu::parse(&req), Pdu::parse(&rsp))
        {
            if rsp[1..] == req[1..] {
                assert_eq!(sent, echo);
                prepared += sent.len();
            }
        }
        let mut ends = 0;
        let mut silent = true;
        let mtu = link.mtu();
        let over = rsp.len() > usize::from(mtu) && classify(&rsp, mtu) == Direction::Response;
        let next = link.on_response(&rsp, &value, &mut out, &mut |o| {
            silent = false;
            if over {
                assert_eq!(o, Output::Done { status: STATUS_INVALID_RESPONSE }, "{p:?}: {rsp:02x?} over MTU {mtu}");
            }
            match o {
                Output::Service { start, end, .. } => assert!(start >= 1 && start <= end, "{p:?}: {o:?}"),
                // Only a range cut short by the caller right after a declaration may end
                // before the value handle.
                Output::Characteristic { value_handle, end_handle, .. } => assert!(
                    lo < value_handle
                        && end_handle <= hi
                        && (value_handle <= end_handle || (end_handle == hi && value_handle == hi + 1)),
                    "{p:?}: {o:?}"
                ),
                Output::Descriptor { handle, .. } => assert!(lo <= handle && handle <= hi, "{p:?}: {o:?}"),
                Output::ReadChunk { data } => {
                    read += data.len();
                    assert!(read <= 512, "{p:?}: read {read} bytes");
                }
                Output::Done { .. } | Output::MtuExchanged { .. } => ends += 1,
            }
        });
        match next {
            Some(n) => {
                assert_eq!(ends, 0, "{p:?}");
                assert!(link.busy());
                let next_req = &out[..n];
                if over {
                    // Only a long write has something to undo: its queue is cancelled.
                    assert_eq!(Pdu::parse(next_req), Ok(Pdu::ExecuteWriteReq { commit: false }), "{p:?}");
                }
                check_request(p, &value, prepared, next_req, link.mtu());
                if let (Some(a), Some(b)) = (round_start(&req), round_start(next_req)) {
                    assert!(b > a, "{p:?}: round from {a:#x} then {b:#x}");
                }
                req = next_req.to_vec();
            }
            None if link.busy() => {
                // Not a response: ignored without a trace.
                assert!(silent && ends == 0);
                assert_ne!(classify(&rsp, mtu), Direction::Response, "{rsp:02x?}");
            }
            None => {
                assert_eq!(ends, 1, "{p:?}");
                // The link takes the next procedure.
                assert!(link.start(Procedure::Read { handle: 1 }, &[], &mut out).is_ok());
                return;
            }
        }
    }
});
