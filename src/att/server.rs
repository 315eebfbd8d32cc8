//! The ATT server of one connection: turns each complete request PDU from the bearer into the
//! response to send, plus the events MicroPython must see (Core v5.4 Vol 3 Part F §3.4, with
//! the GATT procedures of Part G it serves).
//!
//! State lives in a [`ServerLink`] per connection (MTU, CCCDs, prepare queue); the database
//! and the value store are shared. Nothing here blocks: when the application must decide
//! about an access (MicroPython's GATTS_READ_REQUEST, or an authorized attribute), [`Hooks::decide`]
//! may answer [`Decision::Ask`]; the server then returns [`Outcome::Ask`] without responding or
//! changing anything, and the caller runs the same PDU again once `decide` has the answer.

mod read;
#[cfg(test)]
mod tests;
mod write;

use super::codes::{ErrorCode, Opcode};
use super::wire::{Error as WireError, Pdu};
use crate::att::db::{Attribute, Database, DeclarationValue, Kind, Permission};
use crate::config::{MAX_ATTRIBUTES, MIN_ENCRYPTION_KEY_SIZE};
use write::PrepareQueue;

/// The ATT_MTU every LE link starts with and never goes below.
pub const MIN_MTU: u16 = 23;
/// The largest MTU offered or accepted (`config::ATT_MTU_MAX`).
pub const MAX_MTU: u16 = crate::config::ATT_MTU_MAX;
/// The longest attribute value ATT allows (Vol 3 Part F §3.2.9).
pub use crate::config::MAX_VALUE_LEN;

/// The security of the link, as the security manager last reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Security {
    /// The link is encrypted.
    pub encrypted: bool,
    /// The encryption key came from an authenticated (MITM-protected) pairing.
    pub authenticated: bool,
    /// Size of the encryption key in bytes (7 to 16).
    pub key_size: u8,
}

/// Which way an access goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A read (Read, Read Blob, Read By Type, Read Multiple).
    Read,
    /// A write (Write Request or Command, Prepare Write).
    Write,
}

/// The application's answer about one access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse with this ATT error.
    Deny(ErrorCode),
    /// Not known yet: the server returns [`Outcome::Ask`] and expects the PDU again.
    Ask,
}

/// Something the caller must pass on to MicroPython once the response is on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A client wrote a characteristic value or descriptor (GATTS_WRITE).
    Written {
        /// The attribute written.
        handle: u16,
    },
    /// A client wrote a CCCD on this link.
    CccdChanged {
        /// The CCCD's handle.
        handle: u16,
        /// Its new value (bit 0 notify, bit 1 indicate).
        value: u16,
    },
    /// The client's MTU exchange set the link MTU (MTU_EXCHANGED).
    MtuExchanged {
        /// The negotiated ATT_MTU.
        mtu: u16,
    },
    /// The client confirmed an indication.
    Confirmation,
}

/// What to do after a PDU was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send `out[..len]` as the response.
    Respond(usize),
    /// Send nothing (commands, confirmations, PDUs the server ignores).
    Silent,
    /// Nothing was sent or changed: get the application's decision about this access, then
    /// hand the same PDU in again.
    Ask {
        /// The attribute concerned.
        handle: u16,
        /// Read or write.
        access: Access,
    },
}

/// Where attribute values live (MicroPython's gatts db); the server never stores them.
pub trait ValueStore {
    /// The current value of a characteristic value or descriptor (empty if it has none).
    fn value(&self, handle: u16) -> &[u8];
    /// Replaces the value from `offset` on: the new value is the old one's first `offset`
    /// bytes followed by `data` (`offset` is never past the end). An error is sent to the
    /// client as it is.
    fn write(&mut self, handle: u16, offset: usize, data: &[u8]) -> Result<(), ErrorCode>;
}

/// The application side of the server: decisions and events.
pub trait Hooks {
    /// Whether an access may go ahead. Asked for every read of an application characteristic
    /// value or descriptor (MicroPython's read request), and for writes to attributes that
    /// need authorization; only after the link's security was found sufficient.
    ///
    /// `Ask` normally makes the server return [`Outcome::Ask`], but not always: for a later
    /// entry of a Read By Type list the server just ends the list there (the client asks for
    /// the rest next, and that entry is then the first). So raise GATTS_READ_REQUEST on
    /// `Outcome::Ask`, not here. A request over several handles (Read Multiple) may ask about
    /// each in turn, so remember every answer until the request has been answered.
    fn decide(&mut self, handle: u16, access: Access) -> Decision;
    /// Takes one event; called during [`handle_request`], in order.
    fn event(&mut self, event: Event);
}

/// Bytes of CCCD state per link: two bits (notify, indicate) for every handle.
const CCCD_BYTES: usize = MAX_ATTRIBUTES.div_ceil(4);

/// The server state of one connection.
#[derive(Clone, Debug)]
pub struct ServerLink {
    mtu: u16,
    preferred: u16,
    mtu_exchanged: bool,
    cccds: [u8; CCCD_BYTES],
    queue: PrepareQueue,
}

impl ServerLink {
    /// A fresh link (MTU 23, nothing subscribed) that will offer `preferred_mtu` when asked.
    pub const fn new(preferred_mtu: u16) -> Self {
        let preferred = if preferred_mtu < MIN_MTU {
            MIN_MTU
        } else if preferred_mtu > MAX_MTU {
            MAX_MTU
        } else {
            preferred_mtu
        };
        Self { mtu: MIN_MTU, preferred, mtu_exchanged: false, cccds: [0; CCCD_BYTES], queue: PrepareQueue::new() }
    }

    /// The server of a slot with no link: all zero, so a table of links
    /// starts in .bss instead of taking its size again in flash as .data.
    pub const fn unused() -> Self {
        Self { mtu: 0, preferred: 0, mtu_exchanged: false, cccds: [0; CCCD_BYTES], queue: PrepareQueue::new() }
    }

    /// The ATT_MTU in force.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Records an MTU negotiated by our own client's exchange (one exchange per link).
    pub fn set_mtu(&mut self, mtu: u16) {
        self.mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        self.mtu_exchanged = true;
    }

    /// The CCCD value at `handle` on this link (0 if never written).
    pub fn cccd(&self, handle: u16) -> u16 {
        let (byte, shift) = cccd_slot(handle);
        self.cccds.get(byte).map_or(0, |b| u16::from((b >> shift) & 0b11))
    }

    /// Forgets every subscription (the database was replaced).
    pub fn clear_cccds(&mut self) {
        self.cccds = [0; CCCD_BYTES];
    }

    fn set_cccd(&mut self, handle: u16, value: u16) {
        let (byte, shift) = cccd_slot(handle);
        if let Some(b) = self.cccds.get_mut(byte) {
            *b = (*b & !(0b11 << shift)) | (((value & 0b11) as u8) << shift);
        }
    }
}

/// Byte index and bit shift of a handle's two CCCD bits.
fn cccd_slot(handle: u16) -> (usize, u32) {
    let i = usize::from(handle);
    (i / 4, (i % 4) as u32 * 2)
}

/// Handles one PDU received on the ATT channel; `out` should hold at least the link's MTU.
pub fn handle_request<S: ValueStore + ?Sized, H: Hooks + ?Sized>(
    db: &Database,
    store: &mut S,
    link: &mut ServerLink,
    security: Security,
    hooks: &mut H,
    pdu: &[u8],
    out: &mut [u8],
) -> Outcome {
    let Some(&op) = pdu.first() else { return Outcome::Silent };
    let op = Opcode(op);
    // Responses never exceed the MTU in force when the request arrived.
    let limit = out.len().min(usize::from(link.mtu));
    let Some(out) = out.get_mut(..limit) else { return Outcome::Silent };
    let parsed = match Pdu::parse(pdu) {
        Ok(p) => p,
        // Unknown requests get an answer so the client isn't left waiting; commands never do.
        Err(WireError::UnknownOpcode(_)) if !op.is_command() => {
            return error(out, op, 0, ErrorCode::REQUEST_NOT_SUPPORTED)
        }
        Err(_) if op.kind() == Some(super::codes::Kind::Request) => return error(out, op, 0, ErrorCode::INVALID_PDU),
        Err(_) => return Outcome::Silent,
    };
    // ATT_MTU bounds every PDU either way (Vol 3 Part F §3.2.8), so a longer one is invalid
    // whatever it carries. A request gets Invalid PDU and changes nothing: dropping it would
    // leave the client waiting until its transaction times out and the bearer is lost
    // (§3.3.3). Anything else is dropped, as a command that fails is (§3.4.5.3).
    if pdu.len() > usize::from(link.mtu) {
        return match op.kind() {
            Some(super::codes::Kind::Request) => error(out, op, 0, ErrorCode::INVALID_PDU),
            _ => Outcome::Silent,
        };
    }
    let mut ctx = Ctx { db, store, link, security, hooks };
    let result = match parsed {
        Pdu::ExchangeMtuReq { mtu } => ctx.exchange_mtu(mtu, out),
        Pdu::FindInformationReq { start, end } => ctx.find_information(start, end, out),
        Pdu::FindByTypeValueReq { start, end, attribute_type, value } => {
            ctx.find_by_type_value(start, end, attribute_type, value, out)
        }
        Pdu::ReadByTypeReq { start, end, attribute_type } => ctx.read_by_type(start, end, attribute_type, out),
        Pdu::ReadByGroupTypeReq { start, end, group_type } => ctx.read_by_group_type(start, end, group_type, out),
        Pdu::ReadReq { handle } => ctx.read(handle, 0, false, out),
        Pdu::ReadBlobReq { handle, offset } => ctx.read(handle, offset, true, out),
        Pdu::ReadMultipleReq(handles) => ctx.read_multiple(handles, false, out),
        Pdu::ReadMultipleVariableReq(handles) => ctx.read_multiple(handles, true, out),
        Pdu::WriteReq { handle, value } => ctx.write_request(handle, value, out),
        Pdu::WriteCmd { handle, value } => {
            // Commands fail silently (§3.4.5.3), but an Ask still has to reach the caller.
            return match ctx.write_value(handle, value) {
                Err(Fail::Ask(handle, access)) => Outcome::Ask { handle, access },
                _ => Outcome::Silent,
            };
        }
        // Signing keys (CSRK) aren't kept, so no signature can be verified: ignored, as a
        // command that fails verification must be.
        Pdu::SignedWriteCmd { .. } => return Outcome::Silent,
        Pdu::PrepareWriteReq { handle, offset, value } => ctx.prepare_write(handle, offset, value, out),
        Pdu::ExecuteWriteReq { commit } => ctx.execute_write(commit, out),
        Pdu::HandleValueCfm => {
            ctx.hooks.event(Event::Confirmation);
            return Outcome::Silent;
        }
        // Responses and notifications belong to our client, which the bearer feeds directly.
        _ => return Outcome::Silent,
    };
    match result {
        Ok(n) => Outcome::Respond(n),
        Err(Fail::Error(handle, code)) => error(out, op, handle, code),
        Err(Fail::Ask(handle, access)) => Outcome::Ask { handle, access },
    }
}

/// Emits an Error Response for request `op`; silent if `out` can't hold even that.
fn error(out: &mut [u8], op: Opcode, handle: u16, code: ErrorCode) -> Outcome {
    match (Pdu::ErrorRsp { request: op, handle, code }).emit(out) {
        Ok(n) => Outcome::Respond(n),
        Err(_) => Outcome::Silent,
    }
}

/// Why a request did not produce its normal response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    /// Answer with an Error Response naming this handle.
    Error(u16, ErrorCode),
    /// Stop without answering; the application must decide first.
    Ask(u16, Access),
}

/// What every procedure works with.
struct Ctx<'a, S: ?Sized, H: ?Sized> {
    db: &'a Database,
    store: &'a mut S,
    link: &'a mut ServerLink,
    security: Security,
    hooks: &'a mut H,
}

/// An attribute value, wherever it comes from.
enum Value<'s> {
    /// Built by the database.
    Declaration(DeclarationValue),
    /// A CCCD of this link, little-endian.
    Cccd([u8; 2]),
    /// From the value store.
    Stored(&'s [u8]),
}

impl Value<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Value::Declaration(d) => d.as_slice(),
            Value::Cccd(b) => b,
            Value::Stored(s) => s,
        }
    }
}

impl<S: ValueStore + ?Sized, H: Hooks + ?Sized> Ctx<'_, S, H> {
    /// The attribute at `handle`, or Invalid Handle.
    fn attribute(&self, handle: u16) -> Result<Attribute, Fail> {
        self.db.get(handle).copied().ok_or(Fail::Error(handle, ErrorCode::INVALID_HANDLE))
    }

    /// Checks an access against the attribute's permissions, then asks the application when
    /// it has a say (see [`Hooks::decide`]).
    fn check(&mut self, handle: u16, attr: &Attribute, access: Access) -> Result<(), Fail> {
        let (perm, not_permitted) = match access {
            Access::Read => (attr.read_permission(), ErrorCode::READ_NOT_PERMITTED),
            Access::Write => (attr.write_permission(), ErrorCode::WRITE_NOT_PERMITTED),
        };
        security_check(perm, self.security, not_permitted).map_err(|code| Fail::Error(handle, code))?;
        let app_value = !self.db.is_builtin(handle) && matches!(attr.kind, Kind::Value | Kind::Descriptor);
        if perm.authorization || (access == Access::Read && app_value) {
            match self.hooks.decide(handle, access) {
                Decision::Allow => {}
                Decision::Deny(code) => return Err(Fail::Error(handle, code)),
                Decision::Ask => return Err(Fail::Ask(handle, access)),
            }
        }
        Ok(())
    }

    /// The value of an attribute (no permission check).
    fn value(&self, handle: u16, attr: &Attribute) -> Value<'_> {
        match attr.kind {
            Kind::Service | Kind::Declaration => {
                self.db.declaration_value(handle).map_or(Value::Stored(&[]), Value::Declaration)
            }
            Kind::Cccd => Value::Cccd(self.link.cccd(handle).to_le_bytes()),
            Kind::Value | Kind::Descriptor => Value::Stored(self.store.value(handle)),
        }
    }

    /// Exchange MTU: the link MTU becomes the smaller of both sides' (§3.4.2).
    fn exchange_mtu(&mut self, client_mtu: u16, out: &mut [u8]) -> Result<usize, Fail> {
        // A client may only exchange once; a repeat gets the same answer but changes nothing.
        if !self.link.mtu_exchanged {
            self.link.mtu_exchanged = true;
            self.link.mtu = client_mtu.clamp(MIN_MTU, MAX_MTU).min(self.link.preferred);
            self.hooks.event(Event::MtuExchanged { mtu: self.link.mtu });
        }
        emit(Pdu::ExchangeMtuRsp { mtu: self.link.preferred }, out)
    }
}

/// The link-security part of a permission check: the error the spec names, in the order
/// a client can fix them (pair with MITM, encrypt, re-pair with a longer key).
fn security_check(perm: Permission, sec: Security, not_permitted: ErrorCode) -> Result<(), ErrorCode> {
    if !perm.allowed {
        return Err(not_permitted);
    }
    if perm.authentication && !(sec.encrypted && sec.authenticated) {
        return Err(ErrorCode::INSUFFICIENT_AUTHENTICATION);
    }
    if (perm.encryption || perm.authentication) && !sec.encrypted {
        return Err(ErrorCode::INSUFFICIENT_ENCRYPTION);
    }
    if (perm.encryption || perm.authentication) && sec.key_size < MIN_ENCRYPTION_KEY_SIZE {
        return Err(ErrorCode::ENCRYPTION_KEY_SIZE_TOO_SHORT);
    }
    Ok(())
}

/// Emits a response PDU; one that can't fit `out` is an internal limit, not the client's fault.
fn emit(pdu: Pdu, out: &mut [u8]) -> Result<usize, Fail> {
    pdu.emit(out).map_err(|_| Fail::Error(0, ErrorCode::UNLIKELY_ERROR))
}

/// Writes a response piece by piece into `out`, refusing whatever would not fit.
struct Builder<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Builder<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes still free.
    fn room(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// Appends all of `parts` or nothing; false when they don't fit.
    fn push(&mut self, parts: &[&[u8]]) -> bool {
        if parts.iter().map(|p| p.len()).sum::<usize>() > self.room() {
            return false;
        }
        for p in parts {
            if let Some(dst) = self.buf.get_mut(self.len..self.len + p.len()) {
                dst.copy_from_slice(p);
                self.len += p.len();
            }
        }
        true
    }

    /// Sets the byte at `index` (already pushed), e.g. a length known only later.
    fn set(&mut self, index: usize, byte: u8) {
        if let Some(b) = self.buf.get_mut(index) {
            *b = byte;
        }
    }
}
