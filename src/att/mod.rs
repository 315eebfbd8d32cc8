//! The Attribute Protocol: PDU formats shared by the GATT server and client.
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
#[cfg(not(any(test, fuzzing)))]
pub mod bearer;
pub mod client;
pub mod codes;
#[cfg(test)]
mod fuzz;
pub mod lists;
pub mod reassembly;
pub mod server;
pub mod uuid;
pub mod wire;
