//! `critical-section` on MicroPython's atomic section (the port's backend lock).
use crate::sys;

struct MpCriticalSection;
critical_section::set_impl!(MpCriticalSection);

unsafe impl critical_section::Impl for MpCriticalSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        sys::mp_trouble_atomic_begin()
    }

    unsafe fn release(state: critical_section::RawRestoreState) {
        sys::mp_trouble_atomic_end(state)
    }
}
