//! LE signalling commands from a peer, any bytes: what parses is canonical (emitting it gives
//! back the command's bytes; a longer length field may carry octets the spec lets us ignore).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptrouble::l2cap::wire::{self, SIGNAL_MAX};

fuzz_target!(|data: &[u8]| {
    if let Ok((ident, s)) = wire::parse(data) {
        let mut out = [0u8; SIGNAL_MAX];
        let n = wire::emit(ident, &s, &mut out);
        assert!(n >= 4 && data.len() >= n, "{data:02x?} -> {s:?}");
        let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
        assert_eq!((out[0], out[1]), (data[0], data[1]));
        assert_eq!(out[4..n], data[4..n], "{data:02x?}");
        assert!(len >= n - 4 && data.len() >= 4 + len);
        assert!(wire::is_ours(data[0]));
        assert_eq!(wire::parse(&out[..n]), Ok((ident, s)));
    }
});
