//! Link slots: one task per possible connection, which reports the link to
//! Python and runs its session.
use bt_hci::param::LeConnRole;
use embassy_futures::join::join_array;

use super::Handoff;
use crate::config::MAX_CONNECTIONS;
use crate::events::{self, Event};
use crate::gatt::session;
use crate::host::Link;
use crate::link::{self, Peer};
use crate::sys;

/// Runs every link slot.
pub async fn slots(handoff: &Handoff) {
    join_array(core::array::from_fn::<_, MAX_CONNECTIONS, _>(|i| slot(i, handoff))).await;
}

/// Gives a new connection to the slot the multiplexer opened for it; one
/// nobody can serve is dropped (trouble then disconnects it).
pub fn hand_over(handoff: &Handoff, conn: Link) {
    match link::slot_of(conn.handle().raw()) {
        Some(i) => handoff[i].signal(conn),
        None => drop(conn),
    }
}

async fn slot(i: usize, handoff: &Handoff) {
    loop {
        let conn = handoff[i].wait().await;
        let handle = conn.handle().raw();
        let peer = peer(&conn);
        let up = if conn.role() == LeConnRole::Central {
            sys::MP_BLUETOOTH_IRQ_PERIPHERAL_CONNECT
        } else {
            sys::MP_BLUETOOTH_IRQ_CENTRAL_CONNECT
        };
        events::push(Event::Link { code: up as u8, handle, addr_type: peer.addr_type, addr: peer.addr });
        match link::adopt(i, handle, peer) {
            Some(gen) => {
                session::run(&conn, i, gen).await;
                link::release(i);
            }
            // Closed before its slot got to it: Python sees it come and go.
            None => peer.report_down(handle),
        }
    }
}

/// The peer as Python is told of it. As NimBLE: a bonded peer is reported by
/// its identity address, even when it connected from a resolvable private one.
fn peer(conn: &Link) -> Peer {
    let identity = conn.peer_identity().addr;
    let mut addr = identity.addr.into_inner();
    addr.reverse();
    let down_irq = if conn.role() == LeConnRole::Central {
        sys::MP_BLUETOOTH_IRQ_PERIPHERAL_DISCONNECT
    } else {
        sys::MP_BLUETOOTH_IRQ_CENTRAL_DISCONNECT
    };
    Peer { down_irq: down_irq as u8, addr_type: identity.kind.as_raw() & 1, addr }
}
