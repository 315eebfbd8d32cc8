//! Keeps malformed controller input away from trouble-host.
//!
//! trouble-host unwraps some event parses and ends its runner on others (a
//! Command Complete it can't parse). Every packet is therefore parsed here
//! first, with the same bt-hci parsers, and dropped (and counted) if it would
//! trip the host. Packets about connections are checked against the links
//! by the multiplexer (`link::mux`), which sees each packet next.
#![forbid(unsafe_code)]
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
use bt_hci::param::ConnHandle;
use bt_hci::FromHciBytes;

use super::h4::Kind;
use super::packet::{Acl, HANDLE_MAX};

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
    /// An SMP PDU that would trip trouble-host in the link's state (see `link::gate`).
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
    /// ACL fragments of ATT PDUs the backend took (trouble never sees ATT).
    pub att: u32,
    /// ACL fragments of credit-based channels the backend took.
    pub l2cap: u32,
    /// ACL fragments of SMP PDUs withheld from trouble-host.
    pub smp: u32,
}

impl FilterStats {
    /// Counts one packet that didn't go to trouble.
    pub fn count(&mut self, r: Reject) {
        let n = match r {
            Reject::Malformed => &mut self.malformed,
            Reject::UnknownHandle => &mut self.unknown_handle,
            Reject::Unsupported => &mut self.unsupported,
            Reject::Att => &mut self.att,
            Reject::L2cap => &mut self.l2cap,
            Reject::Smp => &mut self.smp,
        };
        *n = n.wrapping_add(1);
    }
}

/// The format checks: each packet on its own, no state. What depends on the
/// links (known handles, where a frame goes) is the multiplexer's (`link::mux`).
#[derive(Default)]
pub struct Filter {
    /// What was dropped so far.
    pub stats: FilterStats,
}

impl Filter {
    /// A filter with zero counters.
    pub const fn new() -> Self {
        Self { stats: FilterStats { malformed: 0, unknown_handle: 0, unsupported: 0, att: 0, l2cap: 0, smp: 0 } }
    }

    /// Checks one packet (H4 body without indicator); counts what it rejects.
    pub fn check(&mut self, kind: Kind, pkt: &[u8]) -> Result<(), Reject> {
        let r = match kind {
            Kind::Event => check_event(pkt),
            Kind::Acl => check_acl(pkt),
            Kind::Sco | Kind::Iso => Err(Reject::Unsupported),
        };
        if let Err(e) = r {
            self.stats.count(e);
        }
        r
    }
}

/// ACL data must be as long as it says and name a valid handle.
fn check_acl(pkt: &[u8]) -> Result<(), Reject> {
    match Acl::parse(pkt) {
        Some(a) if a.handle <= HANDLE_MAX => Ok(()),
        _ => Err(Reject::Malformed),
    }
}

/// Events must parse whole with the bt-hci parsers trouble unwraps.
fn check_event(pkt: &[u8]) -> Result<(), Reject> {
    let packet = EventPacket::from_hci_bytes_complete(pkt).map_err(|_| Reject::Malformed)?;
    let event = Event::try_from(packet).map_err(|_| Reject::Malformed)?;
    match event {
        Event::CommandComplete(ref c) => check_command_complete(c),
        Event::Le(LeEvent::LeConnectionComplete(e)) => valid_handle(e.handle),
        Event::Le(LeEvent::LeEnhancedConnectionComplete(e)) => valid_handle(e.handle),
        // Reports are decoded lazily; a bad one would end the list silently.
        Event::Le(LeEvent::LeAdvertisingReport(e)) => all_ok(e.reports.iter()),
        Event::Le(LeEvent::LeExtendedAdvertisingReport(e)) => {
            ext_reports_whole(pkt)?;
            all_ok(e.reports.iter())
        }
        _ => Ok(()),
    }
}

fn valid_handle(h: ConnHandle) -> Result<(), Reject> {
    if h.raw() <= HANDLE_MAX {
        Ok(())
    } else {
        Err(Reject::Malformed)
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
    let c: CommandCompleteWithStatus = (*c).try_into().map_err(|_| Reject::Malformed)?;
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
    fn rejects_connection_handles_out_of_range() {
        let mut f = Filter::new();
        let mut c = vec![0x3e, 19, 0x01, 0x00, 0x00, 0x0f];
        c.extend([0x00, 0x00, 1, 2, 3, 4, 5, 6, 0x18, 0, 0, 0, 0x48, 0, 0]);
        assert_eq!(f.check(Kind::Event, &c), Err(Reject::Malformed));
        c[4..6].copy_from_slice(&0x0effu16.to_le_bytes());
        assert_eq!(f.check(Kind::Event, &c), Ok(()));
        assert_eq!(f.check(Kind::Acl, &[0x00, 0x2f, 1, 0, 9]), Err(Reject::Malformed));
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
    fn rejects_acl_with_wrong_length_and_other_packet_types() {
        let mut f = Filter::new();
        assert_eq!(f.check(Kind::Acl, &[0x40, 0x20, 5, 0, 9]), Err(Reject::Malformed));
        assert_eq!(f.check(Kind::Sco, &[0, 0, 0]), Err(Reject::Unsupported));
        assert_eq!(f.stats.unsupported, 1);
    }
}
