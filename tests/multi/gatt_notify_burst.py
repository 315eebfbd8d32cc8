# Test a burst of 200 notifications sent back to back (gatts_notify in a loop)
# arrives complete and in order while the client's Python keeps up. Each payload
# is 20 bytes: a 2-byte sequence number and padding derived from it, so a lost,
# duplicated, reordered or corrupted notification is caught. If the server's
# stack has no room for another one, gatts_notify raises OSError(ENOMEM) and the
# sender retries after a short sleep (how often is timing-dependent, so it is
# only checked, not printed). The client also reports the backend's count of
# events it had to drop (none expected).

from micropython import const
import time, machine, bluetooth, errno

TIMEOUT_MS = 5000
COUNT = 200

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_NOTIFY = const(18)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICES = ((SERVICE_UUID, ((CHAR_UUID, bluetooth.FLAG_READ | bluetooth.FLAG_NOTIFY),)),)

events = []
received = []


def payload(seq):
    return bytes((seq >> 8, seq & 0xFF)) + bytes((seq + i) & 0xFF for i in range(18))


def irq(event, data):
    if event == _IRQ_GATTC_NOTIFY:
        # Kept apart from the other events: the client only counts these.
        received.append(bytes(data[2]))
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] == CHAR_UUID:
            events.append((event, data[0], data[2]))
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
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        multitest.wait("ready")
        sent = 0
        other_errors = []
        t0 = time.ticks_ms()
        while sent < COUNT and time.ticks_diff(time.ticks_ms(), t0) < 6 * TIMEOUT_MS:
            try:
                ble.gatts_notify(conn, h, payload(sent))
                sent += 1
            except OSError as e:
                if e.errno != errno.ENOMEM:
                    other_errors.append(e.errno)
                    break
                time.sleep_ms(2)
        print("sent", sent, "other errors", other_errors)
        next_event(_IRQ_CENTRAL_DISCONNECT, 6 * TIMEOUT_MS)
        print("disconnected")
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
        multitest.broadcast("ready")

        t0 = time.ticks_ms()
        while len(received) < COUNT and time.ticks_diff(time.ticks_ms(), t0) < 6 * TIMEOUT_MS:
            machine.idle()
        # Anything beyond COUNT would be a duplicate: give it a moment to show up.
        t1 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t1) < 200:
            machine.idle()
        in_order = all(v == payload(i) for i, v in enumerate(received))
        print("received", len(received), "in order", in_order)
        if not in_order:
            print("first bad", [i for i, v in enumerate(received) if v != payload(i)][:1])
        try:
            import _trouble

            print("events dropped", _trouble.stats()["events_dropped"])
        except ImportError:
            print("events dropped", 0)

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
