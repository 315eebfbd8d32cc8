# Test gatts_indicate / gatts_notify to a client that never wrote the CCCD:
# MicroPython documents that both are sent regardless of subscription, so the
# client gets _IRQ_GATTC_INDICATE / _IRQ_GATTC_NOTIFY and the server gets
# _IRQ_GATTS_INDICATE_DONE with status 0 (the client confirmed). In contrast
# gatts_write(..., True) follows the CCCD: nothing while unsubscribed, a
# notification after the client writes 1, an indication after it writes 2,
# nothing again after it writes 0.
# "Nothing arrived" is checked with an explicit gatts_notify marker sent right
# after: notifications keep their order on a link, so anything the update sent
# would arrive before the marker.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

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


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h,),) = ble.gatts_register_services(SERVICES)
    ble.gatts_write(h, b"initial")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        multitest.wait("discovered")

        # Never subscribed: explicit sends still go out.
        ble.gatts_indicate(conn, h, b"ind-unsub")
        e = next_event(_IRQ_GATTS_INDICATE_DONE)
        print("indicate done", e and (e[1] == conn, e[2] == h, e[3]))
        ble.gatts_notify(conn, h, b"ntf-unsub")
        # Without data: the stored value.
        ble.gatts_indicate(conn, h)
        e = next_event(_IRQ_GATTS_INDICATE_DONE)
        print("indicate done", e and e[3])
        # The CCCD says nothing: the update is not sent.
        ble.gatts_write(h, b"update-unsub", True)
        ble.gatts_notify(conn, h, b"marker1")

        for step in ("notify", "indicate", "off"):
            multitest.wait("cccd " + step)
            ble.gatts_write(h, b"update-" + step, True)
            if step == "indicate":
                e = next_event(_IRQ_GATTS_INDICATE_DONE)
                print("indicate done", e and e[3])
            ble.gatts_notify(conn, h, b"marker-" + step)

        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("stray indicate done", [e for e in events if e[0] == _IRQ_GATTS_INDICATE_DONE])
        print("disconnected")
    finally:
        ble.active(0)


def received_until(marker):
    # Notifications and indications in arrival order, up to and including the marker.
    got = []
    while True:
        e = None
        t0 = time.ticks_ms()
        while e is None and time.ticks_diff(time.ticks_ms(), t0) < TIMEOUT_MS:
            for i, x in enumerate(events):
                if x[0] in (_IRQ_GATTC_NOTIFY, _IRQ_GATTC_INDICATE):
                    e = events.pop(i)
                    break
            else:
                machine.idle()
        if e is None:
            got.append("timeout")
            return got
        got.append(("notify" if e[0] == _IRQ_GATTC_NOTIFY else "indicate", e[3]))
        if e[3] == marker:
            return got


# Client.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        _, _, end, vh = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT)
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        ble.gattc_discover_descriptors(conn, vh, end)
        cccd = next_event(_IRQ_GATTC_DESCRIPTOR_RESULT)[2]
        next_event(_IRQ_GATTC_DESCRIPTOR_DONE)
        multitest.broadcast("discovered")

        print(received_until(b"marker1"))

        for step, value in (("notify", 1), ("indicate", 2), ("off", 0)):
            ble.gattc_write(conn, cccd, bytes((value, 0)), 1)
            e = next_event(_IRQ_GATTC_WRITE_DONE)
            print("cccd", value, "status", e and e[3])
            multitest.broadcast("cccd " + step)
            print(received_until(b"marker-" + step))

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
