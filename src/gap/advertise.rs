//! The advertiser task: legacy advertising driven with raw HCI commands.
//!
//! trouble-host's `advertise()` insists that connectable payloads start with
//! an LE-only Flags field; MicroPython hands the application's bytes to the
//! controller unchanged (NimBLE does the same), so the commands are issued
//! here and incoming links are taken with `try_accept`. That works because
//! the top-level future is polled as a whole after the runner has handled a
//! Connection Complete, so the advertiser sees the new link in the same poll.
use core::future::poll_fn;
use core::task::Poll;

use bt_hci::cmd::le::{LeSetAdvData, LeSetAdvEnable, LeSetAdvParams, LeSetScanResponseData};
use bt_hci::param::{AddrKind, AdvChannelMap, AdvFilterPolicy, AdvKind, BdAddr, Duration};
use embassy_futures::select::{select, Either};
use trouble_host::prelude::Peripheral;

use super::state::{AdvParams, AdvRequest, ADV_ACK, ADV_REQ};
use super::Handoff;
use crate::config::ADV_DATA_MAX;
use crate::host::{self, Controller, Pool, TStack};
use crate::sys;

/// Advertising interval limits of the Core spec (20 ms .. 10.24 s).
const INTERVAL_US: (u32, u32) = (20_000, 10_240_000);

/// Serves advertising requests until the stack stops.
pub async fn task(stack: &'static TStack, handoff: &Handoff) {
    let mut periph = stack.peripheral();
    let mut next = next_request(&mut periph, handoff).await;
    loop {
        let _ = stack.command(LeSetAdvEnable::new(false)).await;
        let (p, seq) = match next {
            AdvRequest::Start(p, seq) => (p, seq),
            AdvRequest::Stop(seq) => {
                ADV_ACK.complete(seq, 0);
                next = next_request(&mut periph, handoff).await;
                continue;
            }
        };
        let r = start(stack, &p).await;
        // The controller refused the parameters if r is an error; nothing is on air.
        ADV_ACK.complete(seq, if r.is_ok() { 0 } else { sys::MP_EINVAL as i32 });
        next = next_request(&mut periph, handoff).await;
    }
}

/// Waits for the next request, meanwhile handing every incoming link to a
/// slot: a central that connected just as advertising stopped still gets a
/// reported (and closable) link instead of one nobody owns.
async fn next_request(periph: &mut Peripheral<'static, Controller, Pool>, handoff: &Handoff) -> AdvRequest {
    loop {
        let accepted = poll_fn(|_| match periph.try_accept() {
            Some(conn) => Poll::Ready(conn),
            None => Poll::Pending,
        });
        match select(accepted, ADV_REQ.wait()).await {
            // The controller stops legacy advertising when a link is made.
            Either::First(conn) => super::link::hand_over(handoff, conn),
            Either::Second(r) => return r,
        }
    }
}

async fn start(stack: &'static TStack, p: &AdvParams) -> Result<(), ()> {
    let interval = Duration::from_micros(p.interval_us.clamp(INTERVAL_US.0, INTERVAL_US.1) as u64);
    // As NimBLE: a non-connectable advertisement is scannable (ADV_SCAN_IND).
    let kind = if p.connectable { AdvKind::AdvInd } else { AdvKind::AdvScanInd };
    let params = LeSetAdvParams::new(
        interval,
        interval,
        kind,
        host::own_addr_kind(),
        AddrKind::PUBLIC,
        BdAddr::default(),
        AdvChannelMap::ALL,
        AdvFilterPolicy::Unfiltered,
    );
    stack.command(params).await.map_err(|_| ())?;
    stack.command(LeSetAdvData::new(p.adv.len() as u8, padded(&p.adv))).await.map_err(|_| ())?;
    stack.command(LeSetScanResponseData::new(p.sr.len() as u8, padded(&p.sr))).await.map_err(|_| ())?;
    stack.command(LeSetAdvEnable::new(true)).await.map_err(|_| ())
}

fn padded(data: &[u8]) -> [u8; ADV_DATA_MAX] {
    let mut buf = [0; ADV_DATA_MAX];
    buf[..data.len()].copy_from_slice(data);
    buf
}
