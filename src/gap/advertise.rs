//! The advertiser task: one advertising set, restarted on every request.
use bt_hci::cmd::le::{LeSetAdvData, LeSetScanResponseData};
use embassy_futures::select::{select, Either};
use embassy_time::Duration;
use trouble_host::prelude::{Advertisement, AdvertisementParameters};

use super::state::{AdvRequest, ADV_REQ};
use super::Handoff;
use crate::stack::TStack;

/// Advertising interval limits of the Core spec (20 ms .. 10.24 s).
const INTERVAL_US: (u32, u32) = (20_000, 10_240_000);

/// Serves advertising requests until the stack stops.
pub async fn task(stack: &'static TStack, handoff: &Handoff) {
    let mut periph = stack.peripheral();
    let mut next = ADV_REQ.wait().await;
    loop {
        let p = match next {
            AdvRequest::Start(p) => p,
            AdvRequest::Stop => {
                next = ADV_REQ.wait().await;
                continue;
            }
        };
        // trouble only writes non-empty payloads; an empty one must still clear
        // what the controller holds from the previous advertisement.
        if p.adv.is_empty() {
            let _ = stack.command(LeSetAdvData::new(0, [0; 31])).await;
        }
        if p.sr.is_empty() {
            let _ = stack.command(LeSetScanResponseData::new(0, [0; 31])).await;
        }
        let interval = Duration::from_micros(p.interval_us.clamp(INTERVAL_US.0, INTERVAL_US.1) as u64);
        let params = AdvertisementParameters { interval_min: interval, interval_max: interval, ..Default::default() };
        let adv = if p.connectable {
            Advertisement::ConnectableScannableUndirected { adv_data: &p.adv, scan_data: &p.sr }
        } else {
            Advertisement::NonconnectableScannableUndirected { adv_data: &p.adv, scan_data: &p.sr }
        };
        let advertiser = match select(periph.advertise(&params, adv), ADV_REQ.wait()).await {
            Either::First(Ok(a)) => a,
            Either::First(Err(_)) => {
                next = ADV_REQ.wait().await;
                continue;
            }
            Either::Second(r) => {
                next = r;
                continue;
            }
        };
        if !p.connectable {
            // Advertising runs until the advertiser is dropped by the next request.
            next = ADV_REQ.wait().await;
            drop(advertiser);
            continue;
        }
        next = match select(advertiser.accept(), ADV_REQ.wait()).await {
            Either::First(Ok(conn)) => {
                handoff.send(conn).await;
                ADV_REQ.wait().await
            }
            Either::First(Err(_)) => ADV_REQ.wait().await,
            Either::Second(r) => r,
        };
    }
}
