//! trouble-host as the backend instantiates it: the controller over our
//! transport, the packet pool, the stack and its connections, and the
//! address type the stack uses for itself.
use core::sync::atomic::{AtomicBool, Ordering};

use bt_hci::controller::ExternalController;
use bt_hci::param::AddrKind;
use trouble_host::prelude::{Connection, DefaultPacketPool, Stack};

use crate::config::HCI_COMMAND_SLOTS;
use crate::hci::transport::HciTransport;

/// The controller as trouble sees it: H4 over the port's UART.
pub type Controller = ExternalController<HciTransport, HCI_COMMAND_SLOTS>;
/// trouble's packet pool.
pub type Pool = DefaultPacketPool;
/// The stack type used throughout the crate.
pub type TStack = Stack<'static, Controller, Pool>;
/// A connection of that stack.
pub type Link = Connection<'static, Pool>;

static OWN_ADDR_RANDOM: AtomicBool = AtomicBool::new(false);

/// The address type the stack advertises, scans and connects with.
pub fn own_addr_kind() -> AddrKind {
    if OWN_ADDR_RANDOM.load(Ordering::Relaxed) {
        AddrKind::RANDOM
    } else {
        AddrKind::PUBLIC
    }
}

/// Records whether the stack identifies with a random address (set when it is built).
pub fn set_own_addr_random(random: bool) {
    OWN_ADDR_RANDOM.store(random, Ordering::Relaxed);
}
