//! The Generic Attribute Profile in the running stack: attribute values in
//! MicroPython's gatts db (`serve`), each link's session, the client's
//! procedures and the server's notifications. The attribute table and the ATT
//! state machines they drive are in `att`.
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
#[cfg(all(feature = "gatt-client", not(any(test, fuzzing))))]
pub mod client;
#[cfg(not(any(test, fuzzing)))]
pub mod notify;
#[cfg(not(any(test, fuzzing)))]
pub mod serve;
#[cfg(not(any(test, fuzzing)))]
pub mod session;
