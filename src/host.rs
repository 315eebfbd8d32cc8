//! trouble-host as the backend instantiates it: the controller over our
//! transport, the packet pool, the stack and its connections, and the
//! address type the stack uses for itself.
use core::future::Future;
use core::sync::atomic::{AtomicBool, Ordering};

use bt_hci::cmd::{self, AsyncCmd, SyncCmd};
use bt_hci::controller::{ControllerCmdAsync, ControllerCmdSync, ExternalController};
use bt_hci::data::{AclPacket, IsoPacket, SyncPacket};
use bt_hci::param::AddrKind;
use bt_hci::ControllerToHostPacket;
use trouble_host::prelude::{Connection, DefaultPacketPool, Stack};

use crate::config::HCI_COMMAND_SLOTS;
use crate::hci::port::HciError;
use crate::hci::transport::HciTransport;
use crate::runtime::executor;

type Inner = ExternalController<HciTransport, HCI_COMMAND_SLOTS>;

/// The controller as trouble sees it: H4 over the port's UART, bt-hci's
/// command slots, and a wake of the stack whenever a command ends.
///
/// bt-hci 0.10 parks a command that finds its opcode already in flight, or
/// no free slot, on a waker that nothing ever wakes; it went on only when
/// something else woke the stack. At start-up trouble and the backend both
/// read the controller's address, and under load `active(True)` then timed
/// out (sec_bond_restart); an advertising request waited seconds for an
/// unrelated event (gap_connect_timeout_cancel). A slot comes free only when
/// a command ends (or is dropped), so waking the stack then lets a parked
/// command take it.
pub struct Controller(Inner);

impl Controller {
    /// A controller on `transport`.
    pub fn new(transport: HciTransport) -> Self {
        Self(ExternalController::new(transport))
    }
}

/// Wakes the stack when dropped: at a command's end, or when it is given up.
struct WakeOnDrop;

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        executor::wake();
    }
}

impl embedded_io::ErrorType for Controller {
    type Error = HciError;
}

impl bt_hci::controller::Controller for Controller {
    type Buffer<'a> = <Inner as bt_hci::controller::Controller>::Buffer<'a>;

    fn alloc_buf(&self) -> Result<Self::Buffer<'_>, Self::Error> {
        self.0.alloc_buf()
    }

    fn write_acl_data(&self, packet: &AclPacket) -> impl Future<Output = Result<(), Self::Error>> {
        self.0.write_acl_data(packet)
    }

    fn write_sync_data(&self, packet: &SyncPacket) -> impl Future<Output = Result<(), Self::Error>> {
        self.0.write_sync_data(packet)
    }

    fn write_iso_data(&self, packet: &IsoPacket) -> impl Future<Output = Result<(), Self::Error>> {
        self.0.write_iso_data(packet)
    }

    fn read<'a>(
        &self,
        buf: &'a mut Self::Buffer<'_>,
    ) -> impl Future<Output = Result<ControllerToHostPacket<'a>, Self::Error>> {
        self.0.read(buf)
    }
}

impl<C: SyncCmd> ControllerCmdSync<C> for Controller
where
    Inner: ControllerCmdSync<C>,
{
    async fn exec(&self, command: &C) -> Result<C::Return, cmd::Error<Self::Error>> {
        // Dropped after the inner command (which frees its slot), whether it ends or is given up.
        let _wake = WakeOnDrop;
        let r = <Inner as ControllerCmdSync<C>>::exec(&self.0, command).await;
        r
    }
}

impl<C: AsyncCmd> ControllerCmdAsync<C> for Controller
where
    Inner: ControllerCmdAsync<C>,
{
    async fn exec(&self, command: &C) -> Result<(), cmd::Error<Self::Error>> {
        let _wake = WakeOnDrop;
        let r = <Inner as ControllerCmdAsync<C>>::exec(&self.0, command).await;
        r
    }
}
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
