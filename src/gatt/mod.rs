//! The Generic Attribute Profile: the server's attribute database (the ATT server that serves
//! it lives in `att::server`).
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
pub mod db;
#[cfg(not(test))]
pub mod client;
#[cfg(not(test))]
pub mod notify;
#[cfg(not(test))]
pub mod serve;
#[cfg(not(test))]
pub mod session;
