# Pair-and-bond peripheral: a camera whose "setup" characteristic (say, the
# Wi-Fi credentials) is only readable over an encrypted link. aioble has no
# encryption flags on characteristics, so on_read() checks the connection and
# answers ATT 0x0F (Insufficient Encryption) until the central has paired.
# The central initiates pairing; this side only responds. Bond keys go to
# ble_secrets.json in the working directory and load_secrets() brings them back
# at start-up, so after a restart the bonded central re-encrypts at once.
# Peer: examples/bond_central.py.
# Run: python python/run_example.py bond     (pairs, restarts both, reconnects)
# Usage: micropython bond_peripheral.py [idle_s=0]
#   idle_s: stop once a central has come and gone and none came back within
#   idle_s seconds; 0: run until Ctrl-C. Delete ble_secrets.json to forget bonds.
import sys
import binascii

import asyncio
import aioble
import bluetooth

_SETUP_SERVICE_UUID = bluetooth.UUID("7a1e0201-5c3a-4e8b-9d2f-6c0de0c0ffee")
_SETUP_UUID = bluetooth.UUID("7a1e0202-5c3a-4e8b-9d2f-6c0de0c0ffee")
_ATT_INSUFFICIENT_ENCRYPTION = 0x0F
SECRETS = "ble_secrets.json"
IDLE_S = int(sys.argv[1]) if len(sys.argv) > 1 else 0


def secrets_digest():
    try:
        with open(SECRETS, "rb") as f:
            return "%08x" % binascii.crc32(f.read())
    except OSError:
        return "none"


class Setup(aioble.Characteristic):
    def on_read(self, connection):
        if not connection.encrypted:
            print("setup read refused: link not encrypted")
            return _ATT_INSUFFICIENT_ENCRYPTION
        print("setup read allowed (encrypted, bonded=%s)" % connection.bonded)
        return 0


# Before the radio starts (registering services starts it): bonded peers are
# known from the first connection on.
aioble.security.load_secrets()
print("secrets file at start: %s" % secrets_digest())

service = aioble.Service(_SETUP_SERVICE_UUID)
Setup(service, _SETUP_UUID, read=True, initial=b"ssid=camnet psk=0451")
aioble.register_services(service)


async def watch_security(connection):
    # Encryption is negotiated by the stack; report when it happens.
    while connection.is_connected() and not connection.encrypted:
        await asyncio.sleep_ms(20)
    if connection.encrypted:
        print("link encrypted: bonded=%s key_size=%d" % (connection.bonded, connection.key_size))


async def main():
    served = 0
    while True:
        try:
            connection = await aioble.advertise(
                100_000, name="cam-bond", services=[_SETUP_SERVICE_UUID],
                timeout_ms=IDLE_S * 1000 if IDLE_S and served else None,
            )
        except asyncio.TimeoutError:
            print("no central for %d s, stopping" % IDLE_S)
            return
        served += 1
        print("connected %s" % connection.device.addr_hex())
        asyncio.create_task(watch_security(connection))
        await connection.disconnected()
        print("disconnected")


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("secrets file at end: %s" % secrets_digest())
