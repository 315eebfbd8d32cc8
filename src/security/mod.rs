//! The security manager's side of the backend: pairing policy from `config()`,
//! the per-link pairing dialogue with Python, and bonds kept for the
//! application (which persists them through the secrets IRQs).
//!
//! trouble-host runs SMP itself; this module decides what it is told (IO
//! capabilities, bondable, Secure Connections only), turns its connection
//! events into MicroPython's IRQs and restores bonds when the stack starts.
// Every public item carries a doc line (a project rule); the lint keeps it that way.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
// Without MicroPython's ENABLE_PAIRING_BONDING only `ltk` is built: with no
// keys, every LTK request gets its negative reply.
#[cfg(all(feature = "pairing", not(any(test, fuzzing))))]
pub mod bonds;
#[cfg(all(feature = "pairing", not(any(test, fuzzing))))]
pub mod link;
// Built on trouble-host's bond type, which the fuzz crate doesn't link; no target needs it.
#[cfg(not(fuzzing))]
pub mod ltk;
#[cfg(all(feature = "pairing", not(any(test, fuzzing))))]
pub mod policy;
pub mod record;
