# Test gatts_write(h, value, True) reaching four connected clients, each as its
# CCCD asks: instances 1-3 subscribe to notifications (CCCD 1), instance 4 to
# indications (CCCD 2). The clients connect one at a time (the virtual radio
# lets two centrals both believe they won the same advertisement).
# Phase 1: three updates, each after the previous indication was confirmed:
# every client gets all three values in order.
# Phase 2: three updates back to back. Each gatts_write sends at once to the
# notify clients (as NimBLE), so they get all three in order; the indicate client
# can have only one indication outstanding, so it must end with the last value
# (what it gets in between may be merged; only its last value is printed).
# The server counts INDICATE_DONE events (all from instance 4, status 0).

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000
CLIENTS = 4

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)
_IRQ_GATTS_INDICATE_DONE = const(20)

_CCCD_UUID = bluetooth.UUID(0x2902)
SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CHAR_FLAGS = bluetooth.FLAG_READ | bluetooth.FLAG_NOTIFY | bluetooth.FLAG_INDICATE
SERVICES = ((SERVICE_UUID, ((CHAR_UUID, CHAR_FLAGS),)),)
ADV = b"\x02\x01\x06\x04\xffMPY"
PHASE1 = (b"p1-first", b"p1-second", b"p1-third")
PHASE2 = (b"p2-first", b"p2-second", b"p2-third")

events = []


def irq(event, data):
    if event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] == CHAR_UUID:
            events.append((event, data[0], data[1], data[2]))
    elif event == _IRQ_GATTC_DESCRIPTOR_RESULT:
        if data[-1] == _CCCD_UUID:
            events.append((event, data[0], data[1]))
    elif event in (_IRQ_GATTC_NOTIFY, _IRQ_GATTC_INDICATE):
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


def settle(ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        machine.idle()


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h,),) = ble.gatts_register_services(SERVICES)
    ble.gatts_write(h, b"initial")
    multitest.next()
    try:
        conns = []
        for k in range(1, CLIENTS + 1):
            ble.gap_advertise(20_000, ADV)
            multitest.broadcast("adv " + str(k))
            e = next_event(_IRQ_CENTRAL_CONNECT)
            if e:
                conns.append(e[1])
            multitest.wait("subscribed " + str(k))
        print("connections", len(conns), len(set(conns)))

        for v in PHASE1:
            ble.gatts_write(h, v, True)
            e = next_event(_IRQ_GATTS_INDICATE_DONE)
            print("indicate done", e and (e[2] == h, e[3]))
        multitest.broadcast("phase2")
        for v in PHASE2:
            ble.gatts_write(h, v, True)

        closed = 0
        for _ in conns:
            if next_event(_IRQ_CENTRAL_DISCONNECT, 3 * TIMEOUT_MS):
                closed += 1
        print("disconnected", closed)
        done = [e for e in events if e[0] == _IRQ_GATTS_INDICATE_DONE]
        print("more indicate done", len(done) > 0, all(e[3] == 0 for e in done))
    finally:
        ble.active(0)


def received(n, last, timeout_ms):
    # Values pushed to us, in arrival order, until n arrived or `last` did.
    got = []
    t0 = time.ticks_ms()
    while len(got) < n and time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        for i, x in enumerate(events):
            if x[0] in (_IRQ_GATTC_NOTIFY, _IRQ_GATTC_INDICATE):
                e = events.pop(i)
                got.append(("notify" if e[0] == _IRQ_GATTC_NOTIFY else "indicate", e[3]))
                break
        else:
            machine.idle()
        if got and got[-1][1] == last:
            break
    return got


def client(k):
    multitest.next()
    try:
        multitest.wait("adv " + str(k))
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        _, _, end, vh = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT)
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        ble.gattc_discover_descriptors(conn, vh, end)
        cccd = next_event(_IRQ_GATTC_DESCRIPTOR_RESULT)[2]
        next_event(_IRQ_GATTC_DESCRIPTOR_DONE)
        ble.gattc_write(conn, cccd, b"\x02\x00" if k == 4 else b"\x01\x00", 1)
        e = next_event(_IRQ_GATTC_WRITE_DONE)
        print("subscribed", e and e[3])
        multitest.broadcast("subscribed " + str(k))

        # The later clients still have to connect: wait long enough for them.
        got = received(3, PHASE1[-1], 8 * TIMEOUT_MS)
        print("phase 1", got)
        multitest.wait("phase2")
        got = received(3, PHASE2[-1], TIMEOUT_MS)
        if k == 4:
            print("phase 2 last", got[-1] if got else None)
        else:
            print("phase 2", got)
        # Nothing else comes.
        settle(300)
        print("extra", received(1, None, 0))

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


def instance1():
    client(1)


def instance2():
    client(2)


def instance3():
    client(3)


def instance4():
    client(4)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
