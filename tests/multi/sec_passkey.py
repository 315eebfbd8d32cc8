# Passkey entry, both directions, each started from a different role. Round 1:
# the central pairs; the peripheral (DisplayOnly) shows the passkey, the central
# (KeyboardOnly) types it. Round 2: the peripheral asks for security with
# gap_pair; now the central displays and the peripheral types. The passkey
# travels between the instances as a broadcast. gap_passkey's argument checks
# (wrong action, unknown action, nothing asked) give NimBLE's errno values.
# Round 3 types a wrong passkey: pairing fails on both sides (encrypted=False).

from micropython import const
import sys, time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

_IO_DISPLAY_ONLY = const(0)
_IO_KEYBOARD_ONLY = const(2)
_PASSKEY_ACTION_INPUT = const(2)
_PASSKEY_ACTION_DISPLAY = const(3)
_PASSKEY_ACTION_NUMERIC_COMPARISON = const(4)

events = []


def irq(event, data):
    if event == _IRQ_GET_SECRET:
        return None
    if event == _IRQ_SET_SECRET:
        # The local IRK (type 10) is handed over at start-up; no bond may follow.
        if data[0] != 10:
            print("unexpected SET_SECRET")
        return True
    events.append((event,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))


def next_event(code, timeout_ms=TIMEOUT_MS):
    t0 = time.ticks_ms()
    while True:
        for i, e in enumerate(events):
            if e[0] == code:
                return events.pop(i)
        if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
            print("timeout waiting for", code)
            return None
        machine.idle()


def received(name):
    # A number another instance broadcast as "<name> <number>".
    while True:
        line = sys.stdin.readline().rstrip()
        if line.startswith("BROADCAST " + name + " "):
            return int(line.split()[-1])


def errno_of(f, *args):
    try:
        f(*args)
        return 0
    except OSError as e:
        return e.errno


def show_encryption():
    e = next_event(_IRQ_ENCRYPTION_UPDATE)
    print("encryption", e and e[2:])


def show_passkey():
    e = next_event(_IRQ_PASSKEY_ACTION)
    if e is None:
        return None
    print("passkey action", e[2], "in range", 0 <= e[3] <= 999999)
    return e[3]


# Peripheral.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ble.config(mitm=True, bond=False, io=_IO_DISPLAY_ONLY)
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv1")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        passkey = show_passkey()
        multitest.broadcast("pk1 %d" % passkey)
        print("display ack", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_DISPLAY, passkey))
        show_encryption()
        print("nothing asked", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_INPUT, 1))
        next_event(_IRQ_CENTRAL_DISCONNECT)

        ble.config(io=_IO_KEYBOARD_ONLY)
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv2")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        print("gap_pair", ble.gap_pair(conn))
        show_passkey()
        print("passkey out of range", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_INPUT, 1000000))
        print("input", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_INPUT, received("pk2")))
        show_encryption()
        next_event(_IRQ_CENTRAL_DISCONNECT)

        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv3")
        conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
        print("gap_pair", ble.gap_pair(conn))
        show_passkey()
        wrong = (received("pk3") + 1) % 1000000
        print("wrong input", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_INPUT, wrong))
        show_encryption()
        next_event(_IRQ_CENTRAL_DISCONNECT)
    finally:
        ble.active(0)


# Central.
def instance1():
    ble.config(mitm=True, bond=False, io=_IO_KEYBOARD_ONLY)
    multitest.next()
    try:
        multitest.wait("adv1")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        print("not connected", errno_of(ble.gap_pair, conn + 100))
        print("gap_pair", ble.gap_pair(conn))
        show_passkey()
        print("wrong action", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_NUMERIC_COMPARISON, 1))
        print("unknown action", errno_of(ble.gap_passkey, conn, 7, 1))
        print("input", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_INPUT, received("pk1")))
        show_encryption()
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)

        ble.config(io=_IO_DISPLAY_ONLY)
        multitest.wait("adv2")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        passkey = show_passkey()
        multitest.broadcast("pk2 %d" % passkey)
        print("display ack", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_DISPLAY, passkey))
        show_encryption()
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)

        multitest.wait("adv3")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        passkey = show_passkey()
        multitest.broadcast("pk3 %d" % passkey)
        print("display ack", errno_of(ble.gap_passkey, conn, _PASSKEY_ACTION_DISPLAY, passkey))
        show_encryption()
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
        print("disconnected")
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.irq(irq)
ble.active(1)
