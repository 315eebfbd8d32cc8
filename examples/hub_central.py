# One viewer of the live-view hub: finds it by service UUID, connects, says
# hello with its name, subscribes and follows the ticks until it has seen
# `together` viewers connected at the same time, then a few more ticks, and
# leaves. Run several, one after another, against one hub.
# Peer: examples/hub_peripheral.py.
# Run: python python/run_example.py hub      (three viewers)
# Usage: micropython hub_central.py <id> [together=3] [ticks=5]
# Exit status 0 (RESULT OK) once it saw `together` viewers at once.
import sys

import asyncio
import aioble
import bluetooth

_HUB_UUID = bluetooth.UUID("7a1e0101-5c3a-4e8b-9d2f-6c0de0c0ffee")
_LIVE_UUID = bluetooth.UUID("7a1e0102-5c3a-4e8b-9d2f-6c0de0c0ffee")
_HELLO_UUID = bluetooth.UUID("7a1e0103-5c3a-4e8b-9d2f-6c0de0c0ffee")
NAME = b"viewer%s" % sys.argv[1].encode() if len(sys.argv) > 1 else b"viewer"
TOGETHER = int(sys.argv[2]) if len(sys.argv) > 2 else 3
TICKS = int(sys.argv[3]) if len(sys.argv) > 3 else 5

seen = {"max": 0, "ticks": 0}


async def find():
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if _HUB_UUID in result.services():
                return result.device
    return None


async def main():
    device = await find()
    if device is None:
        raise RuntimeError("hub not found")
    async with await device.connect(timeout_ms=5000) as connection:
        service = await connection.service(_HUB_UUID)
        live = await service.characteristic(_LIVE_UUID)
        hello = await service.characteristic(_HELLO_UUID)
        await hello.write(NAME, response=True)
        await live.subscribe(notify=True)
        print("%s connected and subscribed" % NAME.decode())
        full = 0
        while full < TICKS:
            value = bytes(await live.notified(timeout_ms=5000))
            seen["ticks"] += 1
            count = int(value.split(b"viewers=")[1])
            if count != seen.get("last"):
                print("%s: %s" % (NAME.decode(), value.decode()))
                seen["last"] = count
            seen["max"] = max(seen["max"], count)
            if seen["max"] >= TOGETHER:
                full += 1


ok = False
try:
    asyncio.run(asyncio.wait_for_ms(main(), 30_000))
    ok = seen["max"] >= TOGETHER
finally:
    aioble.stop()
print("SUMMARY %s ticks=%d max_viewers=%d" % (NAME.decode(), seen["ticks"], seen["max"]))
print("RESULT OK" if ok else "RESULT FAIL")
sys.exit(0 if ok else 1)
