//! The scanner task and the handler that turns advertising reports into events.
use core::sync::atomic::Ordering;

use bt_hci::param::{FilterDuplicates, LeAdvReportsIter};
use embassy_futures::select::{select, Either};
use embassy_time::{Duration, Timer};
use trouble_host::prelude::{EventHandler, ScanConfig};
use trouble_host::scan::Scanner;

use super::state::{ScanRequest, SCANNING, SCAN_ACK, SCAN_REQ};
use crate::events::{self, Event};
use crate::host::TStack;
use crate::sys;

/// Scan interval/window limits of the Core spec (2.5 ms .. 10.24 s).
const SCAN_US: (u32, u32) = (2_500, 10_240_000);

/// Serves scan requests until the stack stops.
///
/// `SCANNING` is owned by the C ABI (set on start, cleared on stop, so a stop
/// followed at once by a start works as with NimBLE); the task clears it only
/// when a scan runs out by itself and no newer request is waiting.
pub async fn task(stack: &'static TStack) {
    let mut central = stack.central();
    let mut next = SCAN_REQ.wait().await;
    loop {
        let (p, seq) = match next {
            ScanRequest::Start(p, seq) => (p, seq),
            ScanRequest::Stop(seq) => {
                SCAN_ACK.complete(seq, 0);
                next = SCAN_REQ.wait().await;
                continue;
            }
        };
        let interval = p.interval_us.clamp(SCAN_US.0, SCAN_US.1);
        let window = p.window_us.clamp(SCAN_US.0, interval);
        let config = ScanConfig {
            active: p.active,
            interval: Duration::from_micros(interval as u64),
            window: Duration::from_micros(window as u64),
            filter_duplicates: FilterDuplicates::Disabled,
            ..Default::default()
        };
        let mut scanner = Scanner::new(&mut central);
        let interrupted = match select(scanner.scan(&config), SCAN_REQ.wait()).await {
            Either::First(Ok(session)) => {
                SCAN_ACK.complete(seq, 0);
                let deadline = async {
                    if p.duration_ms == 0 {
                        core::future::pending::<()>().await
                    } else {
                        Timer::after_millis(p.duration_ms as u64).await
                    }
                };
                let r = select(deadline, SCAN_REQ.wait()).await;
                session.stop().await;
                match r {
                    Either::First(()) => None,
                    Either::Second(req) => Some(req),
                }
            }
            Either::First(Err(_)) => {
                SCAN_ACK.complete(seq, sys::MP_EIO as i32);
                None
            }
            Either::Second(req) => Some(req),
        };
        if interrupted.is_none() && !SCAN_REQ.signaled() {
            SCANNING.store(false, Ordering::Release);
        }
        events::push(Event::ScanDone);
        next = match interrupted {
            Some(req @ ScanRequest::Start(..)) => req,
            Some(ScanRequest::Stop(seq)) => {
                SCAN_ACK.complete(seq, 0);
                SCAN_REQ.wait().await
            }
            None => SCAN_REQ.wait().await,
        };
    }
}

/// Receives advertising reports from the trouble runner.
pub struct ScanReports;

impl EventHandler for ScanReports {
    fn on_adv_reports(&self, reports: LeAdvReportsIter) {
        if !SCANNING.load(Ordering::Acquire) {
            return;
        }
        for report in reports {
            let Ok(r) = report else { break };
            if r.data.len() > crate::config::ADV_DATA_MAX {
                continue; // longer than a legacy payload: not a valid report
            }
            let data = r.data;
            let mut addr = r.addr.into_inner();
            addr.reverse();
            events::push(Event::ScanResult {
                addr_type: r.addr_kind.as_raw(),
                addr,
                adv_type: r.event_kind as u8,
                rssi: r.rssi,
                data,
            });
        }
    }
}
