# GAP peripheral demo: advertises as "trouble-demo" (flags, name, 0x181A service,
# manufacturer data; appearance in the scan response), logs connection events and
# advertises again after every disconnect.
# Peer: examples/gap_central.py on another controller of the same (virtual) radio.
# Uses the low-level bluetooth module directly (no aioble).
# Run: python python/run_example.py gap
# Usage: micropython gap_peripheral.py [run_seconds=30] [max_connections=0 (no limit)]
import sys
import time

import bluetooth
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_CONNECTION_UPDATE = const(27)

NAME = b"trouble-demo"
# 0xFFFF is the Bluetooth SIG's company ID reserved for testing, so the demo
# never impersonates a real vendor.
COMPANY_TEST = const(0xFFFF)


def ad(ad_type, value):
    # One AD structure: length covers the type byte plus the value.
    return bytes((len(value) + 1, ad_type)) + value


ADV = (
    ad(0x01, b"\x06")  # flags: LE general discoverable, BR/EDR not supported
    + ad(0x09, NAME)  # complete local name
    + ad(0x03, b"\x1a\x18")  # complete list of 16-bit UUIDs: 0x181A (little endian)
    + ad(0xFF, COMPANY_TEST.to_bytes(2, "little") + b"demo")
)
# Only an active scanner asks for this; the central prints it to show the difference.
RESP = ad(0x19, (0x0540).to_bytes(2, "little"))  # appearance: generic sensor
assert len(ADV) <= 31 and len(RESP) <= 31  # legacy advertising limit


def fmt_addr(addr):
    return ":".join("%02x" % b for b in addr)


def t():
    return time.ticks_diff(time.ticks_ms(), T0) / 1000


T0 = time.ticks_ms()
run_s = int(sys.argv[1]) if len(sys.argv) > 1 else 30
max_conn = int(sys.argv[2]) if len(sys.argv) > 2 else 0
# Events arrive in the IRQ; the main loop acts on them, so the handler stays short
# and advertising is never restarted from inside a callback.
state = {"connections": 0, "disconnects": 0, "readvertise": False, "conn": None}


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        handle, addr_type, addr = data
        state["connections"] += 1
        state["conn"] = handle
        print("%6.2f CENTRAL_CONNECT handle=%d addr=%s type=%d" % (t(), handle, fmt_addr(addr), addr_type))
    elif event == _IRQ_CENTRAL_DISCONNECT:
        handle, addr_type, addr = data
        state["disconnects"] += 1
        state["conn"] = None
        state["readvertise"] = True
        print("%6.2f CENTRAL_DISCONNECT handle=%d addr=%s" % (t(), handle, fmt_addr(addr)))
    elif event == _IRQ_CONNECTION_UPDATE:
        handle, interval, latency, timeout, status = data
        print(
            "%6.2f CONNECTION_UPDATE handle=%d interval=%.2fms latency=%d timeout=%dms status=%d"
            % (t(), handle, interval * 1.25, latency, timeout * 10, status)
        )
    else:
        print("%6.2f event %d %r" % (t(), event, data))


def advertise():
    # 100 ms interval: quick to discover, and the virtual radio doesn't care about power.
    ble.gap_advertise(100_000, adv_data=ADV, resp_data=RESP, connectable=True)
    print("%6.2f advertising as %s" % (t(), NAME.decode()))


ble = bluetooth.BLE()
ble.active(True)
ble.config(gap_name=NAME)
ble.irq(irq)
addr_type, addr = ble.config("mac")
print("%6.2f address %s (type %d), name %s" % (t(), fmt_addr(addr), addr_type, ble.config("gap_name").decode()))
advertise()

deadline = time.ticks_add(T0, run_s * 1000)
while time.ticks_diff(deadline, time.ticks_ms()) > 0:
    if state["readvertise"]:
        state["readvertise"] = False
        if max_conn and state["connections"] >= max_conn:
            print("%6.2f served %d connections, stopping" % (t(), max_conn))
            break
        advertise()
    time.sleep_ms(20)
else:
    print("%6.2f run time (%ds) over" % (t(), run_s))

if state["conn"] is not None:
    ble.gap_disconnect(state["conn"])
ble.gap_advertise(None)
ble.active(False)
print("%6.2f done: %d connections, %d disconnects" % (t(), state["connections"], state["disconnects"]))
