//! The GATT client of one connection: the procedures behind MicroPython's `gattc_*` calls
//! (Core v5.4 Vol 3 Part G §4.4–4.9, over the ATT PDUs of Part F §3.4) as a state machine
//! that owns no buffers and does no I/O.
//!
//! The caller starts a [`Procedure`] with [`ClientLink::start`], sends the request written
//! into its buffer, and hands every response PDU to [`ClientLink::on_response`], which reports
//! results through a callback as [`Output`]s and writes the next request, until the procedure
//! ends. ATT allows one outstanding request per bearer, so one procedure runs at a time; the
//! caller queues the next one while [`ClientLink::busy`].
//!
//! How a misbehaving server is answered (the spec leaves the client's reaction open):
//! - a response that doesn't parse, isn't the one the outstanding request expects, lists
//!   handles outside the requested range or out of order (which is also what keeps a
//!   discovery from looping on a server that doesn't advance), or an Error Response carrying
//!   the reserved code 0, ends the procedure with `Done { status: 0x04 }` (Invalid PDU: the
//!   fault is the PDU's, and 0x04 is never what a server legitimately answers a client with
//!   about a well-formed request of ours, so it can't be mistaken for the server's verdict);
//! - a Prepare Write Response that doesn't echo the part we sent cancels the queued write
//!   (Execute Write with flags 0, §4.9.5) and ends with `Done { status: 0x0E }` (Unlikely
//!   Error: the exchange was well-formed but the data didn't arrive intact).

mod discover;
#[cfg(test)]
mod tests;
mod transfer;

use super::codes::{ErrorCode, Kind, Opcode};
use super::uuid::Uuid;
use super::wire::Pdu;
// The same limits as the server's: the MTU range and the longest attribute value.
use super::server::{MAX_MTU, MAX_VALUE_LEN, MIN_MTU};
use discover::Found;

/// Status reported when the server's response broke the protocol (see the module docs).
pub const STATUS_INVALID_RESPONSE: u16 = ErrorCode::INVALID_PDU.0 as u16;
/// Status reported when a long write's echo didn't match what was sent (see the module docs).
pub const STATUS_ECHO_MISMATCH: u16 = ErrorCode::UNLIKELY_ERROR.0 as u16;

/// One MicroPython `gattc_*` call, as a GATT procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Procedure {
    /// Discover All Primary Services (Read By Group Type), or by UUID (Find By Type Value).
    DiscoverServices {
        /// Only services of this UUID.
        uuid: Option<Uuid>,
    },
    /// Discover All Characteristics of a Service (Read By Type 0x2803) over `start..=end`.
    DiscoverCharacteristics {
        /// First handle of the range (usually the service's start).
        start: u16,
        /// Last handle of the range (usually the service's end).
        end: u16,
        /// Only characteristics of this UUID are reported.
        uuid: Option<Uuid>,
    },
    /// Discover All Characteristic Descriptors (Find Information) over `start..=end`.
    DiscoverDescriptors {
        /// First handle of the range.
        start: u16,
        /// Last handle of the range.
        end: u16,
    },
    /// Read (Long) Characteristic Value: Read, then Read Blob while responses come back full.
    Read {
        /// The attribute to read.
        handle: u16,
    },
    /// Write (Long) Characteristic Value or Write Without Response of the caller's `value`.
    Write {
        /// The attribute to write.
        handle: u16,
        /// Bytes of the value (the caller passes the value itself to every call).
        len: usize,
        /// Write Request (Prepare/Execute when longer than ATT_MTU-3), else Write Command.
        with_response: bool,
    },
    /// Exchange MTU, offering `mtu` as our receive MTU.
    ExchangeMtu {
        /// Our receive MTU (clamped to 23..=527).
        mtu: u16,
    },
}

/// A result of a procedure, for the caller to turn into a MicroPython event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output<'a> {
    /// A primary service (GATTC_SERVICE_RESULT).
    Service {
        /// Handle of the service declaration.
        start: u16,
        /// Last handle of the service.
        end: u16,
        /// The service UUID, in the form the server stores it.
        uuid: Uuid,
    },
    /// A characteristic (GATTC_CHARACTERISTIC_RESULT).
    Characteristic {
        /// Handle of the characteristic value.
        value_handle: u16,
        /// Last handle of the characteristic: the next declaration's handle - 1, or the range end.
        end_handle: u16,
        /// The properties byte of the declaration.
        properties: u8,
        /// The characteristic UUID.
        uuid: Uuid,
    },
    /// An attribute found by descriptor discovery (GATTC_DESCRIPTOR_RESULT).
    Descriptor {
        /// Its handle.
        handle: u16,
        /// Its type.
        uuid: Uuid,
    },
    /// The next part of a value being read; the whole value is complete at [`Output::Done`].
    ReadChunk {
        /// The bytes, in order after the previous chunk.
        data: &'a [u8],
    },
    /// The procedure ended: 0 on success, else an ATT error code (see the module docs).
    Done {
        /// 0 or the ATT error code.
        status: u16,
    },
    /// Our MTU exchange completed (MTU_EXCHANGED); it ends the procedure, no `Done` follows.
    MtuExchanged {
        /// The ATT_MTU now in force.
        mtu: u16,
    },
}

/// Why a procedure could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A procedure is already running on this connection; queue this one.
    Busy,
    /// A handle is 0 or a range has its start after its end.
    InvalidHandle,
    /// `value` is shorter than the write's `len`, or a long write exceeds 512 bytes.
    InvalidLength,
    /// This client already exchanged the MTU on this connection (allowed once, Part F §3.4.2.1).
    AlreadyExchanged,
    /// `out` can't hold the first request.
    BufferTooSmall,
}

/// How the bearer's dispatcher should route a received ATT PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A request, command or confirmation (or an unknown opcode): the server's.
    ToServer,
    /// A response or Error Response: the client's, for [`ClientLink::on_response`].
    Response,
    /// A Handle Value Notification; the value is the PDU from byte 3.
    Notification {
        /// The attribute notified.
        handle: u16,
    },
    /// A Handle Value Indication; the value is the PDU from byte 3; confirm it.
    Indication {
        /// The attribute indicated.
        handle: u16,
    },
    /// Nothing to route: empty, a notification or indication too short to name a handle or
    /// longer than the ATT_MTU, or a Multiple Handle Value Notification, which a server may
    /// only send to a client that enabled it in Client Supported Features (we never do, Part G
    /// §4.10.1).
    Invalid,
}

/// Where a running procedure stands; each variant says which request is outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No procedure.
    Idle,
    /// Service discovery waiting for the round that started at `next`.
    Services { uuid: Option<Uuid>, next: u16 },
    /// Characteristic discovery waiting for the round that started at `next`; `last` is the
    /// latest declaration found, held back until the next one gives its end handle.
    Characteristics { next: u16, end: u16, uuid: Option<Uuid>, last: Option<Found> },
    /// Descriptor discovery waiting for the round that started at `next`.
    Descriptors { next: u16, end: u16 },
    /// A read with `got` bytes delivered: Read Request outstanding when 0, else Read Blob.
    /// `mtu` is the MTU the outstanding request went out under.
    Read { handle: u16, got: u16, mtu: u16 },
    /// A Write Request outstanding.
    WriteReq,
    /// A Prepare Write of `value[offset..offset + part]` outstanding, of `len` bytes in all.
    Prepare { handle: u16, len: u16, offset: u16, part: u16 },
    /// An Execute Write outstanding: `status` is what to report when it is a cancel.
    Execute { commit: bool, status: u16 },
    /// Our Exchange MTU Request outstanding, offering `ours`.
    Mtu { ours: u16 },
}

impl State {
    /// The opcode of the outstanding request, which an Error Response must name.
    fn request(&self) -> Option<Opcode> {
        Some(match self {
            State::Idle => return None,
            State::Services { uuid: None, .. } => Opcode::READ_BY_GROUP_TYPE_REQ,
            State::Services { uuid: Some(_), .. } => Opcode::FIND_BY_TYPE_VALUE_REQ,
            State::Characteristics { .. } => Opcode::READ_BY_TYPE_REQ,
            State::Descriptors { .. } => Opcode::FIND_INFORMATION_REQ,
            State::Read { got: 0, .. } => Opcode::READ_REQ,
            State::Read { .. } => Opcode::READ_BLOB_REQ,
            State::WriteReq => Opcode::WRITE_REQ,
            State::Prepare { .. } => Opcode::PREPARE_WRITE_REQ,
            State::Execute { .. } => Opcode::EXECUTE_WRITE_REQ,
            State::Mtu { .. } => Opcode::EXCHANGE_MTU_REQ,
        })
    }
}

/// What handling one response led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The next request is `out[..len]`; the state already says what it waits for.
    Send(usize),
    /// The procedure ends with `Done { status }`.
    Finish(u16),
    /// The procedure ended and reported its own end (MTU exchange).
    Ended,
}

/// The client state of one connection.
#[derive(Clone, Debug)]
pub struct ClientLink {
    mtu: u16,
    exchanged: bool,
    state: State,
}

impl Default for ClientLink {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientLink {
    /// A fresh link: MTU 23, no procedure.
    pub const fn new() -> Self {
        Self { mtu: MIN_MTU, exchanged: false, state: State::Idle }
    }

    /// The ATT_MTU in force.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Records the MTU negotiated by either side's exchange (clamped to 23..=527).
    pub fn set_mtu(&mut self, mtu: u16) {
        self.mtu = mtu.clamp(MIN_MTU, MAX_MTU);
    }

    /// Whether a procedure is running (a Write Command never makes it so: it has no response).
    pub fn busy(&self) -> bool {
        self.state != State::Idle
    }

    /// Starts a procedure: writes the first request into `out`, returns its length.
    /// `value` is the full value for Write (ignored otherwise).
    ///
    /// A Write Command (write without response) is complete once sent: the link stays idle
    /// and no [`Output`] ever follows, so the caller reports it done (if at all) right away.
    pub fn start(&mut self, p: Procedure, value: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if self.busy() {
            return Err(Error::Busy);
        }
        let (request, state) = match p {
            Procedure::DiscoverServices { uuid } => {
                let uuid = uuid.map(|u| u.shortened());
                (discover::services_request(uuid, 1, out, self.mtu), State::Services { uuid, next: 1 })
            }
            Procedure::DiscoverCharacteristics { start, end, uuid } => {
                check_range(start, end)?;
                let state = State::Characteristics { next: start, end, uuid, last: None };
                (discover::characteristics_request(start, end, out, self.mtu), state)
            }
            Procedure::DiscoverDescriptors { start, end } => {
                check_range(start, end)?;
                (discover::descriptors_request(start, end, out, self.mtu), State::Descriptors { next: start, end })
            }
            Procedure::Read { handle } => {
                check_range(handle, handle)?;
                (emit(Pdu::ReadReq { handle }, out, self.mtu), State::Read { handle, got: 0, mtu: self.mtu })
            }
            Procedure::Write { handle, len, with_response } => {
                check_range(handle, handle)?;
                let value = value.get(..len).ok_or(Error::InvalidLength)?;
                return transfer::start_write(self, handle, value, with_response, out);
            }
            Procedure::ExchangeMtu { mtu } => {
                if self.exchanged {
                    return Err(Error::AlreadyExchanged);
                }
                let ours = mtu.clamp(MIN_MTU, MAX_MTU);
                (emit(Pdu::ExchangeMtuReq { mtu: ours }, out, self.mtu), State::Mtu { ours })
            }
        };
        let n = request.ok_or(Error::BufferTooSmall)?;
        self.state = state;
        Ok(n)
    }

    /// Feeds a response PDU (opcode is a response/error response); calls `emit` for each Output
    /// in order; returns Some(len) of the next request written to `out`, or None when the
    /// procedure is finished (after emitting Done / MtuExchanged) or the PDU didn't belong to it.
    ///
    /// `value` is the value passed to [`ClientLink::start`] for a Write (ignored otherwise).
    /// A PDU that isn't a response (by its opcode) or comes while idle changes nothing.
    pub fn on_response(
        &mut self,
        pdu: &[u8],
        value: &[u8],
        out: &mut [u8],
        emit: &mut dyn FnMut(Output<'_>),
    ) -> Option<usize> {
        let request = self.state.request()?;
        if Opcode(*pdu.first()?).kind() != Some(Kind::Response) {
            return None;
        }
        // ATT_MTU bounds every PDU (Part F §3.2.8); a read allows for an MTU that changed while
        // its request was out (see `read_chunk`).
        let limit = match self.state {
            State::Read { mtu, .. } => mtu.max(self.mtu),
            _ => self.mtu,
        };
        let step = match Pdu::parse(pdu) {
            _ if pdu.len() > usize::from(limit) => self.fail(STATUS_INVALID_RESPONSE, out),
            // The reserved code 0 would read as success; it is a broken response instead.
            Ok(Pdu::ErrorRsp { request: r, code, .. }) if r == request && code.0 != 0 => self.on_error(code, out, emit),
            Ok(p) => self.on_pdu(p, value, out, emit),
            Err(_) => self.fail(STATUS_INVALID_RESPONSE, out),
        };
        match step {
            Step::Send(n) => Some(n),
            Step::Finish(status) => {
                self.state = State::Idle;
                emit(Output::Done { status });
                None
            }
            Step::Ended => {
                self.state = State::Idle;
                None
            }
        }
    }

    /// The bearer timed out (30 s) or the link dropped: emit Done{status} for a running procedure.
    pub fn abort(&mut self, status: u16, emit: &mut dyn FnMut(Output<'_>)) {
        // A characteristic held back for its end handle is dropped: the results are
        // incomplete anyway, and its end handle would be a guess.
        if core::mem::replace(&mut self.state, State::Idle) != State::Idle {
            emit(Output::Done { status });
        }
    }

    /// A well-formed response PDU; anything not expected in the current state is a failure.
    fn on_pdu(&mut self, p: Pdu<'_>, value: &[u8], out: &mut [u8], emit: &mut dyn FnMut(Output<'_>)) -> Step {
        match (self.state, p) {
            (State::Services { uuid: None, next }, Pdu::ReadByGroupTypeRsp(d)) => self.services(next, d, out, emit),
            (State::Services { uuid: Some(uuid), next }, Pdu::FindByTypeValueRsp(d)) => {
                self.services_by_uuid(uuid, next, d, out, emit)
            }
            (State::Characteristics { next, end, uuid, last }, Pdu::ReadByTypeRsp(d)) => {
                self.characteristics(next, end, uuid, last, d, out, emit)
            }
            (State::Descriptors { next, end }, Pdu::FindInformationRsp(d)) => self.descriptors(next, end, d, out, emit),
            (State::Read { handle, got, mtu }, Pdu::ReadRsp { value: data }) if got == 0 => {
                self.read_chunk(handle, got, mtu, data, out, emit)
            }
            (State::Read { handle, got, mtu }, Pdu::ReadBlobRsp { value: data }) if got > 0 => {
                self.read_chunk(handle, got, mtu, data, out, emit)
            }
            (State::WriteReq, Pdu::WriteRsp) => Step::Finish(0),
            (State::Prepare { handle, len, offset, part }, Pdu::PrepareWriteRsp { handle: h, offset: o, value: v }) => {
                self.prepared(handle, len, offset, part, (h, o, v), value, out)
            }
            (State::Execute { commit: true, .. }, Pdu::ExecuteWriteRsp) => Step::Finish(0),
            (State::Execute { commit: false, status }, Pdu::ExecuteWriteRsp) => Step::Finish(status),
            (State::Mtu { ours }, Pdu::ExchangeMtuRsp { mtu: theirs }) => {
                self.exchanged = true;
                self.set_mtu(ours.min(theirs));
                emit(Output::MtuExchanged { mtu: self.mtu });
                Step::Ended
            }
            _ => self.fail(STATUS_INVALID_RESPONSE, out),
        }
    }

    /// An Error Response to the outstanding request.
    fn on_error(&mut self, code: ErrorCode, out: &mut [u8], emit: &mut dyn FnMut(Output<'_>)) -> Step {
        match self.state {
            // Nothing (more) in the range: the normal end of every discovery (Part G §4.4–4.7).
            State::Characteristics { end, uuid, last, .. } if code == ErrorCode::ATTRIBUTE_NOT_FOUND => {
                discover::flush(last, end, uuid, emit);
                Step::Finish(0)
            }
            State::Services { .. } | State::Descriptors { .. } if code == ErrorCode::ATTRIBUTE_NOT_FOUND => {
                Step::Finish(0)
            }
            // A value that fit one Read Response exactly: the server says there is no more (§4.8.3).
            State::Read { got, .. } if got > 0 && code == ErrorCode::ATTRIBUTE_NOT_LONG => Step::Finish(0),
            // The cancel itself failed: the server drops the queue when the link goes anyway,
            // and the original reason is what the application needs.
            State::Execute { commit: false, status } => Step::Finish(status),
            // A refused first part queued nothing, so there is nothing to cancel.
            State::Prepare { offset: 0, .. } => Step::Finish(u16::from(code.0)),
            _ => self.fail(u16::from(code.0), out),
        }
    }

    /// Ends the procedure with `status`; a long write cancels what the server may have queued.
    fn fail(&mut self, status: u16, out: &mut [u8]) -> Step {
        match self.state {
            State::Prepare { .. } => transfer::cancel(self, status, out),
            _ => Step::Finish(status),
        }
    }
}

/// Checks a handle range given by the application: handle 0 is reserved, ranges run upwards.
fn check_range(start: u16, end: u16) -> Result<(), Error> {
    if start == 0 || start > end {
        return Err(Error::InvalidHandle);
    }
    Ok(())
}

/// Writes a request into `out`, held to the MTU; `None` if it doesn't fit.
fn emit(pdu: Pdu<'_>, out: &mut [u8], mtu: u16) -> Option<usize> {
    let limit = out.len().min(usize::from(mtu));
    pdu.emit(out.get_mut(..limit)?).ok()
}

/// Routes a PDU received while `mtu` is the ATT_MTU: to the server, or to the client as a
/// response, notification or indication.
///
/// A notification or indication longer than the MTU is invalid (Part F §3.2.8) and goes
/// nowhere: no event, no confirmation. Longer requests and responses still go to the server
/// and the running procedure, which answer them as invalid.
pub fn classify(pdu: &[u8], mtu: u16) -> Direction {
    let Some(&op) = pdu.first() else { return Direction::Invalid };
    let handle = || {
        if pdu.len() > usize::from(mtu) {
            return None;
        }
        Some(u16::from_le_bytes([*pdu.get(1)?, *pdu.get(2)?]))
    };
    match Opcode(op).kind() {
        Some(Kind::Response) => Direction::Response,
        Some(Kind::Notification) if Opcode(op) == Opcode::HANDLE_VALUE_NTF => {
            handle().map_or(Direction::Invalid, |handle| Direction::Notification { handle })
        }
        Some(Kind::Indication) => handle().map_or(Direction::Invalid, |handle| Direction::Indication { handle }),
        Some(Kind::Notification) => Direction::Invalid,
        // Unknown opcodes go to the server too: it answers unknown requests with Request Not
        // Supported and ignores unknown commands, as Part F §3.4.9 asks.
        Some(Kind::Request | Kind::Command | Kind::Confirmation) | None => Direction::ToServer,
    }
}

/// Writes a Handle Value Confirmation into `out`; its length (0 if `out` is empty).
pub fn confirmation(out: &mut [u8]) -> usize {
    Pdu::HandleValueCfm.emit(out).unwrap_or(0)
}
