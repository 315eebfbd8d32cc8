# Test gap_scan lifecycle: one SCAN_DONE per scan after its duration, scan forever
# until gap_scan(None), EALREADY while scanning, stop-then-start, and a gap_connect
# that ends a running scan.

from micropython import const
import time, machine, bluetooth, errno

TIMEOUT_MS = 4000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

ADV = b"\x02\x01\x06\x04\xffSCN"

state = {"done": 0, "results": 0, "log": None, "conn": None}
waiting_events = {}


def irq(event, data):
    if event == _IRQ_SCAN_RESULT:
        if data[0] == BDADDR[0] and bytes(data[1]) == BDADDR[1]:
            state["results"] += 1
    elif event == _IRQ_SCAN_DONE:
        state["done"] += 1
    elif event in (_IRQ_CENTRAL_CONNECT, _IRQ_CENTRAL_DISCONNECT):
        print("central event", event)
        waiting_events[event] = data[0]
    elif event in (_IRQ_PERIPHERAL_CONNECT, _IRQ_PERIPHERAL_DISCONNECT):
        state["conn"] = data[0]
    if state["log"] is not None and event != _IRQ_SCAN_RESULT:
        state["log"].append(event)


def reset():
    state["done"] = 0
    state["results"] = 0


def wait_until(cond, timeout_ms):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            return False
        machine.idle()
    return True


def settle(ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        machine.idle()


def attempt(label, *args):
    try:
        ble.gap_scan(*args)
        print(label, "-> ok")
    except OSError as e:
        print(label, "-> OSError", errno.errorcode.get(e.errno, e.errno))


def wait_for_event(event, timeout_ms):
    if not wait_until(lambda: event in waiting_events, timeout_ms):
        raise ValueError("Timeout waiting for {}".format(event))
    return waiting_events.pop(event)


# Advertiser, later connected to by the scanner.
def instance0():
    ble.irq(irq)
    multitest.globals(BDADDR=ble.config("mac"))
    ble.gap_advertise(20_000, ADV)
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, 20_000)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


# Scanner.
def instance1():
    ble.irq(irq)
    multitest.next()
    try:
        # A timed scan ends by itself with exactly one SCAN_DONE, about on time.
        reset()
        t0 = time.ticks_ms()
        attempt("gap_scan(1000)", 1000, 20_000, 20_000)
        ok = wait_until(lambda: state["done"], TIMEOUT_MS)
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        print("done:", ok, "on time:", 900 <= elapsed <= 2000, "saw adv:", state["results"] > 0)
        reset()
        settle(500)
        print("after done: SCAN_DONE", state["done"], "results", state["results"])

        # Scan forever: no SCAN_DONE until gap_scan(None).
        reset()
        attempt("gap_scan(0)", 0, 20_000, 20_000)
        settle(1500)
        print("forever: SCAN_DONE", state["done"], "saw adv:", state["results"] > 0)
        attempt("gap_scan(0) again", 0, 20_000, 20_000)
        attempt("gap_scan(1000) again", 1000, 20_000, 20_000)
        attempt("gap_scan() again")
        attempt("gap_scan(None)", None)
        print("stopped:", wait_until(lambda: state["done"], 1000))
        settle(300)
        print("SCAN_DONE count", state["done"])

        # Stopping when not scanning is harmless and reports nothing.
        reset()
        attempt("gap_scan(None) idle", None)
        settle(300)
        print("idle stop: SCAN_DONE", state["done"])

        # Stop and restart at once: both scans end with their own SCAN_DONE.
        reset()
        attempt("gap_scan(0)", 0, 20_000, 20_000)
        settle(200)
        attempt("gap_scan(None)", None)
        t0 = time.ticks_ms()
        attempt("gap_scan(500)", 500, 20_000, 20_000)
        print("first done:", wait_until(lambda: state["done"] >= 1, 1000))
        state["results"] = 0
        print("restart done:", wait_until(lambda: state["done"] >= 2, TIMEOUT_MS))
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        print("restart ran:", 400 <= elapsed <= 1500, "saw adv:", state["results"] > 0)
        reset()
        settle(300)
        print("after restart: SCAN_DONE", state["done"], "results", state["results"])

        # Connecting ends a running scan.
        reset()
        attempt("gap_scan(0)", 0, 20_000, 20_000)
        print("seen:", wait_until(lambda: state["results"], TIMEOUT_MS))
        state["log"] = []
        print("gap_connect")
        ble.gap_connect(BDADDR[0], BDADDR[1])
        print("connected:", wait_until(lambda: state["conn"] is not None, TIMEOUT_MS))
        print("scan ended:", wait_until(lambda: state["done"], 1000))
        print("events:", state["log"])
        attempt("gap_scan(None) after connect", None)
        settle(200)
        print("SCAN_DONE count", state["done"])
        print("gap_disconnect:", ble.gap_disconnect(state["conn"]))
        print("disconnected:", wait_until(lambda: _IRQ_PERIPHERAL_DISCONNECT in state["log"], TIMEOUT_MS))
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
