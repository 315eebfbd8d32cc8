//! The Attribute Protocol: PDU formats, the attribute table built from GATT
//! services (`db`), and the server and client state machines.
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

/// ATT's transaction timeout in milliseconds (Vol 3 Part F §3.3.3): a
/// request or indication unanswered this long makes the bearer unusable.
pub const TRANSACTION_TIMEOUT_MS: u64 = 30_000;
pub mod client;
pub mod codes;
pub mod db;
#[cfg(test)]
mod fuzz;
pub mod lists;
pub mod server;
pub mod uuid;
pub mod wire;
