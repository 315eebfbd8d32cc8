# Pair-and-bond central: connects to the camera, finds its setup value
# refused on the unencrypted link, calls pair() (Just Works, bond=True) and
# reads it again. The first time that is a full pairing and the bond is
# saved to ble_secrets.json; after a restart, load_secrets() has the bond, and
# the same pair() call just re-encrypts the link with it (no new keys, the
# file stays as it was).
# Peer: examples/bond_peripheral.py.
# Run: python python/run_example.py bond     (pairs, restarts both, reconnects)
# Usage: micropython bond_central.py
# Exit status 0 (RESULT OK) if the link ended up encrypted and bonded and the
# setup value was read over it.
import sys
import binascii
import time

import asyncio
import aioble
import bluetooth

_SETUP_SERVICE_UUID = bluetooth.UUID("7a1e0201-5c3a-4e8b-9d2f-6c0de0c0ffee")
_SETUP_UUID = bluetooth.UUID("7a1e0202-5c3a-4e8b-9d2f-6c0de0c0ffee")
SECRETS = "ble_secrets.json"

result = {"ok": False}


def secrets_digest():
    try:
        with open(SECRETS, "rb") as f:
            return "%08x" % binascii.crc32(f.read())
    except OSError:
        return "none"


async def find():
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if _SETUP_SERVICE_UUID in result.services():
                return result.device
    return None


async def read_setup(setup):
    try:
        value = await setup.read()
        print("setup value: %s" % value.decode())
        return value
    except aioble.GattError as e:
        print("setup read refused: ATT error 0x%02x" % e._status)
        return None


async def main():
    device = await find()
    if device is None:
        raise RuntimeError("camera not found")
    async with await device.connect(timeout_ms=5000) as connection:
        print("connected, encrypted=%s" % connection.encrypted)
        service = await connection.service(_SETUP_SERVICE_UUID)
        setup = await service.characteristic(_SETUP_UUID)
        await read_setup(setup)
        start = time.ticks_ms()
        await connection.pair(bond=True)
        print("pair() done in %d ms: encrypted=%s bonded=%s authenticated=%s key_size=%d" % (
            time.ticks_diff(time.ticks_ms(), start), connection.encrypted, connection.bonded,
            connection.authenticated, connection.key_size))
        value = await read_setup(setup)
        result["ok"] = connection.encrypted and connection.bonded and value is not None


aioble.security.load_secrets()
print("secrets file at start: %s" % secrets_digest())
try:
    asyncio.run(asyncio.wait_for_ms(main(), 30_000))
finally:
    aioble.stop()
print("secrets file at end: %s" % secrets_digest())
print("RESULT OK" if result["ok"] else "RESULT FAIL")
sys.exit(0 if result["ok"] else 1)
