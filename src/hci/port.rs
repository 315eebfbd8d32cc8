//! The port's HCI UART (extmod/mpbthci.h): bytes in, packets out.
use super::transport::HciError;
use crate::sys;

/// The next byte from the controller, if one is waiting.
pub fn read_byte() -> Option<u8> {
    // SAFETY: a plain C function of the port; no pointers cross.
    let c = unsafe { sys::mp_bluetooth_hci_uart_readchar() };
    u8::try_from(c).ok()
}

/// Sends a whole H4 packet (indicator included) to the controller.
pub fn write(bytes: &[u8]) -> Result<(), HciError> {
    // SAFETY: the port reads `len` bytes from `bytes`, which outlives the call.
    if unsafe { sys::mp_bluetooth_hci_uart_write(bytes.as_ptr(), bytes.len()) } < 0 {
        Err(HciError::Write)
    } else {
        Ok(())
    }
}
