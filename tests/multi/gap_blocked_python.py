# Test the stack runs while Python is blocked in a stdin read (multitest.wait):
# 1. instance0 advertises and blocks while instance1 connects and disconnects; its
#    CENTRAL_CONNECT/DISCONNECT events arrive once it runs Python again.
# 2. instance1 starts gap_connect with a 1 s scan duration to instance0 (not yet
#    advertising) and blocks. The give-up timer lives in the host: if the host runs
#    while Python is blocked, the attempt is cancelled before instance0 starts
#    advertising 2 s later, so no connection happens; the failure event
#    (PERIPHERAL_DISCONNECT 65535) is delivered after instance1 unblocks.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 4000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

ADV = b"\x02\x01\x06\x04\xffMPY"

events = []


def irq(event, data):
    events.append((event, data[0], data[1], bytes(data[2])))


def wait_until(cond, timeout_ms):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    return True


def instance0():
    ble.irq(irq)
    multitest.globals(BDADDR=ble.config("mac"))
    multitest.next()
    try:
        # Phase 1: peripheral, blocked for the whole connection.
        ble.gap_advertise(20_000, ADV)
        multitest.broadcast("advertising")
        multitest.wait("done")
        print("unblocked")
        wait_until(lambda: len(events) >= 2, TIMEOUT_MS)
        print("events:", [e[0] for e in events])
        if len(events) == 2:
            print("same handle:", events[0][1] == events[1][1])
            print("same peer:", events[0][2:] == events[1][2:])
        del events[:]

        # Phase 2: advertise only after instance1's attempt should have given up.
        multitest.wait("blocking")
        wait_until(lambda: False, 2000)
        ble.gap_advertise(20_000, ADV)
        print("connected while blocked:", wait_until(lambda: events, 1500))
        ble.gap_advertise(None)
        multitest.broadcast("phase2_done")
    finally:
        ble.active(0)


def instance1():
    ble.irq(irq)
    multitest.next()
    try:
        # Phase 1: central.
        multitest.wait("advertising")
        print("gap_connect")
        ble.gap_connect(BDADDR[0], BDADDR[1], TIMEOUT_MS)
        print("connected:", wait_until(lambda: events, TIMEOUT_MS) and events[0][0])
        # Hold the link a little, then close it.
        wait_until(lambda: False, 300)
        print("gap_disconnect:", ble.gap_disconnect(events[0][1]))
        print("disconnected:", wait_until(lambda: len(events) >= 2, TIMEOUT_MS) and events[1][0])
        del events[:]
        multitest.broadcast("done")

        # Phase 2: connect attempt that must time out while Python is blocked.
        print("gap_connect 1000 ms")
        ble.gap_connect(BDADDR[0], BDADDR[1], 1000)
        multitest.broadcast("blocking")
        multitest.wait("phase2_done")
        print("unblocked")
        wait_until(lambda: events, TIMEOUT_MS)
        print("events:", [(e[0], e[1], e[2], e[3] == bytes(6)) for e in events])
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
