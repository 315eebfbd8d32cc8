# A relay, central and peripheral at the same time: it connects to the ESS
# sensor as a central and subscribes to its readings, and serves them again as
# a peripheral ("cam-relay", the same ESS service) to a display further away,
# e.g. a camera repeating a sensor's values to a phone out of the sensor's
# range. Scanning, advertising and both links run concurrently.
# Peers: examples/sensor_peripheral.py upstream, examples/sensor_central.py
#   with name cam-relay downstream.
# Run: python python/run_example.py relay
# Usage: micropython relay.py [idle_s=0]
#   idle_s: stop once a display has come and gone and none came back within
#   idle_s seconds; 0: run until Ctrl-C.
import sys
import struct

import asyncio
import aioble
import bluetooth

_ESS_UUID = bluetooth.UUID(0x181A)
_TEMP_UUID = bluetooth.UUID(0x2A6E)
_HUMIDITY_UUID = bluetooth.UUID(0x2A6F)
SENSOR_NAME = "cam-sensor"
IDLE_S = int(sys.argv[1]) if len(sys.argv) > 1 else 0

service = aioble.Service(_ESS_UUID)
temperature = aioble.Characteristic(service, _TEMP_UUID, read=True, notify=True)
humidity = aioble.Characteristic(service, _HUMIDITY_UUID, read=True, notify=True)
aioble.register_services(service)

state = {"upstream": False, "displays": 0, "served": 0, "forwarded": 0, "both": False}
have_value = asyncio.Event()


def hundredths(v):
    # Exact decimal text of a value in 0.01 units (float formatting may round the last digit).
    return "%d.%02d" % (v // 100, v % 100)


def note_roles():
    if state["upstream"] and state["displays"] and not state["both"]:
        state["both"] = True
        print("both roles at once: central of the sensor, peripheral to %d display(s)" % state["displays"])


async def find_sensor():
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if result.name() == SENSOR_NAME and _ESS_UUID in result.services():
                return result.device
    return None


async def forward(source, local, label, fmt):
    while True:
        data = await source.notified()
        local.write(data, send_update=True)
        if local is temperature:
            state["forwarded"] += 1
        print("forward %s=%s" % (label, hundredths(struct.unpack(fmt, data)[0])))
        have_value.set()


async def upstream():
    while True:
        device = await find_sensor()
        if device is None:
            continue
        try:
            async with await device.connect(timeout_ms=5000) as connection:
                state["upstream"] = True
                print("upstream: connected to the sensor")
                note_roles()
                ess = await connection.service(_ESS_UUID)
                chars = (await ess.characteristic(_TEMP_UUID), await ess.characteristic(_HUMIDITY_UUID))
                for c in chars:
                    await c.subscribe(notify=True)
                with connection.timeout(None):  # a link loss ends both forwarders
                    await asyncio.gather(
                        forward(chars[0], temperature, "temp", "<h"),
                        forward(chars[1], humidity, "hum", "<H"),
                    )
        except (aioble.DeviceDisconnectedError, asyncio.TimeoutError):
            print("upstream: sensor lost, looking again")
        state["upstream"] = False


async def watch(connection):
    await connection.disconnected()
    state["displays"] -= 1
    print("downstream: display left")


async def downstream():
    await have_value.wait()  # nothing to show a display before the first reading
    while True:
        connection = await aioble.advertise(250_000, name="cam-relay", services=[_ESS_UUID])
        state["displays"] += 1
        state["served"] += 1
        print("downstream: display %s connected" % connection.device.addr_hex())
        note_roles()
        asyncio.create_task(watch(connection))


async def main():
    asyncio.create_task(upstream())
    asyncio.create_task(downstream())
    idle_ms = 0
    while not IDLE_S or idle_ms < IDLE_S * 1000:
        await asyncio.sleep_ms(100)
        idle_ms = 0 if state["displays"] or not state["served"] else idle_ms + 100
    print("no display for %d s, stopping" % IDLE_S)


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY forwarded=%d displays=%d both_roles=%s" % (state["forwarded"], state["served"], state["both"]))
