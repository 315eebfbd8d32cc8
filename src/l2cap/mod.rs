//! L2CAP LE credit-based connection-oriented channels, the backend's own.
//!
//! The filter (`hci::filter`) hands this module every frame on a dynamic
//! channel id and the signalling commands that concern such channels;
//! trouble-host never sees them. `channels` is the state machine, `wire` the
//! signalling formats, `rx`/`tx` a channel's buffers.
#![warn(missing_docs)]
#[cfg(not(any(test, fuzzing)))]
pub mod bearer;
pub mod channels;
#[cfg(test)]
mod fuzz;
pub mod rx;
pub mod tx;
pub mod wire;
