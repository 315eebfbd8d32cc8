//! ATT PDUs from a peer, any bytes: the parser under both the server and the client. Whatever
//! parses is canonical (emitting it gives back the same bytes) and its lists account for all
//! of their bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptrouble::att::wire::{Error, Pdu};

fuzz_target!(|data: &[u8]| {
    match Pdu::parse(data) {
        Ok(p) => {
            match &p {
                Pdu::FindInformationRsp(d) => {
                    assert_eq!(d.iter().count() * (2 + d.format().uuid_len()), d.as_bytes().len())
                }
                Pdu::FindByTypeValueRsp(d) => assert_eq!(d.iter().count() * 4, d.as_bytes().len()),
                Pdu::ReadByTypeRsp(d) => assert_eq!(d.iter().count() * usize::from(d.length()), d.as_bytes().len()),
                Pdu::ReadByGroupTypeRsp(d) => {
                    assert_eq!(d.iter().count() * usize::from(d.length()), d.as_bytes().len())
                }
                Pdu::ReadMultipleReq(h) | Pdu::ReadMultipleVariableReq(h) => {
                    assert_eq!(h.iter().count() * 2, h.as_bytes().len())
                }
                Pdu::ReadMultipleVariableRsp(l) => {
                    let n: usize = l.iter().map(|t| 2 + t.value.len()).sum();
                    assert!(l.as_bytes().len() - n <= 1, "at most a lone length byte is left over");
                }
                Pdu::MultipleHandleValueNtf(l) => {
                    let n: usize = l.iter().map(|(_, v)| 4 + v.len()).sum();
                    assert_eq!(n, l.as_bytes().len());
                }
                _ => {}
            }
            assert_eq!(p.opcode().0, data[0]);
            assert_eq!(p.buffer_len(), data.len());
            let mut out = vec![0u8; data.len()];
            let n = p.emit(&mut out).expect("fits its own length");
            assert_eq!(out[..n], data[..], "{p:?}");
            if !data.is_empty() {
                assert!(p.emit(&mut out[..data.len() - 1]).is_err(), "emitted into too small a buffer");
            }
        }
        Err(Error::UnknownOpcode(op)) => assert_eq!(Some(&op.0), data.first()),
        Err(Error::Truncated | Error::Invalid) => {}
        Err(Error::BufferTooSmall) => panic!("parse never reports BufferTooSmall"),
    }
});
