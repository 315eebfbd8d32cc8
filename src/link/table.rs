//! The link table: every slot's `LinkState`, and the one place that opens
//! and closes a link.
use core::cell::RefCell;

use critical_section::Mutex;

use super::state::{LinkState, Peer, Phase};
use crate::config::MAX_CONNECTIONS;

/// Every link slot (the multiplexer reaches in directly for the packets it routes).
pub(super) static LINKS: Mutex<RefCell<[LinkState; MAX_CONNECTIONS]>> =
    Mutex::new(RefCell::new([const { LinkState::new() }; MAX_CONNECTIONS]));

/// Runs `f` on the open link `handle` (under the lock); None if there is none.
pub fn with<R>(handle: u16, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
    critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        links.iter_mut().find(|l| l.phase == Phase::Open && l.handle == handle).map(f)
    })
}

/// Runs `f` on the state in `slot`, whatever its phase (for its session).
pub fn with_slot<R>(slot: usize, f: impl FnOnce(&mut LinkState) -> R) -> Option<R> {
    critical_section::with(|cs| LINKS.borrow(cs).borrow_mut().get_mut(slot).map(f))
}

/// Runs `f` on every slot in turn (under the lock).
pub fn each(mut f: impl FnMut(usize, &mut LinkState)) {
    critical_section::with(|cs| {
        for (i, l) in LINKS.borrow(cs).borrow_mut().iter_mut().enumerate() {
            f(i, l)
        }
    })
}

/// The slot of the open link `handle`.
pub fn slot_of(handle: u16) -> Option<usize> {
    critical_section::with(|cs| {
        LINKS.borrow(cs).borrow().iter().position(|l| l.phase == Phase::Open && l.handle == handle)
    })
}

/// Open links (reported to Python or about to be).
pub fn count() -> usize {
    critical_section::with(|cs| LINKS.borrow(cs).borrow().iter().filter(|l| l.phase == Phase::Open).count())
}

/// The controller announced a link: it gets a slot (false if none is free,
/// and the link is then served by nobody: its session never starts and
/// trouble drops it).
pub fn open(handle: u16, central: bool) -> bool {
    critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        match links.iter_mut().find(|l| l.phase == Phase::Free) {
            Some(l) => {
                l.open(handle, central);
                true
            }
            None => false,
        }
    })
}

/// The session task of `slot` takes the link `handle`, whose CONNECT was
/// just reported: its DISCONNECT is owed from now on. Returns the link's
/// generation, or None if the link closed before (or the slot serves another).
pub fn adopt(slot: usize, handle: u16, peer: Peer) -> Option<u16> {
    with_slot(slot, |l| {
        if l.phase != Phase::Open || l.handle != handle || l.adopted {
            return None;
        }
        l.adopted = true;
        l.peer = Some(peer);
        Some(l.gen)
    })
    .flatten()
}

/// The controller reported the link closed. Everything of it ends here, in
/// HCI order: its channels, its pending work, and (if Python knew of it) its
/// DISCONNECT event, so a new link that reuses the handle is reported after.
/// The slot is free once its session (if any) has ended.
pub fn on_closed(handle: u16) {
    let peer = critical_section::with(|cs| {
        let mut links = LINKS.borrow(cs).borrow_mut();
        let l = links.iter_mut().find(|l| l.phase == Phase::Open && l.handle == handle)?;
        Some(l.close())
    });
    #[cfg(feature = "l2cap")]
    crate::l2cap::coc::link_closed(handle);
    if let Some(Some(p)) = peer {
        p.report_down(handle);
    }
}

/// The session of `slot` ended: the slot may serve a new link. A link Python
/// was told about and whose close the controller never reported (the stack
/// is being torn down) is reported down here.
pub fn release(slot: usize) {
    let left = with_slot(slot, |l| {
        let r = if l.phase == Phase::Open { l.close().map(|p| (l.handle, p)) } else { None };
        l.phase = Phase::Free;
        r
    });
    if let Some(Some((handle, p))) = left {
        p.report_down(handle);
    }
}

/// Forgets every link (the stack was switched off).
pub fn reset() {
    each(|_, l| l.clear());
}

/// Reports every link Python knows of as lost and forgets them (the stack is
/// being rebuilt after a failure).
pub fn report_all_lost() {
    let mut down = heapless::Vec::<(u16, Peer), MAX_CONNECTIONS>::new();
    each(|_, l| {
        if let Some(p) = l.close() {
            let _ = down.push((l.handle, p));
        }
        l.phase = Phase::Free;
    });
    for (handle, p) in down {
        p.report_down(handle);
    }
}
