//! The Generic Attribute Profile: the server's attribute database (the ATT server that serves
//! it lives in `att::server`).
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
pub mod db;
#[cfg(not(any(test, fuzzing)))]
pub mod push;
#[cfg(not(any(test, fuzzing)))]
pub mod requests;
#[cfg(not(any(test, fuzzing)))]
pub mod serve;
#[cfg(not(any(test, fuzzing)))]
pub mod session;
