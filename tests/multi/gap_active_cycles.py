# Test BLE active(True/False) cycles: config('mac') only while active, advertising
# does not survive a deactivation, and gap_advertise after reactivation is seen.

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000
CYCLES = 3

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)

ADV_OLD = b"\x02\x01\x06\x04\xffOLD"
ADV_NEW = b"\x02\x01\x06\x04\xffNEW"

seen = []
scan_done = [0]


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        addr_type, addr, adv_type, rssi, adv_data = data
        if addr_type == BDADDR[0] and bytes(addr) == BDADDR[1]:
            seen.append(bytes(adv_data))
    elif event == _IRQ_SCAN_DONE:
        scan_done[0] += 1


def mac_inactive():
    try:
        ble.config("mac")
        return "no exception"
    except OSError as e:
        return "OSError {}".format(e.errno)


def check_cycles(first):
    for i in range(CYCLES):
        print("active(False):", ble.active(False))
        print("mac inactive:", mac_inactive())
        print("active(True):", ble.active(True))
        mac = ble.config("mac")
        print("mac same:", mac == first, len(mac[1]))


def wait_scan_done(timeout_ms):
    t0 = time.ticks_ms()
    while not scan_done[0]:
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    scan_done[0] = 0
    return True


# Advertiser.
def instance0():
    first = ble.config("mac")
    print("mac shape:", type(first) is tuple, first[0] in (0, 1), len(first[1]))
    check_cycles(first)
    # Advertise, then deactivate: advertising must not come back by itself.
    ble.gap_advertise(20_000, ADV_OLD)
    print("active(False):", ble.active(False))
    print("active(True):", ble.active(True))
    multitest.globals(BDADDR=ble.config("mac"))
    multitest.next()
    try:
        multitest.wait("scanned_quiet")
        print("gap_advertise")
        ble.gap_advertise(20_000, ADV_NEW)
        multitest.wait("scanned_new")
    finally:
        ble.active(0)


# Scanner; it cycles too before scanning.
def instance1():
    first = ble.config("mac")
    check_cycles(first)
    ble.irq(irq)
    multitest.next()
    try:
        # Nobody should be advertising yet.
        ble.gap_scan(1500, 20_000, 20_000)
        print("scan done:", wait_scan_done(TIMEOUT_MS))
        print("seen while quiet:", len(seen))
        multitest.broadcast("scanned_quiet")
        ble.gap_scan(TIMEOUT_MS, 20_000, 20_000)
        t0 = time.ticks_ms()
        while not seen and time.ticks_diff(time.ticks_ms(), t0) < TIMEOUT_MS:
            machine.idle()
        print("seen new:", bool(seen) and seen[0] == ADV_NEW)
        ble.gap_scan(None)
        print("scan done:", wait_scan_done(TIMEOUT_MS))
        multitest.broadcast("scanned_new")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
