# Bonding across a restart of both stacks. Round 1 pairs with numeric
# comparison and bonds: each side hands one record to the application
# (_IRQ_SET_SECRET), kept here in a dict. Both stacks then restart
# (active(False), active(True)) and read the bonds back (_IRQ_GET_SECRET).
# Round 2: gap_pair re-encrypts with the bond: no passkey action, no new
# secret, ENCRYPTION_UPDATE authenticated and bonded. Then both applications
# forget their secrets (the central also keeps a corrupt record, which is
# ignored and counted) and restart: round 3 has to pair afresh.

from micropython import const
import time, machine, bluetooth, _trouble

TIMEOUT_MS = 5000

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

_IO_DISPLAY_YESNO = const(1)
_PASSKEY_ACTION_NUMERIC_COMPARISON = const(4)

events = []
secrets = {}


def irq(event, data):
    if event == _IRQ_SET_SECRET:
        sec_type, key, value = data
        key = (sec_type, bytes(key))
        if value is None:
            secrets.pop(key, None)
        else:
            secrets[key] = bytes(value)
        # Bonds (type 2) are what this test counts; the local IRK (type 10) is kept too.
        if sec_type == 2:
            events.append((event,))
        return True
    if event == _IRQ_GET_SECRET:
        sec_type, index, key = data
        if key is None:
            values = [v for (t, _), v in secrets.items() if t == sec_type]
            return values[index] if index < len(values) else None
        return secrets.get((sec_type, bytes(key)))
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


def pairing(conn, round):
    # Accepts a numeric comparison if one comes, then reports the outcome.
    t0 = time.ticks_ms()
    while not any(e[0] == _IRQ_ENCRYPTION_UPDATE for e in events):
        if any(e[0] == _IRQ_PASSKEY_ACTION for e in events):
            e = next_event(_IRQ_PASSKEY_ACTION)
            ble.gap_passkey(conn, _PASSKEY_ACTION_NUMERIC_COMPARISON, 1)
            print(round, "passkey action", e[2])
        if time.ticks_diff(time.ticks_ms(), t0) > TIMEOUT_MS:
            break
        machine.idle()
    e = next_event(_IRQ_ENCRYPTION_UPDATE)
    print(round, "encryption", e and e[2:])
    time.sleep_ms(200)
    print(round, "secrets handed over", len([e for e in events if e[0] == _IRQ_SET_SECRET]))
    events[:] = [e for e in events if e[0] != _IRQ_SET_SECRET]


def restart():
    ble.active(0)
    ble.active(1)


# Peripheral.
def instance0():
    multitest.globals(BDADDR=ble.config("mac"))
    multitest.next()
    try:
        for round in ("bond", "again", "forgotten"):
            ble.gap_advertise(20_000, b"\x02\x01\x06\x04\xffMPY")
            multitest.broadcast("adv " + round)
            conn = next_event(_IRQ_CENTRAL_CONNECT)[1]
            pairing(conn, round)
            next_event(_IRQ_CENTRAL_DISCONNECT)
            print(round, "records kept", len([k for k in secrets if k[0] == 2]))
            if round == "again":
                secrets.clear()
            restart()
    finally:
        ble.active(0)


# Central.
def instance1():
    multitest.next()
    try:
        for round in ("bond", "again", "forgotten"):
            multitest.wait("adv " + round)
            ble.gap_connect(*BDADDR)
            conn = next_event(_IRQ_PERIPHERAL_CONNECT)[1]
            ble.gap_pair(conn)
            pairing(conn, round)
            ble.gap_disconnect(conn)
            next_event(_IRQ_PERIPHERAL_DISCONNECT)
            print(round, "records kept", len([k for k in secrets if k[0] == 2]))
            if round == "again":
                secrets.clear()
                secrets[(2, b"garbage")] = b"\x01not a bond record"
            corrupt = _trouble.stats()["bonds_corrupt"]
            restart()
            print(round, "corrupt records", _trouble.stats()["bonds_corrupt"] - corrupt)
    finally:
        ble.active(0)


ble = bluetooth.BLE()
ble.config(mitm=True, bond=True, io=_IO_DISPLAY_YESNO)
ble.irq(irq)
ble.active(1)
