//! The connector task: one outgoing connection attempt at a time.
use core::sync::atomic::Ordering;

use bt_hci::param::{AddrKind, BdAddr};
use embassy_futures::select::{select3, Either3};
use embassy_time::{Duration, Timer};
use trouble_host::prelude::{ConnectConfig, RequestedConnParams, ScanConfig};
use trouble_host::Address;

use super::state::{ConnRequest, CONNECTING, CONN_REQ};
use super::{to_le, Handoff};
use crate::config::{CONN_INTERVAL_MAX_US, CONN_INTERVAL_MIN_US, SUPERVISION_TIMEOUT_MS};
use crate::events::{self, Event};
use crate::host::TStack;
use crate::sys;

/// Serves connection requests until the stack stops.
pub async fn task(stack: &'static TStack, handoff: &Handoff) {
    let mut central = stack.central();
    loop {
        let p = match CONN_REQ.wait().await {
            ConnRequest::Start(p) => p,
            // gap_connect(None) straight after gap_connect replaced the request
            // before this task saw it: that attempt ends here, reported as any other.
            ConnRequest::Cancel if CONNECTING.swap(false, Ordering::AcqRel) => {
                attempt_ended();
                continue;
            }
            ConnRequest::Cancel => continue,
        };
        let target = [Address::new(AddrKind::new(p.addr_type), BdAddr::new(to_le(p.addr)))];
        let min = if p.min_interval_us == 0 { CONN_INTERVAL_MIN_US } else { p.min_interval_us as u64 };
        let max = if p.max_interval_us == 0 { CONN_INTERVAL_MAX_US.max(min) } else { p.max_interval_us as u64 };
        let config = ConnectConfig {
            scan_config: ScanConfig {
                filter_accept_list: &target,
                interval: Duration::from_millis(10),
                window: Duration::from_millis(10),
                ..Default::default()
            },
            connect_params: RequestedConnParams {
                min_connection_interval: Duration::from_micros(min),
                max_connection_interval: Duration::from_micros(max),
                max_latency: 0,
                supervision_timeout: Duration::from_millis(SUPERVISION_TIMEOUT_MS),
                ..Default::default()
            },
        };
        let give_up = async {
            if p.duration_ms == 0 {
                core::future::pending::<()>().await
            } else {
                Timer::after_millis(p.duration_ms as u64).await
            }
        };
        let outcome = select3(central.connect(&config), give_up, CONN_REQ.wait()).await;
        CONNECTING.store(false, Ordering::Release);
        match outcome {
            Either3::First(Ok(conn)) => super::link::hand_over(handoff, conn),
            _ => attempt_ended(),
        }
    }
}

/// As NimBLE: a failed, timed-out or cancelled attempt is a
/// PERIPHERAL_DISCONNECT for handle 0xffff with no address.
fn attempt_ended() {
    events::push(Event::Link {
        code: sys::MP_BLUETOOTH_IRQ_PERIPHERAL_DISCONNECT as u8,
        handle: 0xffff,
        addr_type: 0xff,
        addr: [0; 6],
    });
}
