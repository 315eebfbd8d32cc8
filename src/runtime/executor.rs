//! One top-level future in static memory, polled by `poll()`; no heap, no executor crate.
//!
//! The future's exact size is known at compile time (`future_size`), so it is
//! placed in a static arena of that size. Every waker in the system is the
//! same static waker: waking sets a flag and asks the port to call
//! `mp_bluetooth_hci_poll()` again.
use core::cell::UnsafeCell;
use core::future::Future;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Size of the future returned by the zero-argument async fn `f`.
pub const fn future_size<F: Fn() -> Fut, Fut>(_f: &F) -> usize {
    core::mem::size_of::<Fut>()
}

/// Static storage for one future of at most `N` bytes.
#[repr(C, align(16))]
pub struct Arena<const N: usize> {
    bytes: UnsafeCell<MaybeUninit<[u8; N]>>,
    task: UnsafeCell<Option<*mut (dyn Future<Output = ()> + 'static)>>,
}

// SAFETY: the arena is only touched by `start`/`stop` and the poll, which the
// stack keeps from overlapping (see `stack::Statics`).
unsafe impl<const N: usize> Sync for Arena<N> {}

impl<const N: usize> Arena<N> {
    /// An empty arena.
    pub const fn new() -> Self {
        Self { bytes: UnsafeCell::new(MaybeUninit::uninit()), task: UnsafeCell::new(None) }
    }

    /// Places the future made by `f` in the arena (dropping any previous one).
    ///
    /// # Safety
    /// Nothing else uses the arena meanwhile (no poll, no other spawn or clear).
    pub unsafe fn spawn<F: Fn() -> Fut, Fut: Future<Output = ()> + 'static>(&self, f: F) {
        const { assert!(core::mem::align_of::<Fut>() <= 16) };
        const { assert!(core::mem::size_of::<Fut>() <= N) };
        // SAFETY: exclusive use (the caller's promise); the bytes are at least
        // as large and as aligned as `Fut` (checked above), and the old
        // future is dropped before they are reused.
        unsafe {
            self.clear();
            let slot = (*self.bytes.get()).as_mut_ptr() as *mut Fut;
            slot.write(f());
            *self.task.get() = Some(slot as *mut (dyn Future<Output = ()> + 'static));
        }
    }

    /// Drops the future, if any.
    ///
    /// # Safety
    /// As for `spawn`.
    pub unsafe fn clear(&self) {
        // SAFETY: exclusive use (the caller's promise); `task` points at the
        // live future `spawn` wrote, which is dropped once and forgotten.
        unsafe {
            if let Some(task) = (*self.task.get()).take() {
                core::ptr::drop_in_place(task);
            }
        }
    }

    /// True while a future is placed and has not completed.
    pub fn is_running(&self) -> bool {
        // SAFETY: a read of the pointer's presence; only `spawn`/`clear`
        // write it, and never while a poll (the only other reader) runs.
        unsafe { (*self.task.get()).is_some() }
    }

    /// Polls the future once; a completed future is dropped.
    ///
    /// # Safety
    /// As for `spawn`; never called re-entrantly.
    pub unsafe fn poll(&self) {
        // SAFETY: exclusive use (the caller's promise); the future lives in
        // the static arena and is never moved until `clear` drops it, so
        // pinning it in place is sound.
        unsafe {
            let Some(task) = *self.task.get() else { return };
            let waker = top_waker();
            let mut cx = Context::from_waker(&waker);
            if let Poll::Ready(()) = Pin::new_unchecked(&mut *task).poll(&mut cx) {
                self.clear();
            }
        }
    }
}

static NEEDS_POLL: AtomicBool = AtomicBool::new(false);
static IN_POLL: AtomicBool = AtomicBool::new(false);

// The flags use SeqCst: a wake from another thread just as a poll ends
// either sees IN_POLL cleared (and wakes the port) or leaves NEEDS_POLL set
// where the poll's last check sees it.

/// Takes the "poll again" flag.
pub fn take_needs_poll() -> bool {
    NEEDS_POLL.swap(false, Ordering::SeqCst)
}

/// True if a wake arrived since the flag was last taken.
pub fn needs_poll() -> bool {
    NEEDS_POLL.load(Ordering::SeqCst)
}

/// Marks the start and end of a poll, so wakes during it don't call into the port.
pub fn set_in_poll(v: bool) {
    IN_POLL.store(v, Ordering::SeqCst);
}

/// Asks for the stack to be polled (again): from any thread or context,
/// inside a poll or not.
pub fn wake() {
    // A wake already pending (its port wake-up not yet taken by a poll) covers this one.
    let pending = NEEDS_POLL.swap(true, Ordering::SeqCst);
    if !pending && !IN_POLL.load(Ordering::SeqCst) {
        super::port::wake();
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(|p| RawWaker::new(p, &VTABLE), |_| wake(), |_| wake(), |_| {});

fn top_waker() -> Waker {
    // SAFETY: the vtable's functions ignore the data pointer and are thread-safe (atomics).
    unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) }
}
