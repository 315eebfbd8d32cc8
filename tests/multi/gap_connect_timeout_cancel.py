# Test gap_connect to an absent peer: timeout and cancel both end with
# PERIPHERAL_DISCONNECT (65535, 255, zero address); errors for a second pending
# connect and a cancel with nothing pending; the central still connects afterwards.

from micropython import const
import time, machine, bluetooth, errno

TIMEOUT_MS = 4000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

NOBODY = b"\x00\x11\x22\x33\x44\x55"

events = []


def irq(event, data):
    if event in (_IRQ_CENTRAL_CONNECT, _IRQ_CENTRAL_DISCONNECT):
        print("central event", event)
    events.append((event, data[0], data[1], bytes(data[2])))


def wait_event(timeout_ms):
    t0 = time.ticks_ms()
    while not events:
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return None
        machine.idle()
    return events.pop(0)


def settle(ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        machine.idle()


def show(ev, addr_type=255, addr=bytes(6)):
    if ev is None:
        print("no event")
    elif ev[1] == 65535:
        print("event", ev[0], ev[1], ev[2], ev[3] == addr)
    else:
        print("event", ev[0], "handle", ev[2] == addr_type, ev[3] == addr)


def attempt(label, *args):
    try:
        print(label, "->", ble.gap_connect(*args))
    except OSError as e:
        print(label, "-> OSError", errno.errorcode.get(e.errno, e.errno))


# Peripheral that appears only at the end.
def instance0():
    ble.irq(irq)
    multitest.globals(BDADDR=ble.config("mac"))
    multitest.next()
    try:
        multitest.wait("advertise")
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        # CENTRAL_CONNECT then CENTRAL_DISCONNECT.
        t0 = time.ticks_ms()
        while len(events) < 2 and time.ticks_diff(time.ticks_ms(), t0) < 2 * TIMEOUT_MS:
            machine.idle()
    finally:
        ble.active(0)


# Central.
def instance1():
    ble.irq(irq)
    multitest.next()
    try:
        # Timeout after the scan duration.
        t0 = time.ticks_ms()
        attempt("gap_connect 1000 ms", 0, NOBODY, 1000)
        ev = wait_event(TIMEOUT_MS)
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        show(ev)
        print("on time:", 900 <= elapsed <= 2500)
        settle(300)
        print("extra events:", len(events))

        # A second connect while one is pending, then cancel.
        attempt("gap_connect 4000 ms", 0, NOBODY, 4000)
        attempt("gap_connect again", 0, NOBODY, 4000)
        settle(200)
        print("pending events:", len(events))
        t0 = time.ticks_ms()
        attempt("gap_connect(None)", None)
        ev = wait_event(TIMEOUT_MS)
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        show(ev)
        print("prompt:", elapsed < 500)
        settle(300)
        print("extra events:", len(events))

        # Nothing pending.
        attempt("gap_connect(None) idle", None)
        print("gap_disconnect(1234):", ble.gap_disconnect(1234))
        print("gap_disconnect(65535):", ble.gap_disconnect(65535))
        settle(200)
        print("extra events:", len(events))

        # The central still works.
        multitest.broadcast("advertise")
        attempt("gap_connect peer", BDADDR[0], BDADDR[1], 4000)
        ev = wait_event(TIMEOUT_MS)
        show(ev, *BDADDR)
        attempt("gap_connect(None) connected", None)
        print("gap_disconnect:", ble.gap_disconnect(ev[1]))
        show(wait_event(TIMEOUT_MS), *BDADDR)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
