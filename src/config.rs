//! Compile-time sizes of the backend, all in one place.
#![forbid(unsafe_code)]

/// Simultaneous LE connections, in any mix of roles.
pub const MAX_CONNECTIONS: usize = 4;
/// L2CAP connection-oriented channels across all connections.
pub const L2CAP_CHANNELS: usize = 2;
/// PSMs that can be listened on at once.
pub const L2CAP_LISTEN_MAX: usize = 4;
/// Largest K-frame payload we accept and send (one 251-byte LE ACL packet with its L2CAP header).
pub const L2CAP_MPS: u16 = 247;
/// Receive ring per channel. Its size is the credit window (bytes in flight),
/// which decides throughput at a given latency; an SDU plus one K-frame must
/// fit, so it also bounds the MTU (`L2CAP_RX_BYTES - L2CAP_MPS - 2`).
#[cfg(not(target_os = "none"))]
pub const L2CAP_RX_BYTES: usize = 16384;
/// On a microcontroller RAM is scarce, and a window bigger than the application
/// reads in its own timeouts only moves the wait to the end: MicroPython's
/// perf_l2cap gives a receiver 1 s for all in flight, which a Cortex-M checking
/// 16 KiB byte by byte in Python misses. 2 KiB still takes SDUs up to 1799 bytes.
#[cfg(target_os = "none")]
pub const L2CAP_RX_BYTES: usize = 2048;
/// Send queue per channel: SDUs queued by `l2cap_send` before it reports a stall.
#[cfg(not(target_os = "none"))]
pub const L2CAP_TX_BYTES: usize = 4096;
/// As above, on a microcontroller.
#[cfg(target_os = "none")]
pub const L2CAP_TX_BYTES: usize = 2048;
/// Signalling commands waiting to be sent.
pub const L2CAP_OUTBOX: usize = 2 * L2CAP_CHANNELS + 4;
/// How long a channel request may go unanswered before it fails (the spec's RTX allows 1–60 s).
pub const L2CAP_SIGNAL_TIMEOUT_MS: u64 = 20_000;
/// Bonds kept in RAM (the application persists them through the secrets IRQs).
pub const MAX_BONDS: usize = 8;
/// HCI commands that may be outstanding at once.
pub const HCI_COMMAND_SLOTS: usize = 4;
/// Bytes of events (with their values) buffered between the stack and Python;
/// overflow drops and counts. The ATT layer takes no PDU from the air while
/// less than four of the largest events fit (`events::queue::has_room`), so
/// values are held back rather than lost; the rest is room for bursts of
/// scan results while Python is busy (about 120 on unix).
#[cfg(not(target_os = "none"))]
pub const EVENT_RING_BYTES: usize = 8192;
/// On a microcontroller half: the hold-back above still applies, and
/// Python there takes each poll's events before the next poll (both run
/// from MicroPython's scheduler), so bursts stay short.
#[cfg(target_os = "none")]
pub const EVENT_RING_BYTES: usize = 4096;
/// Legacy advertising and scan response payload size.
pub const ADV_DATA_MAX: usize = 31;
/// Longest GAP device name.
pub const GAP_NAME_MAX: usize = 64;
/// Default GAP device name.
pub const GAP_NAME_DEFAULT: &[u8] = b"MPY TROUBLE";
/// Largest HCI packet body accepted from the controller (ACL: 4 + 255, event: 2 + 255).
pub const HCI_MAX_PACKET: usize = 259;
/// How long `active(True)` waits for the controller before raising.
pub const STARTUP_TIMEOUT_MS: u32 = 3000;
/// How long `active(False)` waits for links to close before resetting.
pub const SHUTDOWN_TIMEOUT_MS: u32 = 500;
/// Preferred ATT MTU until `config(mtu=...)` changes it.
pub const DEFAULT_MTU: u16 = 256;
/// Supervision timeout requested for connections we initiate, in milliseconds.
pub const SUPERVISION_TIMEOUT_MS: u64 = 4000;
/// Default connection interval bounds (NimBLE's defaults), in microseconds.
pub const CONN_INTERVAL_MIN_US: u64 = 30_000;
/// Upper default connection interval bound, in microseconds.
pub const CONN_INTERVAL_MAX_US: u64 = 50_000;
/// How long a GAP call waits for the controller to carry out its request.
pub const REQUEST_TIMEOUT_MS: u32 = 2000;
/// Advertising interval used when MicroPython passes 0 (NimBLE's default range starts at 30 ms).
pub const DEFAULT_ADV_INTERVAL_US: u32 = 50_000;
/// Restarts after a host failure before the stack stays failed (until `active()`).
pub const MAX_RECOVERIES: u8 = 3;
/// Controller ACL buffers kept back from trouble-host for the backend's own ATT
/// and L2CAP channel packets (trouble keeps at least 4, or half of a controller
/// with fewer than 8). Enough that the controller always has a packet of ours
/// to send while completions travel back (Bumble's controller has 64).
pub const BACKEND_TX_BUFFERS: u8 = 24;
/// Largest ATT_MTU offered or accepted (NimBLE's maximum, which `config(mtu=)` allows).
pub const ATT_MTU_MAX: u16 = 527;
/// Largest ATT PDU accepted or sent.
pub const ATT_PDU_MAX: usize = ATT_MTU_MAX as usize;
/// ATT PDUs from the peer waiting per link for its session: room for two of
/// the largest (a request and a command behind it) before the transport
/// stops reading the controller.
pub const ATT_IN_BYTES: usize = 2 * (ATT_PDU_MAX + 2);
/// ATT PDUs to the peer queued per link: one response always fits, and the
/// rest lets the application queue notifications and write commands ahead
/// of the controller (about 14 of 244 bytes).
#[cfg(not(target_os = "none"))]
pub const ATT_OUT_BYTES: usize = 4096;
/// As above, on a microcontroller: 6 notifications of 244 bytes keep the
/// controller busy, since Python there is slower than the air.
#[cfg(target_os = "none")]
pub const ATT_OUT_BYTES: usize = 2048;
/// Bytes of queued GATT client write values per link (two of the longest).
#[cfg(feature = "gatt-client")]
pub const GATTC_VALUE_BYTES: usize = 2 * (MAX_VALUE_LEN + 2);
/// Without MicroPython's GATT client nothing is ever queued.
#[cfg(not(feature = "gatt-client"))]
pub const GATTC_VALUE_BYTES: usize = 0;
/// Attributes in the GATT server database, the built-in GAP and GATT services (9) included.
pub const MAX_ATTRIBUTES: usize = 64;
/// Bytes a client may queue with Prepare Write per connection (512 is the longest attribute value).
pub const PREPARE_QUEUE_BYTES: usize = 512;
/// Separate (attribute, offset) runs in one connection's prepare queue; contiguous parts share one.
pub const PREPARE_QUEUE_ENTRIES: usize = 8;
/// Shortest encryption key (bytes, 7–16) accepted for attributes that need encryption.
pub const MIN_ENCRYPTION_KEY_SIZE: u8 = 16;
/// GATT client procedures waiting per link behind the running one.
#[cfg(feature = "gatt-client")]
pub const GATTC_QUEUE_DEPTH: usize = 2;
/// Without MicroPython's GATT client nothing waits.
#[cfg(not(feature = "gatt-client"))]
pub const GATTC_QUEUE_DEPTH: usize = 0;
/// Longest attribute value (Vol 3 Part F §3.2.9).
pub const MAX_VALUE_LEN: usize = 512;
