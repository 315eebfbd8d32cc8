# A peripheral serving several centrals at once: a camera "live view" hub.
# After each connection it goes straight back to advertise() while a task per
# connection waits for that link to end; one ticker notifies every subscriber
# with the same value (send_update=True), which carries how many viewers are
# connected right now; one task takes the viewers' hello writes (capture=True:
# writes from all links in arrival order, each with its connection).
# Peer: several examples/hub_central.py, started one after the other.
# Run: python python/run_example.py hub
# Usage: micropython hub_peripheral.py [tick_ms=300] [idle_s=0]
#   idle_s: stop once every viewer has left and none came within idle_s
#   seconds; 0: run until Ctrl-C.
import sys

import asyncio
import aioble
import bluetooth

_HUB_UUID = bluetooth.UUID("7a1e0101-5c3a-4e8b-9d2f-6c0de0c0ffee")
_LIVE_UUID = bluetooth.UUID("7a1e0102-5c3a-4e8b-9d2f-6c0de0c0ffee")
_HELLO_UUID = bluetooth.UUID("7a1e0103-5c3a-4e8b-9d2f-6c0de0c0ffee")
TICK_MS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
IDLE_S = int(sys.argv[2]) if len(sys.argv) > 2 else 0

service = aioble.Service(_HUB_UUID)
live = aioble.Characteristic(service, _LIVE_UUID, read=True, notify=True)
hello = aioble.Characteristic(service, _HELLO_UUID, write=True, capture=True)
aioble.register_services(service)

viewers = {}  # DeviceConnection -> name it said hello with
stats = {"connections": 0, "peak": 0, "ticks": 0, "hellos": 0}


async def ticker():
    while True:
        stats["ticks"] += 1
        live.write(b"tick=%d viewers=%d" % (stats["ticks"], len(viewers)), send_update=True)
        await asyncio.sleep_ms(TICK_MS)


async def greeter():
    while True:
        connection, data = await hello.written()
        stats["hellos"] += 1
        if connection in viewers:
            viewers[connection] = bytes(data).decode()
        print("hello from %s at %s" % (bytes(data).decode(), connection.device.addr_hex()))


async def watch(connection):
    await connection.disconnected()
    name = viewers.pop(connection)
    print("%s left, viewers now %d" % (name, len(viewers)))


async def idle_exit():
    idle_ms = 0
    while not IDLE_S or idle_ms < IDLE_S * 1000:
        await asyncio.sleep_ms(100)
        idle_ms = 0 if viewers or not stats["connections"] else idle_ms + 100
    print("no viewer for %d s, stopping" % IDLE_S)


async def main():
    asyncio.create_task(ticker())
    asyncio.create_task(greeter())
    asyncio.create_task(serve_viewers())
    await idle_exit()


async def serve_viewers():
    while True:
        connection = await aioble.advertise(100_000, name="cam-hub", services=[_HUB_UUID])
        stats["connections"] += 1
        viewers[connection] = connection.device.addr_hex()
        stats["peak"] = max(stats["peak"], len(viewers))
        print("connected %s, viewers now %d" % (connection.device.addr_hex(), len(viewers)))
        asyncio.create_task(watch(connection))


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY connections=%d peak_viewers=%d hellos=%d" % (stats["connections"], stats["peak"], stats["hellos"]))
