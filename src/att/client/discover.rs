//! Discovery of services, characteristics and descriptors (Part G §4.4, §4.6, §4.7).
//!
//! Each discovery asks for a handle range, gets back a list, and asks again from one past the
//! last handle listed until the range is used up or the server answers Attribute Not Found.
//! Every list is checked whole before anything is reported: its handles must lie inside the
//! range asked for and increase strictly. That is what guarantees progress — each round starts
//! above the previous one — so no server can keep a discovery going forever.

use super::{emit, ClientLink, Output, State, Step, STATUS_INVALID_RESPONSE};
use crate::att::codes::ErrorCode;
use crate::att::lists::{AttributeData, GroupData, HandlesInformation, InformationData};
use crate::att::uuid::Uuid;
use crate::att::wire::Pdu;

/// The highest attribute handle: services are searched up to it.
const LAST_HANDLE: u16 = 0xffff;
/// The Primary Service type as Find By Type Value carries it (a bare 16-bit type).
const PRIMARY_SERVICE: u16 = 0x2800;

/// A characteristic declaration as discovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Found {
    /// Handle of the declaration itself.
    decl: u16,
    value_handle: u16,
    properties: u8,
    uuid: Uuid,
}

/// Writes a service discovery request for `start..=0xFFFF`, all services or those of `uuid`.
pub(super) fn services_request(uuid: Option<Uuid>, start: u16, out: &mut [u8], mtu: u16) -> Option<usize> {
    match uuid {
        None => emit(Pdu::ReadByGroupTypeReq { start, end: LAST_HANDLE, group_type: Uuid::PRIMARY_SERVICE }, out, mtu),
        Some(uuid) => {
            // The server compares declaration values byte for byte, so the UUID goes in the
            // form a service declaration holds it: the caller already shortened it.
            let mut buf = [0u8; 16];
            let n = uuid.write_le(&mut buf)?;
            let value = buf.get(..n)?;
            emit(Pdu::FindByTypeValueReq { start, end: LAST_HANDLE, attribute_type: PRIMARY_SERVICE, value }, out, mtu)
        }
    }
}

/// Writes a characteristic discovery request (Read By Type of Characteristic) for `start..=end`.
pub(super) fn characteristics_request(start: u16, end: u16, out: &mut [u8], mtu: u16) -> Option<usize> {
    emit(Pdu::ReadByTypeReq { start, end, attribute_type: Uuid::CHARACTERISTIC }, out, mtu)
}

/// Writes a descriptor discovery request (Find Information) for `start..=end`.
pub(super) fn descriptors_request(start: u16, end: u16, out: &mut [u8], mtu: u16) -> Option<usize> {
    emit(Pdu::FindInformationReq { start, end }, out, mtu)
}

/// Reports the characteristic held back, now that its end handle is known (if the filter lets it).
pub(super) fn flush(last: Option<Found>, end_handle: u16, filter: Option<Uuid>, emit: &mut dyn FnMut(Output<'_>)) {
    if let Some(f) = last {
        if filter.is_none_or(|u| u.same_as(&f.uuid)) {
            emit(Output::Characteristic {
                value_handle: f.value_handle,
                end_handle,
                properties: f.properties,
                uuid: f.uuid,
            });
        }
    }
}

/// Checks list entries given as (first, last) handles: inside `next..=end`, each starting above
/// the one before. Returns the last handle of the final entry, `None` if any entry is out of line.
fn check_order(next: u16, end: u16, entries: impl Iterator<Item = (u16, u16)>) -> Option<u16> {
    // The lowest handle the coming entry may start at; gone once an entry reached 0xFFFF.
    let mut floor = Some(next);
    let mut last = None;
    for (first, l) in entries {
        if first < floor? || l < first || l > end {
            return None;
        }
        floor = l.checked_add(1);
        last = Some(l);
    }
    last
}

/// Parses a characteristic declaration value: properties, value handle, UUID (Part G §3.3.1).
fn declaration(decl: u16, value: &[u8]) -> Option<Found> {
    let (&properties, rest) = value.split_first()?;
    let (handle, uuid) = rest.split_at_checked(2)?;
    let value_handle = u16::from_le_bytes(handle.try_into().ok()?);
    Some(Found { decl, value_handle, properties, uuid: Uuid::from_le_slice(uuid)? })
}

/// Where the next round starts, or `None` when the last handle listed used up the range.
fn after(last: u16, end: u16) -> Option<u16> {
    if last >= end {
        None
    } else {
        last.checked_add(1)
    }
}

impl ClientLink {
    /// Moves to `state` once its request is written, or ends the procedure if it can't be.
    fn round(&mut self, state: State, request: Option<usize>) -> Step {
        match request {
            Some(n) => {
                self.state = state;
                Step::Send(n)
            }
            None => Step::Finish(u16::from(ErrorCode::UNLIKELY_ERROR.0)),
        }
    }

    /// A Read By Group Type Response to service discovery from `next`.
    pub(super) fn services(
        &mut self,
        next: u16,
        d: GroupData<'_>,
        out: &mut [u8],
        emit: &mut dyn FnMut(Output<'_>),
    ) -> Step {
        let uuids_ok = d.iter().all(|(_, _, v)| Uuid::from_le_slice(v).is_some());
        let Some(last) = check_order(next, LAST_HANDLE, d.iter().map(|(s, e, _)| (s, e))).filter(|_| uuids_ok) else {
            return Step::Finish(STATUS_INVALID_RESPONSE);
        };
        for (start, end, v) in d.iter() {
            if let Some(uuid) = Uuid::from_le_slice(v) {
                emit(Output::Service { start, end, uuid });
            }
        }
        match after(last, LAST_HANDLE) {
            None => Step::Finish(0),
            Some(next) => {
                let request = services_request(None, next, out, self.mtu);
                self.round(State::Services { uuid: None, next }, request)
            }
        }
    }

    /// A Find By Type Value Response to discovery of `uuid` services from `next`.
    pub(super) fn services_by_uuid(
        &mut self,
        uuid: Uuid,
        next: u16,
        d: HandlesInformation<'_>,
        out: &mut [u8],
        emit: &mut dyn FnMut(Output<'_>),
    ) -> Step {
        let Some(last) = check_order(next, LAST_HANDLE, d.iter()) else {
            return Step::Finish(STATUS_INVALID_RESPONSE);
        };
        for (start, end) in d.iter() {
            emit(Output::Service { start, end, uuid });
        }
        match after(last, LAST_HANDLE) {
            None => Step::Finish(0),
            Some(next) => {
                let request = services_request(Some(uuid), next, out, self.mtu);
                self.round(State::Services { uuid: Some(uuid), next }, request)
            }
        }
    }

    /// A Read By Type Response to characteristic discovery of `next..=end`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn characteristics(
        &mut self,
        next: u16,
        end: u16,
        filter: Option<Uuid>,
        mut last: Option<Found>,
        d: AttributeData<'_>,
        out: &mut [u8],
        emit: &mut dyn FnMut(Output<'_>),
    ) -> Step {
        // Each value handle immediately follows its declaration (Part G §3.3) and comes before
        // the next declaration, so a characteristic never ends before its value.
        let mut prev = last.map(|l| l.value_handle);
        let values_ok = d.iter().all(|(h, v)| match declaration(h, v) {
            Some(f) if prev.is_none_or(|p| h > p) && h.checked_add(1) == Some(f.value_handle) => {
                prev = Some(f.value_handle);
                true
            }
            _ => false,
        });
        let Some(last_decl) = check_order(next, end, d.iter().map(|(h, _)| (h, h))).filter(|_| values_ok) else {
            return Step::Finish(STATUS_INVALID_RESPONSE);
        };
        for f in d.iter().filter_map(|(h, v)| declaration(h, v)) {
            // A characteristic ends just before the next declaration (Part G §3.3); the check
            // above makes that declaration's handle greater than the previous one's.
            flush(last, f.decl.saturating_sub(1), filter, emit);
            last = Some(f);
        }
        match after(last_decl, end) {
            None => {
                flush(last, end, filter, emit);
                Step::Finish(0)
            }
            Some(next) => {
                let request = characteristics_request(next, end, out, self.mtu);
                self.round(State::Characteristics { next, end, uuid: filter, last }, request)
            }
        }
    }

    /// A Find Information Response to descriptor discovery of `next..=end`.
    pub(super) fn descriptors(
        &mut self,
        next: u16,
        end: u16,
        d: InformationData<'_>,
        out: &mut [u8],
        emit: &mut dyn FnMut(Output<'_>),
    ) -> Step {
        let Some(last) = check_order(next, end, d.iter().map(|(h, _)| (h, h))) else {
            return Step::Finish(STATUS_INVALID_RESPONSE);
        };
        for (handle, uuid) in d.iter() {
            emit(Output::Descriptor { handle, uuid });
        }
        match after(last, end) {
            None => Step::Finish(0),
            Some(next) => {
                let request = descriptors_request(next, end, out, self.mtu);
                self.round(State::Descriptors { next, end }, request)
            }
        }
    }
}
