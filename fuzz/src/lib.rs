//! What the fuzz targets share: a cursor that turns libFuzzer's bytes into choices, and the
//! stand-ins for the parts of the firmware around the pure modules (the multiplexer's buffer
//! accounting, the ATT server's value store and application).
//!
//! The crate's own seeded fuzz tests keep their drivers in `#[cfg(test)]` modules, which a
//! separate crate can't reach; the few stand-ins needed here are written against the modules'
//! public contracts instead.
use std::collections::HashMap;

use bt_hci::data::AclPacket;
use bt_hci::event::le::LeEventPacket;
use bt_hci::event::{Event, EventKind, EventPacket};
use bt_hci::FromHciBytes;

use mptrouble::att::codes::ErrorCode;
use mptrouble::att::db::{flags::*, Database};
use mptrouble::att::server::{Access, Decision, Event as ServerEvent, Hooks, ValueStore, MAX_VALUE_LEN};
use mptrouble::att::uuid::Uuid;
use mptrouble::hci::packet::{
    EventView, EV_COMMAND_COMPLETE, EV_DISCONNECTION_COMPLETE, EV_NUMBER_OF_COMPLETED_PACKETS, LE_CONNECTION_COMPLETE,
    LE_ENHANCED_CONNECTION_COMPLETE,
};
use mptrouble::l2cap::share::{self, BufferShare, LinkTx};

/// Reads choices off the fuzzer's input; past the end every read gives zeros.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self(data)
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next byte.
    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A value in `0..n` from one byte (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// The next `n` bytes, or what is left.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// A run of bytes behind a one-byte length.
    pub fn chunk8(&mut self) -> &'a [u8] {
        let n = usize::from(self.byte());
        self.bytes(n)
    }

    /// A run of bytes behind a two-byte little-endian length.
    pub fn chunk16(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.bytes(n)
    }
}

/// Panics unless an event that passed the filter decodes fully with the bt-hci parsers
/// trouble-host unwraps (the filter's promise).
pub fn assert_event_decodes(pkt: &[u8]) {
    let ev = EventPacket::from_hci_bytes_complete(pkt).expect("passed event parses");
    if ev.kind == EventKind::Le {
        LeEventPacket::from_hci_bytes_complete(ev.data).expect("passed LE event parses");
    }
    Event::try_from(ev).expect("passed event decodes");
}

/// Panics unless an ACL packet that passed the filter parses as one.
pub fn assert_acl_parses(pkt: &[u8]) {
    AclPacket::from_hci_bytes_complete(pkt).expect("passed ACL packet parses");
}

/// The controller's buffers as the multiplexer keeps them: the share, and each open link's
/// packets in flight.
#[derive(Default)]
pub struct Buffers {
    /// The split between trouble and the backend.
    pub share: BufferShare,
    /// Packets in flight per open link.
    pub links: HashMap<u16, LinkTx>,
}

/// What the multiplexer does with an event before trouble-host sees it (`event` in
/// src/link/mux.rs): links open and close, buffer counts are rewritten, a closed link's
/// packets are forgotten.
pub fn account(pkt: &mut [u8], b: &mut Buffers) {
    let Some(e) = EventView::parse(pkt) else { return };
    let u16_at = |at| e.u16_at(at).map(|h| h & 0x0fff);
    match (e.code, e.le_subevent()) {
        (_, Some(LE_CONNECTION_COMPLETE | LE_ENHANCED_CONNECTION_COMPLETE)) => {
            if let (Some(0), Some(h)) = (e.params.get(1), u16_at(2)) {
                b.links.entry(h).or_default();
            }
        }
        (EV_DISCONNECTION_COMPLETE, _) => {
            if let (Some(0), Some(h)) = (e.params.first(), u16_at(1)) {
                if let Some(mut l) = b.links.remove(&h) {
                    b.share.forget(h, &mut l);
                }
            }
        }
        (EV_NUMBER_OF_COMPLETED_PACKETS, _) => {
            let Buffers { share, links } = b;
            share::rewrite_completed_packets(pkt, |h, n| share.completed(links.get_mut(&h), n));
        }
        (EV_COMMAND_COMPLETE, _) => share::rewrite_read_buffer_size(pkt, &mut b.share),
        _ => {}
    }
}

/// Attribute values by handle, holding the server to the [`ValueStore`] contract.
#[derive(Default)]
pub struct Store(pub HashMap<u16, Vec<u8>>);

impl ValueStore for Store {
    fn value(&self, handle: u16) -> &[u8] {
        self.0.get(&handle).map_or(&[], |v| v)
    }

    fn write(&mut self, handle: u16, offset: usize, data: &[u8]) -> Result<(), ErrorCode> {
        let v = self.0.entry(handle).or_default();
        assert!(offset <= v.len(), "write at {offset} past the end of a {}-byte value", v.len());
        v.truncate(offset);
        v.extend_from_slice(data);
        assert!(v.len() <= MAX_VALUE_LEN, "a {}-byte value was written", v.len());
        Ok(())
    }
}

/// The application: answers from `decisions` (Allow otherwise), records events.
#[derive(Default)]
pub struct App {
    /// Answers by handle.
    pub decisions: HashMap<u16, Decision>,
    /// Every event in order.
    pub events: Vec<ServerEvent>,
    /// Every question asked.
    pub asked: Vec<(u16, Access)>,
}

impl Hooks for App {
    fn decide(&mut self, handle: u16, access: Access) -> Decision {
        self.asked.push((handle, access));
        self.decisions.get(&handle).copied().unwrap_or(Decision::Allow)
    }

    fn event(&mut self, event: ServerEvent) {
        self.events.push(event);
    }
}

/// Last handle of [`database`].
pub const DB_LAST_HANDLE: u16 = 25;

/// A small database of every attribute kind and permission (the server tests' layout): after
/// the built-in services (1 to 9), 10 battery service with 12 level (read, notify) and CCCD 13;
/// 14 a 128-bit service: 16 read/write, 18 write/write-no-response/indicate with CCCD 19 and
/// descriptor 20; 22 encrypted read and authenticated write; 24 authorized both ways; 25 an
/// empty service. Values are set in the returned store.
pub fn database() -> (Database, Store) {
    let mut db = Database::new();
    db.begin();
    let base = 0x6e400000_b5a3_f393_e0a9_e50e24dcca9e_u128;
    let steps: [Result<u16, _>; 9] = [
        db.add_service(Uuid::Uuid16(0x180f)),
        db.add_characteristic(Uuid::Uuid16(0x2a19), READ | NOTIFY).map(|h| h.0),
        db.add_service(Uuid::from_u128(base | 1 << 96)),
        db.add_characteristic(Uuid::from_u128(base | 2 << 96), READ | WRITE).map(|h| h.0),
        db.add_characteristic(Uuid::from_u128(base | 3 << 96), WRITE | WRITE_NO_RESPONSE | INDICATE).map(|h| h.0),
        db.add_descriptor(Uuid::Uuid16(0x2901), READ | WRITE),
        db.add_characteristic(Uuid::Uuid16(0x2a3d), READ | READ_ENCRYPTED | WRITE | WRITE_AUTHENTICATED).map(|h| h.0),
        db.add_characteristic(Uuid::Uuid16(0x2a3e), READ | READ_AUTHORIZED | WRITE | WRITE_AUTHORIZED).map(|h| h.0),
        db.add_service(Uuid::Uuid16(0x1810)),
    ];
    let handles: Vec<u16> = steps.into_iter().map(|r| r.expect("the database builds")).collect();
    assert_eq!(handles, [10, 12, 14, 16, 18, 20, 22, 24, 25]);
    let mut store = Store::default();
    store.0.insert(3, b"MPY TROUBLE".to_vec());
    store.0.insert(5, vec![0x00, 0x00]);
    store.0.insert(12, vec![100]);
    store.0.insert(16, (0..300).map(|i| (i % 251) as u8).collect());
    store.0.insert(20, b"desc".to_vec());
    store.0.insert(22, b"secret".to_vec());
    store.0.insert(24, b"ask".to_vec());
    (db, store)
}
