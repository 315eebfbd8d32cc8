//! `critical-section` on MicroPython's atomic section (the port's backend lock).
use crate::sys;

struct MpCriticalSection;
critical_section::set_impl!(MpCriticalSection);

// SAFETY: MICROPY_BEGIN_ATOMIC_SECTION is the port's lock for exactly this
// (interrupts off on microcontrollers, a recursive mutex on unix): it nests,
// and the state it returns restores the previous level.
unsafe impl critical_section::Impl for MpCriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        // SAFETY: a plain call into the port; released by `release` with its result.
        unsafe { sys::mp_trouble_atomic_begin() }
    }

    unsafe fn release(state: critical_section::RawRestoreState) {
        // SAFETY: `state` came from the matching `acquire` (critical-section's contract).
        unsafe { sys::mp_trouble_atomic_end(state) }
    }
}
