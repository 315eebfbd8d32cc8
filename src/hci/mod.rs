//! The HCI side: H4 framing, the input filter, and the transport trouble reads from.
pub mod acl;
pub mod filter;
#[cfg(test)]
mod fuzz;
pub mod h4;
#[cfg(not(any(test, fuzzing)))]
pub mod transport;
