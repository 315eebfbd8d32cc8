# GATT permissions follow the link's security. Before pairing, reading or
# writing a characteristic that needs encryption is refused (Insufficient
# Encryption, 0x0F); after Just Works pairing both are served. Both sides ask
# for MITM protection but have no IO (NoInputNoOutput): pairing still
# completes, unauthenticated, as with NimBLE (and MicroPython's ble_gap_pair.py),
# so MITM cannot be had this way: a characteristic that needs an
# authenticated link stays refused (Insufficient Authentication, 0x05).

from micropython import const
import time, machine, bluetooth

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_PASSKEY_ACTION = const(31)

_IO_NO_INPUT_OUTPUT = const(3)
_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_READ_AUTHENTICATED = const(0x0400)
_FLAG_WRITE_ENCRYPTED = const(0x1000)

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
ENC_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
AUTH_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
CHARS = (
    (ENC_UUID, _FLAG_READ | _FLAG_WRITE | _FLAG_READ_ENCRYPTED | _FLAG_WRITE_ENCRYPTED),
    (AUTH_UUID, _FLAG_READ | _FLAG_READ_AUTHENTICATED),
)
SERVICES = ((SERVICE_UUID, CHARS),)

events = []


def irq(event, data):
    if event == _IRQ_GATTC_CHARACTERISTIC_RESULT:
        # The UUID object is reused for the next event: keep a copy.
        data = data[:-1] + (bluetooth.UUID(data[-1]),)
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


# Peripheral.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    ((enc, auth),) = ble.gatts_register_services(SERVICES)
    ble.gatts_write(enc, b"enc")
    ble.gatts_write(auth, b"auth")
    multitest.next()
    try:
        ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
        multitest.broadcast("adv")
        next_event(_IRQ_CENTRAL_CONNECT)
        e = next_event(_IRQ_ENCRYPTION_UPDATE)
        print("encryption", e and e[2:])
        next_event(_IRQ_CENTRAL_DISCONNECT)
        writes = [e for e in events if e[0] == _IRQ_GATTS_WRITE]
        print("writes", len(writes), "value", ble.gatts_read(enc))
        print("passkey actions", len([e for e in events if e[0] == _IRQ_PASSKEY_ACTION]))
    finally:
        ble.active(0)


# Central.
def instance1():
    multitest.next()
    try:
        multitest.wait("adv")
        ble.gap_connect(*BDADDR)
        conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
        ble.gattc_discover_characteristics(conn, 1, 65535)
        next_event(_IRQ_GATTC_CHARACTERISTIC_DONE)
        chars = [e for e in events if e[0] == _IRQ_GATTC_CHARACTERISTIC_RESULT]
        enc = [e[3] for e in chars if e[5] == ENC_UUID][0]
        auth = [e[3] for e in chars if e[5] == AUTH_UUID][0]

        def read(name, h):
            ble.gattc_read(conn, h)
            done = next_event(_IRQ_GATTC_READ_DONE)
            result = [e[3] for e in events if e[0] == _IRQ_GATTC_READ_RESULT]
            events[:] = [e for e in events if e[0] != _IRQ_GATTC_READ_RESULT]
            print("read", name, result, "status", done and done[3])

        def write(data):
            ble.gattc_write(conn, enc, data, 1)
            done = next_event(_IRQ_GATTC_WRITE_DONE)
            print("write status", done and done[3])

        read("encrypted", enc)
        write(b"before")
        read("authenticated", auth)
        ble.gap_pair(conn)
        e = next_event(_IRQ_ENCRYPTION_UPDATE)
        print("encryption", e and e[2:])
        read("encrypted", enc)
        write(b"after")
        read("authenticated", auth)
        # Already encrypted: gap_pair reports the link's state again.
        ble.gap_pair(conn)
        e = next_event(_IRQ_ENCRYPTION_UPDATE)
        print("encryption again", e and e[2:])
        print("passkey actions", len([e for e in events if e[0] == _IRQ_PASSKEY_ACTION]))
        ble.gap_disconnect(conn)
        next_event(_IRQ_PERIPHERAL_DISCONNECT)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.config(mitm=True, bond=False, io=_IO_NO_INPUT_OUTPUT)
ble.irq(irq)
ble.active(1)
