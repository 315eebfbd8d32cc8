# Test the GATT client's per-connection queue: one procedure runs at a time and
# up to two more wait behind it (GATTC_QUEUE_DEPTH), so three calls made back to
# back are all accepted (not errors) and their results and DONE events come in
# call order, each procedure's results before its own DONE. A fourth call while
# three are pending raises OSError(ENOMEM); once they finish, calls work again.

from micropython import const
import time, machine, bluetooth, errno

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
_IRQ_GATTC_WRITE_DONE = const(17)

NAMES = {9: "service", 10: "service_done", 11: "char", 12: "char_done", 15: "read", 16: "read_done", 17: "write_done"}

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CHAR2_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
FLAGS = bluetooth.FLAG_READ | bluetooth.FLAG_WRITE
SERVICES = ((SERVICE_UUID, ((CHAR_UUID, FLAGS), (CHAR2_UUID, FLAGS))),)

events = []


def irq(event, data):
    if event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        which = 1 if data[-1] == CHAR_UUID else 2 if data[-1] == CHAR2_UUID else 0
        events.append((event, data[0], data[2], which))
    elif event == _IRQ_GATTC_READ_RESULT:
        events.append((event, data[0], data[1], bytes(data[2])))
    elif event == _IRQ_GATTC_SERVICE_RESULT:
        events.append((event, data[0], data[1], data[2]))
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


def wait_count(code, n, timeout_ms=TIMEOUT_MS):
    t0 = time.ticks_ms()
    while sum(1 for e in events if e[0] == code) < n:
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    return True


def call(label, f, *args):
    # The outcome as a line, printed by the caller: printing between calls would
    # give a slow board (QEMU's UART) time for a procedure to finish meanwhile.
    try:
        f(*args)
        return label + " queued"
    except OSError as e:
        return "%s OSError %d" % (label, e.errno)


def try_call(label, f, *args):
    line = call(label, f, *args)
    print(line)
    return line.endswith("queued")


def sequence():
    # Event names in arrival order, runs of the same result collapsed (how many
    # services or characteristics there are is not the point here).
    out = []
    for e in events:
        name = NAMES.get(e[0], e[0])
        if name.endswith("done"):
            name += " " + str(e[-1])
        if not out or out[-1] != name or name in ("read",):
            out.append(name)
    return out


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h1, h2),) = ble.gatts_register_services(SERVICES)
    ble.gatts_write(h1, b"one")
    ble.gatts_write(h2, b"two")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        next_event(_IRQ_CENTRAL_DISCONNECT, 6 * TIMEOUT_MS)
        print("disconnected")
        print("value", ble.gatts_read(h2))
    finally:
        ble.active(0)


# Client.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        # Learn the value handles first.
        ble.gattc_discover_characteristics(conn, 1, 65535)
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        vh = [e[2] for e in events if e[0] == _IRQ_GATTC_CHARACTERISTIC_RESULT and e[3] == 1][0]
        vh2 = [e[2] for e in events if e[0] == _IRQ_GATTC_CHARACTERISTIC_RESULT and e[3] == 2][0]
        del events[:]

        # Three back to back: one runs, two wait.
        try_call("discover_services", ble.gattc_discover_services, conn)
        try_call("discover_characteristics", ble.gattc_discover_characteristics, conn, 1, 65535)
        try_call("read", ble.gattc_read, conn, vh)
        print("all done", wait_count(_IRQ_GATTC_READ_DONE, 1))
        print(sequence())
        print("read value", [e[3] for e in events if e[0] == _IRQ_GATTC_READ_RESULT])
        del events[:]

        # A fourth while three are pending is refused.
        lines = [
            call(label, f, *args)
            for label, f, args in (
                ("read 1", ble.gattc_read, (conn, vh)),
                ("write 2", ble.gattc_write, (conn, vh2, b"written", 1)),
                ("read 3", ble.gattc_read, (conn, vh2)),
                ("read 4", ble.gattc_read, (conn, vh)),
            )
        ]
        for line in lines:
            print(line)
        print("all done", wait_count(_IRQ_GATTC_READ_DONE, 2) and wait_count(_IRQ_GATTC_WRITE_DONE, 1))
        # Nothing more comes: the refused call left no trace.
        t0 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t0) < 300:
            machine.idle()
        print(sequence())
        print("read values", [e[3] for e in events if e[0] == _IRQ_GATTC_READ_RESULT])
        del events[:]

        # The queue has drained: a new call is accepted and completes.
        try_call("read again", ble.gattc_read, conn, vh)
        print("done", next_event(_IRQ_GATTC_READ_DONE) is not None)

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
