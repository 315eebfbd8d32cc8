//! The L2CAP multiplexer and one state per link.
//!
//! Every connection gets one `LinkState` in one table, from the controller's
//! Connection Complete until it is closed: the frame being reassembled, the
//! ATT PDUs in and out, the server's subscriptions and MTU, the GATT client's
//! queue, the pending answers from Python and the pairing dialogue. Layers
//! above (GATT session, security glue, C ABI) read and change a link's state
//! through `with`; nothing holds it across an await, and the lock is held
//! only while a closure runs. `mux` moves frames between the transport and
//! these states, `send` cuts the queued frames into ACL packets.
//!
//! A link's close runs `on_closed` once, in HCI order, which ends everything
//! that belongs to it.
#![forbid(unsafe_code)]
pub mod gate;
#[cfg(not(any(test, fuzzing)))]
pub mod mux;
#[cfg(not(any(test, fuzzing)))]
pub mod send;
#[cfg(not(any(test, fuzzing)))]
pub mod state;
#[cfg(not(any(test, fuzzing)))]
mod table;

#[cfg(not(any(test, fuzzing)))]
pub use state::{LinkState, Peer, Phase, Request, SecurityOp};
#[cfg(not(any(test, fuzzing)))]
pub use table::*;
