# The backend reports client writes in the order they arrived: a client
# writes characteristic A, then B, both without response (back to back, in
# one connection event), then both with response, ten rounds each; the
# server's IRQ sees GATTS_WRITE for A before B in every round, each with the
# value written. A write that finds the client's queue full (OSError(ENOMEM),
# as with NimBLE) is tried again.

from micropython import const
import time, machine, bluetooth, errno

TIMEOUT_MS = 5000
ROUNDS = 10

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_WRITE_DONE = const(17)

SERVICE_UUID = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000c1")
A_UUID = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000c2")
B_UUID = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000c3")
W = bluetooth.FLAG_WRITE | bluetooth.FLAG_WRITE_NO_RESPONSE
SERVICES = ((SERVICE_UUID, ((A_UUID, W), (B_UUID, W))),)

events = []
writes = []
handles = {}


def irq(event, data):
    if event == _IRQ_GATTS_WRITE:
        # Read in the IRQ: the value this write stored.
        writes.append((handles[data[1]], ble.gatts_read(data[1])))
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        # The UUID object is reused by the next event: keep a name instead.
        if data[-1] in (A_UUID, B_UUID):
            events.append((event, "A" if data[-1] == A_UUID else "B", data[2]))
    else:
        events.append((event,) + tuple(data))


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


def write(conn, handle, value, mode):
    t0 = time.ticks_ms()
    while True:
        try:
            return ble.gattc_write(conn, handle, value, mode)
        except OSError as e:
            if e.errno != errno.ENOMEM or time.ticks_diff(time.ticks_ms(), t0) > TIMEOUT_MS:
                raise
            time.sleep_ms(2)


def wait_writes(n, timeout_ms=TIMEOUT_MS):
    t0 = time.ticks_ms()
    while len(writes) < n and time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        machine.idle()


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((ha, hb),) = ble.gatts_register_services(SERVICES)
    handles[ha], handles[hb] = "A", "B"
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        next_event(_IRQ_CENTRAL_CONNECT)
        wait_writes(4 * ROUNDS)
        expected = []
        for i in range(2 * ROUNDS):
            expected += [("A", b"a%d" % i), ("B", b"b%d" % i)]
        in_order = writes == expected
        print("writes", len(writes), "in order", in_order)
        if not in_order:
            print(writes)
        next_event(_IRQ_CENTRAL_DISCONNECT)
    finally:
        ble.active(0)


# Client.
def instance1():
    multitest.next()
    try:
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        found = {}
        while True:
            e = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT, 1000)
            if e is None:
                break
            found[e[1]] = e[2]
            if len(found) == 2:
                break
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        ha, hb = found["A"], found["B"]
        for i in range(ROUNDS):
            write(conn, ha, b"a%d" % i, 0)
            write(conn, hb, b"b%d" % i, 0)
            time.sleep_ms(30)
        for i in range(ROUNDS, 2 * ROUNDS):
            write(conn, ha, b"a%d" % i, 1)
            next_event(_IRQ_GATTC_WRITE_DONE)
            write(conn, hb, b"b%d" % i, 1)
            next_event(_IRQ_GATTC_WRITE_DONE)
        print("client wrote", 4 * ROUNDS)
        time.sleep_ms(200)
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
