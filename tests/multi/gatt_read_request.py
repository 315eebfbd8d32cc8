# Test _IRQ_GATTS_READ_REQUEST: every client read of an application value or
# descriptor asks the server's handler first, and its return value is the ATT
# error sent back (0 or None allows the read). The client's READ_DONE carries
# that code; only an allowed read has a READ_RESULT before its READ_DONE. The
# handler may also gatts_write a fresh value before allowing: the client then
# reads the fresh value, not the stored one.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
DESC_UUID = bluetooth.UUID("00000000-1111-2222-3333-666666666666")
SERVICES = (
    (
        SERVICE_UUID,
        ((CHAR_UUID, bluetooth.FLAG_READ, ((DESC_UUID, bluetooth.FLAG_READ),)),),
    ),
)

# The server's answers, one per read request, in order. None means "write a
# fresh value, then allow".
ANSWERS = (0, 0x02, 0x05, 0x08, 0x0F, None, 0x02, 0)

events = []
answers = list(ANSWERS)
handles = {}


def irq(event, data):
    if event == _IRQ_GATTS_READ_REQUEST:
        conn, h = data
        events.append((event, h))
        a = answers.pop(0) if answers else 0
        if a is None:
            ble.gatts_write(h, b"fresh")
            a = 0
        return a
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] == CHAR_UUID:
            events.append((event, data[0], data[2]))
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        if data[-1] == DESC_UUID:
            events.append((event, data[0], data[1]))
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


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h, dh),) = ble.gatts_register_services(SERVICES)
    handles[h] = "value"
    handles[dh] = "descriptor"
    ble.gatts_write(h, b"stored")
    ble.gatts_write(dh, b"desc")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        next_event(_IRQ_CENTRAL_DISCONNECT, 4 * TIMEOUT_MS)
        # Which attribute each read request named, in order.
        print("read requests", [handles.get(e[1]) for e in events if e[0] == _IRQ_GATTS_READ_REQUEST])
        print("value now", ble.gatts_read(h))
    finally:
        ble.active(0)


# Client.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        vh = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT)[2]
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        ble.gattc_discover_descriptors(conn, vh, 65535)
        dh = next_event(_IRQ_GATTC_DESCRIPTOR_RESULT)[2]
        next_event(_IRQ_GATTC_DESCRIPTOR_DONE)

        for h in (vh, vh, vh, vh, vh, vh, dh, dh):
            ble.gattc_read(conn, h)
            done = next_event(_IRQ_GATTC_READ_DONE)
            results = [e[3] for e in events if e[0] == _IRQ_GATTC_READ_RESULT]
            events[:] = [e for e in events if e[0] != _IRQ_GATTC_READ_RESULT]
            print(
                "read", "value" if h == vh else "descriptor", results, "status", done and done[3]
            )

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
