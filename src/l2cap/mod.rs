//! L2CAP: basic frames (`frame`, `reassembly`), the controller's buffers
//! shared with trouble-host (`share`), and LE credit-based channels, the
//! backend's own: the multiplexer (`link::mux`) hands `coc` every frame on a
//! dynamic channel id and the signalling commands that concern such channels;
//! trouble-host never sees them. `channels` is their state machine, `wire`
//! the signalling formats, `rx`/`tx` a channel's buffers.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
pub mod channels;
#[cfg(all(feature = "l2cap", not(any(test, fuzzing))))]
pub mod coc;
pub mod frame;
#[cfg(test)]
mod fuzz;
pub mod reassembly;
pub mod rx;
pub mod share;
pub mod tx;
pub mod wire;
