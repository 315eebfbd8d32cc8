//! The client against this crate's own ATT server: every procedure end to end, each side
//! checking the other's bytes.
use super::*;
use crate::att::db::{flags::*, Database};
use crate::att::server::{handle_request, Access, Decision, Event, Hooks, Outcome, Security, ServerLink, ValueStore};
use std::collections::HashMap;

#[derive(Default)]
struct Store(HashMap<u16, Vec<u8>>);

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

struct AllowAll;

impl Hooks for AllowAll {
    fn decide(&mut self, _: u16, _: Access) -> Decision {
        Decision::Allow
    }

    fn event(&mut self, _: Event) {}
}

/// A server with the built-in services (1..=9), then a 128-bit service at 10: a long readable
/// and writable value at 12, a notifying one at 14 (CCCD 15, user description 16); and the
/// Battery service at 17 with its level at 19.
struct Peer {
    db: Database,
    store: Store,
    link: ServerLink,
}

impl Peer {
    fn new() -> Peer {
        let mut db = Database::new();
        db.begin();
        assert_eq!(db.add_service(Uuid::Uuid128(NUS)), Ok(10));
        assert_eq!(db.add_characteristic(Uuid::Uuid128([2; 16]), READ | WRITE), Ok((12, None)));
        assert_eq!(db.add_characteristic(Uuid::Uuid128([3; 16]), READ | NOTIFY), Ok((14, Some(15))));
        assert_eq!(db.add_descriptor(Uuid::Uuid16(0x2901), READ), Ok(16));
        assert_eq!(db.add_service(Uuid::Uuid16(0x180f)), Ok(17));
        assert_eq!(db.add_characteristic(Uuid::Uuid16(0x2a19), READ), Ok((19, None)));
        let mut store = Store::default();
        store.0.insert(12, long_value(300));
        store.0.insert(19, vec![100]);
        Peer { db, store, link: ServerLink::new(517) }
    }

    fn answer(&mut self, req: &[u8]) -> Vec<u8> {
        let mut out = [0u8; 600];
        match handle_request(
            &self.db,
            &mut self.store,
            &mut self.link,
            Security::default(),
            &mut AllowAll,
            req,
            &mut out,
        ) {
            Outcome::Respond(n) => out[..n].to_vec(),
            other => panic!("{req:02x?} gave {other:?}"),
        }
    }
}

/// Runs `p` to its end against the peer; what it reported and how many requests it took.
fn run(c: &mut C, peer: &mut Peer, p: Procedure) -> (Vec<Got>, usize) {
    let mut req = c.start(p);
    let mut count = 1;
    while let Some(next) = c.feed(&peer.answer(&req)) {
        req = next;
        count += 1;
    }
    (c.take(), count)
}

#[test]
fn discovers_the_whole_database() {
    let (mut c, mut peer) = (C::new(23), Peer::new());
    let (services, _) = run(&mut c, &mut peer, Procedure::DiscoverServices { uuid: None });
    assert_eq!(
        services,
        [
            Got::Service(1, 5, Uuid::Uuid16(0x1800)),
            Got::Service(6, 9, Uuid::Uuid16(0x1801)),
            Got::Service(10, 16, Uuid::Uuid128(NUS)),
            Got::Service(17, 19, Uuid::Uuid16(0x180f)),
            Got::Done(0),
        ]
    );
    let (found, _) = run(&mut c, &mut peer, Procedure::DiscoverServices { uuid: Some(Uuid::Uuid128(NUS)) });
    assert_eq!(found, [Got::Service(10, 16, Uuid::Uuid128(NUS)), Got::Done(0)]);

    let (chars, _) = run(&mut c, &mut peer, Procedure::DiscoverCharacteristics { start: 10, end: 16, uuid: None });
    let char = |value_handle, end_handle, properties, uuid| Got::Char { value_handle, end_handle, properties, uuid };
    assert_eq!(
        chars,
        [char(12, 12, 0x0a, Uuid::Uuid128([2; 16])), char(14, 16, 0x12, Uuid::Uuid128([3; 16])), Got::Done(0)]
    );
    let (descs, _) = run(&mut c, &mut peer, Procedure::DiscoverDescriptors { start: 15, end: 16 });
    assert_eq!(descs, [Got::Desc(15, Uuid::CCCD), Got::Desc(16, Uuid::Uuid16(0x2901)), Got::Done(0)]);
    let (chars, _) =
        run(&mut c, &mut peer, Procedure::DiscoverCharacteristics { start: 17, end: 19, uuid: Some(0x2a19u16.into()) });
    assert_eq!(chars, [char(19, 19, 0x02, Uuid::Uuid16(0x2a19)), Got::Done(0)]);
}

#[test]
fn long_read_and_write_before_and_after_an_mtu_exchange() {
    let (mut c, mut peer) = (C::new(23), Peer::new());
    let (got, requests) = run(&mut c, &mut peer, Procedure::Read { handle: 12 });
    assert_eq!(requests, 14);
    assert_eq!(joined(&got), (long_value(300), Some(&Got::Done(0))));

    c.value = long_value(512).into_iter().rev().collect();
    let (got, requests) = run(&mut c, &mut peer, Procedure::Write { handle: 12, len: 512, with_response: true });
    assert_eq!((got, requests), (vec![Got::Done(0)], 29 + 1));
    assert_eq!(peer.store.0[&12], c.value);

    let (got, _) = run(&mut c, &mut peer, Procedure::ExchangeMtu { mtu: 185 });
    assert_eq!(got, [Got::Mtu(185)]);
    assert_eq!(peer.link.mtu(), 185);
    c.value = long_value(512);
    let (got, requests) = run(&mut c, &mut peer, Procedure::Write { handle: 12, len: 512, with_response: true });
    assert_eq!((got, requests), (vec![Got::Done(0)], 3 + 1));
    let (got, requests) = run(&mut c, &mut peer, Procedure::Read { handle: 12 });
    assert_eq!(requests, 3, "184 + 184 + 144");
    assert_eq!(joined(&got), (long_value(512), Some(&Got::Done(0))));

    // The server's refusals come through as statuses.
    let (got, _) = run(&mut c, &mut peer, Procedure::Write { handle: 19, len: 1, with_response: true });
    assert_eq!(got, [Got::Done(u16::from(ErrorCode::WRITE_NOT_PERMITTED.0))]);
    let (got, _) = run(&mut c, &mut peer, Procedure::Read { handle: 0x40 });
    assert_eq!(got, [Got::Done(u16::from(ErrorCode::INVALID_HANDLE.0))]);
}
