//! The server driven with raw request bytes, checked against the bytes the spec prescribes.
use super::*;
use crate::att::db::flags::*;
use crate::att::uuid::Uuid;
use std::collections::HashMap;

mod fuzz;
mod writes;

/// A 128-bit service and two characteristics of it (wire order is little-endian).
const SVC: u128 = 0x6e400001_b5a3_f393_e0a9_e50e24dcca9e;
const CHR1: u128 = 0x6e400002_b5a3_f393_e0a9_e50e24dcca9e;
const CHR2: u128 = 0x6e400003_b5a3_f393_e0a9_e50e24dcca9e;

/// Values by handle; writes follow the [`ValueStore`] contract.
#[derive(Default)]
pub(super) struct Store(pub HashMap<u16, Vec<u8>>);

impl ValueStore for Store {
    fn value(&self, handle: u16) -> &[u8] {
        self.0.get(&handle).map_or(&[], |v| v)
    }

    fn write(&mut self, handle: u16, offset: usize, data: &[u8]) -> Result<(), ErrorCode> {
        let v = self.0.entry(handle).or_default();
        if offset > v.len() {
            return Err(ErrorCode::INVALID_OFFSET);
        }
        v.truncate(offset);
        v.extend_from_slice(data);
        Ok(())
    }
}

/// Records events and questions; answers from `decisions`, Allow by default.
#[derive(Default)]
pub(super) struct App {
    pub events: Vec<Event>,
    pub asked: Vec<(u16, Access)>,
    pub decisions: HashMap<u16, Decision>,
}

impl Hooks for App {
    fn decide(&mut self, handle: u16, access: Access) -> Decision {
        self.asked.push((handle, access));
        self.decisions.get(&handle).copied().unwrap_or(Decision::Allow)
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// One server, one link.
pub(super) struct T {
    pub db: Database,
    pub store: Store,
    pub link: ServerLink,
    pub app: App,
    pub security: Security,
}

/// The database under test, after the built-in services (1 to 9):
/// 10 battery service: 12 level (read, notify) and its CCCD 13;
/// 14 custom service: 16 long value (read, write); 18 (write, write-no-response, indicate),
/// its CCCD 19 and user description 20; 22 encrypted read, authenticated write; 24 authorized;
/// 25 an empty service.
pub(super) fn setup() -> T {
    let mut db = Database::new();
    db.begin();
    assert_eq!(db.add_service(Uuid::Uuid16(0x180f)), Ok(10));
    assert_eq!(db.add_characteristic(Uuid::Uuid16(0x2a19), READ | NOTIFY), Ok((12, Some(13))));
    assert_eq!(db.add_service(Uuid::from_u128(SVC)), Ok(14));
    assert_eq!(db.add_characteristic(Uuid::from_u128(CHR1), READ | WRITE), Ok((16, None)));
    assert_eq!(db.add_characteristic(Uuid::from_u128(CHR2), WRITE | WRITE_NO_RESPONSE | INDICATE), Ok((18, Some(19))));
    assert_eq!(db.add_descriptor(Uuid::Uuid16(0x2901), READ), Ok(20));
    assert_eq!(
        db.add_characteristic(Uuid::Uuid16(0x2a3d), READ | READ_ENCRYPTED | WRITE | WRITE_AUTHENTICATED),
        Ok((22, None))
    );
    assert_eq!(
        db.add_characteristic(Uuid::Uuid16(0x2a3e), READ | READ_AUTHORIZED | WRITE | WRITE_AUTHORIZED),
        Ok((24, None))
    );
    assert_eq!(db.add_service(Uuid::Uuid16(0x1810)), Ok(25));
    let mut store = Store::default();
    store.0.insert(3, b"MPY TROUBLE".to_vec());
    store.0.insert(5, vec![0x00, 0x00]);
    store.0.insert(12, vec![100]);
    store.0.insert(16, long_value(300));
    store.0.insert(20, b"desc".to_vec());
    store.0.insert(22, b"secret".to_vec());
    store.0.insert(24, b"ask".to_vec());
    T { db, store, link: ServerLink::new(256), app: App::default(), security: Security::default() }
}

/// A recognisable value: byte i is i mod 251.
pub(super) fn long_value(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

impl T {
    pub fn run(&mut self, pdu: &[u8]) -> (Outcome, Vec<u8>) {
        let mut out = [0u8; 600];
        let outcome =
            handle_request(&self.db, &mut self.store, &mut self.link, self.security, &mut self.app, pdu, &mut out);
        let n = match outcome {
            Outcome::Respond(n) => n,
            _ => 0,
        };
        (outcome, out[..n].to_vec())
    }

    /// The response, which must exist.
    pub fn rsp(&mut self, pdu: &[u8]) -> Vec<u8> {
        let (outcome, bytes) = self.run(pdu);
        assert!(matches!(outcome, Outcome::Respond(_)), "{pdu:02x?} gave {outcome:?}");
        bytes
    }

    pub fn exchange_mtu(&mut self, mtu: u16) {
        let [lo, hi] = mtu.to_le_bytes();
        assert_eq!(self.rsp(&[0x02, lo, hi]), [0x03, 0x00, 0x01], "we offer 256");
    }
}

/// An Error Response.
pub(super) fn err(op: u8, handle: u16, code: ErrorCode) -> Vec<u8> {
    let [lo, hi] = handle.to_le_bytes();
    vec![0x01, op, lo, hi, code.0]
}

/// A request with a handle range and a 16-bit UUID.
fn ranged(op: u8, start: u16, end: u16, uuid: u16) -> Vec<u8> {
    let mut v = vec![op];
    v.extend(start.to_le_bytes());
    v.extend(end.to_le_bytes());
    v.extend(uuid.to_le_bytes());
    v
}

fn le128(v: u128) -> [u8; 16] {
    v.to_le_bytes()
}

#[test]
fn mtu_exchange_once() {
    let mut t = setup();
    assert_eq!(t.link.mtu(), 23);
    t.exchange_mtu(185);
    assert_eq!(t.link.mtu(), 185);
    assert_eq!(t.app.events, [Event::MtuExchanged { mtu: 185 }]);
    // A second exchange is answered but changes nothing.
    t.exchange_mtu(517);
    assert_eq!(t.link.mtu(), 185);
    assert_eq!(t.app.events.len(), 1);
    // A client MTU below the minimum counts as 23; ours caps a bigger one.
    let mut t = setup();
    t.exchange_mtu(10);
    assert_eq!(t.link.mtu(), 23);
    let mut t = setup();
    t.exchange_mtu(517);
    assert_eq!(t.link.mtu(), 256);
    assert_eq!(ServerLink::new(5).preferred, 23);
}

#[test]
fn discover_all_primary_services() {
    let mut t = setup();
    // Three 16-bit services fill 2 + 3 * 6 = 20 of 23 bytes; the 128-bit one needs its own response.
    assert_eq!(
        t.rsp(&ranged(0x10, 1, 0xffff, 0x2800)),
        [0x11, 6, 1, 0, 5, 0, 0x00, 0x18, 6, 0, 9, 0, 0x01, 0x18, 10, 0, 13, 0, 0x0f, 0x18]
    );
    let mut want = vec![0x11, 20, 14, 0, 24, 0];
    want.extend(le128(SVC));
    assert_eq!(t.rsp(&ranged(0x10, 14, 0xffff, 0x2800)), want);
    assert_eq!(t.rsp(&ranged(0x10, 25, 0xffff, 0x2800)), [0x11, 6, 25, 0, 25, 0, 0x10, 0x18]);
    assert_eq!(t.rsp(&ranged(0x10, 26, 0xffff, 0x2800)), err(0x10, 26, ErrorCode::ATTRIBUTE_NOT_FOUND));
    // A 128-bit spelling of the Primary Service type is the same type.
    let mut req = vec![0x10, 25, 0, 0xff, 0xff];
    req.extend(le128(Uuid::PRIMARY_SERVICE.to_u128()));
    assert_eq!(t.rsp(&req)[..2], [0x11, 6]);
    assert_eq!(t.rsp(&ranged(0x10, 1, 0xffff, 0x2801)), err(0x10, 1, ErrorCode::UNSUPPORTED_GROUP_TYPE));
    assert_eq!(t.rsp(&ranged(0x10, 0, 0xffff, 0x2800)), err(0x10, 0, ErrorCode::INVALID_HANDLE));
    assert_eq!(t.rsp(&ranged(0x10, 6, 5, 0x2800)), err(0x10, 6, ErrorCode::INVALID_HANDLE));
}

#[test]
fn discover_primary_service_by_uuid() {
    let mut t = setup();
    let mut req = ranged(0x06, 1, 0xffff, 0x2800);
    req.extend([0x0f, 0x18]);
    assert_eq!(t.rsp(&req), [0x07, 10, 0, 13, 0]);
    // The same service asked for by its 128-bit form.
    let mut req = ranged(0x06, 1, 0xffff, 0x2800);
    req.extend(le128(Uuid::Uuid16(0x180f).to_u128()));
    assert_eq!(t.rsp(&req), [0x07, 10, 0, 13, 0]);
    let mut req = ranged(0x06, 1, 0xffff, 0x2800);
    req.extend(le128(SVC));
    assert_eq!(t.rsp(&req), [0x07, 14, 0, 24, 0]);
    let mut req = ranged(0x06, 15, 0xffff, 0x2800);
    req.extend(le128(SVC));
    assert_eq!(t.rsp(&req), err(0x06, 15, ErrorCode::ATTRIBUTE_NOT_FOUND));
    let mut req = ranged(0x06, 1, 0xffff, 0x2a19);
    req.push(100);
    assert_eq!(t.rsp(&req), err(0x06, 1, ErrorCode::ATTRIBUTE_NOT_FOUND), "values aren't searched");
}

#[test]
fn discover_characteristics_in_a_range() {
    let mut t = setup();
    assert_eq!(t.rsp(&ranged(0x08, 10, 13, 0x2803)), [0x09, 7, 11, 0, 0x12, 12, 0, 0x19, 0x2a]);
    // 128-bit declarations are 21-byte entries: one per 23-byte response.
    let mut want = vec![0x09, 21, 15, 0, 0x0a, 16, 0];
    want.extend(le128(CHR1));
    assert_eq!(t.rsp(&ranged(0x08, 14, 24, 0x2803)), want);
    let mut want = vec![0x09, 21, 17, 0, 0x2c, 18, 0];
    want.extend(le128(CHR2));
    assert_eq!(t.rsp(&ranged(0x08, 16, 24, 0x2803)), want);
    assert_eq!(
        t.rsp(&ranged(0x08, 18, 24, 0x2803)),
        [0x09, 7, 21, 0, 0x0a, 22, 0, 0x3d, 0x2a, 23, 0, 0x0a, 24, 0, 0x3e, 0x2a]
    );
    assert_eq!(t.rsp(&ranged(0x08, 25, 0xffff, 0x2803)), err(0x08, 25, ErrorCode::ATTRIBUTE_NOT_FOUND));
    // With a bigger MTU the two 128-bit declarations share a response.
    t.exchange_mtu(100);
    assert_eq!(t.rsp(&ranged(0x08, 14, 24, 0x2803)).len(), 2 + 2 * 21);
    assert!(t.app.asked.is_empty(), "declarations are the database's, not the application's");
}

#[test]
fn discover_descriptors() {
    let mut t = setup();
    assert_eq!(t.rsp(&[0x04, 19, 0, 20, 0]), [0x05, 0x01, 19, 0, 0x02, 0x29, 20, 0, 0x01, 0x29]);
    assert_eq!(t.rsp(&[0x04, 13, 0, 13, 0]), [0x05, 0x01, 13, 0, 0x02, 0x29]);
    // A 16-bit type first: the 128-bit one after it waits for the next request.
    assert_eq!(t.rsp(&[0x04, 15, 0, 16, 0]), [0x05, 0x01, 15, 0, 0x03, 0x28]);
    let mut want = vec![0x05, 0x02, 16, 0];
    want.extend(le128(CHR1));
    assert_eq!(t.rsp(&[0x04, 16, 0, 16, 0]), want);
    // 23 bytes hold five 4-byte entries.
    assert_eq!(t.rsp(&[0x04, 1, 0, 0xff, 0xff]).len(), 2 + 5 * 4);
    assert_eq!(t.rsp(&[0x04, 26, 0, 0xff, 0xff]), err(0x04, 26, ErrorCode::ATTRIBUTE_NOT_FOUND));
    assert_eq!(t.rsp(&[0x04, 0, 0, 1, 0]), err(0x04, 0, ErrorCode::INVALID_HANDLE));
}

/// Reads a value with Read then Read Blob until a short piece, as GATT's Read Long does.
fn read_long(t: &mut T, handle: u16) -> (Vec<u8>, usize) {
    let [lo, hi] = handle.to_le_bytes();
    let first = t.rsp(&[0x0a, lo, hi]);
    assert_eq!(first[0], 0x0b);
    let mut value = first[1..].to_vec();
    let mut requests = 1;
    let piece = usize::from(t.link.mtu()) - 1;
    let mut last = first.len() - 1;
    while last == piece {
        let [olo, ohi] = (value.len() as u16).to_le_bytes();
        let rsp = t.rsp(&[0x0c, lo, hi, olo, ohi]);
        assert_eq!(rsp[0], 0x0d);
        value.extend(&rsp[1..]);
        last = rsp.len() - 1;
        requests += 1;
    }
    (value, requests)
}

#[test]
fn long_reads_at_two_mtus() {
    let mut t = setup();
    // 300 bytes in 22-byte pieces: 13 full and one of 14.
    assert_eq!(read_long(&mut t, 16), (long_value(300), 14));
    assert_eq!(t.rsp(&[0x0c, 16, 0, 0x2c, 0x01]), [0x0d], "offset == length reads nothing");
    assert_eq!(t.rsp(&[0x0c, 16, 0, 0x2d, 0x01]), err(0x0c, 16, ErrorCode::INVALID_OFFSET));
    t.exchange_mtu(185);
    assert_eq!(read_long(&mut t, 16), (long_value(300), 2));
    let rsp = t.rsp(&[0x0c, 16, 0, 184, 0]);
    assert_eq!(rsp[1..], long_value(300)[184..]);
    // Every read of an application value was put to the application (GATTS_READ_REQUEST).
    assert!(t.app.asked.iter().all(|&a| a == (16, Access::Read)));
    assert_eq!(t.app.asked.len(), 14 + 2 + 2 + 1);
}

#[test]
fn reads_by_type_and_multiple() {
    let mut t = setup();
    let mut want = vec![0x09, 13, 3, 0];
    want.extend(b"MPY TROUBLE");
    assert_eq!(t.rsp(&ranged(0x08, 1, 0xffff, 0x2a00)), want);
    assert!(t.app.asked.is_empty(), "built-in values are served without asking");
    // A long value is cut at ATT_MTU-4.
    let mut req = vec![0x08, 1, 0, 0xff, 0xff];
    req.extend(le128(CHR1));
    let rsp = t.rsp(&req);
    assert_eq!(rsp[..4], [0x09, 21, 16, 0]);
    assert_eq!(rsp[4..], long_value(19));
    // The first match not readable is the response.
    let mut req = vec![0x08, 1, 0, 0xff, 0xff];
    req.extend(le128(CHR2));
    assert_eq!(t.rsp(&req), err(0x08, 18, ErrorCode::READ_NOT_PERMITTED));
    assert_eq!(
        t.rsp(&[0x0e, 3, 0, 5, 0, 12, 0]),
        [0x0f, b'M', b'P', b'Y', b' ', b'T', b'R', b'O', b'U', b'B', b'L', b'E', 0, 0, 100]
    );
    assert_eq!(t.rsp(&[0x0e, 3, 0, 18, 0]), err(0x0e, 18, ErrorCode::READ_NOT_PERMITTED));
    assert_eq!(t.rsp(&[0x0e, 3, 0, 99, 0]), err(0x0e, 99, ErrorCode::INVALID_HANDLE));
    // Cut at ATT_MTU-1 whatever the split.
    assert_eq!(t.rsp(&[0x0e, 12, 0, 16, 0]).len(), 23);
    assert_eq!(t.rsp(&[0x20, 12, 0, 5, 0]), [0x21, 1, 0, 100, 2, 0, 0, 0]);
    let rsp = t.rsp(&[0x20, 12, 0, 16, 0]);
    assert_eq!(rsp.len(), 23);
    assert_eq!(rsp[..6], [0x21, 1, 0, 100, 0x2c, 0x01]);
}

#[test]
fn permission_errors() {
    let mut t = setup();
    assert_eq!(t.rsp(&[0x0a, 0, 0]), err(0x0a, 0, ErrorCode::INVALID_HANDLE));
    assert_eq!(t.rsp(&[0x0a, 99, 0]), err(0x0a, 99, ErrorCode::INVALID_HANDLE));
    assert_eq!(t.rsp(&[0x0a, 18, 0]), err(0x0a, 18, ErrorCode::READ_NOT_PERMITTED));
    assert_eq!(t.rsp(&[0x0a, 8, 0]), err(0x0a, 8, ErrorCode::READ_NOT_PERMITTED), "Service Changed only indicates");
    assert_eq!(t.rsp(&[0x12, 12, 0, 1]), err(0x12, 12, ErrorCode::WRITE_NOT_PERMITTED));
    assert_eq!(t.rsp(&[0x12, 11, 0, 1]), err(0x12, 11, ErrorCode::WRITE_NOT_PERMITTED));
    assert_eq!(t.rsp(&[0x12, 3, 0, 1]), err(0x12, 3, ErrorCode::WRITE_NOT_PERMITTED), "the name is read-only");
    assert_eq!(t.rsp(&[0x0a, 22, 0]), err(0x0a, 22, ErrorCode::INSUFFICIENT_ENCRYPTION));
    t.security = Security { encrypted: true, authenticated: false, key_size: 7 };
    assert_eq!(t.rsp(&[0x0a, 22, 0]), err(0x0a, 22, ErrorCode::ENCRYPTION_KEY_SIZE_TOO_SHORT));
    t.security.key_size = 16;
    assert_eq!(t.rsp(&[0x0a, 22, 0]), b"\x0bsecret");
    assert_eq!(t.rsp(&[0x12, 22, 0, 1]), err(0x12, 22, ErrorCode::INSUFFICIENT_AUTHENTICATION));
    t.security.authenticated = true;
    assert_eq!(t.rsp(&[0x12, 22, 0, 1]), [0x13]);
    assert!(t.app.asked.iter().all(|&(_, a)| a == Access::Read), "no write needed authorization");
}

#[test]
fn application_decides_reads_and_authorized_writes() {
    let mut t = setup();
    t.app.decisions.insert(24, Decision::Ask);
    // Asked: nothing sent, nothing changed; the caller runs the PDU again with the answer.
    assert_eq!(t.run(&[0x0a, 24, 0]), (Outcome::Ask { handle: 24, access: Access::Read }, vec![]));
    assert_eq!(t.run(&[0x12, 24, 0, 7]), (Outcome::Ask { handle: 24, access: Access::Write }, vec![]));
    assert_eq!(t.run(&[0x52, 24, 0, 7]), (Outcome::Ask { handle: 24, access: Access::Write }, vec![]));
    assert_eq!(t.store.value(24), b"ask");
    assert!(t.app.events.is_empty());
    t.app.decisions.insert(24, Decision::Deny(ErrorCode(0x80)));
    assert_eq!(t.rsp(&[0x0a, 24, 0]), err(0x0a, 24, ErrorCode(0x80)));
    assert_eq!(t.rsp(&[0x0c, 24, 0, 1, 0]), err(0x0c, 24, ErrorCode(0x80)));
    t.app.decisions.insert(24, Decision::Allow);
    assert_eq!(t.rsp(&[0x0a, 24, 0]), b"\x0bask");
    assert_eq!(t.rsp(&[0x12, 24, 0, 7]), [0x13]);
    assert_eq!(t.store.value(24), [7]);
    // Read By Type asks about its first match; a later undecided one just ends the list.
    t.app.decisions.insert(12, Decision::Ask);
    assert_eq!(t.run(&ranged(0x08, 1, 0xffff, 0x2a19)).0, Outcome::Ask { handle: 12, access: Access::Read });
    // Read Multiple asks about each handle in turn.
    t.app.decisions.insert(12, Decision::Allow);
    t.app.decisions.insert(20, Decision::Ask);
    assert_eq!(t.run(&[0x0e, 12, 0, 20, 0]).0, Outcome::Ask { handle: 20, access: Access::Read });
    // Writes to attributes without WRITE_AUTHORIZED don't ask.
    t.app.asked.clear();
    assert_eq!(t.rsp(&[0x12, 16, 0, 1]), [0x13]);
    assert!(t.app.asked.is_empty());
}

#[test]
fn unknown_and_malformed_requests() {
    let mut t = setup();
    assert_eq!(t.rsp(&[0x30, 1, 2]), err(0x30, 0, ErrorCode::REQUEST_NOT_SUPPORTED));
    assert_eq!(t.rsp(&[0x3f]), err(0x3f, 0, ErrorCode::REQUEST_NOT_SUPPORTED));
    for command in [0x70u8, 0x41, 0xff, 0xd2] {
        assert_eq!(t.run(&[command, 1, 0, 2]).0, Outcome::Silent, "{command:#x}");
    }
    assert_eq!(t.rsp(&[0x0a, 3]), err(0x0a, 0, ErrorCode::INVALID_PDU));
    assert_eq!(t.rsp(&[0x0a, 3, 0, 0]), err(0x0a, 0, ErrorCode::INVALID_PDU));
    assert_eq!(t.rsp(&[0x18, 2]), err(0x18, 0, ErrorCode::INVALID_PDU));
    assert_eq!(t.rsp(&[0x08, 1, 0, 0xff, 0xff, 0, 0x28, 0]), err(0x08, 0, ErrorCode::INVALID_PDU));
    // Server-to-client PDUs and responses aren't the server's to answer.
    for pdu in [&[0x1b, 3, 0, 1][..], &[0x1d, 3, 0], &[0x0b, 1], &[0x01, 0x0a, 0, 0, 1], &[]] {
        assert_eq!(t.run(pdu).0, Outcome::Silent, "{pdu:02x?}");
    }
    assert_eq!(t.run(&[0x1e]).0, Outcome::Silent);
    assert_eq!(t.app.events, [Event::Confirmation]);
    // A signed write can't be verified here, so it is dropped.
    let mut signed = vec![0xd2, 18, 0, 1, 2];
    signed.extend([0; 12]);
    assert_eq!(t.run(&signed).0, Outcome::Silent);
    assert_eq!(t.store.value(18), b"");
    // An output buffer too small for anything gives silence, not a panic.
    let mut out = [0u8; 3];
    let o = handle_request(&t.db, &mut t.store, &mut t.link, t.security, &mut t.app, &[0x0a, 99, 0], &mut out);
    assert_eq!(o, Outcome::Silent);
}

/// `len` bytes of `head` followed by filler.
fn padded(head: &[u8], len: usize) -> Vec<u8> {
    let mut v = head.to_vec();
    v.resize(len, 0x5a);
    v
}

#[test]
fn pdus_longer_than_the_mtu_are_invalid() {
    let mut t = setup();
    let mut write = padded(&[0x12, 16, 0], 300);
    // 300 bytes while ATT_MTU is 23: Invalid PDU, the value and events untouched.
    assert_eq!(t.rsp(&write), err(0x12, 0, ErrorCode::INVALID_PDU));
    assert_eq!(t.store.value(16), long_value(300));
    // Every request that carries a variable part: Find By Type Value, Read Multiple (and its
    // variable form), Prepare Write, and a known request padded past the MTU.
    let requests = [
        padded(&[0x06, 1, 0, 0xff, 0xff, 0x00, 0x28], 24),
        padded(&[0x0e, 3, 0, 5, 0], 25),
        padded(&[0x20, 3, 0, 5, 0], 25),
        padded(&[0x16, 16, 0, 0, 0], 24),
        padded(&[0x0a, 3, 0], 24),
    ];
    for req in &requests {
        assert_eq!(t.rsp(req), err(req[0], 0, ErrorCode::INVALID_PDU), "{:#x}", req[0]);
    }
    // Commands are dropped, as failing commands are; so is a confirmation padded past it.
    for pdu in [padded(&[0x52, 18, 0], 24), padded(&[0xd2, 18, 0], 40), padded(&[0x1e], 24)] {
        assert_eq!(t.run(&pdu).0, Outcome::Silent, "{:#x}", pdu[0]);
    }
    assert_eq!(t.store.value(18), b"");
    assert!(t.app.events.is_empty(), "{:?}", t.app.events);
    // The prepare queue took nothing: executing writes nothing.
    assert_eq!(t.rsp(&[0x18, 1]), [0x19]);
    assert!(t.app.events.is_empty());
    // Exactly ATT_MTU is fine; after an exchange the limit is the new MTU.
    write.truncate(23);
    assert_eq!(t.rsp(&write), [0x13]);
    t.exchange_mtu(185);
    write.resize(185, 1);
    assert_eq!(t.rsp(&write), [0x13]);
    assert_eq!(t.store.value(16).len(), 182);
    write.push(1);
    assert_eq!(t.rsp(&write), err(0x12, 0, ErrorCode::INVALID_PDU));
    assert_eq!(t.store.value(16).len(), 182);
    // An unknown request stays unsupported, whatever its length.
    assert_eq!(t.rsp(&padded(&[0x30], 300)), err(0x30, 0, ErrorCode::REQUEST_NOT_SUPPORTED));
}
