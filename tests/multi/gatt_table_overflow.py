# Test the GATT server's attribute capacity (MAX_ATTRIBUTES in src/config.rs:
# 64, of which the built-in GAP and GATT services take 9, leaving 55):
# - a registration needing more raises OSError(ENOMEM), never a crash;
# - exactly 55 attributes fit (1 service + 27 characteristics x 2), one more
#   (a descriptor) does not, nor does a second service that overflows;
# - a smaller registration afterwards replaces the database and a peer
#   discovers exactly it (no leftovers of the failed ones) and reads its values;
# - registering while connected raises OSError(EBUSY) and leaves the served
#   database as it was.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_SERVICE_RESULT = const(9)
_IRQ_GATTC_SERVICE_DONE = const(10)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
OTHER_UUID = bluetooth.UUID(0x181A)
DESC_UUID = bluetooth.UUID(0x2901)
SMALL_UUIDS = (bluetooth.UUID(0xAA01), bluetooth.UUID(0xAA02))
R = bluetooth.FLAG_READ


def chars(n):
    return tuple((bluetooth.UUID(0xB000 + i), R) for i in range(n))


events = []


def irq(event, data):
    if event == _IRQ_GATTC_SERVICE_RESULT:
        events.append((event, data[0], data[1], data[2], str(bluetooth.UUID(data[3]))))
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        events.append((event, data[0], data[2], str(bluetooth.UUID(data[4]))))
    elif event == _IRQ_GATTC_READ_RESULT:
        events.append((event, data[0], data[1], bytes(data[2])))
    else:
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


def register(label, services):
    try:
        handles = ble.gatts_register_services(services)
        print(label, "ok", [len(s) for s in handles])
        return handles
    except OSError as e:
        print(label, "OSError", e.errno)


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    register("30 chars", ((SERVICE_UUID, chars(30)),))
    register("27 chars", ((SERVICE_UUID, chars(27)),))
    big = chars(26) + ((bluetooth.UUID(0xB0FF), R, ((DESC_UUID, R),)),)
    register("27 chars + descriptor", ((SERVICE_UUID, big),))
    register("second service overflows", ((SERVICE_UUID, chars(20)), (OTHER_UUID, chars(10))))
    ((h1, h2),) = register("small", ((OTHER_UUID, tuple((u, R) for u in SMALL_UUIDS)),))
    ble.gatts_write(h1, b"value one")
    ble.gatts_write(h2, b"value two")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        # Connected now: a new registration must be refused.
        register("while connected", ((SERVICE_UUID, chars(2)),))
        next_event(_IRQ_CENTRAL_DISCONNECT, 3 * TIMEOUT_MS)
        print("disconnected")
        # Not connected any more: registering works again.
        register("after disconnect", ((SERVICE_UUID, chars(2)),))
    finally:
        ble.active(0)


# Client.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_services(conn)
        e = next_event(_IRQ_GATTC_SERVICE_DONE)
        print("services done", e and e[2])
        services = [x for x in events if x[0] == _IRQ_GATTC_SERVICE_RESULT]
        print("services", [s[4] for s in services])
        start, end = services[-1][2], services[-1][3]
        ble.gattc_discover_characteristics(conn, start, end)
        e = next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        print("characteristics done", e and e[2])
        found = [x for x in events if x[0] == _IRQ_GATTC_CHARACTERISTIC_RESULT]
        print("characteristics", [c[3] for c in found])
        for c in found:
            ble.gattc_read(conn, c[2])
            done = next_event(_IRQ_GATTC_READ_DONE)
            r = next_event(_IRQ_GATTC_READ_RESULT, 0)
            print("read", r and r[3], "status", done and done[3])
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
