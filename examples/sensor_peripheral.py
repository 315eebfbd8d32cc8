# Environmental-sensing peripheral: a camera board publishing a (simulated)
# temperature (0x2A6E, 0.01 degC) and humidity (0x2A6F, 0.01 %) in the
# Environmental Sensing service (0x181A), readable and notified every sample.
# Shows: the advertise() loop serving several centrals at once, send_update
# reaching every subscriber, and, with drop_after, a link the sensor closes on
# purpose so the central's reconnect path runs.
# Peers: examples/sensor_central.py, examples/relay.py, or a phone app
#   (python python/demo.py --phone runs a Bumble "phone" against it).
# Run: python python/run_example.py sensor      (or: make demo)
# Usage: micropython sensor_peripheral.py [period_ms=1000] [drop_after=0 (never)]
#        [idle_s=0: stop once it has served and nobody came back for idle_s; 0: until Ctrl-C]
import sys
import struct

import asyncio
import aioble
import bluetooth
from micropython import const

_ESS_UUID = bluetooth.UUID(0x181A)
_TEMP_UUID = bluetooth.UUID(0x2A6E)
_HUMIDITY_UUID = bluetooth.UUID(0x2A6F)
_APPEARANCE_THERMOMETER = const(0x0300)
NAME = "cam-sensor"

PERIOD_MS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
DROP_AFTER = int(sys.argv[2]) if len(sys.argv) > 2 else 0
IDLE_S = int(sys.argv[3]) if len(sys.argv) > 3 else 0

service = aioble.Service(_ESS_UUID)
temperature = aioble.Characteristic(service, _TEMP_UUID, read=True, notify=True)
humidity = aioble.Characteristic(service, _HUMIDITY_UUID, read=True, notify=True)
aioble.register_services(service)

stats = {"samples": 0, "connections": 0, "drops": 0, "peak": 0, "now": 0}


def hundredths(v):
    # Exact decimal text of a value in 0.01 units (float formatting may round the last digit).
    return "%d.%02d" % (v // 100, v % 100)


class Sensor:
    # A random walk, so every reading differs from the last and a receiver's
    # log can be matched against this one.
    def __init__(self):
        self.temp = 2150  # 0.01 degC
        self.hum = 4500  # 0.01 %
        self.seed = 12345

    def _step(self, span):
        self.seed = (self.seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.seed >> 16) % (2 * span + 1) - span

    def read(self):
        self.temp = min(max(self.temp + (self._step(25) or 1), 1500), 3500)
        self.hum = min(max(self.hum + (self._step(40) or 1), 2000), 8000)
        return self.temp, self.hum


async def sensor_task():
    sensor = Sensor()
    while True:
        t, h = sensor.read()
        temperature.write(struct.pack("<h", t), send_update=True)
        humidity.write(struct.pack("<H", h), send_update=True)
        stats["samples"] += 1
        print("sample %d temp=%s hum=%s" % (stats["samples"], hundredths(t), hundredths(h)))
        await asyncio.sleep_ms(PERIOD_MS)


async def serve(connection):
    try:
        if DROP_AFTER:
            # Stands in for the central walking out of range.
            await connection.disconnected(timeout_ms=DROP_AFTER * PERIOD_MS)
        else:
            await connection.disconnected()
    except asyncio.TimeoutError:
        stats["drops"] += 1
        print("dropping the link to %s (simulated range loss)" % connection.device.addr_hex())
        await connection.disconnect()
    stats["now"] -= 1
    print("disconnected %s" % connection.device.addr_hex())


async def idle_exit():
    idle_ms = 0
    while not IDLE_S or idle_ms < IDLE_S * 1000:
        await asyncio.sleep_ms(100)
        idle_ms = 0 if stats["now"] or not stats["connections"] else idle_ms + 100
    print("no central for %d s, stopping" % IDLE_S)


async def serve_centrals():
    while True:
        # 250 ms: found within a scan or two, and back on air right after each connect.
        connection = await aioble.advertise(
            250_000, name=NAME, services=[_ESS_UUID], appearance=_APPEARANCE_THERMOMETER
        )
        stats["connections"] += 1
        stats["now"] += 1
        stats["peak"] = max(stats["peak"], stats["now"])
        print("connected %s (links now %d)" % (connection.device.addr_hex(), stats["now"]))
        asyncio.create_task(serve(connection))


async def main():
    asyncio.create_task(sensor_task())
    await asyncio.sleep_ms(0)  # first sample in place before anyone can read
    asyncio.create_task(serve_centrals())
    await idle_exit()


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY samples=%d connections=%d drops=%d peak_links=%d" % (
    stats["samples"], stats["connections"], stats["drops"], stats["peak"]))
