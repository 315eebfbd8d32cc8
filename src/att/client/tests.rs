//! The client driven with scripted response bytes, its requests checked byte for byte.
use super::*;

mod fuzz;
mod loopback;

/// A 128-bit UUID in wire order (the Nordic UART service, as an arbitrary non-base example).
const NUS: [u8; 16] = [0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x01, 0x00, 0x40, 0x6e];

/// An [`Output`] that owns its bytes, so tests can keep them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Got {
    Service(u16, u16, Uuid),
    Char { value_handle: u16, end_handle: u16, properties: u8, uuid: Uuid },
    Desc(u16, Uuid),
    Chunk(Vec<u8>),
    Done(u16),
    Mtu(u16),
}

impl From<Output<'_>> for Got {
    fn from(o: Output<'_>) -> Got {
        match o {
            Output::Service { start, end, uuid } => Got::Service(start, end, uuid),
            Output::Characteristic { value_handle, end_handle, properties, uuid } => {
                Got::Char { value_handle, end_handle, properties, uuid }
            }
            Output::Descriptor { handle, uuid } => Got::Desc(handle, uuid),
            Output::ReadChunk { data } => Got::Chunk(data.to_vec()),
            Output::Done { status } => Got::Done(status),
            Output::MtuExchanged { mtu } => Got::Mtu(mtu),
        }
    }
}

/// One client link and everything it reported.
pub(super) struct C {
    pub link: ClientLink,
    /// The value of the write being run (handed to every call, as the caller must).
    pub value: Vec<u8>,
    pub got: Vec<Got>,
}

impl C {
    pub fn new(mtu: u16) -> C {
        let mut link = ClientLink::new();
        link.set_mtu(mtu);
        C { link, value: Vec::new(), got: Vec::new() }
    }

    /// Starts `p`, which must succeed; the first request.
    pub fn start(&mut self, p: Procedure) -> Vec<u8> {
        let mut out = [0u8; 600];
        let n = self.link.start(p, &self.value, &mut out).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        out[..n].to_vec()
    }

    /// Feeds one response; the next request, if any.
    pub fn feed(&mut self, rsp: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; 600];
        let got = &mut self.got;
        let n = self.link.on_response(rsp, &self.value, &mut out, &mut |o| got.push(o.into()))?;
        assert!(n <= usize::from(self.link.mtu()), "request longer than the MTU");
        Some(out[..n].to_vec())
    }

    /// Takes what was reported so far.
    pub fn take(&mut self) -> Vec<Got> {
        core::mem::take(&mut self.got)
    }
}

/// Little-endian bytes of a handle.
fn le(h: u16) -> [u8; 2] {
    h.to_le_bytes()
}

/// A request or response built from parts.
fn pdu(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// An Error Response.
fn err(op: u8, handle: u16, code: u8) -> Vec<u8> {
    pdu(&[&[0x01, op], &le(handle), &[code]])
}

/// A recognisable value: byte i is i mod 251.
pub(super) fn long_value(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

const NOT_FOUND: u8 = 0x0a;

#[test]
fn discover_all_services_over_several_rounds() {
    let mut c = C::new(23);
    assert_eq!(c.start(Procedure::DiscoverServices { uuid: None }), [0x10, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28]);
    assert!(c.link.busy());
    // GAP 1..5 and GATT 6..9, then a 128-bit service alone (one length per response).
    let rsp = [0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x06, 0x00, 0x09, 0x00, 0x01, 0x18];
    assert_eq!(c.feed(&rsp).unwrap(), [0x10, 0x0a, 0x00, 0xff, 0xff, 0x00, 0x28]);
    let rsp = pdu(&[&[0x11, 20], &le(0x0a), &le(0x20), &NUS]);
    assert_eq!(c.feed(&rsp).unwrap(), [0x10, 0x21, 0x00, 0xff, 0xff, 0x00, 0x28]);
    assert_eq!(c.feed(&err(0x10, 0x21, NOT_FOUND)), None);
    assert!(!c.link.busy());
    assert_eq!(
        c.take(),
        [
            Got::Service(1, 5, Uuid::Uuid16(0x1800)),
            Got::Service(6, 9, Uuid::Uuid16(0x1801)),
            Got::Service(0x0a, 0x20, Uuid::Uuid128(NUS)),
            Got::Done(0),
        ]
    );
}

#[test]
fn a_service_ending_at_ffff_ends_the_discovery() {
    let mut c = C::new(23);
    c.start(Procedure::DiscoverServices { uuid: None });
    assert_eq!(c.feed(&[0x11, 0x06, 0x01, 0x00, 0xff, 0xff, 0x0d, 0x18]), None);
    assert_eq!(c.take(), [Got::Service(1, 0xffff, Uuid::Uuid16(0x180d)), Got::Done(0)]);
}

#[test]
fn discover_services_by_uuid() {
    let mut c = C::new(23);
    // The 128-bit form of a 16-bit UUID goes out short, as the declaration holds it.
    let battery = Uuid::from_u128(0x0000180f_0000_1000_8000_00805f9b34fb);
    let req = c.start(Procedure::DiscoverServices { uuid: Some(battery) });
    assert_eq!(req, [0x06, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28, 0x0f, 0x18]);
    let req = c.feed(&[0x07, 0x10, 0x00, 0x14, 0x00, 0x30, 0x00, 0x33, 0x00]).unwrap();
    assert_eq!(req, [0x06, 0x34, 0x00, 0xff, 0xff, 0x00, 0x28, 0x0f, 0x18]);
    assert_eq!(c.feed(&err(0x06, 0x34, NOT_FOUND)), None);
    let svc = Uuid::Uuid16(0x180f);
    assert_eq!(c.take(), [Got::Service(0x10, 0x14, svc), Got::Service(0x30, 0x33, svc), Got::Done(0)]);

    // A 128-bit UUID fills an MTU-23 request exactly.
    let req = c.start(Procedure::DiscoverServices { uuid: Some(Uuid::Uuid128(NUS)) });
    assert_eq!(req, pdu(&[&[0x06, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28], &NUS]));
    assert_eq!(req.len(), 23);
    assert_eq!(c.feed(&[0x07, 0x0a, 0x00, 0xff, 0xff]), None);
    assert_eq!(c.take(), [Got::Service(0x0a, 0xffff, Uuid::Uuid128(NUS)), Got::Done(0)]);
}

/// A Read By Type Response of characteristic declarations with 16-bit UUIDs.
fn chars16(entries: &[(u16, u8, u16, u16)]) -> Vec<u8> {
    let mut v = vec![0x09, 7];
    for &(decl, props, value_handle, uuid) in entries {
        v.extend(le(decl));
        v.push(props);
        v.extend(le(value_handle));
        v.extend(le(uuid));
    }
    v
}

/// A Read By Type Response of one characteristic declaration with a 128-bit UUID.
fn char128(decl: u16, props: u8, value_handle: u16, uuid: [u8; 16]) -> Vec<u8> {
    pdu(&[&[0x09, 21], &le(decl), &[props], &le(value_handle), &uuid])
}

/// Runs characteristic discovery of 1..=0x20 over a fixed script; what came out.
fn discover_characteristics(uuid: Option<Uuid>) -> Vec<Got> {
    let mut c = C::new(23);
    assert_eq!(
        c.start(Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid }),
        [0x08, 0x01, 0x00, 0x20, 0x00, 0x03, 0x28]
    );
    let req = c.feed(&chars16(&[(2, 0x02, 3, 0x2a00), (4, 0x0a, 5, 0x2a01)])).unwrap();
    assert_eq!(req, [0x08, 0x05, 0x00, 0x20, 0x00, 0x03, 0x28]);
    let req = c.feed(&char128(0x10, 0x1a, 0x11, NUS)).unwrap();
    assert_eq!(req, [0x08, 0x11, 0x00, 0x20, 0x00, 0x03, 0x28]);
    let req = c.feed(&chars16(&[(0x14, 0x10, 0x15, 0x2a01)])).unwrap();
    assert_eq!(req, [0x08, 0x15, 0x00, 0x20, 0x00, 0x03, 0x28]);
    assert_eq!(c.feed(&err(0x08, 0x15, NOT_FOUND)), None);
    c.take()
}

#[test]
fn characteristics_get_their_end_handles_across_rounds() {
    let char = |value_handle, end_handle, properties, uuid| Got::Char { value_handle, end_handle, properties, uuid };
    assert_eq!(
        discover_characteristics(None),
        [
            char(3, 3, 0x02, Uuid::Uuid16(0x2a00)),
            // Its end is known only from the next round's first declaration.
            char(5, 0x0f, 0x0a, Uuid::Uuid16(0x2a01)),
            char(0x11, 0x13, 0x1a, Uuid::Uuid128(NUS)),
            // The last one ends with the range.
            char(0x15, 0x20, 0x10, Uuid::Uuid16(0x2a01)),
            Got::Done(0),
        ]
    );
}

#[test]
fn characteristics_filtered_by_uuid_keep_the_right_end_handles() {
    let char = |value_handle, end_handle, properties, uuid| Got::Char { value_handle, end_handle, properties, uuid };
    // Given in 128-bit form, the filter still matches the 16-bit declarations.
    let uuid = Uuid::from_u128(0x00002a01_0000_1000_8000_00805f9b34fb);
    assert_eq!(
        discover_characteristics(Some(uuid)),
        [char(5, 0x0f, 0x0a, Uuid::Uuid16(0x2a01)), char(0x15, 0x20, 0x10, Uuid::Uuid16(0x2a01)), Got::Done(0)]
    );
    assert_eq!(
        discover_characteristics(Some(Uuid::Uuid128(NUS))),
        [char(0x11, 0x13, 0x1a, Uuid::Uuid128(NUS)), Got::Done(0)]
    );
    assert_eq!(discover_characteristics(Some(Uuid::Uuid16(0x2a37))), [Got::Done(0)]);
}

#[test]
fn characteristic_discovery_ends_at_the_range_end() {
    let mut c = C::new(23);
    c.start(Procedure::DiscoverCharacteristics { start: 0x10, end: 0x14, uuid: None });
    // A declaration at the last handle of the range: nothing more to ask.
    assert_eq!(c.feed(&chars16(&[(0x10, 0x02, 0x11, 0x2a19), (0x14, 0x02, 0x15, 0x2a1a)])), None);
    let got = c.take();
    assert_eq!(got.len(), 3);
    assert!(matches!(got[0], Got::Char { value_handle: 0x11, end_handle: 0x13, .. }));
    assert!(matches!(got[1], Got::Char { value_handle: 0x15, end_handle: 0x14, .. }));
    assert_eq!(got[2], Got::Done(0));
}

#[test]
fn characteristic_value_handles_out_of_line_are_invalid() {
    // Found by fuzzing (fuzz/fuzz_targets/att_client.rs): a value handle far outside the range
    // was reported, with an end handle below it. A value handle follows its declaration.
    let bad = [
        chars16(&[(2, 0x02, 0xfffa, 0x2a00)]),
        chars16(&[(2, 0x02, 2, 0x2a00)]),
        chars16(&[(2, 0x02, 0x21, 0x2a00)]),
        // The next declaration sits on the previous value handle.
        chars16(&[(2, 0x02, 3, 0x2a00), (3, 0x02, 4, 0x2a01)]),
    ];
    for rsp in bad {
        let mut c = C::new(23);
        c.start(Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid: None });
        assert_eq!(c.feed(&rsp), None, "{rsp:02x?}");
        assert_eq!(c.take(), [Got::Done(STATUS_INVALID_RESPONSE)], "{rsp:02x?}");
    }
    // Across rounds too: a declaration on the value handle of the one held back.
    let mut c = C::new(23);
    c.start(Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid: None });
    assert!(c.feed(&chars16(&[(2, 0x02, 3, 0x2a00)])).is_some());
    assert_eq!(c.feed(&chars16(&[(3, 0x02, 4, 0x2a00)])), None);
    assert_eq!(c.take(), [Got::Done(STATUS_INVALID_RESPONSE)]);
}

#[test]
fn discover_descriptors() {
    let mut c = C::new(23);
    assert_eq!(c.start(Procedure::DiscoverDescriptors { start: 0x12, end: 0x16 }), [0x04, 0x12, 0x00, 0x16, 0x00]);
    let req = c.feed(&[0x05, 0x01, 0x12, 0x00, 0x02, 0x29, 0x13, 0x00, 0x01, 0x29]).unwrap();
    assert_eq!(req, [0x04, 0x14, 0x00, 0x16, 0x00]);
    let req = c.feed(&pdu(&[&[0x05, 0x02], &le(0x14), &NUS])).unwrap();
    assert_eq!(req, [0x04, 0x15, 0x00, 0x16, 0x00]);
    assert_eq!(c.feed(&[0x05, 0x01, 0x16, 0x00, 0x00, 0x29]), None, "the range is used up");
    assert_eq!(
        c.take(),
        [
            Got::Desc(0x12, Uuid::CCCD),
            Got::Desc(0x13, Uuid::Uuid16(0x2901)),
            Got::Desc(0x14, Uuid::Uuid128(NUS)),
            Got::Desc(0x16, Uuid::Uuid16(0x2900)),
            Got::Done(0),
        ]
    );
    // Attribute Not Found straight away is an empty, successful discovery.
    c.start(Procedure::DiscoverDescriptors { start: 0x20, end: 0x20 });
    assert_eq!(c.feed(&err(0x04, 0x20, NOT_FOUND)), None);
    assert_eq!(c.take(), [Got::Done(0)]);
}

#[test]
fn discovery_errors_are_reported() {
    let mut c = C::new(23);
    c.start(Procedure::DiscoverServices { uuid: None });
    // Insufficient Authentication on the first round.
    assert_eq!(c.feed(&err(0x10, 0x01, 0x05)), None);
    assert_eq!(c.take(), [Got::Done(5)]);
    // A characteristic held back when the discovery fails is not reported with a made-up end.
    c.start(Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid: None });
    c.feed(&chars16(&[(2, 0x02, 3, 0x2a00)])).unwrap();
    assert_eq!(c.feed(&err(0x08, 0x03, 0x0f)), None);
    assert_eq!(c.take(), [Got::Done(0x0f)]);
}

/// A server holding `value` at handle `h`, answering Read and Read Blob at `mtu`.
fn serve_read(req: &[u8], h: u16, value: &[u8], mtu: usize) -> Vec<u8> {
    let [lo, hi] = le(h);
    let (op, offset) = match *req {
        [0x0a, a, b] if [a, b] == [lo, hi] => (0x0b, 0),
        [0x0c, a, b, o1, o2] if [a, b] == [lo, hi] => (0x0d, usize::from(u16::from_le_bytes([o1, o2]))),
        _ => panic!("unexpected request {req:02x?}"),
    };
    let part = &value[offset.min(value.len())..];
    pdu(&[&[op], &part[..part.len().min(mtu - 1)]])
}

/// Reads handle 0x0010 holding `value`; the requests sent and what came out.
fn long_read(value: &[u8], mtu: u16) -> (Vec<Vec<u8>>, Vec<Got>) {
    let mut c = C::new(mtu);
    let mut reqs = vec![c.start(Procedure::Read { handle: 0x10 })];
    while let Some(req) = c.feed(&serve_read(reqs.last().unwrap(), 0x10, value, mtu.into())) {
        reqs.push(req);
        assert!(reqs.len() < 100);
    }
    (reqs, c.take())
}

/// The chunks of a read joined, and its final status.
fn joined(got: &[Got]) -> (Vec<u8>, Option<&Got>) {
    let data =
        got.iter().filter_map(|g| if let Got::Chunk(d) = g { Some(d.clone()) } else { None }).flatten().collect();
    (data, got.last())
}

#[test]
fn long_read_of_300_bytes_at_mtu_23() {
    let value = long_value(300);
    let (reqs, got) = long_read(&value, 23);
    // 13 full responses of 22 bytes, then 14: one Read and 13 Read Blobs.
    assert_eq!(reqs.len(), 14);
    assert_eq!(reqs[0], [0x0a, 0x10, 0x00]);
    for (i, req) in reqs.iter().enumerate().skip(1) {
        assert_eq!(*req, pdu(&[&[0x0c, 0x10, 0x00], &le(22 * i as u16)]));
    }
    assert_eq!(got.len(), 15);
    assert_eq!(joined(&got), (value, Some(&Got::Done(0))));
}

#[test]
fn long_read_edges() {
    // Short: one request.
    let (reqs, got) = long_read(b"hello", 23);
    assert_eq!((reqs.len(), got), (1, vec![Got::Chunk(b"hello".to_vec()), Got::Done(0)]));
    // Empty value: no chunk at all.
    let (reqs, got) = long_read(b"", 23);
    assert_eq!((reqs.len(), got), (1, vec![Got::Done(0)]));
    // Exactly MTU-1: one Read Blob that comes back empty.
    let (reqs, got) = long_read(&long_value(22), 23);
    assert_eq!(reqs.len(), 2);
    assert_eq!(joined(&got), (long_value(22), Some(&Got::Done(0))));
    // Stops at 512 bytes even if the server has more.
    let (reqs, got) = long_read(&long_value(600), 23);
    assert_eq!(reqs.len(), 24, "512 = 23 * 22 + 6");
    assert_eq!(joined(&got), (long_value(512), Some(&Got::Done(0))));
    let (reqs, got) = long_read(&long_value(600), 517);
    assert_eq!(reqs.len(), 1);
    assert_eq!(joined(&got), (long_value(512), Some(&Got::Done(0))));
    // At MTU 185, 300 bytes take one Read and one Read Blob.
    let (reqs, got) = long_read(&long_value(300), 185);
    assert_eq!(reqs, [vec![0x0a, 0x10, 0x00], vec![0x0c, 0x10, 0x00, 184, 0x00]]);
    assert_eq!(joined(&got), (long_value(300), Some(&Got::Done(0))));
}

#[test]
fn read_blob_attribute_not_long_ends_the_read() {
    let mut c = C::new(23);
    c.start(Procedure::Read { handle: 3 });
    assert_eq!(c.feed(&pdu(&[&[0x0b], &[7; 22]])).unwrap(), [0x0c, 0x03, 0x00, 0x16, 0x00]);
    assert_eq!(c.feed(&err(0x0c, 3, 0x0b)), None);
    assert_eq!(c.take(), [Got::Chunk(vec![7; 22]), Got::Done(0)]);
    // Other errors are the read's status, on the Read as on a Read Blob.
    c.start(Procedure::Read { handle: 3 });
    assert_eq!(c.feed(&err(0x0a, 3, 0x02)), None);
    assert_eq!(c.take(), [Got::Done(2)]);
    c.start(Procedure::Read { handle: 3 });
    c.feed(&pdu(&[&[0x0b], &[7; 22]])).unwrap();
    assert_eq!(c.feed(&err(0x0c, 3, 0x07)), None);
    assert_eq!(c.take(), [Got::Chunk(vec![7; 22]), Got::Done(7)]);
    // Attribute Not Long on the first request (a Read) is a real error.
    c.start(Procedure::Read { handle: 3 });
    assert_eq!(c.feed(&err(0x0a, 3, 0x0b)), None);
    assert_eq!(c.take(), [Got::Done(0x0b)]);
}

#[test]
fn short_writes() {
    let mut c = C::new(23);
    c.value = b"hi".to_vec();
    let req = c.start(Procedure::Write { handle: 0x12, len: 2, with_response: true });
    assert_eq!(req, [0x12, 0x12, 0x00, b'h', b'i']);
    assert_eq!(c.feed(&[0x13]), None);
    assert_eq!(c.take(), [Got::Done(0)]);
    c.start(Procedure::Write { handle: 0x12, len: 2, with_response: true });
    assert_eq!(c.feed(&err(0x12, 0x12, 0x03)), None);
    assert_eq!(c.take(), [Got::Done(3)]);
    // `len` picks the part of the caller's buffer that is the value.
    c.value = long_value(40);
    let req = c.start(Procedure::Write { handle: 0x12, len: 20, with_response: true });
    assert_eq!(req, pdu(&[&[0x12, 0x12, 0x00], &long_value(20)]));
    assert_eq!(req.len(), 23);
    assert_eq!(c.feed(&[0x13]), None);
    assert_eq!(c.take(), [Got::Done(0)]);
}

#[test]
fn write_command_is_done_when_sent_and_cut_to_the_mtu() {
    let mut c = C::new(23);
    c.value = long_value(40);
    let req = c.start(Procedure::Write { handle: 0x12, len: 40, with_response: false });
    assert_eq!(req, pdu(&[&[0x52, 0x12, 0x00], &long_value(20)]));
    assert!(!c.link.busy());
    // Nothing is waiting: a response now belongs to nobody.
    assert_eq!(c.feed(&[0x13]), None);
    assert!(c.take().is_empty());
    c.link.set_mtu(185);
    let req = c.start(Procedure::Write { handle: 0x12, len: 40, with_response: false });
    assert_eq!(req, pdu(&[&[0x52, 0x12, 0x00], &long_value(40)]));
}

/// A server's Prepare Write Response: the request echoed.
fn echo(req: &[u8]) -> Vec<u8> {
    assert_eq!(req[0], 0x16, "expected a Prepare Write, got {req:02x?}");
    pdu(&[&[0x17], &req[1..]])
}

/// Writes `len` bytes to 0x0020 at `mtu`, the server echoing; checks every request's bytes.
fn long_write(len: usize, mtu: u16) {
    let mut c = C::new(mtu);
    c.value = long_value(len);
    let part = usize::from(mtu) - 5;
    let mut req = c.start(Procedure::Write { handle: 0x20, len, with_response: true });
    let mut offset = 0;
    while offset < len {
        let end = (offset + part).min(len);
        assert_eq!(req, pdu(&[&[0x16, 0x20, 0x00], &le(offset as u16), &c.value[offset..end]]), "at {offset}");
        assert!(req.len() <= usize::from(mtu));
        req = c.feed(&echo(&req)).unwrap();
        offset = end;
    }
    assert_eq!(req, [0x18, 0x01]);
    assert!(c.take().is_empty());
    assert_eq!(c.feed(&[0x19]), None);
    assert_eq!(c.take(), [Got::Done(0)]);
    assert!(!c.link.busy());
}

#[test]
fn long_writes_of_512_bytes() {
    long_write(512, 23);
    long_write(512, 185);
    long_write(21, 23);
    long_write(300, 23);
}

#[test]
fn a_write_that_fits_is_never_long() {
    // At MTU 517 even 512 bytes fit one Write Request; one byte more than MTU-3 doesn't.
    for (mtu, len, op) in [(517, 512, 0x12), (185, 182, 0x12), (185, 183, 0x16)] {
        let mut c = C::new(mtu);
        c.value = long_value(len);
        let req = c.start(Procedure::Write { handle: 0x20, len, with_response: true });
        assert_eq!(req[0], op, "{len} at MTU {mtu}");
        assert!(req.len() <= usize::from(mtu));
    }
}

#[test]
fn long_write_echo_mismatch_cancels() {
    type Spoil = fn(&mut Vec<u8>);
    let spoilers: [Spoil; 4] = [
        |r| r[6] ^= 1, // a value byte
        |r| r[1] ^= 1, // the handle
        |r| r[3] ^= 1, // the offset
        |r| {
            r.pop(); // a byte short
        },
    ];
    for spoil in spoilers {
        let mut c = C::new(23);
        c.value = long_value(100);
        let first = c.start(Procedure::Write { handle: 0x20, len: 100, with_response: true });
        let second = c.feed(&echo(&first)).unwrap();
        let mut bad = echo(&second);
        spoil(&mut bad);
        assert_eq!(c.feed(&bad).unwrap(), [0x18, 0x00]);
        assert!(c.take().is_empty());
        assert_eq!(c.feed(&[0x19]), None);
        assert_eq!(c.take(), [Got::Done(STATUS_ECHO_MISMATCH)]);
    }
    // Also when the very first part comes back wrong: it may have been queued.
    let mut c = C::new(23);
    c.value = long_value(100);
    let first = c.start(Procedure::Write { handle: 0x20, len: 100, with_response: true });
    let mut bad = echo(&first);
    bad[7] ^= 0x80;
    assert_eq!(c.feed(&bad).unwrap(), [0x18, 0x00]);
    // The cancel failing too doesn't hide why.
    assert_eq!(c.feed(&err(0x18, 0, 0x0e)), None);
    assert_eq!(c.take(), [Got::Done(0x0e)]);
}

#[test]
fn long_write_errors() {
    let mut c = C::new(23);
    c.value = long_value(100);
    // Refused first part: nothing queued, nothing to cancel.
    c.start(Procedure::Write { handle: 0x20, len: 100, with_response: true });
    assert_eq!(c.feed(&err(0x16, 0x20, 0x03)), None);
    assert_eq!(c.take(), [Got::Done(3)]);
    // Refused later part: cancel, then report the server's code.
    let first = c.start(Procedure::Write { handle: 0x20, len: 100, with_response: true });
    c.feed(&echo(&first)).unwrap();
    assert_eq!(c.feed(&err(0x16, 0x20, 0x09)).unwrap(), [0x18, 0x00]);
    assert_eq!(c.feed(&[0x19]), None);
    assert_eq!(c.take(), [Got::Done(9)]);
    // The Execute Write itself refused.
    let mut req = c.start(Procedure::Write { handle: 0x20, len: 30, with_response: true });
    req = c.feed(&echo(&req)).unwrap();
    assert_eq!(c.feed(&echo(&req)).unwrap(), [0x18, 0x01]);
    assert_eq!(c.feed(&err(0x18, 0x20, 0x0d)), None);
    assert_eq!(c.take(), [Got::Done(0x0d)]);
}

#[test]
fn exchange_mtu() {
    let mut c = C::new(23);
    assert_eq!(c.start(Procedure::ExchangeMtu { mtu: 256 }), [0x02, 0x00, 0x01]);
    assert_eq!(c.feed(&[0x03, 0xb9, 0x00]), None);
    assert_eq!(c.take(), [Got::Mtu(185)], "the smaller one, and no Done");
    assert_eq!((c.link.mtu(), c.link.busy()), (185, false));
    // Once per connection.
    let mut out = [0u8; 23];
    assert_eq!(c.link.start(Procedure::ExchangeMtu { mtu: 256 }, &[], &mut out), Err(Error::AlreadyExchanged));

    // A server offering less than the minimum gets the minimum; ours is clamped to 527.
    let mut c = C::new(23);
    assert_eq!(c.start(Procedure::ExchangeMtu { mtu: 1000 }), [0x02, 0x0f, 0x02]);
    assert_eq!(c.feed(&[0x03, 0x05, 0x00]), None);
    assert_eq!(c.take(), [Got::Mtu(23)]);
    let mut c = C::new(23);
    assert_eq!(c.start(Procedure::ExchangeMtu { mtu: 0 }), [0x02, 23, 0x00]);

    // A server that doesn't support it: the procedure ends with the code, MTU unchanged.
    let mut c = C::new(23);
    c.start(Procedure::ExchangeMtu { mtu: 256 });
    assert_eq!(c.feed(&err(0x02, 0, 0x06)), None);
    assert_eq!((c.take(), c.link.mtu()), (vec![Got::Done(6)], 23));
}

#[test]
fn start_refuses_what_it_cannot_do() {
    let mut link = ClientLink::new();
    let mut out = [0u8; 64];
    let bad_ranges = [
        Procedure::DiscoverCharacteristics { start: 0, end: 5, uuid: None },
        Procedure::DiscoverCharacteristics { start: 6, end: 5, uuid: None },
        Procedure::DiscoverDescriptors { start: 0, end: 0 },
        Procedure::Read { handle: 0 },
        Procedure::Write { handle: 0, len: 0, with_response: true },
    ];
    for p in bad_ranges {
        assert_eq!(link.start(p, &[], &mut out), Err(Error::InvalidHandle), "{p:?}");
    }
    let w = |len, with_response| Procedure::Write { handle: 1, len, with_response };
    assert_eq!(link.start(w(3, true), &[1, 2], &mut out), Err(Error::InvalidLength));
    assert_eq!(link.start(w(513, true), &[0; 600], &mut out), Err(Error::InvalidLength));
    assert_eq!(link.start(Procedure::Read { handle: 1 }, &[], &mut out[..2]), Err(Error::BufferTooSmall));
    assert!(!link.busy(), "a refused start changes nothing");
    // One at a time.
    assert_eq!(link.start(Procedure::Read { handle: 1 }, &[], &mut out), Ok(3));
    assert_eq!(link.start(Procedure::DiscoverServices { uuid: None }, &[], &mut out), Err(Error::Busy));
    assert_eq!(link.start(w(1, false), &[1], &mut out), Err(Error::Busy));
}

#[test]
fn abort_ends_a_running_procedure_once() {
    let mut c = C::new(23);
    c.start(Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid: None });
    c.feed(&chars16(&[(2, 0x02, 3, 0x2a00)])).unwrap();
    let got = &mut c.got;
    c.link.abort(0x13, &mut |o| got.push(o.into()));
    c.link.abort(0x13, &mut |o| got.push(o.into()));
    assert_eq!(c.take(), [Got::Done(0x13)]);
    assert!(!c.link.busy());
    // A late response to the aborted request belongs to nothing.
    assert_eq!(c.feed(&chars16(&[(4, 0x02, 5, 0x2a00)])), None);
    assert!(c.take().is_empty());
}

#[test]
fn pdus_that_are_not_responses_are_left_alone() {
    let mut c = C::new(23);
    c.start(Procedure::Read { handle: 3 });
    for other in [&[0x1b, 0x03, 0x00, 0x01][..], &[0x1d, 0x03, 0x00], &[0x0a, 0x03, 0x00], &[0x1e], &[], &[0x52, 1, 0]]
    {
        assert_eq!(c.feed(other), None, "{other:02x?}");
        assert!(c.link.busy());
    }
    assert!(c.take().is_empty());
    assert_eq!(c.feed(&[0x0b, 1, 2]), None);
    assert_eq!(c.take(), [Got::Chunk(vec![1, 2]), Got::Done(0)]);
}

/// Starts `p` on a fresh link, walks it through `good` responses, then feeds `bad`; the outputs after `bad`
/// and the request it led to.
fn after_bad(p: Procedure, value: &[u8], good: &[Vec<u8>], bad: &[u8]) -> (Vec<Got>, Option<Vec<u8>>) {
    let mut c = C::new(23);
    c.value = value.to_vec();
    c.start(p);
    for g in good {
        assert!(c.feed(g).is_some(), "{p:?}: {g:02x?} should continue");
    }
    c.take();
    let next = c.feed(bad);
    (c.take(), next)
}

#[test]
fn malformed_and_mismatched_responses_at_every_stage() {
    let v = long_value(60);
    let services = Procedure::DiscoverServices { uuid: None };
    let by_uuid = Procedure::DiscoverServices { uuid: Some(Uuid::Uuid16(0x180f)) };
    let chars = Procedure::DiscoverCharacteristics { start: 1, end: 0x20, uuid: None };
    let descs = Procedure::DiscoverDescriptors { start: 0x10, end: 0x20 };
    let read = Procedure::Read { handle: 3 };
    let write = Procedure::Write { handle: 3, len: 10, with_response: true };
    let mtu = Procedure::ExchangeMtu { mtu: 100 };
    let svc_round = vec![0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18];
    let chr_round = chars16(&[(2, 0x02, 3, 0x2a00)]);
    let dsc_round = vec![0x05, 0x01, 0x11, 0x00, 0x02, 0x29];
    let rd_round = pdu(&[&[0x0b], &[1; 22]]);
    #[rustfmt::skip]
    let cases: Vec<(Procedure, Vec<Vec<u8>>, Vec<u8>)> = vec![
        // Not parseable: truncated lists, bad lengths, a cut Error Response.
        (services, vec![], vec![0x11, 0x06, 0x01, 0x00]),
        (services, vec![svc_round.clone()], vec![0x11, 0x05, 0x06, 0x00, 0x09, 0x00, 0x01]),
        (services, vec![], vec![0x01, 0x10, 0x01]),
        (chars, vec![chr_round.clone()], vec![0x09, 0x00]),
        (descs, vec![dsc_round.clone()], vec![0x05, 0x03, 0x12, 0x00, 0x02, 0x29]),
        (by_uuid, vec![], vec![0x07, 0x10, 0x00, 0x14]),
        (read, vec![], vec![0x0b, 0x00].into_iter().chain([0; 30]).collect()),
        (mtu, vec![], vec![0x03, 0x64]),
        (write, vec![], vec![0x13, 0x00]),
        // The wrong response for the outstanding request.
        (services, vec![], vec![0x05, 0x01, 0x01, 0x00, 0x00, 0x28]),
        (by_uuid, vec![], svc_round.clone()),
        (chars, vec![chr_round.clone()], dsc_round.clone()),
        (read, vec![], vec![0x0d, 1, 2]),
        (read, vec![rd_round.clone()], vec![0x0b, 1, 2]),
        (write, vec![], vec![0x19]),
        (mtu, vec![], vec![0x13]),
        // An Error Response naming another request, or with the reserved code 0.
        (services, vec![], err(0x08, 1, NOT_FOUND)),
        (read, vec![rd_round.clone()], err(0x0a, 3, 0x0b)),
        (descs, vec![], err(0x04, 0x10, 0x00)),
        // Values that aren't UUIDs or declarations.
        (services, vec![], vec![0x11, 0x07, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x00]),
        (chars, vec![], vec![0x09, 0x06, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00]),
        // Handles that don't advance, go backwards, or leave the range.
        (services, vec![svc_round.clone()], vec![0x11, 0x06, 0x05, 0x00, 0x09, 0x00, 0x01, 0x18]),
        (services, vec![], vec![0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x03, 0x00, 0x09, 0x00, 0x01, 0x18]),
        (services, vec![], vec![0x11, 0x06, 0x05, 0x00, 0x04, 0x00, 0x00, 0x18]),
        (services, vec![], vec![0x11, 0x06, 0x00, 0x00, 0x04, 0x00, 0x00, 0x18]),
        (by_uuid, vec![vec![0x07, 0x10, 0x00, 0x14, 0x00]], vec![0x07, 0x14, 0x00, 0x18, 0x00]),
        (chars, vec![chr_round.clone()], chr_round.clone()),
        (chars, vec![], chars16(&[(4, 2, 5, 1), (3, 2, 4, 1)])),
        (chars, vec![], chars16(&[(0x21, 2, 0x22, 1)])),
        (descs, vec![dsc_round.clone()], dsc_round.clone()),
        (descs, vec![], vec![0x05, 0x01, 0x0f, 0x00, 0x02, 0x29]),
        (descs, vec![], vec![0x05, 0x01, 0x21, 0x00, 0x02, 0x29]),
    ];
    for (p, good, bad) in &cases {
        let (got, next) = after_bad(*p, &v, good, bad);
        assert_eq!(
            (got, next),
            (vec![Got::Done(STATUS_INVALID_RESPONSE)], None),
            "{p:?} after {good:02x?}: {bad:02x?}"
        );
    }
    // During a long write, a broken response cancels the queue before reporting.
    let long = Procedure::Write { handle: 3, len: 60, with_response: true };
    let first = pdu(&[&[0x17, 0x03, 0x00, 0x00, 0x00], &v[..18]]);
    for bad in [vec![0x17, 0x03], vec![0x13], vec![0x19], err(0x12, 3, 3)] {
        for good in [vec![], vec![first.clone()]] {
            let (got, next) = after_bad(long, &v, &good, &bad);
            assert_eq!((got, next), (vec![], Some(vec![0x18, 0x00])), "{bad:02x?}");
        }
    }
}

#[test]
fn small_output_buffers_end_procedures_cleanly() {
    let mut link = ClientLink::new();
    let mut out = [0u8; 64];
    let n = link.start(Procedure::DiscoverServices { uuid: None }, &[], &mut out).unwrap();
    assert_eq!(n, 7);
    let mut got = Vec::new();
    let rsp = [0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18];
    assert_eq!(link.on_response(&rsp, &[], &mut out[..6], &mut |o| got.push(Got::from(o))), None);
    assert_eq!(got, [Got::Service(1, 5, Uuid::Uuid16(0x1800)), Got::Done(0x0e)]);
}

#[test]
fn classify_routes_every_kind() {
    assert_eq!(classify(&[], 23), Direction::Invalid);
    assert_eq!(classify(&[0x0a, 0x03, 0x00], 23), Direction::ToServer);
    assert_eq!(classify(&[0x52, 0x03, 0x00, 1], 23), Direction::ToServer);
    assert_eq!(classify(&[0x1e], 23), Direction::ToServer);
    assert_eq!(classify(&[0x22, 1], 23), Direction::ToServer, "unknown requests get Request Not Supported");
    assert_eq!(classify(&[0x7f], 23), Direction::ToServer);
    assert_eq!(classify(&[0x01, 0x0a, 0x03, 0x00, 0x01], 23), Direction::Response);
    assert_eq!(classify(&[0x0b], 23), Direction::Response);
    assert_eq!(classify(&[0x11, 0x00], 23), Direction::Response, "malformed responses still end the procedure");
    assert_eq!(classify(&[0x1b, 0x34, 0x12, 1, 2], 23), Direction::Notification { handle: 0x1234 });
    assert_eq!(classify(&[0x1b, 0x34, 0x12], 23), Direction::Notification { handle: 0x1234 });
    assert_eq!(classify(&[0x1d, 0x03, 0x00, 9], 23), Direction::Indication { handle: 3 });
    assert_eq!(classify(&[0x1b, 0x34], 23), Direction::Invalid);
    assert_eq!(classify(&[0x1d], 23), Direction::Invalid);
    assert_eq!(classify(&[0x23, 0x03, 0x00, 0x01, 0x00, 0x64], 23), Direction::Invalid);
    let mut out = [0u8; 4];
    assert_eq!(confirmation(&mut out), 1);
    assert_eq!(out[0], 0x1e);
    assert_eq!(confirmation(&mut []), 0);
}

#[test]
fn pdus_longer_than_the_mtu_are_invalid() {
    // A notification or indication longer than ATT_MTU is dropped (no confirmation either);
    // exactly ATT_MTU is fine, and the limit follows the MTU.
    let mut ntf = vec![0x1b, 0x03, 0x00];
    ntf.resize(23, 7);
    assert_eq!(classify(&ntf, 23), Direction::Notification { handle: 3 });
    ntf.push(7);
    assert_eq!(classify(&ntf, 23), Direction::Invalid);
    assert_eq!(classify(&ntf, 24), Direction::Notification { handle: 3 });
    let mut ind = ntf.clone();
    ind[0] = 0x1d;
    assert_eq!(classify(&ind, 23), Direction::Invalid);
    // Requests and responses still reach the server and the procedure, which refuse them.
    assert_eq!(classify(&pdu(&[&[0x12, 3, 0], &[0; 300]]), 23), Direction::ToServer);
    assert_eq!(classify(&pdu(&[&[0x11, 6], &[0; 300]]), 23), Direction::Response);

    // A discovery response over the MTU ends the procedure as a broken response, reporting
    // nothing from it: four 16-bit services make 26 bytes.
    let mut c = C::new(23);
    c.start(Procedure::DiscoverServices { uuid: None });
    let services: Vec<u8> = (0..4u16).flat_map(|i| pdu(&[&le(1 + 2 * i), &le(2 + 2 * i), &le(0x1800 + i)])).collect();
    assert_eq!(c.feed(&pdu(&[&[0x11, 6], &services])), None);
    assert_eq!(c.take(), [Got::Done(STATUS_INVALID_RESPONSE)]);
    assert!(!c.link.busy());
    // The same response fits once the MTU allows it.
    let mut c = C::new(26);
    c.start(Procedure::DiscoverServices { uuid: None });
    assert!(c.feed(&pdu(&[&[0x11, 6], &services])).is_some());
    assert_eq!(c.take().len(), 4);

    // A Read Response over the MTU fails the read; a Write Response padded past it too.
    let mut c = C::new(23);
    c.start(Procedure::Read { handle: 3 });
    assert_eq!(c.feed(&pdu(&[&[0x0b], &[1; 23]])), None);
    assert_eq!(c.take(), [Got::Done(STATUS_INVALID_RESPONSE)]);
    c.value = vec![1, 2];
    c.start(Procedure::Write { handle: 3, len: 2, with_response: true });
    assert_eq!(c.feed(&[0x13; 24]), None);
    assert_eq!(c.take(), [Got::Done(STATUS_INVALID_RESPONSE)]);
}
