# Test GAP error reporting: every GAP call on an inactive BLE raises OSError(ENODEV)
# (as the NimBLE backend), argument errors raised by modbluetooth.c itself, and
# values the backend rejects with EINVAL; the stack still works afterwards.

from micropython import const
import time, machine, bluetooth, errno

_IRQ_SCAN_DONE = const(6)

ADDR = b"\x00\x11\x22\x33\x44\x55"
ADV = b"\x02\x01\x06\x04\xffMPY"

scan_done = [0]


def irq(event, data):
    if event == _IRQ_SCAN_DONE:
        scan_done[0] += 1


def attempt(label, fn, *args, **kwargs):
    try:
        print(label, "->", fn(*args, **kwargs))
    except OSError as e:
        print(label, "-> OSError", errno.errorcode.get(e.errno, e.errno))
    except Exception as e:
        print(label, "->", type(e).__name__)


def instance0():
    ble.irq(irq)
    multitest.next()
    try:
        print("active:", ble.active(False))
        # GAP calls while inactive.
        attempt("gap_advertise", ble.gap_advertise, 20_000, ADV)
        attempt("gap_advertise(None)", ble.gap_advertise, None)
        attempt("gap_scan", ble.gap_scan, 1000)
        attempt("gap_scan(None)", ble.gap_scan, None)
        attempt("gap_connect", ble.gap_connect, 0, ADDR)
        attempt("gap_connect(None)", ble.gap_connect, None)
        attempt("gap_disconnect", ble.gap_disconnect, 0)
        attempt("config mac", ble.config, "mac")
        attempt("config mtu", ble.config, "mtu")
        attempt("config mtu=100", ble.config, mtu=100)
        attempt("config addr_mode=1", ble.config, addr_mode=1)
        print("active:", ble.active())

        print("active:", ble.active(True))
        # Rejected by modbluetooth.c before the backend is called.
        attempt("gap_connect short addr", ble.gap_connect, 0, b"\x00\x11\x22\x33\x44")
        attempt("gap_connect long addr", ble.gap_connect, 0, ADDR + b"\x66")
        attempt("gap_connect int addr", ble.gap_connect, 0, 123)
        attempt("gap_connect(0)", ble.gap_connect, 0)
        attempt("gap_connect too many", ble.gap_connect, 0, ADDR, 1, 2, 3, 4)
        attempt("gap_scan too many", ble.gap_scan, 1000, 20_000, 20_000, False, 1)
        attempt("gap_scan str", ble.gap_scan, "x")
        attempt("gap_advertise int data", ble.gap_advertise, 20_000, 5)
        attempt("gap_advertise int resp", ble.gap_advertise, 20_000, ADV, resp_data=5)
        attempt("gap_advertise str interval", ble.gap_advertise, "x", ADV)
        attempt("gap_disconnect str", ble.gap_disconnect, "x")
        attempt("irq non-callable", ble.irq, 5)
        attempt("config mtu str", ble.config, mtu="x")
        # Rejected by the backend.
        attempt("gap_scan(-1)", ble.gap_scan, -1)
        attempt("gap_connect scan -5", ble.gap_connect, 0, ADDR, -5)
        attempt("gap_connect addr_type 5", ble.gap_connect, 5, ADDR)
        attempt("gap_advertise 32 bytes", ble.gap_advertise, 20_000, bytes(32))
        attempt("gap_disconnect unknown", ble.gap_disconnect, 0)
        # None of that left a scan or a connection attempt behind.
        attempt("gap_connect(None)", ble.gap_connect, None)
        attempt("gap_scan(300)", ble.gap_scan, 300, 20_000, 20_000)
        t0 = time.ticks_ms()
        while not scan_done[0] and time.ticks_diff(time.ticks_ms(), t0) < 3000:
            machine.idle()
        print("scan done:", scan_done[0])
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
