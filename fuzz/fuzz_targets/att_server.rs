//! ATT requests from a peer, against a small database: any sequence of PDUs, with the link's
//! security, the application's decisions and the MTU changing in between. Every response fits
//! the MTU, parses, answers the request it follows; requests are always answered and commands
//! never; a question to the application changes nothing until it is answered; a PDU longer
//! than the MTU changes nothing and gets at most an error; values keep to the store's
//! contract; and afterwards the link still answers a plain read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::{database, App, Input, Store, DB_LAST_HANDLE};
use mptrouble::att::codes::{ErrorCode, Kind, Opcode};
use mptrouble::att::db::{Database, Kind as AttrKind};
use mptrouble::att::server::{handle_request, Decision, Event, Outcome, Security, ServerLink, MAX_MTU, MIN_MTU};
use mptrouble::att::wire::Pdu;

struct T {
    db: Database,
    store: Store,
    link: ServerLink,
    app: App,
    security: Security,
}

impl T {
    fn run(&mut self, pdu: &[u8]) -> (Outcome, Vec<u8>) {
        let mut out = [0u8; 600];
        let outcome =
            handle_request(&self.db, &mut self.store, &mut self.link, self.security, &mut self.app, pdu, &mut out);
        let n = if let Outcome::Respond(n) = outcome { n } else { 0 };
        (outcome, out[..n].to_vec())
    }

    /// Runs one PDU, answering the application's questions from `input`, and checks the result.
    fn request(&mut self, pdu: &[u8], input: &mut Input) {
        let mtu = usize::from(self.link.mtu());
        let op = pdu.first().copied().map(Opcode);
        for _ in 0..16 {
            let store = self.store.0.clone();
            let cccds: Vec<u16> = (0..=DB_LAST_HANDLE).map(|h| self.link.cccd(h)).collect();
            let events = self.app.events.len();
            let (outcome, rsp) = self.run(pdu);
            if pdu.len() > mtu {
                // Invalid whatever it carries (Part F §3.2.8): nothing asked, changed or reported.
                assert!(!matches!(outcome, Outcome::Ask { .. }), "{pdu:02x?}: asked about a PDU over MTU {mtu}");
                assert!(self.store.0 == store, "{pdu:02x?}: a PDU over MTU {mtu} changed a value");
                assert_eq!(self.app.events.len(), events, "{pdu:02x?}: a PDU over MTU {mtu} made an event");
                if outcome != Outcome::Silent {
                    assert!(matches!(Pdu::parse(&rsp), Ok(Pdu::ErrorRsp { .. })), "{pdu:02x?} -> {rsp:02x?}");
                }
            }
            match outcome {
                Outcome::Ask { handle, .. } => {
                    assert_eq!(self.app.decisions.get(&handle), Some(&Decision::Ask), "{pdu:02x?}");
                    assert!(self.store.0 == store, "{pdu:02x?}: asked after changing a value");
                    let now: Vec<u16> = (0..=DB_LAST_HANDLE).map(|h| self.link.cccd(h)).collect();
                    assert_eq!(now, cccds, "{pdu:02x?}: asked after changing a CCCD");
                    assert_eq!(self.app.events.len(), events, "{pdu:02x?}: asked after an event");
                    // The application answers; the caller hands the same PDU in again.
                    let d = if input.byte() & 1 == 0 { Decision::Allow } else { Decision::Deny(ErrorCode(0x80)) };
                    self.app.decisions.insert(handle, d);
                    continue;
                }
                Outcome::Respond(n) => {
                    let op = op.expect("an empty PDU was answered");
                    assert!(n <= mtu, "{pdu:02x?}: {n} bytes over MTU {mtu}");
                    assert!(!op.is_command(), "{pdu:02x?}: a command was answered");
                    let parsed = Pdu::parse(&rsp).unwrap_or_else(|e| panic!("{pdu:02x?} -> {rsp:02x?}: {e:?}"));
                    match parsed {
                        Pdu::ErrorRsp { request, .. } => assert_eq!(request, op, "{pdu:02x?} -> {rsp:02x?}"),
                        p => assert_eq!(p.opcode(), Opcode(op.0 + 1), "{pdu:02x?} -> {rsp:02x?}"),
                    }
                }
                Outcome::Silent => {
                    if let Some(op) = op {
                        let answerable = op.kind() == Some(Kind::Request) || op.kind().is_none();
                        assert!(!answerable || op.is_command(), "{pdu:02x?}: a request went unanswered");
                    }
                }
            }
            for e in &self.app.events[events..] {
                match *e {
                    Event::Written { handle } => {
                        let a = self.db.get(handle).expect("written handle exists");
                        assert!(matches!(a.kind, AttrKind::Value | AttrKind::Descriptor), "{pdu:02x?}: {e:?}");
                        assert!(a.write_permission().allowed, "{pdu:02x?}: {e:?}");
                    }
                    Event::CccdChanged { handle, value } => {
                        assert_eq!(self.db.get(handle).map(|a| a.kind), Some(AttrKind::Cccd), "{e:?}");
                        assert!(value <= 3 && self.link.cccd(handle) == value, "{e:?}");
                    }
                    Event::MtuExchanged { mtu } => {
                        assert!((MIN_MTU..=MAX_MTU).contains(&mtu) && self.link.mtu() == mtu, "{e:?}");
                    }
                    Event::Confirmation => assert_eq!(op, Some(Opcode::HANDLE_VALUE_CFM)),
                }
            }
            return;
        }
        panic!("{pdu:02x?}: the server kept asking");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (db, store) = database();
    let preferred = [MIN_MTU, 64, 256, MAX_MTU][input.below(4)];
    let mut t = T { db, store, link: ServerLink::new(preferred), app: App::default(), security: Security::default() };
    while !input.is_empty() {
        match input.below(8) {
            0 => {
                let b = input.byte();
                t.security = Security { encrypted: b & 1 != 0, authenticated: b & 2 != 0, key_size: 7 + (b >> 2) % 10 };
            }
            1 => {
                let handle = input.below(usize::from(DB_LAST_HANDLE) + 2) as u16;
                let d = match input.below(3) {
                    0 => Decision::Allow,
                    1 => Decision::Deny(ErrorCode(input.byte())),
                    _ => Decision::Ask,
                };
                t.app.decisions.insert(handle, d);
            }
            2 if input.byte() == 0 => t.link.set_mtu(input.u16()),
            _ => {
                let pdu = input.chunk16();
                t.request(pdu, &mut input);
            }
        }
    }
    // The link still answers: the device name (built in: no application decision).
    t.security = Security::default();
    let mtu = usize::from(t.link.mtu());
    let name = t.store.0[&3].clone();
    let (outcome, rsp) = t.run(&[0x0a, 3, 0]);
    assert_eq!(outcome, Outcome::Respond(1 + name.len().min(mtu - 1)));
    assert_eq!(rsp[0], 0x0b);
    assert_eq!(rsp[1..], name[..rsp.len() - 1]);
});
