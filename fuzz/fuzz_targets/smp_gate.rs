//! The SMP gate (src/link/gate.rs) that the multiplexer keeps per link: which commands from
//! the air reach trouble-host's security manager, as the peer's commands arrive (opcode in
//! the first fragment or not), trouble's own go out, and links come and go. Checked against
//! a model of the rule: outside a pairing only what starts one in the link's role passes,
//! and nothing after a Pairing Failed either way until a new pairing starts.
//!
//! The multiplexer's extra rule (a central whose encryption with a stored bond failed never
//! gets a Security Request) sits in `link::mux`, which needs the running stack; it is not
//! covered here.
#![no_main]
use libfuzzer_sys::fuzz_target;
use micropython_trouble_fuzz::Input;
use mptrouble::link::gate::{Gate, PAIRING_FAILED, PAIRING_REQUEST, PAIRING_RESPONSE, SECURITY_REQUEST};

#[derive(Clone, Copy)]
struct Link {
    central: bool,
    pairing: bool,
    gate: Gate,
}

/// The model's verdict on a peer's SMP command (`None`: opcode not in the first fragment).
fn passes(l: &mut Link, op: Option<u8>) -> bool {
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

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut links: [Option<Link>; 2] = [None, None];
    while !input.is_empty() {
        let i = input.below(2);
        match input.below(5) {
            0 => {
                // A link opens in either role with a fresh gate (`LinkState::open`).
                let central = input.byte() & 1 == 0;
                links[i] = Some(Link { central, pairing: false, gate: Gate::Idle });
            }
            1 => links[i] = None,
            2 | 3 => {
                // The peer's command, its opcode in the first fragment or only in a continuation.
                let op = smp_op(&mut input);
                let op = if input.byte() & 3 == 0 { None } else { Some(op) };
                if let Some(l) = &mut links[i] {
                    let got = l.gate.admit(op, l.central);
                    assert_eq!(got, passes(l, op), "op {op:?} central {}", l.central);
                }
            }
            _ => {
                // trouble sends an SMP command on the link.
                let op = smp_op(&mut input);
                if let Some(l) = &mut links[i] {
                    l.gate.note_sent(op);
                    match op {
                        PAIRING_FAILED => l.pairing = false,
                        PAIRING_REQUEST | PAIRING_RESPONSE | SECURITY_REQUEST => l.pairing = true,
                        _ => {}
                    }
                }
            }
        }
        for l in links.iter().flatten() {
            assert_eq!(l.gate == Gate::Pairing, l.pairing);
        }
    }
});
