# Test one central holding four simultaneous connections: instance0 finds four
# peripherals by name, connects to them one at a time, checks the handles are
# distinct and all links stay up, then disconnects them all.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 4000
NAMES = (b"P1", b"P2", b"P3", b"P4")

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

found = {}
events = []
scan_done = [False]


def adv_payload(name):
    return b"\x02\x01\x06" + bytes((len(name) + 1, 0x09)) + name


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        for name in NAMES:
            if bytes(adv_data) == adv_payload(name):
                found[name] = (addr_type, bytes(addr))
    elif event == _IRQ_SCAN_DONE:
        scan_done[0] = True
    else:
        events.append((event, data[0], data[1], bytes(data[2])))


def wait_until(cond, timeout_ms):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    return True


def settle(ms):
    wait_until(lambda: False, ms)


def next_event(code, timeout_ms):
    def match():
        return any(e[0] == code for e in events)

    if not wait_until(match, timeout_ms):
        return None
    for i, e in enumerate(events):
        if e[0] == code:
            return events.pop(i)


# Central.
def instance0():
    ble.irq(irq)
    multitest.globals(CENTRAL=ble.config("mac"))
    multitest.next()
    try:
        ble.gap_scan(0, 20_000, 20_000)
        print("all found:", wait_until(lambda: len(found) == len(NAMES), 3 * TIMEOUT_MS))
        ble.gap_scan(None)
        print("scan done:", wait_until(lambda: scan_done[0], TIMEOUT_MS))
        handles = []
        for name in NAMES:
            ble.gap_connect(found[name][0], found[name][1], TIMEOUT_MS)
            ev = next_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
            if ev is None:
                print("connect", name, "timeout")
                continue
            print("connected", name, (ev[2], ev[3]) == found[name])
            handles.append(ev[1])
        print("distinct handles:", len(handles), len(set(handles)))
        settle(500)
        print("links still up:", not events)
        for h in handles:
            print("gap_disconnect:", ble.gap_disconnect(h))
        closed = []
        for _ in handles:
            ev = next_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
            if ev is not None:
                closed.append(ev[1])
        print("all closed:", sorted(closed) == sorted(handles))
        print("gap_disconnect again:", [ble.gap_disconnect(h) for h in handles])
    finally:
        ble.active(0)


def peripheral(index):
    ble.irq(irq)
    ble.gap_advertise(20_000, adv_payload(NAMES[index - 1]))
    multitest.next()
    try:
        ev = next_event(_IRQ_CENTRAL_CONNECT, 3 * TIMEOUT_MS)
        print("_IRQ_CENTRAL_CONNECT", ev is not None and (ev[2], ev[3]) == CENTRAL)
        ev = next_event(_IRQ_CENTRAL_DISCONNECT, 3 * TIMEOUT_MS)
        print("_IRQ_CENTRAL_DISCONNECT", ev is not None and (ev[2], ev[3]) == CENTRAL)
    finally:
        ble.active(0)


def instance1():
    peripheral(1)


def instance2():
    peripheral(2)


def instance3():
    peripheral(3)


def instance4():
    peripheral(4)


ble = bluetooth.BLE()
ble.active(1)
