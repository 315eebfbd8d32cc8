//! SMP from the air through the input filter's gate: which commands reach trouble-host's
//! security manager on each link, as links come and go, encryption fails or succeeds, and
//! trouble's own SMP commands go out. Checked against a model of the rule in
//! src/security/gate.rs and src/hci/filter.rs: outside a pairing only what starts one in the
//! link's role passes, nothing after our Pairing Failed until a new pairing starts, and a
//! central whose encryption with a stored bond failed never gets a Security Request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::Input;
use mptrouble::hci::filter::{Filter, Reject};
use mptrouble::hci::h4::Kind;
use mptrouble::security::gate::{PAIRING_FAILED, PAIRING_REQUEST, PAIRING_RESPONSE, SECURITY_REQUEST};

#[derive(Clone, Copy)]
struct Link {
    central: bool,
    pairing: bool,
    encryption_failed: bool,
}

/// The model's verdict on a peer's SMP command (`None`: opcode not in the first fragment).
fn passes(l: &mut Link, op: Option<u8>) -> bool {
    if l.central && l.encryption_failed && matches!(op, None | Some(SECURITY_REQUEST)) {
        return false;
    }
    let pass = l.pairing || op == Some(if l.central { SECURITY_REQUEST } else { PAIRING_REQUEST });
    if pass {
        l.pairing = op != Some(PAIRING_FAILED);
    }
    pass
}

fn smp_op(input: &mut Input) -> u8 {
    // Mostly the commands that matter to the gate, sometimes any of the others.
    match input.below(8) {
        0 => PAIRING_REQUEST,
        1 => PAIRING_RESPONSE,
        2 => PAIRING_FAILED,
        3 => SECURITY_REQUEST,
        _ => input.byte() % 0x10,
    }
}

fn acl(handle: u16, start: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = (handle | if start { 0x2000 } else { 0x1000 }).to_le_bytes().to_vec();
    v.extend((payload.len() as u16).to_le_bytes());
    v.extend(payload);
    v
}

fn l2cap(cid: u16, len: usize, rest: &[u8]) -> Vec<u8> {
    let mut v = (len as u16).to_le_bytes().to_vec();
    v.extend(cid.to_le_bytes());
    v.extend(rest);
    v
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut filter = Filter::new();
    let mut links: [Option<Link>; 2] = [None, None];
    let verdict = |ok: bool| if ok { Ok(()) } else { Err(Reject::Smp) };
    while !input.is_empty() {
        let i = input.below(2);
        let h = i as u16 + 1;
        let [lo, hi] = h.to_le_bytes();
        match input.below(7) {
            0 => {
                let central = input.byte() & 1 == 0;
                let mut ev = vec![0x3e, 19, 0x01, 0x00, lo, hi, u8::from(!central), 0, 1, 2, 3, 4, 5, 6];
                ev.extend([0x18, 0, 0, 0, 0x48, 0, 0]);
                let expect = if links[i].is_some() { Err(Reject::UnknownHandle) } else { Ok(()) };
                assert_eq!(filter.check(Kind::Event, &ev), expect);
                links[i].get_or_insert(Link { central, pairing: false, encryption_failed: false });
            }
            1 => {
                assert_eq!(filter.check(Kind::Event, &[0x05, 4, 0, lo, hi, 0x13]), Ok(()));
                links[i] = None;
            }
            2 => {
                let status = if input.byte() & 1 == 0 { 0 } else { 0x06 };
                let expect = if links[i].is_some() { Ok(()) } else { Err(Reject::UnknownHandle) };
                assert_eq!(filter.check(Kind::Event, &[0x08, 4, status, lo, hi, u8::from(status == 0)]), expect);
                if let Some(l) = &mut links[i] {
                    l.encryption_failed = status != 0;
                }
            }
            3 => {
                let op = smp_op(&mut input);
                let rest = input.chunk8();
                let mut sdu = vec![op];
                sdu.extend(rest);
                let got = filter.check(Kind::Acl, &acl(h, true, &l2cap(6, sdu.len(), &sdu)));
                match &mut links[i] {
                    Some(l) => assert_eq!(got, verdict(passes(l, Some(op))), "op {op:#x}"),
                    None => assert_eq!(got, Err(Reject::UnknownHandle)),
                }
            }
            4 => {
                // The opcode only in a continuation: the first fragment's verdict covers both.
                let op = smp_op(&mut input);
                let rest = input.chunk8();
                let got = filter.check(Kind::Acl, &acl(h, true, &l2cap(6, 1 + rest.len(), &[])));
                let mut cont = vec![op];
                cont.extend(rest);
                let then = filter.check(Kind::Acl, &acl(h, false, &cont));
                match &mut links[i] {
                    Some(l) => {
                        let v = verdict(passes(l, None));
                        assert_eq!((got, then), (v, v));
                    }
                    None => assert_eq!((got, then), (Err(Reject::UnknownHandle), Err(Reject::UnknownHandle))),
                }
            }
            5 => {
                // trouble sends an SMP command on the link.
                let op = smp_op(&mut input);
                filter.to_peer(&acl(h, true, &l2cap(6, 2, &[op, input.byte()])));
                if let Some(l) = &mut links[i] {
                    match op {
                        PAIRING_FAILED => l.pairing = false,
                        PAIRING_REQUEST | PAIRING_RESPONSE | SECURITY_REQUEST => l.pairing = true,
                        _ => {}
                    }
                }
            }
            _ => {
                // Other traffic trouble handles (a fixed channel of its own) passes untouched.
                let cid = [0x0003, 0x0007, 0x0020, 0x003f, 0x0080, 0xffff][input.below(6)];
                let rest = input.chunk8();
                let got = filter.check(Kind::Acl, &acl(h, true, &l2cap(cid, rest.len(), rest)));
                let expect = if links[i].is_some() { Ok(()) } else { Err(Reject::UnknownHandle) };
                assert_eq!(got, expect);
            }
        }
    }
});
