# Test values longer than one ATT packet, both ways:
# - the server enlarges its buffer to 512 and sets 300- and 512-byte values; the
#   client's gattc_read continues with Read Blob, so each arrives as ONE
#   READ_RESULT with the whole value, then READ_DONE;
# - the client long-writes 300 and 512 bytes with mode 2 (Prepare/Execute): the
#   server's GATTS_WRITE handler reads back the full value;
# - mode 1 (one Write Request, as NimBLE) cuts the value to MTU-3: 20 bytes at the
#   default MTU of 23, 182 after both sides exchange an MTU of 185.
# Contents are compared, not printed, to keep the output short.

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
_IRQ_MTU_EXCHANGED = const(21)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CHAR2_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
FLAGS = bluetooth.FLAG_READ | bluetooth.FLAG_WRITE
SERVICES = ((SERVICE_UUID, ((CHAR_UUID, FLAGS), (CHAR2_UUID, FLAGS))),)

events = []


def pattern(n, seed):
    # Distinct content per case, so a stale or shifted value never matches.
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def irq(event, data):
    if event == _IRQ_GATTS_WRITE:
        # The value must be read inside the handler: a later write replaces it.
        events.append((event, data[0], data[1], bytes(ble.gatts_read(data[1]))))
    elif event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        if data[-1] in (CHAR_UUID, CHAR2_UUID):
            events.append((event, data[0], data[2], data[-1] == CHAR2_UUID))
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


def count(code):
    return sum(1 for e in events if e[0] == code)


# Server.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h, h2),) = ble.gatts_register_services(SERVICES)
    # Both values are set before the client connects: a read waits for this
    # instance's Python (READ_REQUEST), so it must not sit in multitest.wait().
    ble.gatts_set_buffer(h, 512)
    ble.gatts_set_buffer(h2, 512)
    ble.gatts_write(h, pattern(300, 1))
    ble.gatts_write(h2, pattern(512, 2))
    ble.config(mtu=185)
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        # Long writes (mode 2), then writes cut to MTU-3 (mode 1).
        for n, seed in ((300, 3), (512, 4), (300, 5), (300, 6)):
            e = next_event(_IRQ_GATTS_WRITE)
            if e:
                print("gatts_write len", len(e[3]), e[3] == pattern(n, seed)[: len(e[3])])
            if seed == 5:
                e = next_event(_IRQ_MTU_EXCHANGED)
                print("mtu", e and e[2])
        print("extra writes", count(_IRQ_GATTS_WRITE))
        next_event(_IRQ_CENTRAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


# Client.
def instance1():
    ble.config(mtu=185)
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        chars = sorted((e[3], e[2]) for e in events if e[0] == _IRQ_GATTC_CHARACTERISTIC_RESULT)
        vh, vh2 = chars[0][1], chars[1][1]

        for h, n, seed in ((vh, 300, 1), (vh2, 512, 2)):
            ble.gattc_read(conn, h)
            done = next_event(_IRQ_GATTC_READ_DONE)
            print("read done status", done and done[3])
            # Every result has arrived before READ_DONE.
            print("read results", count(_IRQ_GATTC_READ_RESULT))
            r = next_event(_IRQ_GATTC_READ_RESULT, 0)
            print("read len", len(r[3]) if r else None, r is not None and r[3] == pattern(n, seed))

        for n, seed in ((300, 3), (512, 4)):
            ble.gattc_write(conn, vh, pattern(n, seed), 2)
            e = next_event(_IRQ_GATTC_WRITE_DONE)
            print("long write", n, "status", e and e[3])

        # Mode 1 at the default MTU (23): cut to 20.
        ble.gattc_write(conn, vh, pattern(300, 5), 1)
        e = next_event(_IRQ_GATTC_WRITE_DONE)
        print("write mode 1 status", e and e[3])

        ble.gattc_exchange_mtu(conn)
        e = next_event(_IRQ_MTU_EXCHANGED)
        print("mtu", e and e[2])
        # Mode 1 at MTU 185: cut to 182.
        ble.gattc_write(conn, vh, pattern(300, 6), 1)
        e = next_event(_IRQ_GATTC_WRITE_DONE)
        print("write mode 1 status", e and e[3])
        # A long read at the larger MTU still arrives as one result.
        ble.gattc_read(conn, vh2)
        done = next_event(_IRQ_GATTC_READ_DONE)
        print("read done status", done and done[3], "results", count(_IRQ_GATTC_READ_RESULT))
        r = next_event(_IRQ_GATTC_READ_RESULT, 0)
        print("read len", len(r[3]) if r else None, r is not None and r[3] == pattern(512, 2))

        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
ble.irq(irq)
