//! The HCI side: H4 framing, the input filter, typed views of packets, and
//! the transport trouble reads from and the multiplexer sits on.
pub mod filter;
#[cfg(test)]
mod fuzz;
pub mod h4;
pub mod packet;
#[cfg(not(any(test, fuzzing)))]
pub mod port;
#[cfg(not(any(test, fuzzing)))]
pub mod transport;
