//! Keeps malformed or inconsistent controller input away from trouble-host.
//!
//! trouble-host unwraps some event parses and ends its runner on others (a
//! security event for a connection it doesn't know, a Command Complete it
//! can't parse). Every packet is therefore parsed here first, with the same
//! bt-hci parsers, and dropped (and counted) if it would trip the host.
use bt_hci::event::le::LeEvent;
use bt_hci::event::{CommandComplete, CommandCompleteWithStatus, Event, EventPacket};
use bt_hci::param::ConnHandle;
use bt_hci::FromHciBytes;

use super::h4::Kind;
use crate::config::MAX_CONNECTIONS;

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// The bytes don't parse as the packet they claim to be.
    Malformed,
    /// A security event or data for a connection that doesn't exist.
    UnknownHandle,
    /// A packet type the host doesn't use (SCO, ISO).
    Unsupported,
}

/// Counters of dropped input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Packets that failed to parse.
    pub malformed: u32,
    /// Packets naming an unknown connection.
    pub unknown_handle: u32,
    /// Packets of unused types.
    pub unsupported: u32,
}

/// The filter: remembers which connection handles the controller announced.
pub struct Filter {
    handles: [Option<u16>; MAX_CONNECTIONS * 2],
    /// What was dropped so far.
    pub stats: FilterStats,
}

impl Default for Filter {
    fn default() -> Self {
        Self::new()
    }
}

impl Filter {
    /// A filter that knows no connections.
    pub const fn new() -> Self {
        Self {
            handles: [None; MAX_CONNECTIONS * 2],
            stats: FilterStats { malformed: 0, unknown_handle: 0, unsupported: 0 },
        }
    }

    /// Checks one packet (H4 body without indicator); updates the handle set.
    pub fn check(&mut self, kind: Kind, pkt: &[u8]) -> Result<(), Reject> {
        let r = match kind {
            Kind::Event => self.check_event(pkt),
            Kind::Acl => self.check_acl(pkt),
            Kind::Sco | Kind::Iso => Err(Reject::Unsupported),
        };
        if let Err(e) = r {
            let s = &mut self.stats;
            match e {
                Reject::Malformed => s.malformed = s.malformed.wrapping_add(1),
                Reject::UnknownHandle => s.unknown_handle = s.unknown_handle.wrapping_add(1),
                Reject::Unsupported => s.unsupported = s.unsupported.wrapping_add(1),
            }
        }
        r
    }

    fn check_acl(&mut self, pkt: &[u8]) -> Result<(), Reject> {
        if pkt.len() < 4 || u16::from_le_bytes([pkt[2], pkt[3]]) as usize != pkt.len() - 4 {
            return Err(Reject::Malformed);
        }
        let handle = u16::from_le_bytes([pkt[0], pkt[1]]) & 0x0fff;
        if !self.knows(handle) {
            return Err(Reject::UnknownHandle);
        }
        Ok(())
    }

    fn check_event(&mut self, pkt: &[u8]) -> Result<(), Reject> {
        let packet = EventPacket::from_hci_bytes_complete(pkt).map_err(|_| Reject::Malformed)?;
        let event = Event::try_from(packet).map_err(|_| Reject::Malformed)?;
        match event {
            Event::CommandComplete(ref c) => check_command_complete(c),
            Event::DisconnectionComplete(e) => {
                if e.status.to_result().is_ok() {
                    self.forget(e.handle);
                }
                Ok(())
            }
            Event::EncryptionChangeV1(e) => self.require(e.handle),
            Event::EncryptionKeyRefreshComplete(e) => self.require(e.handle),
            Event::Le(LeEvent::LeConnectionComplete(e)) => {
                if e.status.to_result().is_ok() {
                    self.learn(e.handle)?;
                }
                Ok(())
            }
            Event::Le(LeEvent::LeEnhancedConnectionComplete(e)) => {
                if e.status.to_result().is_ok() {
                    self.learn(e.handle)?;
                }
                Ok(())
            }
            Event::Le(LeEvent::LeLongTermKeyRequest(e)) => self.require(e.handle),
            _ => Ok(()),
        }
    }

    fn knows(&self, handle: u16) -> bool {
        self.handles.iter().any(|h| *h == Some(handle))
    }

    fn require(&self, handle: ConnHandle) -> Result<(), Reject> {
        if self.knows(handle.raw()) {
            Ok(())
        } else {
            Err(Reject::UnknownHandle)
        }
    }

    fn learn(&mut self, handle: ConnHandle) -> Result<(), Reject> {
        let h = handle.raw();
        if h > 0x0eff {
            return Err(Reject::Malformed);
        }
        if self.knows(h) {
            // A second "complete" for a live handle contradicts the first.
            return Err(Reject::UnknownHandle);
        }
        match self.handles.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(h),
            // trouble refuses the link itself when its table is full; let it.
            None => {}
        }
        Ok(())
    }

    fn forget(&mut self, handle: ConnHandle) {
        for s in self.handles.iter_mut() {
            if *s == Some(handle.raw()) {
                *s = None;
            }
        }
    }
}

fn check_command_complete(c: &CommandComplete<'_>) -> Result<(), Reject> {
    if c.has_status() {
        let _: CommandCompleteWithStatus = c.clone().try_into().map_err(|_| Reject::Malformed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_complete(handle: u16) -> Vec<u8> {
        let mut v = vec![0x3e, 19, 0x01, 0x00];
        v.extend(handle.to_le_bytes());
        v.extend([0x00, 0x00, 1, 2, 3, 4, 5, 6, 0x18, 0, 0, 0, 0x48, 0, 0]);
        v
    }

    #[test]
    fn accepts_well_formed_command_complete() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x03, 0x0c, 0]), Ok(()));
    }

    #[test]
    fn rejects_truncated_events() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x03]), Err(Reject::Malformed));
        assert_eq!(f.check(Kind::Event, &[]), Err(Reject::Malformed));
        assert_eq!(f.check(Kind::Event, &[0x3e, 3, 0x01, 0, 0]), Err(Reject::Malformed));
        assert_eq!(f.stats.malformed, 3);
    }

    #[test]
    fn tracks_handles_for_security_events() {
        let mut f = Filter::new();
        let ltk_req = [0x3e, 13, 0x05, 0x40, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(f.check(Kind::Event, &ltk_req), Err(Reject::UnknownHandle));
        assert_eq!(f.check(Kind::Event, &conn_complete(0x40)), Ok(()));
        assert_eq!(f.check(Kind::Event, &ltk_req), Ok(()));
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 1, 0, 9]), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x05, 4, 0, 0x40, 0x00, 0x13]), Ok(()));
        assert_eq!(f.check(Kind::Event, &ltk_req), Err(Reject::UnknownHandle));
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 1, 0, 9]), Err(Reject::UnknownHandle));
    }

    #[test]
    fn rejects_duplicate_connection_complete() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Ok(()));
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Err(Reject::UnknownHandle));
    }

    #[test]
    fn rejects_acl_with_wrong_length() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 5, 0, 9]), Err(Reject::Malformed));
    }
}
