# Test one instance in both roles at once: instance1 is central to instance2 and,
# while that link is up, advertises and is connected to by instance0. Each link is
# then closed from a different side while the other one stays up.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 4000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

NAMES = {
    _IRQ_CENTRAL_CONNECT: "_IRQ_CENTRAL_CONNECT",
    _IRQ_CENTRAL_DISCONNECT: "_IRQ_CENTRAL_DISCONNECT",
    _IRQ_PERIPHERAL_CONNECT: "_IRQ_PERIPHERAL_CONNECT",
    _IRQ_PERIPHERAL_DISCONNECT: "_IRQ_PERIPHERAL_DISCONNECT",
}

found = {}
events = []
scan_done = [False]


def adv_payload(name):
    return b"\x02\x01\x06" + bytes((len(name) + 1, 0x09)) + name


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        for name in (b"MID", b"END"):
            if bytes(adv_data) == adv_payload(name):
                found[name] = (addr_type, bytes(addr))
    elif event == _IRQ_SCAN_DONE:
        scan_done[0] = True
    else:
        print(NAMES[event])
        events.append((event, data[0], data[1], bytes(data[2])))


def wait_until(cond, timeout_ms):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    return True


def next_event(code, timeout_ms):
    if not wait_until(lambda: any(e[0] == code for e in events), timeout_ms):
        raise ValueError("Timeout waiting for {}".format(NAMES[code]))
    for i, e in enumerate(events):
        if e[0] == code:
            return events.pop(i)


def find(name):
    scan_done[0] = False
    ble.gap_scan(0, 20_000, 20_000)
    ok = wait_until(lambda: name in found, 2 * TIMEOUT_MS)
    ble.gap_scan(None)
    wait_until(lambda: scan_done[0], TIMEOUT_MS)
    print("found", name, ok)
    return found[name]


# Central of instance1.
def instance0():
    ble.irq(irq)
    multitest.globals(ADDR0=ble.config("mac"))
    multitest.next()
    try:
        multitest.wait("mid_advertising")
        addr = find(b"MID")
        ble.gap_connect(addr[0], addr[1], TIMEOUT_MS)
        ev = next_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        print("peer ok:", (ev[2], ev[3]) == addr)
        multitest.broadcast("outer_connected")
        # instance1 closes its other link; ours must stay up.
        multitest.wait("inner_closed")
        print("link up:", not events)
        print("gap_disconnect:", ble.gap_disconnect(ev[1]))
        next_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


# Central to instance2 and peripheral to instance0 at the same time.
def instance1():
    ble.irq(irq)
    multitest.globals(ADDR1=ble.config("mac"))
    multitest.next()
    try:
        addr = find(b"END")
        ble.gap_connect(addr[0], addr[1], TIMEOUT_MS)
        inner = next_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        print("peer ok:", (inner[2], inner[3]) == addr)
        ble.gap_advertise(20_000, adv_payload(b"MID"))
        multitest.broadcast("mid_advertising")
        outer = next_event(_IRQ_CENTRAL_CONNECT, 2 * TIMEOUT_MS)
        print("peer ok:", (outer[2], outer[3]) == ADDR0)
        multitest.wait("outer_connected")
        print("distinct handles:", inner[1] != outer[1])
        # Close the link where we are central; the other one stays.
        print("gap_disconnect:", ble.gap_disconnect(inner[1]))
        ev = next_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        print("handle ok:", ev[1] == inner[1])
        multitest.broadcast("inner_closed")
        ev = next_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
        print("handle ok:", ev[1] == outer[1])
    finally:
        ble.active(0)


# Peripheral of instance1.
def instance2():
    ble.irq(irq)
    ble.gap_advertise(20_000, adv_payload(b"END"))
    multitest.next()
    try:
        ev = next_event(_IRQ_CENTRAL_CONNECT, 2 * TIMEOUT_MS)
        print("peer ok:", (ev[2], ev[3]) == ADDR1)
        ev = next_event(_IRQ_CENTRAL_DISCONNECT, 2 * TIMEOUT_MS)
        print("peer ok:", (ev[2], ev[3]) == ADDR1)
        # Stay alive for the last broadcast (the runner writes it to every instance).
        multitest.wait("inner_closed")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
