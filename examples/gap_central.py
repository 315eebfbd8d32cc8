# GAP central demo: active scan, decodes advertising payloads, lists every device it
# hears, then connects to the one named "trouble-demo", holds the link, disconnects,
# and does it once more. Exits with status 1 if the peer is not found or not connected.
# Peer: examples/gap_peripheral.py on another controller of the same (virtual) radio.
# Uses the low-level bluetooth module directly (no aioble).
# Run: python python/run_example.py gap
# Usage: micropython gap_central.py [peer_name=trouble-demo] [hold_seconds=3]
import sys
import time

import bluetooth
from micropython import const

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_CONNECTION_UPDATE = const(27)
_ADV_SCAN_RSP = const(4)

PEER = (sys.argv[1] if len(sys.argv) > 1 else "trouble-demo").encode()
HOLD_MS = int(sys.argv[2]) * 1000 if len(sys.argv) > 2 else 3000
SCAN_MS = const(5000)
CONNECT_MS = const(5000)
CYCLES = const(2)
T0 = time.ticks_ms()


def t():
    return time.ticks_diff(time.ticks_ms(), T0) / 1000


def fmt_addr(addr):
    return ":".join("%02x" % b for b in addr)


def parse_ad(payload):
    # Splits [len][type][value...] structures; a zero or overlong length ends the
    # payload (the spec's padding / a truncated record) instead of raising.
    fields = {}
    i = 0
    while i + 1 < len(payload):
        n = payload[i]
        if n == 0 or i + 1 + n > len(payload):
            break
        fields.setdefault(payload[i + 1], []).append(bytes(payload[i + 2 : i + 1 + n]))
        i += 1 + n
    return fields


def describe(fields):
    out = []
    for name_type in (0x09, 0x08):  # complete, then shortened local name
        if name_type in fields:
            out.append("name=%r" % fields[name_type][0].decode())
            break
    uuids = []
    for ty in (0x02, 0x03):  # incomplete / complete lists of 16-bit UUIDs
        for v in fields.get(ty, ()):
            uuids += ["0x%04X" % int.from_bytes(v[j : j + 2], "little") for j in range(0, len(v) - 1, 2)]
    if uuids:
        out.append("services=" + ",".join(uuids))
    for v in fields.get(0xFF, ()):
        if len(v) >= 2:
            out.append("mfr=0x%04X:%s" % (int.from_bytes(v[:2], "little"), v[2:].hex()))
    for v in fields.get(0x19, ()):
        out.append("appearance=0x%04X" % int.from_bytes(v, "little"))
    return " ".join(out)


# IRQ data are views into a buffer the stack reuses: copy what we keep.
devices = {}  # addr bytes -> {"type", "rssi", "adv", "rsp"}
ev = {"scan_done": False, "conn": None, "disconnected": False, "updates": 0}


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, payload = data
        addr = bytes(addr)
        d = devices.get(addr)
        if d is None:
            d = devices[addr] = {"type": addr_type, "adv": None, "rsp": None, "shown": 0}
        d["rssi"] = rssi
        d["rsp" if adv_type == _ADV_SCAN_RSP else "adv"] = bytes(payload)
    elif event == _IRQ_SCAN_DONE:
        ev["scan_done"] = True
    elif event == _IRQ_PERIPHERAL_CONNECT:
        handle, addr_type, addr = data
        ev["conn"] = handle
        print("%6.2f PERIPHERAL_CONNECT handle=%d addr=%s" % (t(), handle, fmt_addr(addr)))
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        handle, addr_type, addr = data
        ev["disconnected"] = True
        print("%6.2f PERIPHERAL_DISCONNECT handle=%d addr=%s" % (t(), handle, fmt_addr(addr)))
    elif event == _IRQ_CONNECTION_UPDATE:
        handle, interval, latency, timeout, status = data
        ev["updates"] += 1
        print("%6.2f CONNECTION_UPDATE handle=%d interval=%.2fms status=%d" % (t(), handle, interval * 1.25, status))


def wait_for(cond, ms):
    deadline = time.ticks_add(time.ticks_ms(), ms)
    while not cond():
        if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
            return False
        time.sleep_ms(10)
    return True


def show_new():
    # Print a device when first heard and again when its scan response arrives;
    # returns the peer's entry once both its payloads are in.
    found = None
    for addr, d in devices.items():
        seen = (d["adv"] is not None) + (d["rsp"] is not None)
        if seen > d["shown"]:
            d["shown"] = seen
            # Keep the two payloads apart: what's in the scan response is what only
            # an active scan gets to see.
            print("%6.2f device %s type=%d rssi=%d %s%s" % (
                t(), fmt_addr(addr), d["type"], d["rssi"], describe(parse_ad(d["adv"] or b"")),
                " | scan response: " + describe(parse_ad(d["rsp"])) if d["rsp"] is not None else ""))
        if d["adv"] is not None and PEER in parse_ad(d["adv"]).get(0x09, ()):
            if d["rsp"] is not None:
                found = (d["type"], addr)
    return found


def fail(msg):
    print("%6.2f RESULT FAIL: %s" % (t(), msg))
    ble.active(False)
    sys.exit(1)


ble = bluetooth.BLE()
ble.active(True)
ble.irq(irq)
print("%6.2f address %s, scanning for %r (active, %d ms)" % (t(), fmt_addr(ble.config("mac")[1]), PEER.decode(), SCAN_MS))
# Window == interval: listen continuously; active=True sends scan requests.
ble.gap_scan(SCAN_MS, 30_000, 30_000, True)
peer = None
while peer is None and not ev["scan_done"]:
    peer = show_new()
    time.sleep_ms(50)
if peer is None:
    peer = show_new()
if not ev["scan_done"]:
    ble.gap_scan(None)  # found early: stop, and wait for the SCAN_DONE that follows
    wait_for(lambda: ev["scan_done"], 2000)
print("%6.2f scan done: %d device(s)" % (t(), len(devices)))
if peer is None:
    fail("peer %r not found" % PEER.decode())
print("%6.2f FOUND %s at %s" % (t(), PEER.decode(), fmt_addr(peer[1])))

connected = 0
for cycle in range(1, CYCLES + 1):
    ev["conn"] = None
    ev["disconnected"] = False
    print("%6.2f connect #%d ..." % (t(), cycle))
    ble.gap_connect(peer[0], peer[1], CONNECT_MS)
    if not wait_for(lambda: ev["conn"] is not None or ev["disconnected"], CONNECT_MS + 2000):
        fail("connect #%d: no event" % cycle)
    if ev["conn"] is None:
        fail("connect #%d failed" % cycle)
    connected += 1
    time.sleep_ms(HOLD_MS)  # events (e.g. a connection update) still arrive meanwhile
    if ev["disconnected"]:
        fail("link #%d dropped by the peer" % cycle)
    print("%6.2f disconnect #%d" % (t(), cycle))
    ble.gap_disconnect(ev["conn"])
    if not wait_for(lambda: ev["disconnected"], 3000):
        fail("disconnect #%d: no event" % cycle)
    # Give the peripheral a moment to advertise again before the next attempt.
    time.sleep_ms(300)

ble.active(False)
print("%6.2f SUMMARY devices=%d connections=%d/%d updates=%d" % (t(), len(devices), connected, CYCLES, ev["updates"]))
print("%6.2f RESULT OK" % t())
