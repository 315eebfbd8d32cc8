# The peripheral-only build (make firmware-min, instance 0): MicroPython's
# optional parts (central role, GATT client, L2CAP channels, pairing and
# bonding) are gone from its bluetooth module, its GATT server works as in the
# full build, and a full peer (instance 1) asking for what it left out is
# refused as the spec says: an L2CAP channel with result 2 (SPSM not
# supported), pairing with Pairing Failed (Pairing Not Supported), which the
# peer reports as an unencrypted ENCRYPTION_UPDATE, and after both the link
# still serves reads, writes and notifications.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_L2CAP_DISCONNECT = const(24)
_IRQ_ENCRYPTION_UPDATE = const(28)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CHAR = (CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_WRITE | bluetooth.FLAG_NOTIFY)
SERVICE = (SERVICE_UUID, (CHAR,))

LEFT_OUT = (
    "gap_scan",
    "gap_connect",
    "gattc_discover_services",
    "gattc_discover_characteristics",
    "gattc_discover_descriptors",
    "gattc_read",
    "gattc_write",
    "gattc_exchange_mtu",
    "l2cap_listen",
    "l2cap_connect",
    "l2cap_send",
    "l2cap_recvinto",
    "l2cap_disconnect",
    "gap_pair",
    "gap_passkey",
)

events = []


def irq(event, data):
    events.append((event,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))


def next_event(code, timeout_ms=TIMEOUT_MS):
    t0 = time.ticks_ms()
    while True:
        for i, e in enumerate(events):
            if e[0] == code:
                return events.pop(i)
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            print("timeout waiting for", code)
            return None
        machine.idle()


def config_error(**kw):
    try:
        ble.config(**kw)
        return "accepted"
    except ValueError:
        return "ValueError"


# The peripheral-only build: serves one characteristic.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    print("left out but present:", [n for n in LEFT_OUT if hasattr(ble, n)])
    print("config bond", config_error(bond=True))
    print("config io", config_error(io=0))
    ((h,),) = ble.gatts_register_services((SERVICE,))
    ble.gatts_write(h, b"min build")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        e = next_event(_IRQ_GATTS_WRITE)
        print("written", e[2] == h, ble.gatts_read(h))
        multitest.wait("subscribed")
        ble.gatts_notify(conn, h, b"pushed")
        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


# A full build: asks for a channel and for pairing, then uses the server.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.l2cap_connect(conn, 0x81, 100)
        print("channel", next_event(_IRQ_L2CAP_DISCONNECT)[3:])
        ble.gap_pair(conn)
        print("pair", next_event(_IRQ_ENCRYPTION_UPDATE)[2:])
        ble.gattc_discover_characteristics(conn, 1, 0xFFFF, CHAR_UUID)
        h = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT)[3]
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        ble.gattc_read(conn, h)
        print("read", next_event(_IRQ_GATTC_READ_RESULT)[3])
        next_event(_IRQ_GATTC_READ_DONE)
        ble.gattc_write(conn, h, b"from central", 1)
        print("write status", next_event(_IRQ_GATTC_WRITE_DONE)[3])
        ble.gattc_write(conn, h + 1, b"\x01\x00", 1)
        next_event(_IRQ_GATTC_WRITE_DONE)
        multitest.broadcast("subscribed")
        print("notified", next_event(_IRQ_GATTC_NOTIFY)[3])
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
