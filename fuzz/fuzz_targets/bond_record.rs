//! Bond records come back from the application's storage: any bytes at all.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptrouble::security::record::{BondRecord, Corrupt, LEN, VERSION};

fuzz_target!(|data: &[u8]| {
    match BondRecord::decode(data) {
        // Only what encode makes is accepted, and it comes back byte for byte.
        Ok(r) => {
            assert_eq!(r.encode()[..], data[..]);
            assert_eq!(r.key()[..], data[3..10]);
            assert!((7..=16).contains(&r.key_len) && r.addr_kind <= 1);
            assert_ne!(r.irk, Some(0));
        }
        Err(Corrupt::Length) => assert!(data.is_empty() || (data[0] == VERSION && data.len() != LEN)),
        Err(Corrupt::Version) => assert_ne!(data[0], VERSION),
        Err(Corrupt::Field) => assert_eq!(data.len(), LEN),
    }
});
