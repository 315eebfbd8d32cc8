# Numeric comparison (both DisplayYesNo, mitm=True): both sides are shown the
# same six-digit number. Round 1 both accept (gap_passkey with a non-zero
# passkey): the link is authenticated. Round 2 the peripheral rejects (0):
# pairing fails on both sides, and a characteristic that needs encryption is
# then refused.

from micropython import const
import sys, time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

_IO_DISPLAY_YESNO = const(1)
_PASSKEY_ACTION_NUMERIC_COMPARISON = const(4)
_FLAG_READ = const(0x0002)
_FLAG_READ_ENCRYPTED = const(0x0200)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
SERVICES = ((SERVICE_UUID, ((CHAR_UUID, _FLAG_READ | _FLAG_READ_ENCRYPTED),)),)

events = []


def irq(event, data):
    if event == _IRQ_GET_SECRET:
        return None
    if event == _IRQ_SET_SECRET:
        # The local IRK (type 10) is handed over at start-up; no bond may follow.
        if data[0] != 10:
            print("unexpected SET_SECRET")
        return True
    if event == _IRQ_GATTC_CHARACTERISTIC_RESULT and data[-1] != CHAR_UUID:
        return
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


def show_encryption():
    e = next_event(_IRQ_ENCRYPTION_UPDATE)
    print("encryption", e and e[2:])


def compare():
    e = next_event(_IRQ_PASSKEY_ACTION)
    print("passkey action", e and e[2])
    return e and e[3]


# Peripheral: compares the number it is shown with the central's.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((h,),) = ble.gatts_register_services(SERVICES)
    ble.gatts_write(h, b"secret")
    multitest.next()
    try:
        for accept, name in ((1, "n1"), (0, "n2")):
            ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
            multitest.broadcast("adv " + name)
            conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
            number = compare()
            print("same number", number == received(name))
            print("answer", accept, ble.gap_passkey(conn, _PASSKEY_ACTION_NUMERIC_COMPARISON, accept))
            show_encryption()
            next_event(_IRQ_CENTRAL_DISCONNECT)
    finally:
        ble.active(0)


# Central: always accepts.
def instance1():
    multitest.next()
    try:
        for name in ("n1", "n2"):
            multitest.wait("adv " + name)
            ble.gap_connect(*BDADDR)
            conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
            ble.gattc_discover_characteristics(conn, 1, 65535)
            vh = next_event(_IRQ_GATTC_CHARACTERISTIC_RESULT)[3]
            next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
            ble.gap_pair(conn)
            multitest.broadcast("%s %d" % (name, compare()))
            ble.gap_passkey(conn, _PASSKEY_ACTION_NUMERIC_COMPARISON, 1)
            show_encryption()
            ble.gattc_read(conn, vh)
            done = next_event(_IRQ_GATTC_READ_DONE)
            result = [e[3] for e in events if e[0] == _IRQ_GATTC_READ_RESULT]
            events[:] = [e for e in events if e[0] != _IRQ_GATTC_READ_RESULT]
            print("read", result, "status", done and done[3])
            ble.gap_disconnect(conn)
            next_event(_IRQ_PERIPHERAL_DISCONNECT)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.config(mitm=True, bond=False, io=_IO_DISPLAY_YESNO)
ble.irq(irq)
ble.active(1)
