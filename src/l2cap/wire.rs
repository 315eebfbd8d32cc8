//! LE signalling commands for credit-based channels (Vol 3 Part A §4), parse and emit.
//!
//! Only the commands the backend answers itself are here; everything else on
//! the signalling channel (connection parameter updates) stays trouble-host's.

/// The LE signalling channel.
pub const CID_SIGNALLING: u16 = 0x0005;
/// First and last channel id of the LE dynamic range.
pub const CID_DYNAMIC: core::ops::RangeInclusive<u16> = 0x0040..=0x007f;

const CODE_COMMAND_REJECT: u8 = 0x01;
const CODE_DISCONNECT_REQ: u8 = 0x06;
const CODE_DISCONNECT_RSP: u8 = 0x07;
const CODE_CONNECT_REQ: u8 = 0x14;
const CODE_CONNECT_RSP: u8 = 0x15;
const CODE_CREDITS: u8 = 0x16;

/// Result codes of an LE Credit Based Connection Response (Vol 3 Part A §4.23).
pub mod result {
    /// Connection successful.
    pub const SUCCESS: u16 = 0x0000;
    /// SPSM not supported.
    pub const PSM_NOT_SUPPORTED: u16 = 0x0002;
    /// No resources available.
    pub const NO_RESOURCES: u16 = 0x0004;
    /// Insufficient authentication.
    pub const INSUFFICIENT_AUTHENTICATION: u16 = 0x0005;
    /// Invalid Source CID.
    pub const INVALID_SOURCE_CID: u16 = 0x0009;
    /// Source CID already allocated.
    pub const SOURCE_CID_IN_USE: u16 = 0x000a;
    /// Unacceptable parameters.
    pub const UNACCEPTABLE_PARAMETERS: u16 = 0x000b;
}

/// Reasons of a Command Reject.
pub mod reject {
    /// Command not understood.
    pub const NOT_UNDERSTOOD: u16 = 0x0000;
    /// Invalid CID in request.
    pub const INVALID_CID: u16 = 0x0002;
}

/// One signalling command, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Command Reject.
    CommandReject {
        /// Why.
        reason: u16,
    },
    /// LE Credit Based Connection Request.
    ConnectReq {
        /// Protocol/service multiplexer.
        psm: u16,
        /// The requester's channel id.
        scid: u16,
        /// Largest SDU the requester accepts.
        mtu: u16,
        /// Largest K-frame payload the requester accepts.
        mps: u16,
        /// K-frames the requester lets us send.
        credits: u16,
    },
    /// LE Credit Based Connection Response.
    ConnectRsp {
        /// The responder's channel id.
        dcid: u16,
        /// Largest SDU the responder accepts.
        mtu: u16,
        /// Largest K-frame payload the responder accepts.
        mps: u16,
        /// K-frames the responder lets us send.
        credits: u16,
        /// `result::*`.
        result: u16,
    },
    /// LE Flow Control Credit Indication.
    Credits {
        /// The channel id of the sender of the indication (its receive side).
        cid: u16,
        /// Credits added.
        credits: u16,
    },
    /// Disconnection Request.
    DisconnectReq {
        /// The receiver's channel id.
        dcid: u16,
        /// The sender's channel id.
        scid: u16,
    },
    /// Disconnection Response.
    DisconnectRsp {
        /// The responder's channel id.
        dcid: u16,
        /// The requester's channel id.
        scid: u16,
    },
}

/// Why a signalling frame could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than its header or than the command's fixed fields.
    Truncated,
    /// Not one of the commands above.
    Unknown,
}

/// Whether a signalling frame's command is one of ours (the byte after the L2CAP header).
pub fn is_ours(code: u8) -> bool {
    matches!(
        code,
        CODE_COMMAND_REJECT
            | CODE_DISCONNECT_REQ
            | CODE_DISCONNECT_RSP
            | CODE_CONNECT_REQ
            | CODE_CONNECT_RSP
            | CODE_CREDITS
    )
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses one command (the frame's payload): returns its identifier and the command.
pub fn parse(frame: &[u8]) -> Result<(u8, Signal), Malformed> {
    let (&code, &ident) = (frame.first().ok_or(Malformed::Truncated)?, frame.get(1).ok_or(Malformed::Truncated)?);
    let len = u16_at(frame, 2).ok_or(Malformed::Truncated)? as usize;
    let data = frame.get(4..4 + len).ok_or(Malformed::Truncated)?;
    let f = |i: usize| u16_at(data, 2 * i).ok_or(Malformed::Truncated);
    let signal = match code {
        CODE_COMMAND_REJECT => Signal::CommandReject { reason: f(0)? },
        CODE_CONNECT_REQ => Signal::ConnectReq { psm: f(0)?, scid: f(1)?, mtu: f(2)?, mps: f(3)?, credits: f(4)? },
        CODE_CONNECT_RSP => Signal::ConnectRsp { dcid: f(0)?, mtu: f(1)?, mps: f(2)?, credits: f(3)?, result: f(4)? },
        CODE_CREDITS => Signal::Credits { cid: f(0)?, credits: f(1)? },
        CODE_DISCONNECT_REQ => Signal::DisconnectReq { dcid: f(0)?, scid: f(1)? },
        CODE_DISCONNECT_RSP => Signal::DisconnectRsp { dcid: f(0)?, scid: f(1)? },
        _ => return Err(Malformed::Unknown),
    };
    Ok((ident, signal))
}

/// Longest command emitted (a connection request or response).
pub const SIGNAL_MAX: usize = 14;

/// Writes one command (without the L2CAP header) into `out`; returns its length.
pub fn emit(ident: u8, s: &Signal, out: &mut [u8; SIGNAL_MAX]) -> usize {
    let (code, fields): (u8, heapless::Vec<u16, 5>) = match *s {
        Signal::CommandReject { reason } => (CODE_COMMAND_REJECT, [reason].into_iter().collect()),
        Signal::ConnectReq { psm, scid, mtu, mps, credits } => {
            (CODE_CONNECT_REQ, [psm, scid, mtu, mps, credits].into_iter().collect())
        }
        Signal::ConnectRsp { dcid, mtu, mps, credits, result } => {
            (CODE_CONNECT_RSP, [dcid, mtu, mps, credits, result].into_iter().collect())
        }
        Signal::Credits { cid, credits } => (CODE_CREDITS, [cid, credits].into_iter().collect()),
        Signal::DisconnectReq { dcid, scid } => (CODE_DISCONNECT_REQ, [dcid, scid].into_iter().collect()),
        Signal::DisconnectRsp { dcid, scid } => (CODE_DISCONNECT_RSP, [dcid, scid].into_iter().collect()),
    };
    out[0] = code;
    out[1] = ident;
    out[2..4].copy_from_slice(&(2 * fields.len() as u16).to_le_bytes());
    for (i, v) in fields.iter().enumerate() {
        out[4 + 2 * i..6 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    4 + 2 * fields.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips() {
        let all = [
            Signal::CommandReject { reason: reject::INVALID_CID },
            Signal::ConnectReq { psm: 0x80, scid: 0x40, mtu: 512, mps: 247, credits: 10 },
            Signal::ConnectRsp { dcid: 0x41, mtu: 450, mps: 100, credits: 3, result: result::SUCCESS },
            Signal::Credits { cid: 0x40, credits: 7 },
            Signal::DisconnectReq { dcid: 0x40, scid: 0x41 },
            Signal::DisconnectRsp { dcid: 0x40, scid: 0x41 },
        ];
        for (i, s) in all.iter().enumerate() {
            let mut out = [0u8; SIGNAL_MAX];
            let n = emit(i as u8 + 1, s, &mut out);
            assert!(is_ours(out[0]));
            assert_eq!(parse(&out[..n]), Ok((i as u8 + 1, *s)));
            // Every truncation is refused, never misread.
            for cut in 0..n {
                assert_eq!(parse(&out[..cut]), Err(Malformed::Truncated));
            }
        }
    }

    #[test]
    fn known_bytes() {
        // LE Credit Based Connection Request: PSM 0x25, SCID 0x40, MTU 23, MPS 23, 1 credit.
        let req = [0x14, 1, 10, 0, 0x25, 0, 0x40, 0, 23, 0, 23, 0, 1, 0];
        assert_eq!(parse(&req), Ok((1, Signal::ConnectReq { psm: 0x25, scid: 0x40, mtu: 23, mps: 23, credits: 1 })));
        // A length field shorter than the command's fields is truncated too.
        let short = [0x16, 2, 2, 0, 0x40, 0, 5, 0];
        assert_eq!(parse(&short), Err(Malformed::Truncated));
        assert_eq!(parse(&[0x12, 1, 0, 0]), Err(Malformed::Unknown));
        assert!(!is_ours(0x12) && !is_ours(0x13));
    }
}
