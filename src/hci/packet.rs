//! Typed views of the HCI packets the backend looks into (H4 bodies, without
//! the packet indicator): the ACL data header and the event codes. Every
//! layer reads these fields through here, not with its own offsets.
#![forbid(unsafe_code)]

/// Disconnection Complete.
pub const EV_DISCONNECTION_COMPLETE: u8 = 0x05;
/// Encryption Change (v1).
pub const EV_ENCRYPTION_CHANGE: u8 = 0x08;
/// Command Complete.
pub const EV_COMMAND_COMPLETE: u8 = 0x0e;
/// Command Status.
pub const EV_COMMAND_STATUS: u8 = 0x0f;
/// Number Of Completed Packets.
pub const EV_NUMBER_OF_COMPLETED_PACKETS: u8 = 0x13;
/// Encryption Key Refresh Complete.
pub const EV_ENCRYPTION_KEY_REFRESH: u8 = 0x30;
/// LE Meta event.
pub const EV_LE_META: u8 = 0x3e;
/// LE Connection Complete (LE Meta subevent).
pub const LE_CONNECTION_COMPLETE: u8 = 0x01;
/// LE Long Term Key Request (LE Meta subevent).
pub const LE_LONG_TERM_KEY_REQUEST: u8 = 0x05;
/// LE Enhanced Connection Complete (LE Meta subevent).
pub const LE_ENHANCED_CONNECTION_COMPLETE: u8 = 0x0a;

/// Bytes of the ACL data header.
pub const ACL_HEADER: usize = 4;
/// Largest connection handle (Vol 4 Part E §5.4.2).
pub const HANDLE_MAX: u16 = 0x0eff;

/// An ACL data packet: header fields and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acl<'a> {
    /// The connection handle.
    pub handle: u16,
    /// The first fragment of an L2CAP frame (packet boundary 0b00 or 0b10),
    /// rather than a continuation (0b01).
    pub first: bool,
    /// The payload: L2CAP bytes.
    pub data: &'a [u8],
}

impl<'a> Acl<'a> {
    /// Parses an ACL packet whose length field matches its size exactly.
    pub fn parse(pkt: &'a [u8]) -> Option<Self> {
        let header = pkt.get(..ACL_HEADER)?;
        let word = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let data = &pkt[ACL_HEADER..];
        (data.len() == len).then_some(Self { handle: word & 0x0fff, first: (word >> 12) & 0b11 != 0b01, data })
    }

    /// The connection handle of a packet, without checking the rest.
    pub fn handle_of(pkt: &[u8]) -> Option<u16> {
        Some(u16::from_le_bytes([*pkt.first()?, *pkt.get(1)?]) & 0x0fff)
    }

    /// Writes the header of a packet host → controller: a first fragment
    /// (boundary 0b00, not automatically flushable) or a continuation.
    pub fn header(handle: u16, first: bool, len: usize) -> [u8; ACL_HEADER] {
        let pb: u16 = if first { 0x0000 } else { 0x1000 };
        let [a, b] = (handle | pb).to_le_bytes();
        let [c, d] = (len as u16).to_le_bytes();
        [a, b, c, d]
    }
}

/// An event's code and parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventView<'a> {
    /// The event code.
    pub code: u8,
    /// Its parameters (as long as the length field says).
    pub params: &'a [u8],
}

impl<'a> EventView<'a> {
    /// Parses an event whose length field matches its size exactly.
    pub fn parse(pkt: &'a [u8]) -> Option<Self> {
        let (&code, rest) = pkt.split_first()?;
        let (&len, params) = rest.split_first()?;
        (params.len() == usize::from(len)).then_some(Self { code, params })
    }

    /// The LE Meta subevent code, for an LE Meta event.
    pub fn le_subevent(&self) -> Option<u8> {
        (self.code == EV_LE_META).then(|| self.params.first().copied()).flatten()
    }

    /// The little-endian u16 at `at` in the parameters.
    pub fn u16_at(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes([*self.params.get(at)?, *self.params.get(at + 1)?]))
    }

    /// For a Command Complete or Command Status: the command's opcode and the
    /// index of its status byte in the event packet (code and length included).
    pub fn command_status(&self) -> Option<(u16, usize)> {
        match self.code {
            // ncmd, opcode, status, return parameters
            EV_COMMAND_COMPLETE if self.params.len() >= 4 => Some((self.u16_at(1)?, 2 + 3)),
            // status, ncmd, opcode
            EV_COMMAND_STATUS if self.params.len() == 4 => Some((self.u16_at(2)?, 2)),
            _ => None,
        }
    }

    /// The address (HCI order) a successful Command Complete of Read BD_ADDR carries.
    pub fn bd_addr(&self) -> Option<[u8; 6]> {
        // ncmd, opcode, status, BD_ADDR
        if self.code != EV_COMMAND_COMPLETE || self.u16_at(1) != Some(OP_READ_BD_ADDR) || self.params.len() != 10 {
            return None;
        }
        (self.params[3] == 0).then(|| self.params[4..10].try_into().ok()).flatten()
    }
}

/// Read BD_ADDR (Vol 4 Part E §7.4.6).
pub const OP_READ_BD_ADDR: u16 = 0x1009;
/// LE Enable Encryption (Vol 4 Part E §7.8.24).
pub const OP_LE_ENABLE_ENCRYPTION: u16 = 0x2019;
/// LE Long Term Key Request Reply (§7.8.25).
pub const OP_LE_LTK_REPLY: u16 = 0x201a;
/// LE Long Term Key Request Negative Reply (§7.8.26).
pub const OP_LE_LTK_NEGATIVE_REPLY: u16 = 0x201b;
/// HCI error: the connection handle names no connection (Vol 1 Part F §1.3).
pub const ERR_UNKNOWN_CONNECTION: u8 = 0x02;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_status_finds_the_status_byte() {
        // Command Complete of LTK Reply: ncmd 1, opcode 0x201a, status 0x02, handle 0x0040.
        let cc = [EV_COMMAND_COMPLETE, 6, 1, 0x1a, 0x20, 0x02, 0x40, 0x00];
        assert_eq!(EventView::parse(&cc).unwrap().command_status(), Some((OP_LE_LTK_REPLY, 5)));
        assert_eq!(cc[5], ERR_UNKNOWN_CONNECTION);
        // Command Status of LE Enable Encryption: status 0x02, ncmd 1, opcode 0x2019.
        let cs = [EV_COMMAND_STATUS, 4, 0x02, 1, 0x19, 0x20];
        assert_eq!(EventView::parse(&cs).unwrap().command_status(), Some((OP_LE_ENABLE_ENCRYPTION, 2)));
        // Too short for a status, or another event.
        assert_eq!(EventView::parse(&[EV_COMMAND_COMPLETE, 3, 1, 0x1a, 0x20]).unwrap().command_status(), None);
        assert_eq!(EventView::parse(&[EV_COMMAND_STATUS, 3, 0, 1, 0x19]).unwrap().command_status(), None);
        assert_eq!(EventView::parse(&[EV_DISCONNECTION_COMPLETE, 4, 0, 0x40, 0, 0x13]).unwrap().command_status(), None);
    }

    #[test]
    fn acl_header_round_trips() {
        let mut pkt = Acl::header(0x040, false, 3).to_vec();
        pkt.extend([1, 2, 3]);
        assert_eq!(Acl::parse(&pkt), Some(Acl { handle: 0x040, first: false, data: &[1, 2, 3] }));
        let mut first = Acl::header(0x0eff, true, 1).to_vec();
        first.push(9);
        assert!(Acl::parse(&first).is_some_and(|a| a.first && a.handle == 0x0eff));
        // Boundary 0b10 (first, flushable, as controllers send) is a first fragment too.
        assert!(Acl::parse(&[0x01, 0x20, 0, 0]).is_some_and(|a| a.first));
        assert_eq!(Acl::parse(&[0x01, 0x20, 2, 0, 1]), None);
        assert_eq!(Acl::parse(&[0x01]), None);
    }

    #[test]
    fn bd_addr_only_from_a_successful_read() {
        let ok = [0x0e, 10, 1, 0x09, 0x10, 0, 1, 2, 3, 4, 5, 6];
        assert_eq!(EventView::parse(&ok).unwrap().bd_addr(), Some([1, 2, 3, 4, 5, 6]));
        let mut failed = ok;
        failed[5] = 0x0c;
        assert_eq!(EventView::parse(&failed).unwrap().bd_addr(), None);
        let other = [0x0e, 10, 1, 0x02, 0x20, 0, 1, 2, 3, 4, 5, 6];
        assert_eq!(EventView::parse(&other).unwrap().bd_addr(), None);
        assert_eq!(EventView::parse(&[0x0e, 4, 1, 0x09, 0x10, 0]).unwrap().bd_addr(), None);
    }

    #[test]
    fn event_view_checks_the_length() {
        let e = EventView::parse(&[0x3e, 3, 0x05, 0x40, 0x00]).unwrap();
        assert_eq!(e.le_subevent(), Some(LE_LONG_TERM_KEY_REQUEST));
        assert_eq!(e.u16_at(1), Some(0x40));
        assert_eq!(e.u16_at(2), None);
        assert_eq!(EventView::parse(&[0x05, 4, 0]), None);
        assert_eq!(EventView::parse(&[0x05]), None);
    }
}
