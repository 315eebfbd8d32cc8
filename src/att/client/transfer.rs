//! Reading and writing values (Part G §4.8, §4.9): long reads with Read Blob, long writes with
//! Prepare Write and Execute Write, and writes without response.

use super::{
    emit, ClientLink, Error, Output, State, Step, MAX_VALUE_LEN, STATUS_ECHO_MISMATCH, STATUS_INVALID_RESPONSE,
};
use crate::att::codes::ErrorCode;
use crate::att::wire::Pdu;

/// Bytes of header in a Write Request or Command: opcode and handle.
const WRITE_HEADER: usize = 3;
/// Bytes of header in a Prepare Write Request: opcode, handle and offset.
const PREPARE_HEADER: usize = 5;

/// Writes the first PDU of a write and sets the state it leaves (see [`ClientLink::start`]).
pub(super) fn start_write(
    link: &mut ClientLink,
    handle: u16,
    value: &[u8],
    with_response: bool,
    out: &mut [u8],
) -> Result<usize, Error> {
    let mtu = usize::from(link.mtu);
    let fits = mtu - WRITE_HEADER;
    if !with_response {
        // A Write Command has no long form: whatever doesn't fit is cut (Part G §4.9.1).
        let value = value.get(..fits).unwrap_or(value);
        return emit(Pdu::WriteCmd { handle, value }, out, link.mtu).ok_or(Error::BufferTooSmall);
    }
    if value.len() <= fits {
        let n = emit(Pdu::WriteReq { handle, value }, out, link.mtu).ok_or(Error::BufferTooSmall)?;
        link.state = State::WriteReq;
        return Ok(n);
    }
    // Offsets are 16-bit, but no attribute value may exceed 512 bytes anyway (Part F §3.2.9).
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::InvalidLength);
    }
    let part = value.len().min(mtu - PREPARE_HEADER);
    let first = value.get(..part).ok_or(Error::InvalidLength)?;
    let n =
        emit(Pdu::PrepareWriteReq { handle, offset: 0, value: first }, out, link.mtu).ok_or(Error::BufferTooSmall)?;
    // Both fit in u16: the value is at most 512 bytes.
    link.state = State::Prepare { handle, len: value.len() as u16, offset: 0, part: part as u16 };
    Ok(n)
}

/// Cancels a long write's queued parts (Execute Write, flags 0); `status` is reported after.
pub(super) fn cancel(link: &mut ClientLink, status: u16, out: &mut [u8]) -> Step {
    match emit(Pdu::ExecuteWriteReq { commit: false }, out, link.mtu) {
        Some(n) => {
            link.state = State::Execute { commit: false, status };
            Step::Send(n)
        }
        None => Step::Finish(status),
    }
}

impl ClientLink {
    /// A Read or Read Blob Response carrying the value from offset `got`, for a request sent
    /// under MTU `sent_mtu`.
    pub(super) fn read_chunk(
        &mut self,
        handle: u16,
        got: u16,
        sent_mtu: u16,
        data: &[u8],
        out: &mut [u8],
        emit_out: &mut dyn FnMut(Output<'_>),
    ) -> Step {
        // The server fills a response to ATT_MTU-1 when more follows (Part F §3.4.4.4). The
        // MTU may have changed while the request was out, so the smaller of the two counts as
        // full and the larger bounds what a response may hold: stopping early would cut the
        // value silently, while one read too many just returns nothing.
        let full = usize::from(sent_mtu.min(self.mtu)) - 1;
        if data.len() > usize::from(sent_mtu.max(self.mtu)) - 1 {
            return Step::Finish(STATUS_INVALID_RESPONSE);
        }
        let room = MAX_VALUE_LEN.saturating_sub(usize::from(got));
        let chunk = data.get(..room).unwrap_or(data);
        if !chunk.is_empty() {
            emit_out(Output::ReadChunk { data: chunk });
        }
        // At most 512 in all, so it fits.
        let got = got + chunk.len() as u16;
        if data.len() < full || usize::from(got) >= MAX_VALUE_LEN {
            return Step::Finish(0);
        }
        match emit(Pdu::ReadBlobReq { handle, offset: got }, out, self.mtu) {
            Some(n) => {
                self.state = State::Read { handle, got, mtu: self.mtu };
                Step::Send(n)
            }
            None => Step::Finish(u16::from(ErrorCode::UNLIKELY_ERROR.0)),
        }
    }

    /// A Prepare Write Response to the part `value[offset..offset + part]`: it must echo the
    /// request exactly (Part G §4.9.4); then the next part goes out, or the Execute Write.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn prepared(
        &mut self,
        handle: u16,
        len: u16,
        offset: u16,
        part: u16,
        echo: (u16, u16, &[u8]),
        value: &[u8],
        out: &mut [u8],
    ) -> Step {
        let (start, len_all) = (usize::from(offset), usize::from(len));
        let sent = value.get(start..start + usize::from(part));
        if echo.0 != handle || echo.1 != offset || sent != Some(echo.2) {
            return cancel(self, STATUS_ECHO_MISMATCH, out);
        }
        let offset = start + usize::from(part);
        if offset >= len_all {
            return match emit(Pdu::ExecuteWriteReq { commit: true }, out, self.mtu) {
                Some(n) => {
                    self.state = State::Execute { commit: true, status: 0 };
                    Step::Send(n)
                }
                None => cancel(self, u16::from(ErrorCode::UNLIKELY_ERROR.0), out),
            };
        }
        let part = (len_all - offset).min(usize::from(self.mtu) - PREPARE_HEADER);
        // The caller hands in the same value every time; if it didn't, give up cleanly.
        let Some(next) = value.get(offset..offset + part) else {
            return cancel(self, u16::from(ErrorCode::UNLIKELY_ERROR.0), out);
        };
        // Offsets and parts stay below the 512-byte limit checked at the start.
        let offset = offset as u16;
        match emit(Pdu::PrepareWriteReq { handle, offset, value: next }, out, self.mtu) {
            Some(n) => {
                self.state = State::Prepare { handle, len, offset, part: part as u16 };
                Step::Send(n)
            }
            None => cancel(self, u16::from(ErrorCode::UNLIKELY_ERROR.0), out),
        }
    }
}
