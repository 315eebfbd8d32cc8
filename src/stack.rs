//! The trouble-host stack in static memory and the one top-level future around it.
//!
//! `start` builds the stack and places `run()` in the arena; `poll` (the body of
//! `mp_bluetooth_hci_poll`) polls it under the backend lock; `stop` drops both.
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use bt_hci::cmd::info::ReadBdAddr;
use bt_hci::controller::ExternalController;
use bt_hci::param::AddrKind;
use embassy_futures::join::join3;
use embassy_futures::select::select;
use trouble_host::prelude::{Connection, DefaultPacketPool, HostResources, Stack};
use trouble_host::Address;

use crate::config::{HCI_COMMAND_SLOTS, L2CAP_CHANNELS, MAX_BONDS, MAX_CONNECTIONS};
use crate::gap;
use crate::hci::transport::HciTransport;
use crate::runtime::executor::{self, future_size, Arena};
use crate::runtime::time;
use crate::{events, sys};

/// The controller as trouble sees it: H4 over the port's UART.
pub type Controller = ExternalController<HciTransport, HCI_COMMAND_SLOTS>;
/// trouble's packet pool.
pub type Pool = DefaultPacketPool;
/// The stack type used throughout the crate.
pub type TStack = Stack<'static, Controller, Pool>;
/// A connection of that stack.
pub type Link = Connection<'static, Pool>;
type Resources = HostResources<Pool, MAX_CONNECTIONS, L2CAP_CHANNELS, 1, MAX_BONDS>;

/// Lifecycle of the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Not running.
    Off = 0,
    /// Waiting for the controller.
    Starting = 1,
    /// Serving requests.
    Ready = 2,
    /// The controller stopped answering or the host failed; needs active(False).
    Failed = 3,
}

static PHASE: AtomicU8 = AtomicU8::new(Phase::Off as u8);
static OWN_ADDR_RANDOM: AtomicBool = AtomicBool::new(false);

/// The address type the stack advertises, scans and connects with.
pub fn own_addr_kind() -> AddrKind {
    if OWN_ADDR_RANDOM.load(Ordering::Relaxed) {
        AddrKind::RANDOM
    } else {
        AddrKind::PUBLIC
    }
}

/// Current phase.
pub fn phase() -> Phase {
    match PHASE.load(Ordering::Acquire) {
        1 => Phase::Starting,
        2 => Phase::Ready,
        3 => Phase::Failed,
        _ => Phase::Off,
    }
}

fn set_phase(p: Phase) {
    PHASE.store(p as u8, Ordering::Release);
}

struct Statics {
    resources: UnsafeCell<Resources>,
    stack: UnsafeCell<MaybeUninit<TStack>>,
    public_addr: UnsafeCell<[u8; 6]>,
}

// Only touched under the backend lock, by one poll at a time.
unsafe impl Sync for Statics {}

static STATICS: Statics = Statics {
    resources: UnsafeCell::new(HostResources::new()),
    stack: UnsafeCell::new(MaybeUninit::uninit()),
    public_addr: UnsafeCell::new([0; 6]),
};

static ARENA: Arena<{ future_size(&run) }> = Arena::new();

/// How the stack identifies itself on air.
#[derive(Clone, Copy)]
pub struct Identity {
    /// A static random address to use instead of the controller's public one.
    pub random: Option<[u8; 6]>,
}

static RECOVERIES: AtomicU8 = AtomicU8::new(0);

/// Restarts since the stack was last Ready.
pub fn recoveries() -> u8 {
    RECOVERIES.load(Ordering::Relaxed)
}

/// Forgets earlier restarts (a fresh `active(True)`).
pub fn reset_recoveries() {
    RECOVERIES.store(0, Ordering::Relaxed);
}

/// Counts a restart after a failure.
pub fn count_recovery() {
    RECOVERIES.fetch_add(1, Ordering::Relaxed);
}

/// Builds the stack and its future. Caller holds the backend lock; the stack is off.
pub fn start(id: Identity) {
    gap::state::reset();
    crate::l2cap::bearer::reset();
    unsafe {
        let resources = &mut *STATICS.resources.get();
        let mut builder = trouble_host::new(Controller::new(HciTransport::new()), resources);
        OWN_ADDR_RANDOM.store(id.random.is_some(), Ordering::Relaxed);
        if let Some(a) = id.random {
            builder = builder.set_random_address(Address::random(gap::to_le(a)));
        }
        let stack = (*STATICS.stack.get()).write(builder.build());
        crate::security::policy::apply(stack);
        crate::security::bonds::restore(stack);
        set_phase(Phase::Starting);
        ARENA.spawn(run);
    }
}

/// Drops the future and the stack. Caller holds the backend lock and the
/// port guarantees no poll is in flight.
pub fn stop() {
    if phase() == Phase::Off {
        return;
    }
    unsafe {
        ARENA.clear();
        (*STATICS.stack.get()).assume_init_drop();
    }
    gap::state::reset();
    crate::l2cap::bearer::reset();
    set_phase(Phase::Off);
}

/// Runs `f` with the stack, unless it is off. For code called from inside its poll (the
/// transport's input filter), where nothing else holds it.
pub fn with_running<R>(f: impl FnOnce(&TStack) -> R) -> Option<R> {
    if phase() == Phase::Off {
        return None;
    }
    // `start` writes the stack before the phase leaves Off, and `stop` drops it only with no
    // poll in flight.
    Some(f(unsafe { (*STATICS.stack.get()).assume_init_ref() }))
}

/// The controller's public address, most significant byte first (valid when Ready).
pub fn public_address() -> [u8; 6] {
    critical_section::with(|_| unsafe { *STATICS.public_addr.get() })
}

/// Polls the stack until it has nothing more to do right now; returns the
/// microseconds until its next timer, if any.
pub fn poll() -> Option<u64> {
    critical_section::with(|_| {
        if !ARENA.is_running() {
            return None;
        }
        if phase() != Phase::Off {
            crate::security::policy::apply_if_changed(unsafe { (*STATICS.stack.get()).assume_init_ref() });
        }
        executor::set_in_poll(true);
        let mut next = u64::MAX;
        // Bounded so a flood of wakes can't starve the caller.
        for _ in 0..16 {
            executor::take_needs_poll();
            unsafe { ARENA.poll() };
            next = time::service_timers();
            if !executor::needs_poll() {
                break;
            }
        }
        executor::set_in_poll(false);
        if executor::needs_poll() {
            return Some(0);
        }
        time::until(next)
    })
}

async fn run() {
    let stack: &'static TStack = unsafe { (*STATICS.stack.get()).assume_init_ref() };
    let mut runner = stack.runner();
    let reports = gap::scan::ScanReports;
    let app = async {
        let Ok(addr) = stack.command(ReadBdAddr::new()).await else { return };
        let mut a = addr.into_inner();
        a.reverse();
        critical_section::with(|_| unsafe { *STATICS.public_addr.get() = a });
        RECOVERIES.store(0, Ordering::Relaxed);
        set_phase(Phase::Ready);
        join3(gap::run(stack), crate::l2cap::bearer::run(), crate::security::ltk::run(stack)).await;
    };
    let _ = select(runner.run_with_handler(&reports), app).await;
    // Only a dead controller or a host failure ends the runner.
    set_phase(Phase::Failed);
}

/// Asks the port to deliver queued events to Python, if any.
pub fn schedule_delivery() {
    if events::pending() {
        unsafe { sys::mp_trouble_port_schedule_delivery() };
    }
}
