//! Attribute Protocol PDU formats (Core v5.4 Vol 3 Part F §3.4), as pure functions over bytes.
//!
//! [`Pdu::parse`] turns one received PDU (the whole L2CAP payload on the ATT channel) into a
//! [`Pdu`] that borrows value bytes from the input; [`Pdu::emit`] writes one into a caller's
//! buffer. Parsing checks structure only: handle ranges, MTU limits and permissions are the
//! server's and client's business, because the spec answers those with an Error Response that
//! names a handle, not with "Invalid PDU". Nothing here indexes input with `[]`, so malformed
//! bytes give an [`Error`], never a panic.

pub use super::codes::{ErrorCode, Kind, Opcode};
pub use super::lists::{
    AttributeData, Format, GroupData, HandleLengthValues, HandleSet, HandlesInformation, InformationData, LengthValue,
    LengthValues,
};
pub use super::uuid::Uuid;

/// Why bytes could not be parsed, or a PDU could not be emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The PDU ends before a field or list entry it needs.
    Truncated,
    /// The PDU has bytes after its last field, or a field with a value the spec rules out.
    Invalid,
    /// An opcode this module doesn't know; a server answers "Request Not Supported" unless
    /// [`Opcode::is_command`] says it may silently ignore it.
    UnknownOpcode(Opcode),
    /// The output buffer is shorter than [`Pdu::buffer_len`].
    BufferTooSmall,
}

/// One parsed ATT PDU; slices borrow from the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// Error Response (0x01): the request that failed, the handle concerned and why.
    ErrorRsp {
        /// Opcode of the request that failed.
        request: Opcode,
        /// The handle that caused the error, 0 if none.
        handle: u16,
        /// What went wrong.
        code: ErrorCode,
    },
    /// Exchange MTU Request (0x02) with the client's receive MTU.
    ExchangeMtuReq {
        /// The client's receive MTU.
        mtu: u16,
    },
    /// Exchange MTU Response (0x03) with the server's receive MTU.
    ExchangeMtuRsp {
        /// The server's receive MTU.
        mtu: u16,
    },
    /// Find Information Request (0x04) over a handle range.
    FindInformationReq {
        /// First handle of the range.
        start: u16,
        /// Last handle of the range.
        end: u16,
    },
    /// Find Information Response (0x05): (handle, type) pairs.
    FindInformationRsp(InformationData<'a>),
    /// Find By Type Value Request (0x06): attributes of a 16-bit type whose value matches.
    FindByTypeValueReq {
        /// First handle of the range.
        start: u16,
        /// Last handle of the range.
        end: u16,
        /// The attribute type; the format only has room for a 16-bit UUID.
        attribute_type: u16,
        /// The value to match.
        value: &'a [u8],
    },
    /// Find By Type Value Response (0x07): (found handle, group end handle) pairs.
    FindByTypeValueRsp(HandlesInformation<'a>),
    /// Read By Type Request (0x08).
    ReadByTypeReq {
        /// First handle of the range.
        start: u16,
        /// Last handle of the range.
        end: u16,
        /// The attribute type to read.
        attribute_type: Uuid,
    },
    /// Read By Type Response (0x09): (handle, value) pairs of one length.
    ReadByTypeRsp(AttributeData<'a>),
    /// Read Request (0x0A).
    ReadReq {
        /// The attribute to read.
        handle: u16,
    },
    /// Read Response (0x0B).
    ReadRsp {
        /// The value, or its first ATT_MTU-1 bytes.
        value: &'a [u8],
    },
    /// Read Blob Request (0x0C).
    ReadBlobReq {
        /// The attribute to read.
        handle: u16,
        /// Where in the value to start.
        offset: u16,
    },
    /// Read Blob Response (0x0D).
    ReadBlobRsp {
        /// The part of the value from the requested offset.
        value: &'a [u8],
    },
    /// Read Multiple Request (0x0E).
    ReadMultipleReq(HandleSet<'a>),
    /// Read Multiple Response (0x0F): the values concatenated, which only the client can split.
    ReadMultipleRsp {
        /// The concatenated values.
        values: &'a [u8],
    },
    /// Read By Group Type Request (0x10).
    ReadByGroupTypeReq {
        /// First handle of the range.
        start: u16,
        /// Last handle of the range.
        end: u16,
        /// The grouping type (e.g. Primary Service).
        group_type: Uuid,
    },
    /// Read By Group Type Response (0x11): (start, end, value) triples of one length.
    ReadByGroupTypeRsp(GroupData<'a>),
    /// Write Request (0x12).
    WriteReq {
        /// The attribute to write.
        handle: u16,
        /// The new value.
        value: &'a [u8],
    },
    /// Write Response (0x13).
    WriteRsp,
    /// Write Command (0x52): a write without response.
    WriteCmd {
        /// The attribute to write.
        handle: u16,
        /// The new value.
        value: &'a [u8],
    },
    /// Signed Write Command (0xD2): a write without response carrying a CSRK signature.
    SignedWriteCmd {
        /// The attribute to write.
        handle: u16,
        /// The new value.
        value: &'a [u8],
        /// The authentication signature (sign counter and MAC), verified by the security layer.
        signature: &'a [u8; 12],
    },
    /// Prepare Write Request (0x16): queue one part of a long or reliable write.
    PrepareWriteReq {
        /// The attribute to write.
        handle: u16,
        /// Where in the value this part goes.
        offset: u16,
        /// The part.
        value: &'a [u8],
    },
    /// Prepare Write Response (0x17): echoes the request so the client can check it.
    PrepareWriteRsp {
        /// The attribute being written.
        handle: u16,
        /// Where in the value this part goes.
        offset: u16,
        /// The part, as the server queued it.
        value: &'a [u8],
    },
    /// Execute Write Request (0x18).
    ExecuteWriteReq {
        /// True (flags 0x01) to write the queued parts, false (0x00) to discard them.
        commit: bool,
    },
    /// Execute Write Response (0x19).
    ExecuteWriteRsp,
    /// Handle Value Notification (0x1B).
    HandleValueNtf {
        /// The attribute notified.
        handle: u16,
        /// Its value, or its first ATT_MTU-3 bytes.
        value: &'a [u8],
    },
    /// Handle Value Indication (0x1D).
    HandleValueInd {
        /// The attribute indicated.
        handle: u16,
        /// Its value, or its first ATT_MTU-3 bytes.
        value: &'a [u8],
    },
    /// Handle Value Confirmation (0x1E).
    HandleValueCfm,
    /// Read Multiple Variable Request (0x20).
    ReadMultipleVariableReq(HandleSet<'a>),
    /// Read Multiple Variable Response (0x21): (length, value) tuples.
    ReadMultipleVariableRsp(LengthValues<'a>),
    /// Multiple Handle Value Notification (0x23): (handle, length, value) tuples.
    MultipleHandleValueNtf(HandleLengthValues<'a>),
}

impl<'a> Pdu<'a> {
    /// Parses one whole PDU; trailing bytes after a fixed-size PDU are [`Error::Invalid`].
    pub fn parse(bytes: &'a [u8]) -> Result<Pdu<'a>, Error> {
        let (&op, params) = bytes.split_first().ok_or(Error::Truncated)?;
        let mut r = Reader(params);
        let pdu = match Opcode(op) {
            Opcode::ERROR_RSP => Pdu::ErrorRsp { request: Opcode(r.u8()?), handle: r.u16()?, code: ErrorCode(r.u8()?) },
            Opcode::EXCHANGE_MTU_REQ => Pdu::ExchangeMtuReq { mtu: r.u16()? },
            Opcode::EXCHANGE_MTU_RSP => Pdu::ExchangeMtuRsp { mtu: r.u16()? },
            Opcode::FIND_INFORMATION_REQ => Pdu::FindInformationReq { start: r.u16()?, end: r.u16()? },
            Opcode::FIND_INFORMATION_RSP => {
                let format = match r.u8()? {
                    0x01 => Format::Uuid16,
                    0x02 => Format::Uuid128,
                    _ => return Err(Error::Invalid),
                };
                Pdu::FindInformationRsp(InformationData::new(format, r.rest())?)
            }
            Opcode::FIND_BY_TYPE_VALUE_REQ => {
                Pdu::FindByTypeValueReq { start: r.u16()?, end: r.u16()?, attribute_type: r.u16()?, value: r.rest() }
            }
            Opcode::FIND_BY_TYPE_VALUE_RSP => Pdu::FindByTypeValueRsp(HandlesInformation::new(r.rest())?),
            Opcode::READ_BY_TYPE_REQ => {
                Pdu::ReadByTypeReq { start: r.u16()?, end: r.u16()?, attribute_type: r.uuid_rest()? }
            }
            Opcode::READ_BY_TYPE_RSP => Pdu::ReadByTypeRsp(AttributeData::new(r.u8()?, r.rest())?),
            Opcode::READ_REQ => Pdu::ReadReq { handle: r.u16()? },
            Opcode::READ_RSP => Pdu::ReadRsp { value: r.rest() },
            Opcode::READ_BLOB_REQ => Pdu::ReadBlobReq { handle: r.u16()?, offset: r.u16()? },
            Opcode::READ_BLOB_RSP => Pdu::ReadBlobRsp { value: r.rest() },
            Opcode::READ_MULTIPLE_REQ => Pdu::ReadMultipleReq(HandleSet::new(r.rest())?),
            Opcode::READ_MULTIPLE_RSP => Pdu::ReadMultipleRsp { values: r.rest() },
            Opcode::READ_BY_GROUP_TYPE_REQ => {
                Pdu::ReadByGroupTypeReq { start: r.u16()?, end: r.u16()?, group_type: r.uuid_rest()? }
            }
            Opcode::READ_BY_GROUP_TYPE_RSP => Pdu::ReadByGroupTypeRsp(GroupData::new(r.u8()?, r.rest())?),
            Opcode::WRITE_REQ => Pdu::WriteReq { handle: r.u16()?, value: r.rest() },
            Opcode::WRITE_RSP => Pdu::WriteRsp,
            Opcode::WRITE_CMD => Pdu::WriteCmd { handle: r.u16()?, value: r.rest() },
            Opcode::SIGNED_WRITE_CMD => {
                let handle = r.u16()?;
                // The signature is the last 12 bytes; whatever lies between is the value.
                let rest = r.rest();
                let split = rest.len().checked_sub(12).ok_or(Error::Truncated)?;
                let (value, sig) = rest.split_at_checked(split).ok_or(Error::Truncated)?;
                Pdu::SignedWriteCmd { handle, value, signature: sig.try_into().map_err(|_| Error::Truncated)? }
            }
            Opcode::PREPARE_WRITE_REQ => Pdu::PrepareWriteReq { handle: r.u16()?, offset: r.u16()?, value: r.rest() },
            Opcode::PREPARE_WRITE_RSP => Pdu::PrepareWriteRsp { handle: r.u16()?, offset: r.u16()?, value: r.rest() },
            Opcode::EXECUTE_WRITE_REQ => Pdu::ExecuteWriteReq {
                commit: match r.u8()? {
                    0x00 => false,
                    0x01 => true,
                    _ => return Err(Error::Invalid),
                },
            },
            Opcode::EXECUTE_WRITE_RSP => Pdu::ExecuteWriteRsp,
            Opcode::HANDLE_VALUE_NTF => Pdu::HandleValueNtf { handle: r.u16()?, value: r.rest() },
            Opcode::HANDLE_VALUE_IND => Pdu::HandleValueInd { handle: r.u16()?, value: r.rest() },
            Opcode::HANDLE_VALUE_CFM => Pdu::HandleValueCfm,
            Opcode::READ_MULTIPLE_VARIABLE_REQ => Pdu::ReadMultipleVariableReq(HandleSet::new(r.rest())?),
            Opcode::READ_MULTIPLE_VARIABLE_RSP => Pdu::ReadMultipleVariableRsp(LengthValues::new(r.rest())),
            Opcode::MULTIPLE_HANDLE_VALUE_NTF => Pdu::MultipleHandleValueNtf(HandleLengthValues::new(r.rest())?),
            other => return Err(Error::UnknownOpcode(other)),
        };
        if !r.0.is_empty() {
            return Err(Error::Invalid);
        }
        Ok(pdu)
    }

    /// The opcode this PDU is sent with.
    pub const fn opcode(&self) -> Opcode {
        match self {
            Pdu::ErrorRsp { .. } => Opcode::ERROR_RSP,
            Pdu::ExchangeMtuReq { .. } => Opcode::EXCHANGE_MTU_REQ,
            Pdu::ExchangeMtuRsp { .. } => Opcode::EXCHANGE_MTU_RSP,
            Pdu::FindInformationReq { .. } => Opcode::FIND_INFORMATION_REQ,
            Pdu::FindInformationRsp(_) => Opcode::FIND_INFORMATION_RSP,
            Pdu::FindByTypeValueReq { .. } => Opcode::FIND_BY_TYPE_VALUE_REQ,
            Pdu::FindByTypeValueRsp(_) => Opcode::FIND_BY_TYPE_VALUE_RSP,
            Pdu::ReadByTypeReq { .. } => Opcode::READ_BY_TYPE_REQ,
            Pdu::ReadByTypeRsp(_) => Opcode::READ_BY_TYPE_RSP,
            Pdu::ReadReq { .. } => Opcode::READ_REQ,
            Pdu::ReadRsp { .. } => Opcode::READ_RSP,
            Pdu::ReadBlobReq { .. } => Opcode::READ_BLOB_REQ,
            Pdu::ReadBlobRsp { .. } => Opcode::READ_BLOB_RSP,
            Pdu::ReadMultipleReq(_) => Opcode::READ_MULTIPLE_REQ,
            Pdu::ReadMultipleRsp { .. } => Opcode::READ_MULTIPLE_RSP,
            Pdu::ReadByGroupTypeReq { .. } => Opcode::READ_BY_GROUP_TYPE_REQ,
            Pdu::ReadByGroupTypeRsp(_) => Opcode::READ_BY_GROUP_TYPE_RSP,
            Pdu::WriteReq { .. } => Opcode::WRITE_REQ,
            Pdu::WriteRsp => Opcode::WRITE_RSP,
            Pdu::WriteCmd { .. } => Opcode::WRITE_CMD,
            Pdu::SignedWriteCmd { .. } => Opcode::SIGNED_WRITE_CMD,
            Pdu::PrepareWriteReq { .. } => Opcode::PREPARE_WRITE_REQ,
            Pdu::PrepareWriteRsp { .. } => Opcode::PREPARE_WRITE_RSP,
            Pdu::ExecuteWriteReq { .. } => Opcode::EXECUTE_WRITE_REQ,
            Pdu::ExecuteWriteRsp => Opcode::EXECUTE_WRITE_RSP,
            Pdu::HandleValueNtf { .. } => Opcode::HANDLE_VALUE_NTF,
            Pdu::HandleValueInd { .. } => Opcode::HANDLE_VALUE_IND,
            Pdu::HandleValueCfm => Opcode::HANDLE_VALUE_CFM,
            Pdu::ReadMultipleVariableReq(_) => Opcode::READ_MULTIPLE_VARIABLE_REQ,
            Pdu::ReadMultipleVariableRsp(_) => Opcode::READ_MULTIPLE_VARIABLE_RSP,
            Pdu::MultipleHandleValueNtf(_) => Opcode::MULTIPLE_HANDLE_VALUE_NTF,
        }
    }

    /// Bytes [`Pdu::emit`] writes, opcode included (compare with ATT_MTU before sending).
    pub fn buffer_len(&self) -> usize {
        1 + match self {
            Pdu::ErrorRsp { .. } => 4,
            Pdu::ExchangeMtuReq { .. } | Pdu::ExchangeMtuRsp { .. } | Pdu::ReadReq { .. } => 2,
            Pdu::FindInformationReq { .. } | Pdu::ReadBlobReq { .. } => 4,
            Pdu::FindInformationRsp(d) => 1 + d.bytes.len(),
            Pdu::FindByTypeValueReq { value, .. } => 6 + value.len(),
            Pdu::FindByTypeValueRsp(d) => d.0.len(),
            Pdu::ReadByTypeReq { attribute_type: t, .. } | Pdu::ReadByGroupTypeReq { group_type: t, .. } => {
                4 + t.wire_len()
            }
            Pdu::ReadByTypeRsp(d) => 1 + d.bytes.len(),
            Pdu::ReadByGroupTypeRsp(d) => 1 + d.bytes.len(),
            Pdu::ReadRsp { value } | Pdu::ReadBlobRsp { value } | Pdu::ReadMultipleRsp { values: value } => value.len(),
            Pdu::ReadMultipleReq(h) | Pdu::ReadMultipleVariableReq(h) => h.0.len(),
            Pdu::WriteReq { value, .. }
            | Pdu::WriteCmd { value, .. }
            | Pdu::HandleValueNtf { value, .. }
            | Pdu::HandleValueInd { value, .. } => 2 + value.len(),
            Pdu::SignedWriteCmd { value, .. } => 2 + value.len() + 12,
            Pdu::PrepareWriteReq { value, .. } | Pdu::PrepareWriteRsp { value, .. } => 4 + value.len(),
            Pdu::ExecuteWriteReq { .. } => 1,
            Pdu::WriteRsp | Pdu::ExecuteWriteRsp | Pdu::HandleValueCfm => 0,
            Pdu::ReadMultipleVariableRsp(l) => l.0.len(),
            Pdu::MultipleHandleValueNtf(l) => l.0.len(),
        }
    }

    /// Writes the PDU to the start of `buf` and returns its length; fails only if `buf` is short.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        // Checked up front so a short buffer is left untouched rather than half written.
        let out = buf.get_mut(..self.buffer_len()).ok_or(Error::BufferTooSmall)?;
        let mut w = Writer { buf: out, pos: 0 };
        w.u8(self.opcode().0)?;
        match *self {
            Pdu::ErrorRsp { request, handle, code } => {
                w.u8(request.0)?;
                w.u16(handle)?;
                w.u8(code.0)?;
            }
            Pdu::ExchangeMtuReq { mtu } | Pdu::ExchangeMtuRsp { mtu } => w.u16(mtu)?,
            Pdu::FindInformationReq { start, end } => {
                w.u16(start)?;
                w.u16(end)?;
            }
            Pdu::FindInformationRsp(d) => {
                w.u8(d.format.to_byte())?;
                w.bytes(d.bytes)?;
            }
            Pdu::FindByTypeValueReq { start, end, attribute_type, value } => {
                w.u16(start)?;
                w.u16(end)?;
                w.u16(attribute_type)?;
                w.bytes(value)?;
            }
            Pdu::ReadByTypeReq { start, end, attribute_type: t }
            | Pdu::ReadByGroupTypeReq { start, end, group_type: t } => {
                w.u16(start)?;
                w.u16(end)?;
                w.uuid(&t)?;
            }
            Pdu::ReadByTypeRsp(AttributeData { length, bytes })
            | Pdu::ReadByGroupTypeRsp(GroupData { length, bytes }) => {
                w.u8(length)?;
                w.bytes(bytes)?;
            }
            Pdu::ReadReq { handle } => w.u16(handle)?,
            Pdu::ReadBlobReq { handle, offset } => {
                w.u16(handle)?;
                w.u16(offset)?;
            }
            Pdu::ReadRsp { value: raw }
            | Pdu::ReadBlobRsp { value: raw }
            | Pdu::ReadMultipleRsp { values: raw }
            | Pdu::FindByTypeValueRsp(HandlesInformation(raw))
            | Pdu::ReadMultipleReq(HandleSet(raw))
            | Pdu::ReadMultipleVariableReq(HandleSet(raw))
            | Pdu::ReadMultipleVariableRsp(LengthValues(raw))
            | Pdu::MultipleHandleValueNtf(HandleLengthValues(raw)) => w.bytes(raw)?,
            Pdu::WriteReq { handle, value }
            | Pdu::WriteCmd { handle, value }
            | Pdu::HandleValueNtf { handle, value }
            | Pdu::HandleValueInd { handle, value } => {
                w.u16(handle)?;
                w.bytes(value)?;
            }
            Pdu::SignedWriteCmd { handle, value, signature } => {
                w.u16(handle)?;
                w.bytes(value)?;
                w.bytes(signature)?;
            }
            Pdu::PrepareWriteReq { handle, offset, value } | Pdu::PrepareWriteRsp { handle, offset, value } => {
                w.u16(handle)?;
                w.u16(offset)?;
                w.bytes(value)?;
            }
            Pdu::ExecuteWriteReq { commit } => w.u8(commit as u8)?,
            Pdu::WriteRsp | Pdu::ExecuteWriteRsp | Pdu::HandleValueCfm => {}
        }
        Ok(w.pos)
    }
}

/// A cursor over input that only hands out what is there.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(Error::Truncated)?;
        self.0 = rest;
        Ok(head)
    }

    pub(super) fn u8(&mut self) -> Result<u8, Error> {
        let (&b, rest) = self.0.split_first().ok_or(Error::Truncated)?;
        self.0 = rest;
        Ok(b)
    }

    pub(super) fn u16(&mut self) -> Result<u16, Error> {
        match *self.take(2)? {
            [lo, hi] => Ok(u16::from_le_bytes([lo, hi])),
            _ => Err(Error::Truncated),
        }
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.0)
    }

    /// A UUID filling the rest of the PDU: the spec allows only 2 or 16 bytes there.
    fn uuid_rest(&mut self) -> Result<Uuid, Error> {
        match self.0.len() {
            0 | 1 => Err(Error::Truncated),
            _ => Uuid::from_le_slice(self.rest()).ok_or(Error::Invalid),
        }
    }
}

/// A cursor over output that refuses to write past its end.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, src: &[u8]) -> Result<(), Error> {
        let end = self.pos.checked_add(src.len()).ok_or(Error::BufferTooSmall)?;
        self.buf.get_mut(self.pos..end).ok_or(Error::BufferTooSmall)?.copy_from_slice(src);
        self.pos = end;
        Ok(())
    }

    fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.bytes(&[v])
    }

    fn u16(&mut self, v: u16) -> Result<(), Error> {
        self.bytes(&v.to_le_bytes())
    }

    fn uuid(&mut self, u: &Uuid) -> Result<(), Error> {
        let rest = self.buf.get_mut(self.pos..).ok_or(Error::BufferTooSmall)?;
        self.pos += u.write_le(rest).ok_or(Error::BufferTooSmall)?;
        Ok(())
    }
}

/// Checks for the fuzzers (seeded in `cargo test`, coverage-guided in `fuzz/`).
#[cfg(any(test, fuzzing))]
impl Pdu<'_> {
    /// Panics unless every list in the PDU accounts for all of its bytes.
    pub fn assert_lists_whole(&self) {
        match self {
            Pdu::FindInformationRsp(d) => {
                assert_eq!(d.iter().count() * (2 + d.format().uuid_len()), d.as_bytes().len())
            }
            Pdu::FindByTypeValueRsp(d) => assert_eq!(d.iter().count() * 4, d.as_bytes().len()),
            Pdu::ReadByTypeRsp(d) => assert_eq!(d.iter().count() * usize::from(d.length()), d.as_bytes().len()),
            Pdu::ReadByGroupTypeRsp(d) => assert_eq!(d.iter().count() * usize::from(d.length()), d.as_bytes().len()),
            Pdu::ReadMultipleReq(h) | Pdu::ReadMultipleVariableReq(h) => {
                assert_eq!(h.iter().count() * 2, h.as_bytes().len())
            }
            Pdu::ReadMultipleVariableRsp(l) => {
                let n: usize = l.iter().map(|t| 2 + t.value.len()).sum();
                assert!(l.as_bytes().len() - n <= 1, "at most a lone length byte is left over");
            }
            Pdu::MultipleHandleValueNtf(l) => {
                let n: usize = l.iter().map(|(_, v)| 4 + v.len()).sum();
                assert_eq!(n, l.as_bytes().len());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 128-bit UUID in wire order (the Nordic UART service, as an arbitrary non-base example).
    const NUS: [u8; 16] =
        [0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x01, 0x00, 0x40, 0x6e];
    const INFO128: [u8; 18] =
        [0x10, 0x00, 0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x01, 0x00, 0x40, 0x6e];

    /// At least one PDU of every kind, lists with several entries where the format allows.
    fn samples() -> Vec<Pdu<'static>> {
        vec![
            Pdu::ErrorRsp { request: Opcode::READ_REQ, handle: 0x0102, code: ErrorCode::READ_NOT_PERMITTED },
            Pdu::ExchangeMtuReq { mtu: 517 },
            Pdu::ExchangeMtuRsp { mtu: 23 },
            Pdu::FindInformationReq { start: 1, end: 0xffff },
            Pdu::FindInformationRsp(
                InformationData::new(Format::Uuid16, &[0x01, 0x00, 0x00, 0x28, 0x02, 0x00, 0x03, 0x28]).unwrap(),
            ),
            Pdu::FindInformationRsp(InformationData::new(Format::Uuid128, &INFO128).unwrap()),
            Pdu::FindByTypeValueReq { start: 1, end: 0xffff, attribute_type: 0x2800, value: &[0x0f, 0x18] },
            Pdu::FindByTypeValueRsp(
                HandlesInformation::new(&[0x10, 0x00, 0x14, 0x00, 0x20, 0x00, 0xff, 0xff]).unwrap(),
            ),
            Pdu::ReadByTypeReq { start: 1, end: 0x0010, attribute_type: Uuid::CHARACTERISTIC },
            Pdu::ReadByTypeReq { start: 1, end: 0x0010, attribute_type: Uuid::Uuid128(NUS) },
            Pdu::ReadByTypeRsp(
                AttributeData::new(
                    7,
                    &[0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x2a, 0x04, 0x00, 0x02, 0x05, 0x00, 0x01, 0x2a],
                )
                .unwrap(),
            ),
            Pdu::ReadReq { handle: 3 },
            Pdu::ReadRsp { value: b"MPY TROUBLE" },
            Pdu::ReadRsp { value: &[] },
            Pdu::ReadBlobReq { handle: 3, offset: 22 },
            Pdu::ReadBlobRsp { value: b"tail" },
            Pdu::ReadMultipleReq(HandleSet::new(&[0x03, 0x00, 0x05, 0x00, 0x07, 0x00]).unwrap()),
            Pdu::ReadMultipleRsp { values: &[1, 2, 3] },
            Pdu::ReadByGroupTypeReq { start: 1, end: 0xffff, group_type: Uuid::PRIMARY_SERVICE },
            Pdu::ReadByGroupTypeReq { start: 1, end: 0xffff, group_type: Uuid::Uuid128(NUS) },
            Pdu::ReadByGroupTypeRsp(
                GroupData::new(6, &[0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x06, 0x00, 0x09, 0x00, 0x01, 0x18]).unwrap(),
            ),
            Pdu::WriteReq { handle: 0x0010, value: &[0x01, 0x00] },
            Pdu::WriteRsp,
            Pdu::WriteCmd { handle: 0x0012, value: b"hello" },
            Pdu::SignedWriteCmd { handle: 0x0012, value: b"hi", signature: &[0xa5; 12] },
            Pdu::SignedWriteCmd { handle: 0x0012, value: &[], signature: &[7; 12] },
            Pdu::PrepareWriteReq { handle: 0x0014, offset: 18, value: b"part" },
            Pdu::PrepareWriteRsp { handle: 0x0014, offset: 18, value: b"part" },
            Pdu::ExecuteWriteReq { commit: true },
            Pdu::ExecuteWriteReq { commit: false },
            Pdu::ExecuteWriteRsp,
            Pdu::HandleValueNtf { handle: 0x0003, value: &[0x64] },
            Pdu::HandleValueInd { handle: 0x0003, value: &[] },
            Pdu::HandleValueCfm,
            Pdu::ReadMultipleVariableReq(HandleSet::new(&[0x03, 0x00, 0x05, 0x00]).unwrap()),
            Pdu::ReadMultipleVariableRsp(LengthValues::new(&[0x02, 0x00, 0xaa, 0xbb, 0x00, 0x00, 0x05, 0x00, 0x01])),
            Pdu::MultipleHandleValueNtf(
                HandleLengthValues::new(&[0x03, 0x00, 0x01, 0x00, 0x64, 0x05, 0x00, 0x00, 0x00]).unwrap(),
            ),
        ]
    }

    fn emitted(pdu: &Pdu) -> Vec<u8> {
        let mut buf = vec![0u8; pdu.buffer_len()];
        assert_eq!(pdu.emit(&mut buf), Ok(buf.len()), "{pdu:?}");
        buf
    }

    /// Shortest length at which each opcode can be a whole PDU, from the formats in §3.4.
    fn min_len(op: Opcode) -> usize {
        match op {
            Opcode::WRITE_RSP | Opcode::EXECUTE_WRITE_RSP | Opcode::HANDLE_VALUE_CFM => 1,
            Opcode::READ_RSP | Opcode::READ_BLOB_RSP | Opcode::READ_MULTIPLE_RSP => 1,
            Opcode::READ_MULTIPLE_VARIABLE_RSP => 1,
            Opcode::EXECUTE_WRITE_REQ => 2,
            Opcode::EXCHANGE_MTU_REQ | Opcode::EXCHANGE_MTU_RSP | Opcode::READ_REQ => 3,
            Opcode::WRITE_REQ | Opcode::WRITE_CMD | Opcode::HANDLE_VALUE_NTF | Opcode::HANDLE_VALUE_IND => 3,
            Opcode::ERROR_RSP | Opcode::FIND_INFORMATION_REQ | Opcode::READ_BLOB_REQ => 5,
            Opcode::PREPARE_WRITE_REQ | Opcode::PREPARE_WRITE_RSP | Opcode::FIND_BY_TYPE_VALUE_RSP => 5,
            Opcode::READ_MULTIPLE_REQ | Opcode::READ_MULTIPLE_VARIABLE_REQ | Opcode::MULTIPLE_HANDLE_VALUE_NTF => 5,
            Opcode::FIND_INFORMATION_RSP => 6,
            Opcode::FIND_BY_TYPE_VALUE_REQ | Opcode::READ_BY_TYPE_REQ | Opcode::READ_BY_GROUP_TYPE_REQ => 7,
            Opcode::READ_BY_TYPE_RSP => 4,
            Opcode::READ_BY_GROUP_TYPE_RSP => 6,
            Opcode::SIGNED_WRITE_CMD => 15,
            other => panic!("no minimum for {other:?}"),
        }
    }

    #[test]
    fn every_known_opcode_round_trips() {
        let mut covered: Vec<u8> = samples().iter().map(|p| p.opcode().0).collect();
        covered.sort();
        covered.dedup();
        let known: Vec<u8> = (0..=255u8).filter(|&op| Opcode(op).kind().is_some()).collect();
        assert_eq!(covered, known, "samples must cover exactly the known opcodes");
        for pdu in samples() {
            let bytes = emitted(&pdu);
            assert_eq!(Pdu::parse(&bytes), Ok(pdu));
            assert!(bytes.len() >= min_len(pdu.opcode()));
            // A short buffer is refused without writing anything.
            let mut short = vec![0xeeu8; bytes.len() - 1];
            assert_eq!(pdu.emit(&mut short), Err(Error::BufferTooSmall));
            assert!(short.iter().all(|&b| b == 0xee));
            // A longer buffer is fine; only the PDU's bytes are written.
            let mut long = vec![0xeeu8; bytes.len() + 3];
            assert_eq!(pdu.emit(&mut long), Ok(bytes.len()));
            assert_eq!(long[..bytes.len()], bytes[..]);
            assert_eq!(long[bytes.len()..], [0xee; 3]);
        }
    }

    #[test]
    fn every_prefix_is_an_error_or_a_shorter_valid_pdu() {
        for pdu in samples() {
            let bytes = emitted(&pdu);
            for k in 0..bytes.len() {
                let prefix = &bytes[..k];
                match Pdu::parse(prefix) {
                    Err(e) => assert!(matches!(e, Error::Truncated | Error::Invalid), "{pdu:?} at {k}: {e:?}"),
                    // Variable-length PDUs have valid shorter forms; they must be self-consistent.
                    Ok(p) => {
                        assert_eq!(p.opcode(), pdu.opcode());
                        assert!(k >= min_len(pdu.opcode()), "{pdu:?} parsed at {k} bytes: {p:?}");
                        assert_eq!(emitted(&p), prefix);
                    }
                }
            }
            assert_eq!(Pdu::parse(&bytes[..0]), Err(Error::Truncated));
        }
    }

    #[test]
    fn fixed_size_pdus_refuse_extra_bytes() {
        for pdu in samples() {
            let mut bytes = emitted(&pdu);
            bytes.push(0);
            let fixed = !matches!(
                pdu.opcode().0,
                0x05..=0x07 | 0x09 | 0x0b | 0x0d..=0x0f | 0x11 | 0x12 | 0x16 | 0x17 | 0x1b | 0x1d | 0x20 | 0x21 | 0x23 | 0x52 | 0xd2
            );
            if fixed {
                assert_eq!(Pdu::parse(&bytes), Err(Error::Invalid), "{pdu:?}");
            }
        }
    }

    #[test]
    fn spec_byte_examples() {
        let cases: &[(&[u8], Pdu)] = &[
            // MTU exchange asking for the largest MTU, 517.
            (&[0x02, 0x05, 0x02], Pdu::ExchangeMtuReq { mtu: 517 }),
            // Characteristic discovery ran past the last attribute: Attribute Not Found at 0x0021.
            (
                &[0x01, 0x08, 0x21, 0x00, 0x0a],
                Pdu::ErrorRsp { request: Opcode::READ_BY_TYPE_REQ, handle: 0x21, code: ErrorCode::ATTRIBUTE_NOT_FOUND },
            ),
            // Discover All Primary Services.
            (
                &[0x10, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28],
                Pdu::ReadByGroupTypeReq { start: 1, end: 0xffff, group_type: Uuid::PRIMARY_SERVICE },
            ),
            // Discover Primary Service by UUID (Battery Service 0x180F).
            (
                &[0x06, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28, 0x0f, 0x18],
                Pdu::FindByTypeValueReq { start: 1, end: 0xffff, attribute_type: 0x2800, value: &[0x0f, 0x18] },
            ),
            (&[0x0a, 0x03, 0x00], Pdu::ReadReq { handle: 3 }),
            (&[0x0c, 0x03, 0x00, 0x16, 0x00], Pdu::ReadBlobReq { handle: 3, offset: 22 }),
            // Enable notifications: write 0x0001 to a CCCD.
            (&[0x12, 0x10, 0x00, 0x01, 0x00], Pdu::WriteReq { handle: 0x10, value: &[0x01, 0x00] }),
            (&[0x13], Pdu::WriteRsp),
            (&[0x1b, 0x03, 0x00, 0x64], Pdu::HandleValueNtf { handle: 3, value: &[0x64] }),
            (&[0x1e], Pdu::HandleValueCfm),
            (&[0x18, 0x01], Pdu::ExecuteWriteReq { commit: true }),
        ];
        for (bytes, pdu) in cases {
            assert_eq!(Pdu::parse(bytes).as_ref(), Ok(pdu), "{bytes:02x?}");
            assert_eq!(emitted(pdu), *bytes);
        }

        // GAP service 1..5 and GATT service 6..9 from Discover All Primary Services.
        let rsp = [0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x06, 0x00, 0x09, 0x00, 0x01, 0x18];
        let Ok(Pdu::ReadByGroupTypeRsp(groups)) = Pdu::parse(&rsp) else { panic!() };
        let got: Vec<_> = groups.iter().collect();
        assert_eq!(got, [(1, 5, &[0x00, 0x18][..]), (6, 9, &[0x01, 0x18][..])]);

        // A characteristic declaration: properties, value handle, UUID 0x2A00 (Device Name).
        let rsp = [0x09, 0x07, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x2a];
        let Ok(Pdu::ReadByTypeRsp(data)) = Pdu::parse(&rsp) else { panic!() };
        assert_eq!(data.iter().collect::<Vec<_>>(), [(2, &[0x02, 0x03, 0x00, 0x00, 0x2a][..])]);

        // Descriptor discovery found a CCCD at 0x0004.
        let rsp = [0x05, 0x01, 0x04, 0x00, 0x02, 0x29];
        let Ok(Pdu::FindInformationRsp(info)) = Pdu::parse(&rsp) else { panic!() };
        assert_eq!(info.format(), Format::Uuid16);
        assert_eq!(info.iter().collect::<Vec<_>>(), [(4, Uuid::CCCD)]);
    }

    #[test]
    fn malformed_pdus() {
        let cases: &[(&[u8], Error)] = &[
            (&[], Error::Truncated),
            (&[0x02, 0x05], Error::Truncated),
            (&[0x02, 0x05, 0x02, 0x00], Error::Invalid),
            (&[0x13, 0x00], Error::Invalid),
            (&[0x1e, 0x00], Error::Invalid),
            // Find Information Response: unknown format, no entry, partial entry.
            (&[0x05, 0x03, 0x01, 0x00, 0x00, 0x28], Error::Invalid),
            (&[0x05, 0x01], Error::Truncated),
            (&[0x05, 0x01, 0x01, 0x00, 0x00, 0x28, 0x02], Error::Truncated),
            (&[0x05, 0x02, 0x01, 0x00, 0x00, 0x28], Error::Truncated),
            // Read By Type Request: a UUID of neither 2 nor 16 bytes.
            (&[0x08, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28, 0x00, 0x00], Error::Invalid),
            (&[0x08, 0x01, 0x00, 0xff, 0xff, 0x00], Error::Truncated),
            (&[0x10, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28, 0x00], Error::Invalid),
            // Read By Type / Group Type Response: length too small for the handles, or 0.
            (&[0x09, 0x01, 0x01], Error::Invalid),
            (&[0x09, 0x00], Error::Invalid),
            (&[0x09, 0x04, 0x01, 0x00, 0x01], Error::Truncated),
            (&[0x11, 0x03, 0x01, 0x00, 0x02], Error::Invalid),
            (&[0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18, 0x06], Error::Truncated),
            // Read Multiple needs two handles; odd lengths are cut handles.
            (&[0x0e, 0x01, 0x00], Error::Truncated),
            (&[0x0e, 0x01, 0x00, 0x02, 0x00, 0x03], Error::Truncated),
            (&[0x20, 0x01, 0x00], Error::Truncated),
            // Execute Write flags other than 0 and 1 are reserved.
            (&[0x18, 0x02], Error::Invalid),
            // Signed Write Command shorter than handle + signature.
            (&[0xd2, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Error::Truncated),
            // Multiple Handle Value Notification with a tuple longer than the PDU, or none.
            (&[0x23, 0x03, 0x00, 0x02, 0x00, 0x64], Error::Truncated),
            (&[0x23], Error::Truncated),
        ];
        for (bytes, err) in cases {
            assert_eq!(Pdu::parse(bytes), Err(*err), "{bytes:02x?}");
        }
    }

    #[test]
    fn unknown_opcodes_say_whether_they_are_commands() {
        for op in (0..=255u8).filter(|&op| Opcode(op).kind().is_none()) {
            for bytes in [&[op][..], &[op, 1, 2, 3][..]] {
                assert_eq!(Pdu::parse(bytes), Err(Error::UnknownOpcode(Opcode(op))));
            }
        }
        // An unknown request must be answered, an unknown command ignored.
        assert!(!Opcode(0x22).is_command());
        assert!(Opcode(0x7f).is_command());
        assert!(Opcode(0xd2).is_command() && Opcode::SIGNED_WRITE_CMD.0 & Opcode::SIGNATURE_FLAG != 0);
        assert_eq!(Pdu::parse(&[0x92, 0, 0]), Err(Error::UnknownOpcode(Opcode(0x92))));
    }

    #[test]
    fn signed_write_keeps_the_signature_apart() {
        let mut bytes = vec![0xd2, 0x12, 0x00, b'o', b'k'];
        bytes.extend(1..=12u8);
        let Ok(Pdu::SignedWriteCmd { handle, value, signature }) = Pdu::parse(&bytes) else { panic!() };
        assert_eq!((handle, value), (0x12, &b"ok"[..]));
        assert_eq!(signature, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        // Values borrow the input rather than copying it.
        assert!(core::ptr::eq(value.as_ptr(), bytes[3..].as_ptr()));
    }
}
