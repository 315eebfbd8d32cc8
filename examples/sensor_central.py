# Environmental-sensing central: scans for the ESS service UUID (0x181A),
# connects, discovers temperature and humidity, reads them once, subscribes
# and prints every notification; when the link drops it scans and connects
# again, until it has the readings it wants.
# Peers: examples/sensor_peripheral.py, or examples/relay.py (name cam-relay).
# Run: python python/run_example.py sensor      (or: make demo)
# Usage: micropython sensor_central.py [readings=20] [name=any]
# Exit status 0 (RESULT OK) once `readings` notifications arrived, 1 otherwise.
import sys
import struct
import time

import asyncio
import aioble
import bluetooth

_ESS_UUID = bluetooth.UUID(0x181A)
_TEMP_UUID = bluetooth.UUID(0x2A6E)
_HUMIDITY_UUID = bluetooth.UUID(0x2A6F)

WANT = int(sys.argv[1]) if len(sys.argv) > 1 else 20
NAME = sys.argv[2] if len(sys.argv) > 2 else None
DEADLINE_MS = 20_000 + WANT * 2_000  # bounds the whole run, reconnects included

stats = {"readings": 0, "connections": 0, "reconnects": 0}


def hundredths(v):
    # Exact decimal text of a value in 0.01 units (float formatting may round the last digit).
    return "%d.%02d" % (v // 100, v % 100)


async def find_sensor():
    # Window == interval: listen all the time; active, since a long name may
    # sit in the scan response.
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if _ESS_UUID in result.services() and (NAME is None or result.name() == NAME):
                print("found %s at %s rssi %d" % (result.name(), result.device.addr_hex(), result.rssi))
                return result.device
    return None


def temp_of(data):
    return hundredths(struct.unpack("<h", data)[0])


def hum_of(data):
    return hundredths(struct.unpack("<H", data)[0])


async def session(device):
    connection = await device.connect(timeout_ms=5000)
    stats["connections"] += 1
    print("connected")
    async with connection:
        service = await connection.service(_ESS_UUID)
        temperature = await service.characteristic(_TEMP_UUID)
        humidity = await service.characteristic(_HUMIDITY_UUID)
        if temperature is None or humidity is None:
            raise RuntimeError("not an ESS sensor")
        print("read temp=%s hum=%s" % (temp_of(await temperature.read()), hum_of(await humidity.read())))
        await temperature.subscribe(notify=True)
        await humidity.subscribe(notify=True)
        while stats["readings"] < WANT:
            # The sensor updates both every sample; 5 s without one means it is gone.
            t = temp_of(await temperature.notified(timeout_ms=5000))
            h = hum_of(await humidity.notified(timeout_ms=5000))
            stats["readings"] += 1
            print("notify %d temp=%s hum=%s" % (stats["readings"], t, h))


async def main():
    while stats["readings"] < WANT:
        device = await find_sensor()
        if device is None:
            print("no sensor in range, scanning again")
            continue
        try:
            await session(device)
        except aioble.DeviceDisconnectedError:
            stats["reconnects"] += 1
            print("link lost after %d readings, reconnecting" % stats["readings"])
        except asyncio.TimeoutError:
            stats["reconnects"] += 1
            print("sensor went quiet, reconnecting")


ok = False
try:
    asyncio.run(asyncio.wait_for_ms(main(), DEADLINE_MS))
    ok = True
except asyncio.TimeoutError:
    print("gave up after %d ms" % DEADLINE_MS)
finally:
    aioble.stop()
print("SUMMARY readings=%d connections=%d reconnects=%d" % (
    stats["readings"], stats["connections"], stats["reconnects"]))
print("RESULT OK" if ok else "RESULT FAIL")
sys.exit(0 if ok else 1)
