# Test BLE.config(): every key, its value shapes and its errors, a connection to the
# random static address chosen with addr_mode=1, then one to the resolvable private
# address chosen with addr_mode=2, during which address mode changes are refused.

from micropython import const
import sys, time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

waiting_events = {}


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        print("_IRQ_CENTRAL_CONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_CENTRAL_DISCONNECT:
        print("_IRQ_CENTRAL_DISCONNECT")
        waiting_events[event] = data[0]
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn, addr_type, addr = data
        print("_IRQ_PERIPHERAL_CONNECT", addr_type == BDADDR[0], bytes(addr) == BDADDR[1])
        waiting_events[event] = conn
    elif event == _IRQ_PERIPHERAL_DISCONNECT:
        conn, addr_type, addr = data
        print("_IRQ_PERIPHERAL_DISCONNECT", addr_type == BDADDR[0], bytes(addr) == BDADDR[1])
        waiting_events[event] = conn
    elif event == _IRQ_SCAN_RESULT:
        # Many reports per scan: only note that BDADDR was among them.
        if (data[0], bytes(data[1])) == BDADDR:
            waiting_events[event] = True
    elif event == _IRQ_SCAN_DONE:
        waiting_events[event] = True


def wait_for_event(event, timeout_ms):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        if event in waiting_events:
            return waiting_events.pop(event)
        machine.idle()
    raise ValueError("Timeout waiting for {}".format(event))


def receive(prefix):
    # multitest.wait() for a message that carries a value: the runner relays each
    # BROADCAST line to the other instances' stdin and keeps it out of the output.
    prefix = "BROADCAST " + prefix
    while True:
        line = sys.stdin.readline().rstrip()
        if line.startswith(prefix):
            return line[len(prefix) :]


def attempt(label, *args, **kwargs):
    try:
        result = ble.config(*args, **kwargs)
        print(label, "->", result)
    except OSError as e:
        print(label, "->", type(e).__name__, e.errno)
    except Exception as e:
        print(label, "->", type(e).__name__)


def show_mac(label):
    mac = ble.config("mac")
    ok = type(mac) is tuple and len(mac) == 2 and type(mac[1]) is bytes and len(mac[1]) == 6
    print(label, "shape", ok, "type", mac[0])
    return mac


def check_keys():
    # gap_name: bytes back, default name, str and bytes accepted.
    name = ble.config("gap_name")
    print("gap_name default:", type(name) is bytes, name)
    attempt("gap_name=str", gap_name="MPY str")
    print("gap_name:", ble.config("gap_name"))
    attempt("gap_name=bytes", gap_name=b"MPY bytes")
    print("gap_name:", ble.config("gap_name"))
    attempt("gap_name=empty", gap_name=b"")
    print("gap_name:", ble.config("gap_name"))
    attempt("gap_name=too long", gap_name=b"x" * 100)
    print("gap_name:", ble.config("gap_name"))
    # rxbuf: this backend (like NimBLE) uses synchronous events, so modbluetooth.c
    # has no ring buffer and treats rxbuf as an unknown key (callers wrap it in try).
    attempt("rxbuf=1024", rxbuf=1024)
    attempt("get rxbuf", "rxbuf")
    # mtu
    print("mtu default:", ble.config("mtu"))
    for mtu in (23, 527, 22, 528, 0):
        attempt("mtu={}".format(mtu), mtu=mtu)
        print("mtu:", ble.config("mtu"))
    attempt("mtu=185", mtu=185)
    print("mtu:", ble.config("mtu"))
    # Security settings: accepted, nothing to read back.
    attempt("bond=True", bond=True)
    attempt("bond=False", bond=False)
    attempt("mitm=True", mitm=True)
    attempt("mitm=False", mitm=False)
    for io in range(5):
        attempt("io={}".format(io), io=io)
    attempt("le_secure=True", le_secure=True)
    attempt("le_secure=False", le_secure=False)
    # Several keys in one call.
    attempt("mtu+gap_name", mtu=200, gap_name="multi")
    print("multi:", ble.config("mtu"), ble.config("gap_name"))
    # Misuse caught by modbluetooth.c.
    attempt("get unknown", "foo")
    attempt("set unknown", foo=1)
    attempt("get none")
    attempt("get two", "mtu", "mac")
    attempt("pos and kw", "mtu", mtu=100)


# Peripheral: switches address modes, advertises on its random static address, then on a
# resolvable private address.
def instance0():
    ble.irq(irq)
    check_keys()
    attempt("addr_mode=0", addr_mode=0)
    public = show_mac("mac public")
    attempt("addr_mode=1", addr_mode=1)
    rnd = show_mac("mac random")
    print("static random bits:", rnd[1][0] & 0xC0 == 0xC0, "differs:", rnd[1] != public[1])
    attempt("addr_mode=3", addr_mode=3)
    print("mac unchanged:", ble.config("mac") == rnd)
    attempt("addr_mode=9", addr_mode=9)
    print("mac unchanged:", ble.config("mac") == rnd)
    multitest.globals(BDADDR=rnd)
    print("gap_advertise")
    ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
    multitest.next()
    try:
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
        attempt("addr_mode=0", addr_mode=0)
        print("mac back to public:", ble.config("mac") == public)
        # Resolvable private address, generated by the host.
        attempt("addr_mode=2", addr_mode=2)
        rpa = show_mac("mac rpa")
        new = rpa[1] not in (public[1], rnd[1])
        print("resolvable bits:", rpa[1][0] >> 6 == 0b01, "new:", new)
        print("gap_advertise")
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffRPA")
        # The address is random: it travels in the message, never in the output.
        multitest.broadcast("rpa " + rpa[1].hex())
        wait_for_event(_IRQ_CENTRAL_CONNECT, TIMEOUT_MS)
        # The identity can't change under a live link.
        attempt("addr_mode=0 connected", addr_mode=0)
        print("mac unchanged:", ble.config("mac") == rpa)
        multitest.broadcast("peripheral checked")
        wait_for_event(_IRQ_CENTRAL_DISCONNECT, TIMEOUT_MS)
        attempt("addr_mode=0", addr_mode=0)
        print("mac back to public:", ble.config("mac") == public)
    finally:
        ble.active(0)


# Central: connects to the random static address, then finds the resolvable private
# address by scanning and connects to it.
def instance1():
    global BDADDR
    ble.irq(irq)
    multitest.next()
    try:
        print("BDADDR type:", BDADDR[0])
        print("gap_connect")
        ble.gap_connect(BDADDR[0], BDADDR[1], 4000)
        conn = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        print("gap_disconnect:", ble.gap_disconnect(conn))
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
        # Resolvable private address: scanned, then connected to.
        BDADDR = (1, bytes.fromhex(receive("rpa ")))
        print("gap_scan")
        ble.gap_scan(TIMEOUT_MS, 30000, 30000)
        print("scan found rpa:", wait_for_event(_IRQ_SCAN_RESULT, TIMEOUT_MS))
        ble.gap_scan(None)
        wait_for_event(_IRQ_SCAN_DONE, TIMEOUT_MS)
        print("gap_connect")
        ble.gap_connect(BDADDR[0], BDADDR[1], 4000)
        conn = wait_for_event(_IRQ_PERIPHERAL_CONNECT, TIMEOUT_MS)
        multitest.wait("peripheral checked")
        mac = ble.config("mac")
        attempt("addr_mode=1 connected", addr_mode=1)
        print("mac unchanged:", ble.config("mac") == mac)
        print("gap_disconnect:", ble.gap_disconnect(conn))
        wait_for_event(_IRQ_PERIPHERAL_DISCONNECT, TIMEOUT_MS)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.active(1)
