//! The port's HCI UART (extmod/mpbthci.h): bytes in, packets out.
use bt_hci::ReadHciError;

use crate::sys;

/// Transport failures: only a broken port write ends the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HciError {
    /// The port refused bytes.
    Write,
    /// bt-hci could not decode a packet the filter passed.
    Decode,
}

impl core::fmt::Display for HciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for HciError {}

impl embedded_io::Error for HciError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl<E: embedded_io::Error> From<ReadHciError<E>> for HciError {
    fn from(_: ReadHciError<E>) -> Self {
        HciError::Decode
    }
}

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
