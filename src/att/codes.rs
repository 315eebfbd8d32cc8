//! The numbers of ATT: opcodes and the roles they play, and error codes.

/// An ATT opcode byte: method in bits 0–5, command flag in bit 6, signature flag in bit 7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

/// What role a PDU plays in the protocol's sequential request/response and indication flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Client to server; the server owes exactly one response.
    Request,
    /// Server to client, answering a request (an Error Response included).
    Response,
    /// Client to server; no response, a server ignores unknown ones.
    Command,
    /// Server to client; no confirmation.
    Notification,
    /// Server to client; the client owes a confirmation.
    Indication,
    /// Client to server, acknowledging an indication.
    Confirmation,
}

impl Opcode {
    /// Bit 6: set on commands, which never get a response, even an error.
    pub const COMMAND_FLAG: u8 = 0x40;
    /// Bit 7: set when a 12-byte authentication signature follows the parameters.
    pub const SIGNATURE_FLAG: u8 = 0x80;

    /// ATT_ERROR_RSP.
    pub const ERROR_RSP: Opcode = Opcode(0x01);
    /// ATT_EXCHANGE_MTU_REQ.
    pub const EXCHANGE_MTU_REQ: Opcode = Opcode(0x02);
    /// ATT_EXCHANGE_MTU_RSP.
    pub const EXCHANGE_MTU_RSP: Opcode = Opcode(0x03);
    /// ATT_FIND_INFORMATION_REQ.
    pub const FIND_INFORMATION_REQ: Opcode = Opcode(0x04);
    /// ATT_FIND_INFORMATION_RSP.
    pub const FIND_INFORMATION_RSP: Opcode = Opcode(0x05);
    /// ATT_FIND_BY_TYPE_VALUE_REQ.
    pub const FIND_BY_TYPE_VALUE_REQ: Opcode = Opcode(0x06);
    /// ATT_FIND_BY_TYPE_VALUE_RSP.
    pub const FIND_BY_TYPE_VALUE_RSP: Opcode = Opcode(0x07);
    /// ATT_READ_BY_TYPE_REQ.
    pub const READ_BY_TYPE_REQ: Opcode = Opcode(0x08);
    /// ATT_READ_BY_TYPE_RSP.
    pub const READ_BY_TYPE_RSP: Opcode = Opcode(0x09);
    /// ATT_READ_REQ.
    pub const READ_REQ: Opcode = Opcode(0x0a);
    /// ATT_READ_RSP.
    pub const READ_RSP: Opcode = Opcode(0x0b);
    /// ATT_READ_BLOB_REQ.
    pub const READ_BLOB_REQ: Opcode = Opcode(0x0c);
    /// ATT_READ_BLOB_RSP.
    pub const READ_BLOB_RSP: Opcode = Opcode(0x0d);
    /// ATT_READ_MULTIPLE_REQ.
    pub const READ_MULTIPLE_REQ: Opcode = Opcode(0x0e);
    /// ATT_READ_MULTIPLE_RSP.
    pub const READ_MULTIPLE_RSP: Opcode = Opcode(0x0f);
    /// ATT_READ_BY_GROUP_TYPE_REQ.
    pub const READ_BY_GROUP_TYPE_REQ: Opcode = Opcode(0x10);
    /// ATT_READ_BY_GROUP_TYPE_RSP.
    pub const READ_BY_GROUP_TYPE_RSP: Opcode = Opcode(0x11);
    /// ATT_WRITE_REQ.
    pub const WRITE_REQ: Opcode = Opcode(0x12);
    /// ATT_WRITE_RSP.
    pub const WRITE_RSP: Opcode = Opcode(0x13);
    /// ATT_PREPARE_WRITE_REQ.
    pub const PREPARE_WRITE_REQ: Opcode = Opcode(0x16);
    /// ATT_PREPARE_WRITE_RSP.
    pub const PREPARE_WRITE_RSP: Opcode = Opcode(0x17);
    /// ATT_EXECUTE_WRITE_REQ.
    pub const EXECUTE_WRITE_REQ: Opcode = Opcode(0x18);
    /// ATT_EXECUTE_WRITE_RSP.
    pub const EXECUTE_WRITE_RSP: Opcode = Opcode(0x19);
    /// ATT_HANDLE_VALUE_NTF.
    pub const HANDLE_VALUE_NTF: Opcode = Opcode(0x1b);
    /// ATT_HANDLE_VALUE_IND.
    pub const HANDLE_VALUE_IND: Opcode = Opcode(0x1d);
    /// ATT_HANDLE_VALUE_CFM.
    pub const HANDLE_VALUE_CFM: Opcode = Opcode(0x1e);
    /// ATT_READ_MULTIPLE_VARIABLE_REQ.
    pub const READ_MULTIPLE_VARIABLE_REQ: Opcode = Opcode(0x20);
    /// ATT_READ_MULTIPLE_VARIABLE_RSP.
    pub const READ_MULTIPLE_VARIABLE_RSP: Opcode = Opcode(0x21);
    /// ATT_MULTIPLE_HANDLE_VALUE_NTF.
    pub const MULTIPLE_HANDLE_VALUE_NTF: Opcode = Opcode(0x23);
    /// ATT_WRITE_CMD.
    pub const WRITE_CMD: Opcode = Opcode(0x52);
    /// ATT_SIGNED_WRITE_CMD.
    pub const SIGNED_WRITE_CMD: Opcode = Opcode(0xd2);

    /// Whether the command flag is set: such a PDU is never answered, even when unknown.
    pub const fn is_command(self) -> bool {
        self.0 & Self::COMMAND_FLAG != 0
    }

    /// The role of a known opcode; `None` for opcodes this module doesn't know.
    pub const fn kind(self) -> Option<Kind> {
        Some(match self.0 {
            0x02 | 0x04 | 0x06 | 0x08 | 0x0a | 0x0c | 0x0e | 0x10 | 0x12 | 0x16 | 0x18 | 0x20 => Kind::Request,
            0x01 | 0x03 | 0x05 | 0x07 | 0x09 | 0x0b | 0x0d | 0x0f | 0x11 | 0x13 | 0x17 | 0x19 | 0x21 => Kind::Response,
            0x52 | 0xd2 => Kind::Command,
            0x1b | 0x23 => Kind::Notification,
            0x1d => Kind::Indication,
            0x1e => Kind::Confirmation,
            _ => return None,
        })
    }
}

/// An ATT error code (Core v5.4 Vol 3 Part F §3.4.1.1, plus CSS Part B §1.2 common codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// The handle is not valid on this server (or 0, or a bad range).
    pub const INVALID_HANDLE: ErrorCode = ErrorCode(0x01);
    /// The attribute cannot be read.
    pub const READ_NOT_PERMITTED: ErrorCode = ErrorCode(0x02);
    /// The attribute cannot be written.
    pub const WRITE_NOT_PERMITTED: ErrorCode = ErrorCode(0x03);
    /// The PDU was malformed.
    pub const INVALID_PDU: ErrorCode = ErrorCode(0x04);
    /// The link must be authenticated first.
    pub const INSUFFICIENT_AUTHENTICATION: ErrorCode = ErrorCode(0x05);
    /// The server doesn't support the request.
    pub const REQUEST_NOT_SUPPORTED: ErrorCode = ErrorCode(0x06);
    /// The offset is past the end of the attribute value.
    pub const INVALID_OFFSET: ErrorCode = ErrorCode(0x07);
    /// The client must be authorized first.
    pub const INSUFFICIENT_AUTHORIZATION: ErrorCode = ErrorCode(0x08);
    /// Too many prepared writes are queued.
    pub const PREPARE_QUEUE_FULL: ErrorCode = ErrorCode(0x09);
    /// No attribute in the handle range matches.
    pub const ATTRIBUTE_NOT_FOUND: ErrorCode = ErrorCode(0x0a);
    /// The attribute cannot be read or written with Read Blob / Prepare Write.
    pub const ATTRIBUTE_NOT_LONG: ErrorCode = ErrorCode(0x0b);
    /// The encryption key is too short for this attribute.
    pub const ENCRYPTION_KEY_SIZE_TOO_SHORT: ErrorCode = ErrorCode(0x0c);
    /// The value has the wrong length for this attribute.
    pub const INVALID_ATTRIBUTE_VALUE_LENGTH: ErrorCode = ErrorCode(0x0d);
    /// The request hit an error that has no better code.
    pub const UNLIKELY_ERROR: ErrorCode = ErrorCode(0x0e);
    /// The link must be encrypted first.
    pub const INSUFFICIENT_ENCRYPTION: ErrorCode = ErrorCode(0x0f);
    /// The type is not a grouping attribute the higher layer supports.
    pub const UNSUPPORTED_GROUP_TYPE: ErrorCode = ErrorCode(0x10);
    /// The server lacks the resources to complete the request.
    pub const INSUFFICIENT_RESOURCES: ErrorCode = ErrorCode(0x11);
    /// The client's view of the database is out of sync (robust caching).
    pub const DATABASE_OUT_OF_SYNC: ErrorCode = ErrorCode(0x12);
    /// The value is not allowed.
    pub const VALUE_NOT_ALLOWED: ErrorCode = ErrorCode(0x13);
    /// Common profile code: the write request was rejected.
    pub const WRITE_REQUEST_REJECTED: ErrorCode = ErrorCode(0xfc);
    /// Common profile code: a CCCD was written with a value the server can't honour.
    pub const CCCD_IMPROPERLY_CONFIGURED: ErrorCode = ErrorCode(0xfd);
    /// Common profile code: a procedure is already in progress.
    pub const PROCEDURE_ALREADY_IN_PROGRESS: ErrorCode = ErrorCode(0xfe);
    /// Common profile code: the value is out of range.
    pub const OUT_OF_RANGE: ErrorCode = ErrorCode(0xff);

    /// Whether the code is in the range 0x80–0x9F that higher layers (the application) define.
    pub const fn is_application(self) -> bool {
        matches!(self.0, 0x80..=0x9f)
    }
}
