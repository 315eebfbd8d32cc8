//! Link slots: one task per possible connection, reporting its life to Python.
use bt_hci::param::LeConnRole;
use embassy_futures::join::join_array;

use super::state::{LinkInfo, DISCONNECT_REQ, LINKS};
use super::Handoff;
use crate::config::MAX_CONNECTIONS;
use crate::events::{self, Event};
use crate::gatt::session;
use crate::sys;

/// Runs every link slot.
pub async fn slots(handoff: &Handoff) {
    join_array(core::array::from_fn::<_, MAX_CONNECTIONS, _>(|i| slot(i, handoff))).await;
}

async fn slot(i: usize, handoff: &Handoff) {
    loop {
        let conn = handoff.receive().await;
        DISCONNECT_REQ[i].reset();
        let handle = conn.handle().raw();
        let we_are_central = conn.role() == LeConnRole::Central;
        // As NimBLE: a bonded peer is reported by its identity address, even when
        // it connected from a resolvable private one.
        let peer = conn.peer_identity().addr;
        let mut addr = peer.addr.into_inner();
        addr.reverse();
        let addr_type = peer.kind.as_raw() & 1;
        let (up, down) = if we_are_central {
            (sys::MP_BLUETOOTH_IRQ_PERIPHERAL_CONNECT, sys::MP_BLUETOOTH_IRQ_PERIPHERAL_DISCONNECT)
        } else {
            (sys::MP_BLUETOOTH_IRQ_CENTRAL_CONNECT, sys::MP_BLUETOOTH_IRQ_CENTRAL_DISCONNECT)
        };
        let info = LinkInfo { handle, down_irq: down as u8, addr_type, addr };
        critical_section::with(|cs| LINKS.borrow(cs).borrow_mut()[i] = Some(info));
        events::push(Event::Link { code: up as u8, handle, addr_type, addr });
        session::run(&conn, i).await;
        // Not yet reported if the transport didn't see the controller's word.
        if let Some(l) = critical_section::with(|cs| LINKS.borrow(cs).borrow_mut()[i].take()) {
            l.report_down();
        }
    }
}
