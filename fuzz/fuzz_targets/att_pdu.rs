//! ATT PDUs from a peer, any bytes: the parser under both the server and the client. Whatever
//! parses is canonical (emitting it gives back the same bytes) and its lists account for all
//! of their bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptrouble::att::wire::{Error, Pdu};

fuzz_target!(|data: &[u8]| {
    match Pdu::parse(data) {
        Ok(p) => {
            p.assert_lists_whole();
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
