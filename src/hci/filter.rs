//! Keeps malformed or inconsistent controller input away from trouble-host.
//!
//! trouble-host unwraps some event parses and ends its runner on others (a
//! security event for a connection it doesn't know, a Command Complete it
//! can't parse). Every packet is therefore parsed here first, with the same
//! bt-hci parsers, and dropped (and counted) if it would trip the host.
use bt_hci::cmd::controller_baseband::{
    HostBufferSize, Reset, SetControllerToHostFlowControl, SetEventMask, SetEventMaskPage2,
};
use bt_hci::cmd::info::ReadBdAddr;
use bt_hci::cmd::le::*;
use bt_hci::cmd::link_control::Disconnect;
use bt_hci::cmd::status::ReadRssi;
use bt_hci::cmd::{Cmd, CmdReturnBuf, Opcode, SyncCmd};
use bt_hci::event::le::LeEvent;
use bt_hci::event::{CommandComplete, CommandCompleteWithStatus, Event, EventPacket};
use bt_hci::param::{ConnHandle, LeConnRole};
use bt_hci::FromHciBytes;

use super::h4::Kind;
use crate::l2cap::wire;

/// The fixed L2CAP channel of the attribute protocol.
const L2CAP_CID_ATT: u16 = 0x0004;
/// The fixed L2CAP channel of the security manager protocol.
const L2CAP_CID_SMP: u16 = 0x0006;
use crate::config::MAX_CONNECTIONS;
use crate::security::gate::{self, Gate};

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// The bytes don't parse as the packet they claim to be.
    Malformed,
    /// A security event or data for a connection that doesn't exist.
    UnknownHandle,
    /// A packet type the host doesn't use (SCO, ISO).
    Unsupported,
    /// An ATT PDU: the backend's own (see `check_acl`).
    Att,
    /// A credit-based channel's frame or signalling: the backend's own too.
    L2cap,
    /// An SMP PDU that would trip trouble-host in the link's state (see `check_acl`).
    Smp,
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
    /// ACL fragments of ATT PDUs taken away from trouble-host (to the backend's bearer).
    pub att: u32,
    /// ACL fragments of credit-based channels taken away from trouble-host.
    pub l2cap: u32,
    /// ACL fragments of SMP PDUs withheld from trouble-host.
    pub smp: u32,
}

/// A connection the controller announced.
#[derive(Clone, Copy)]
struct Link {
    handle: u16,
    /// Bytes of a withheld L2CAP PDU still to come in continuation fragments.
    skipping: u16,
    /// Why that PDU is withheld (and where it went: ATT, L2CAP, or dropped SMP).
    withheld: Reject,
    /// We are the central of this link.
    central: bool,
    /// The controller reported a failed encryption and no success since.
    encryption_failed: bool,
    /// Whether trouble has a pairing under way on this link.
    smp: Gate,
}

/// The filter: remembers which connection handles the controller announced.
pub struct Filter {
    handles: [Option<Link>; MAX_CONNECTIONS * 2],
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
            stats: FilterStats { malformed: 0, unknown_handle: 0, unsupported: 0, att: 0, l2cap: 0, smp: 0 },
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
                Reject::Att => s.att = s.att.wrapping_add(1),
                Reject::L2cap => s.l2cap = s.l2cap.wrapping_add(1),
                Reject::Smp => s.smp = s.smp.wrapping_add(1),
            }
        }
        r
    }

    /// ACL data must name a live connection. ATT (L2CAP channel 4) is the
    /// backend's own and never reaches trouble-host, whose ATT decoder indexes
    /// PDUs without length checks (a truncated request from a peer would panic
    /// it). Continuations of an ATT frame go the same way, since a stray
    /// continuation makes trouble drop the link. Credit-based channels are
    /// the backend's as well: their frames and the signalling commands about
    /// them (`l2cap::wire::is_ours`); other signalling stays trouble's.
    ///
    ///
    /// SMP goes to trouble when the link's `Gate` lets it (trouble drops the
    /// link on a command that no pairing expects), except a Security Request
    /// to a central whose encryption with a stored bond just failed: trouble
    /// then finds the bond but may not use it, and unwraps the missing bond
    /// (a panic from the air). Ignoring a Security Request is allowed (Vol 3
    /// Part H §3.6.7); the application can still pair with `gap_pair`.
    fn check_acl(&mut self, pkt: &[u8]) -> Result<(), Reject> {
        if pkt.len() < 4 || u16::from_le_bytes([pkt[2], pkt[3]]) as usize != pkt.len() - 4 {
            return Err(Reject::Malformed);
        }
        let word = u16::from_le_bytes([pkt[0], pkt[1]]);
        let handle = word & 0x0fff;
        let continuing = (word >> 12) & 0b11 == 0b01;
        let data = &pkt[4..];
        let link = self.link(handle).ok_or(Reject::UnknownHandle)?;
        if continuing {
            if link.skipping == 0 {
                return Ok(());
            }
            link.skipping = link.skipping.saturating_sub(data.len() as u16);
            return Err(link.withheld);
        }
        link.skipping = 0;
        if data.len() < 4 {
            // Not even an L2CAP header: trouble can't use it either.
            return Err(Reject::Malformed);
        }
        let (len, cid) = (u16::from_le_bytes([data[0], data[1]]), u16::from_le_bytes([data[2], data[3]]));
        let withheld = match cid {
            L2CAP_CID_ATT => Reject::Att,
            _ if wire::CID_DYNAMIC.contains(&cid) => Reject::L2cap,
            wire::CID_SIGNALLING if data.get(4).is_some_and(|&c| wire::is_ours(c)) => Reject::L2cap,
            L2CAP_CID_SMP => {
                // The opcode may only come in a continuation: withhold what can't be checked.
                let op = data.get(4).copied();
                let unusable_bond =
                    link.central && link.encryption_failed && op.is_none_or(|op| op == gate::SECURITY_REQUEST);
                if !unusable_bond && link.smp.from_peer(op, link.central) {
                    return Ok(());
                }
                Reject::Smp
            }
            _ => return Ok(()),
        };
        link.skipping = (len as usize).saturating_sub(data.len() - 4) as u16;
        link.withheld = withheld;
        Err(withheld)
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
            Event::EncryptionChangeV1(e) => self.encryption(e.handle, e.status.to_result().is_ok()),
            Event::EncryptionKeyRefreshComplete(e) => self.encryption(e.handle, e.status.to_result().is_ok()),
            Event::Le(LeEvent::LeConnectionComplete(e)) => {
                if e.status.to_result().is_ok() {
                    self.learn(e.handle, e.role)?;
                }
                Ok(())
            }
            Event::Le(LeEvent::LeEnhancedConnectionComplete(e)) => {
                if e.status.to_result().is_ok() {
                    self.learn(e.handle, e.role)?;
                }
                Ok(())
            }
            Event::Le(LeEvent::LeLongTermKeyRequest(e)) => self.require(e.handle),
            // Reports are decoded lazily; a bad one would end the list silently.
            Event::Le(LeEvent::LeAdvertisingReport(e)) => all_ok(e.reports.iter()),
            Event::Le(LeEvent::LeExtendedAdvertisingReport(e)) => {
                ext_reports_whole(pkt)?;
                all_ok(e.reports.iter())
            }
            _ => Ok(()),
        }
    }

    /// Notes an ACL packet trouble sends (H4 body without indicator): the
    /// SMP commands in it tell the link's `Gate` whether a pairing is under way.
    pub fn to_peer(&mut self, pkt: &[u8]) {
        if pkt.len() < 9 {
            return;
        }
        let word = u16::from_le_bytes([pkt[0], pkt[1]]);
        let first = (word >> 12) & 0b11 != 0b01;
        if first && u16::from_le_bytes([pkt[6], pkt[7]]) == L2CAP_CID_SMP {
            if let Some(link) = self.link(word & 0x0fff) {
                link.smp.to_peer(pkt[8]);
            }
        }
    }

    fn knows(&self, handle: u16) -> bool {
        self.handles.iter().flatten().any(|l| l.handle == handle)
    }

    fn link(&mut self, handle: u16) -> Option<&mut Link> {
        self.handles.iter_mut().flatten().find(|l| l.handle == handle)
    }

    fn require(&self, handle: ConnHandle) -> Result<(), Reject> {
        if self.knows(handle.raw()) {
            Ok(())
        } else {
            Err(Reject::UnknownHandle)
        }
    }

    /// Notes an encryption outcome of a known link.
    fn encryption(&mut self, handle: ConnHandle, ok: bool) -> Result<(), Reject> {
        let link = self.link(handle.raw()).ok_or(Reject::UnknownHandle)?;
        link.encryption_failed = !ok;
        Ok(())
    }

    fn learn(&mut self, handle: ConnHandle, role: LeConnRole) -> Result<(), Reject> {
        let h = handle.raw();
        if h > 0x0eff {
            return Err(Reject::Malformed);
        }
        if self.knows(h) {
            // A second "complete" for a live handle contradicts the first.
            return Err(Reject::UnknownHandle);
        }
        match self.handles.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(Link {
                    handle: h,
                    skipping: 0,
                    withheld: Reject::Att,
                    central: role == LeConnRole::Central,
                    encryption_failed: false,
                    smp: Gate::Idle,
                })
            }
            // trouble refuses the link itself when its table is full; let it.
            None => {}
        }
        Ok(())
    }

    fn forget(&mut self, handle: ConnHandle) {
        for s in self.handles.iter_mut() {
            if matches!(s, Some(l) if l.handle == handle.raw()) {
                *s = None;
            }
        }
    }
}

/// Whether every extended advertising report is there in full: bt-hci reads a report's
/// secondary PHY byte without a length check, so a report cut just after its primary PHY
/// would panic the parser (found by fuzzing, fuzz/fuzz_targets/adv_report.rs).
fn ext_reports_whole(pkt: &[u8]) -> Result<(), Reject> {
    // Event code, length, subevent, Num_Reports; each report: 23 fixed octets, Data_Length, Data.
    let (&n, mut rest) = pkt.get(3..).and_then(<[u8]>::split_first).ok_or(Reject::Malformed)?;
    for _ in 0..n {
        let len = usize::from(*rest.get(23).ok_or(Reject::Malformed)?);
        rest = rest.get(24 + len..).ok_or(Reject::Malformed)?;
    }
    Ok(())
}

fn all_ok<T, E>(mut items: impl Iterator<Item = Result<T, E>>) -> Result<(), Reject> {
    if items.all(|r| r.is_ok()) {
        Ok(())
    } else {
        Err(Reject::Malformed)
    }
}

fn check_command_complete(c: &CommandComplete<'_>) -> Result<(), Reject> {
    if !c.has_status() {
        return Ok(());
    }
    let c: CommandCompleteWithStatus = c.clone().try_into().map_err(|_| Reject::Malformed)?;
    let ok = c.status.to_result().is_ok();
    if returns_fit(c.cmd_opcode, ok, &c.return_param_bytes) {
        Ok(())
    } else {
        Err(Reject::Malformed)
    }
}

/// Whether the return parameters fit the command they answer.
///
/// bt-hci copies them into a buffer sized for the command's return type and
/// panics if they are longer, then fails the command if they don't parse. So
/// for every command the host issues, a successful reply must parse exactly
/// and a failed one must not be longer than the buffer. Replies to commands
/// the host never issues can't reach a buffer; they pass only without
/// return parameters.
fn returns_fit(op: Opcode, success: bool, params: &[u8]) -> bool {
    macro_rules! table {
        ($($cmd:ty),* $(,)?) => {
            $(
                if op == <$cmd as Cmd>::OPCODE {
                    return if success {
                        <<$cmd as SyncCmd>::Return as FromHciBytes>::from_hci_bytes_complete(params).is_ok()
                    } else {
                        params.len() <= <<$cmd as SyncCmd>::ReturnBuf as CmdReturnBuf>::LEN
                    };
                }
            )*
        };
    }
    table!(
        Reset,
        SetEventMask,
        SetEventMaskPage2,
        HostBufferSize,
        SetControllerToHostFlowControl,
        ReadBdAddr,
        ReadRssi,
        Disconnect,
        LeSetEventMask,
        LeReadBufferSize,
        LeReadLocalSupportedFeatures,
        LeSetRandomAddr,
        LeSetAdvParams,
        LeSetAdvData,
        LeSetScanResponseData,
        LeSetAdvEnable,
        LeSetScanParams,
        LeSetScanEnable,
        LeCreateConnCancel,
        LeReadFilterAcceptListSize,
        LeClearFilterAcceptList,
        LeAddDeviceToFilterAcceptList,
        LeRand,
        LeLongTermKeyRequestReply,
        LeLongTermKeyRequestNegativeReply,
        LeSetDataLength,
        LeReadPhy,
        LeAddDeviceToResolvingList,
        LeRemoveDeviceFromResolvingList,
        LeClearResolvingList,
        LeSetAddrResolutionEnable,
        LeSetResolvablePrivateAddrTimeout,
        LeSetPrivacyMode,
        LeSetAdvSetRandomAddr,
        LeSetExtAdvParams,
        LeSetExtScanParams,
        LeSetExtScanEnable,
        LeReadNumberOfSupportedAdvSets,
        LeClearAdvSets,
        LeSetDefaultRateParameters,
        LeSetHostFeature,
    );
    params.is_empty()
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
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 5, 0, 1, 0, 0x06, 0, 0x0b]), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x05, 4, 0, 0x40, 0x00, 0x13]), Ok(()));
        assert_eq!(f.check(Kind::Event, &ltk_req), Err(Reject::UnknownHandle));
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 5, 0, 1, 0, 0x06, 0, 9]), Err(Reject::UnknownHandle));
    }

    #[test]
    fn rejects_duplicate_connection_complete() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Ok(()));
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Err(Reject::UnknownHandle));
    }

    #[test]
    fn checks_return_parameters_of_issued_commands() {
        let mut f = Filter::new();
        // LE Read Buffer Size: status + 3 bytes.
        assert_eq!(f.check(Kind::Event, &[0x0e, 7, 1, 0x02, 0x20, 0, 27, 0, 3]), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x02, 0x20, 0]), Err(Reject::Malformed));
        // LE Set Advertising Enable returns nothing; an extra byte would overflow bt-hci's buffer.
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x0a, 0x20, 0]), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x0e, 5, 1, 0x0a, 0x20, 0, 9]), Err(Reject::Malformed));
        // A failed command may omit its return parameters.
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x02, 0x20, 0x0c]), Ok(()));
        // Vendor opcode never issued: passes only without return parameters.
        assert_eq!(f.check(Kind::Event, &[0x0e, 4, 1, 0x01, 0xfc, 0]), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x0e, 5, 1, 0x01, 0xfc, 0, 1]), Err(Reject::Malformed));
    }

    #[test]
    fn rejects_advertising_reports_with_a_bad_entry() {
        let mut f = Filter::new();
        // One ADV_IND report with 3 bytes of data.
        let good = [0x3e, 15, 0x02, 1, 0, 0, 1, 2, 3, 4, 5, 6, 3, 2, 1, 6, 0xc8];
        assert_eq!(f.check(Kind::Event, &good), Ok(()));
        // Claims two reports, carries one.
        let mut two = good;
        two[3] = 2;
        assert_eq!(f.check(Kind::Event, &two), Err(Reject::Malformed));
    }

    #[test]
    fn rejects_extended_reports_cut_before_the_secondary_phy() {
        let mut f = Filter::new();
        // One report: event type, address type, address, primary PHY, then nothing (bt-hci
        // indexed the missing secondary PHY and panicked).
        let cut = [0x3e, 12, 0x0d, 1, 0x33, 0, 0, 0, 0, 0, 0, 3, 0, 2];
        assert_eq!(f.check(Kind::Event, &cut), Err(Reject::Malformed));
        // The same report whole, with 2 bytes of data, passes.
        let mut whole = vec![0x3e, 0, 0x0d, 1, 0x13, 0, 0, 1, 2, 3, 4, 5, 6, 1, 0, 0xff, 0x7f, 0xc8, 0, 0];
        whole.extend([0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0x06]);
        whole[1] = (whole.len() - 2) as u8;
        assert_eq!(f.check(Kind::Event, &whole), Ok(()));
        // Two claimed, one there.
        whole[3] = 2;
        assert_eq!(f.check(Kind::Event, &whole), Err(Reject::Malformed));
    }

    #[test]
    fn diverts_att_and_its_continuations() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Ok(()));
        // Exchange MTU request, whole.
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 7, 0, 3, 0, 4, 0, 0x02, 0x00, 0x01]), Err(Reject::Att));
        // A truncated Read By Group Type request.
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 6, 0, 2, 0, 4, 0, 0x10, 0x01]), Err(Reject::Att));
        // A fragmented ATT PDU: first part and its continuation are withheld...
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 6, 0, 6, 0, 4, 0, 0x12, 0x03]), Err(Reject::Att));
        assert_eq!(f.check(Kind::Acl, &[1, 0x10, 4, 0, 0, 0, 1, 2]), Err(Reject::Att));
        // ...and the next continuation belongs to something else again.
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 5, 0, 1, 0, 0x06, 0, 0x0b]), Ok(()));
        assert_eq!(f.check(Kind::Acl, &[1, 0x10, 1, 0, 7]), Ok(()));
        assert_eq!(f.stats.att, 4);
    }

    #[test]
    fn diverts_credit_based_channels_but_not_other_signalling() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Ok(()));
        // A K-frame on dynamic channel 0x40, in two fragments.
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 6, 0, 4, 0, 0x40, 0, 2, 0]), Err(Reject::L2cap));
        assert_eq!(f.check(Kind::Acl, &[1, 0x10, 2, 0, 7, 8]), Err(Reject::L2cap));
        // LE Credit Based Connection Request is ours; Connection Parameter Update Request is trouble's.
        let req = [1, 0x20, 18, 0, 14, 0, 5, 0, 0x14, 1, 10, 0, 0x80, 0, 0x40, 0, 23, 0, 23, 0, 1, 0];
        assert_eq!(f.check(Kind::Acl, &req), Err(Reject::L2cap));
        let upd = [1, 0x20, 16, 0, 12, 0, 5, 0, 0x12, 2, 8, 0, 6, 0, 6, 0, 0, 0, 0xc8, 0];
        assert_eq!(f.check(Kind::Acl, &upd), Ok(()));
        assert_eq!(f.stats.l2cap, 3);
    }

    #[test]
    fn withholds_security_request_after_failed_encryption_as_central() {
        let mut f = Filter::new();
        // conn_complete() says role 0: we are the central.
        assert_eq!(f.check(Kind::Event, &conn_complete(1)), Ok(()));
        let sec_req = [1, 0x20, 6, 0, 2, 0, 6, 0, gate::SECURITY_REQUEST, 0x01];
        let pairing_failed = [1, 0x20, 6, 0, 2, 0, 6, 0, 0x05, 0x08];
        assert_eq!(f.check(Kind::Acl, &sec_req), Ok(()));
        // Encryption Change: status 0x06 (PIN or key missing).
        assert_eq!(f.check(Kind::Event, &[0x08, 4, 0x06, 1, 0, 0]), Ok(()));
        assert_eq!(f.check(Kind::Acl, &sec_req), Err(Reject::Smp));
        assert_eq!(f.check(Kind::Acl, &pairing_failed), Ok(()));
        // A Security Request split after the L2CAP header, and its continuation.
        assert_eq!(f.check(Kind::Acl, &[1, 0x20, 4, 0, 2, 0, 6, 0]), Err(Reject::Smp));
        assert_eq!(f.check(Kind::Acl, &[1, 0x10, 2, 0, gate::SECURITY_REQUEST, 1]), Err(Reject::Smp));
        assert_eq!(f.stats.smp, 3);
        // Encryption succeeds later (fresh pairing): requests pass again.
        assert_eq!(f.check(Kind::Event, &[0x08, 4, 0x00, 1, 0, 1]), Ok(()));
        assert_eq!(f.check(Kind::Acl, &sec_req), Ok(()));
    }

    #[test]
    fn peripheral_links_keep_pairing_requests_after_failed_encryption() {
        let mut f = Filter::new();
        let mut c = conn_complete(2);
        c[6] = 1; // role: peripheral
        assert_eq!(f.check(Kind::Event, &c), Ok(()));
        assert_eq!(f.check(Kind::Event, &[0x08, 4, 0x06, 2, 0, 0]), Ok(()));
        // A peripheral is never sent a Security Request; trouble would drop the link.
        assert_eq!(f.check(Kind::Acl, &[2, 0x20, 6, 0, 2, 0, 6, 0, gate::SECURITY_REQUEST, 0x01]), Err(Reject::Smp));
        let req = [2, 0x20, 11, 0, 7, 0, 6, 0, gate::PAIRING_REQUEST, 3, 0, 0x0d, 16, 0, 0];
        assert_eq!(f.check(Kind::Acl, &req), Ok(()));
    }

    #[test]
    fn smp_after_our_pairing_failed_is_withheld_until_a_new_pairing() {
        let mut f = Filter::new();
        let mut c = conn_complete(3);
        c[6] = 1; // role: peripheral
        assert_eq!(f.check(Kind::Event, &c), Ok(()));
        let req = [3, 0x20, 11, 0, 7, 0, 6, 0, gate::PAIRING_REQUEST, 3, 0, 0x0d, 16, 0, 0];
        let dhkey_check = [3, 0x20, 21, 0, 17, 0, 6, 0, 0x0d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(f.check(Kind::Acl, &req), Ok(()));
        // trouble rejects the numeric comparison: Pairing Failed goes out.
        f.to_peer(&[3, 0x00, 6, 0, 2, 0, 6, 0, gate::PAIRING_FAILED, 0x0c]);
        assert_eq!(f.check(Kind::Acl, &dhkey_check), Err(Reject::Smp));
        assert_eq!(f.check(Kind::Acl, &req), Ok(()));
        assert_eq!(f.check(Kind::Acl, &dhkey_check), Ok(()));
    }

    #[test]
    fn rejects_acl_with_wrong_length() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 5, 0, 9]), Err(Reject::Malformed));
    }
}
