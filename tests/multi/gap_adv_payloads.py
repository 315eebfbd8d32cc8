# Test advertising payloads as seen by active and passive scanners: full 31-byte
# advertising and scan response data, reuse with None, clearing with b"", oversize
# payloads, and non-connectable (scannable) advertising that a central can't connect to.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 4000
SETTLE_MS = 250

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

# 31 bytes each: flags + manufacturer data, and a complete local name.
ADV31 = b"\x02\x01\x06\x1b\xff" + bytes(range(0x41, 0x41 + 26))
RSP31 = b"\x1e\x09" + b"scan-response-payload-of-31-b"
ADV_X = b"\x02\x01\x06\x04\xffXYZ"
ADV_NC = b"\x02\x01\x06\x04\xffNC!"
# Connectable advertising data is free-form: no Flags AD structure at all.
ADV_NOFLAGS = b"\x04\x09abc"

results = {}
scan_done = [False]
events = []


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if addr_type == BDADDR[0] and bytes(addr) == BDADDR[1]:
            if adv_type not in results:
                results[adv_type] = set()
            results[adv_type].add(bytes(adv_data))
    elif event == _IRQ_SCAN_DONE:
        scan_done[0] = True
    elif event in (_IRQ_PERIPHERAL_CONNECT, _IRQ_PERIPHERAL_DISCONNECT):
        events.append((event, data[0], data[1], bytes(data[2])))


def scan(duration_ms, active, want=()):
    # Scans for duration_ms, or until every adv_type in want was reported.
    results.clear()
    scan_done[0] = False
    ble.gap_scan(duration_ms, 20_000, 20_000, active)
    stopped = False
    t0 = time.ticks_ms()
    while not scan_done[0]:
        if want and not stopped and all(t in results for t in want):
            ble.gap_scan(None)
            stopped = True
        if time.ticks_diff(time.ticks_ms(), t0) > duration_ms + TIMEOUT_MS:
            print("scan did not end")
            break
        machine.idle()
    return results


def try_advertise(label, *args, **kwargs):
    try:
        ble.gap_advertise(*args, **kwargs)
        print(label, "-> ok")
    except OSError as e:
        print(label, "-> OSError", e.errno)
    # gap_advertise returns once the controller has the new payload, but PDUs of the
    # previous advertisement can still be crossing the virtual radio's link (it has a few
    # ms of latency); wait so the scanner, started on our broadcast, can't report them.
    time.sleep_ms(SETTLE_MS)


# Advertiser.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    print("len", len(ADV31), len(RSP31))
    try_advertise("adv31+rsp31", 20_000, ADV31, resp_data=RSP31)
    multitest.next()
    try:
        multitest.wait("full_checked")
        try_advertise("stop", None)
        multitest.broadcast("stopped")
        multitest.wait("quiet_checked")
        try_advertise("restart with None data", 20_000)
        multitest.broadcast("restarted")
        multitest.wait("reuse_checked")
        try_advertise("clear adv", 20_000, b"")
        multitest.broadcast("adv_cleared")
        multitest.wait("adv_clear_checked")
        try_advertise("no flags", 20_000, ADV_NOFLAGS)
        multitest.broadcast("noflags")
        multitest.wait("noflags_checked")
        try_advertise("clear rsp", 20_000, ADV_X, resp_data=b"")
        multitest.broadcast("rsp_cleared")
        multitest.wait("rsp_clear_checked")
        try_advertise("adv32", 20_000, ADV31 + b"!")
        try_advertise("rsp32", 20_000, ADV_X, resp_data=RSP31 + b"!")
        try_advertise("non-connectable", 20_000, ADV_NC, resp_data=RSP31, connectable=False)
        multitest.broadcast("nonconn")
        multitest.wait("done")
    finally:
        ble.active(0)


# Scanner / central.
def instance1():
    ble.irq(irq)
    multitest.next()
    try:
        r = scan(TIMEOUT_MS, True, (0, 4))
        print("active types:", sorted(r))
        print("adv exact:", r.get(0) == {ADV31}, "rsp exact:", r.get(4) == {RSP31})
        r = scan(1000, False)
        print("passive types:", sorted(r))
        print("adv exact:", r.get(0) == {ADV31})
        multitest.broadcast("full_checked")

        multitest.wait("stopped")
        r = scan(800, False)
        print("after stop types:", sorted(r))
        multitest.broadcast("quiet_checked")

        multitest.wait("restarted")
        r = scan(TIMEOUT_MS, True, (0, 4))
        print("reused types:", sorted(r))
        print("adv kept:", r.get(0) == {ADV31}, "rsp kept:", r.get(4) == {RSP31})
        multitest.broadcast("reuse_checked")

        multitest.wait("adv_cleared")
        r = scan(TIMEOUT_MS, True, (0, 4))
        print("cleared types:", sorted(r))
        print("adv empty:", r.get(0) == {b""}, "rsp kept:", r.get(4) == {RSP31})
        multitest.broadcast("adv_clear_checked")

        multitest.wait("noflags")
        r = scan(TIMEOUT_MS, True, (0,))
        print("no flags adv:", r.get(0) == {ADV_NOFLAGS})
        multitest.broadcast("noflags_checked")

        multitest.wait("rsp_cleared")
        r = scan(1000, True)
        print("adv new:", r.get(0) == {ADV_X})
        print("non-empty scan response:", any(r.get(4, ())))
        multitest.broadcast("rsp_clear_checked")

        multitest.wait("nonconn")
        r = scan(TIMEOUT_MS, True, (2, 4))
        print("non-connectable types:", sorted(r))
        print("adv exact:", r.get(2) == {ADV_NC}, "rsp exact:", r.get(4) == {RSP31})
        print("gap_connect")
        t0 = time.ticks_ms()
        ble.gap_connect(BDADDR[0], BDADDR[1], 1000)
        while not events and time.ticks_diff(time.ticks_ms(), t0) < TIMEOUT_MS:
            machine.idle()
        for ev in events:
            print("event", ev[0], ev[1], ev[2], ev[3] == bytes(6))
        multitest.broadcast("done")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
