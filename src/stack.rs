//! The trouble-host stack in static memory and the one top-level future around it.
//!
//! `start` builds the stack and places `run()` in the arena; `poll` (the body of
//! `mp_bluetooth_hci_poll`) polls it; `stop` drops both. The poll holds no lock:
//! trouble's objects and the future are touched only by the poll (one at a
//! time), and everything shared with the C ABI is behind short critical sections.
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use embassy_futures::join::join4;
use embassy_futures::select::{select, select3};
use trouble_host::prelude::HostResources;
use trouble_host::Address;

use crate::config::{MAX_BONDS, MAX_CONNECTIONS};
use crate::events;
use crate::gap;
use crate::hci::transport::HciTransport;
use crate::host::{self, Controller, Pool, TStack};
use crate::link;
use crate::runtime::executor::{self, future_size, Arena};
use crate::runtime::time;

/// trouble's own L2CAP channels: none is ever opened (the backend serves
/// credit-based channels, and their signalling never reaches trouble), but
/// trouble needs room for one.
const TROUBLE_CHANNELS: usize = 1;

type Resources = HostResources<Pool, MAX_CONNECTIONS, TROUBLE_CHANNELS, 1, MAX_BONDS>;

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
    /// trouble's runner ended (a dead controller or a host failure): the next
    /// poll rebuilds the stack (at most `MAX_RECOVERIES` times in a row).
    Failed = 3,
}

static PHASE: AtomicU8 = AtomicU8::new(Phase::Off as u8);

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

// SAFETY: `resources` and `stack` are touched only by `start`/`stop` (when no
// poll runs: the port stops its driver first) and by the poll, which never
// runs twice at once (`POLLING`); `public_addr` only under the backend lock.
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

/// Builds the stack and its future. No poll runs; the stack is off.
pub fn start(id: Identity) {
    gap::state::reset();
    link::reset();
    link::mux::reset();
    #[cfg(feature = "l2cap")]
    crate::l2cap::coc::reset();
    // SAFETY: no poll runs (see `Statics`), so nothing else references them.
    unsafe {
        let resources = &mut *STATICS.resources.get();
        let transport = HciTransport::new(&link::mux::MUX);
        let mut builder = trouble_host::new(Controller::new(transport), resources);
        host::set_own_addr_random(id.random.is_some());
        if let Some(a) = id.random {
            builder = builder.set_random_address(Address::random(gap::to_le(a)));
        }
        let stack = (*STATICS.stack.get()).write(builder.build());
        #[cfg(feature = "pairing")]
        {
            crate::security::policy::apply(stack);
            crate::security::bonds::restore(stack);
        }
        #[cfg(not(feature = "pairing"))]
        let _ = stack;
        link::mux::set_ltk_screen(|h, ediv, rand| {
            with_running(|s| crate::security::ltk::screen(s, h, ediv, rand)).unwrap_or(true)
        });
        set_phase(Phase::Starting);
        ARENA.spawn(run);
    }
}

/// Drops the future and the stack. The port guarantees no poll is in flight.
pub fn stop() {
    if phase() == Phase::Off {
        return;
    }
    // SAFETY: no poll runs (see `Statics`); the future goes before the stack it borrows.
    unsafe {
        ARENA.clear();
        (*STATICS.stack.get()).assume_init_drop();
    }
    gap::state::reset();
    link::reset();
    link::mux::reset();
    #[cfg(feature = "l2cap")]
    crate::l2cap::coc::reset();
    set_phase(Phase::Off);
}

/// Runs `f` with the stack, unless it is off. For code called from inside its poll (the
/// transport's input filter), where nothing else holds it.
pub fn with_running<R>(f: impl FnOnce(&TStack) -> R) -> Option<R> {
    if phase() == Phase::Off {
        return None;
    }
    // SAFETY: `start` writes the stack before the phase leaves Off, and `stop` drops it
    // only with no poll in flight (and this runs inside a poll).
    Some(f(unsafe { (*STATICS.stack.get()).assume_init_ref() }))
}

/// The controller's public address, most significant byte first (valid when Ready).
pub fn public_address() -> [u8; 6] {
    // SAFETY: written only under the same lock (`run`).
    critical_section::with(|_| unsafe { *STATICS.public_addr.get() })
}

/// Set while a poll runs, so a second caller (an interrupt, a nested
/// scheduler run) returns at once instead of polling the future twice.
static POLLING: AtomicBool = AtomicBool::new(false);

/// Polls the stack until it has nothing more to do right now; returns the
/// microseconds until its next timer, if any.
pub fn poll() -> Option<u64> {
    if POLLING.swap(true, Ordering::Acquire) {
        return Some(0);
    }
    let next = poll_once();
    POLLING.store(false, Ordering::Release);
    next
}

fn poll_once() -> Option<u64> {
    if !ARENA.is_running() {
        return None;
    }
    #[cfg(feature = "pairing")]
    if phase() != Phase::Off {
        // SAFETY: the stack is built while the phase isn't Off, and only polls use it.
        crate::security::policy::apply_if_changed(unsafe { (*STATICS.stack.get()).assume_init_ref() });
    }
    executor::set_in_poll(true);
    let mut next = u64::MAX;
    // Bounded so a flood of wakes can't starve the caller.
    for _ in 0..16 {
        executor::take_needs_poll();
        // SAFETY: polls never overlap (`POLLING`), and start/stop don't run meanwhile.
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
}

async fn run() {
    // SAFETY: `start` built the stack before placing this future, and `stop`
    // drops the future before the stack.
    let stack: &'static TStack = unsafe { (*STATICS.stack.get()).assume_init_ref() };
    // trouble's transmit task waits for the end of trouble's initialisation
    // in an `OnceLock` that wakes itself at every poll: started with the
    // others, it spins the stack for as long as the controller takes to
    // answer the start-up commands. So it starts once the initialisation is
    // over, which the public address (read right after it) tells.
    let (mut rx, mut control, mut tx) = stack.runner().split();
    #[cfg(feature = "central")]
    let reports = gap::scan::ScanReports;
    // Advertising reports matter only to a scanner.
    #[cfg(not(feature = "central"))]
    let reports = NoReports;
    let app = async {
        let mut a = link::mux::public_address().await;
        a.reverse();
        // SAFETY: read only under the same lock (`public_address`).
        critical_section::with(|_| unsafe { *STATICS.public_addr.get() = a });
        RECOVERIES.store(0, Ordering::Relaxed);
        set_phase(Phase::Ready);
        let ours = join4(gap::run(stack), l2cap(), link::send::run(), crate::security::ltk::run(stack));
        select(tx.run(), ours).await;
    };
    let _ = select3(rx.run_with_handler(&reports), control.run(), app).await;
    // Only a dead controller or a host failure ends trouble's tasks.
    set_phase(Phase::Failed);
}

/// The credit-based channels' timers, if they are built.
async fn l2cap() {
    #[cfg(feature = "l2cap")]
    crate::l2cap::coc::run().await;
}

/// Drops what trouble's runner reports beyond the links (the central role's scan results).
#[cfg(not(feature = "central"))]
struct NoReports;

#[cfg(not(feature = "central"))]
impl trouble_host::prelude::EventHandler for NoReports {}

/// Asks the port to deliver queued events to Python, if any.
pub fn schedule_delivery() {
    if events::pending() {
        crate::runtime::port::schedule_delivery();
    }
}
