//! The execution model: one statically placed future, polled from
//! `mp_bluetooth_hci_poll()`, with time and locking on MicroPython primitives.
pub mod critical;
pub mod executor;
pub mod port;
pub mod time;
