# aioble.stop() unwinds whatever is pending, and the next aioble call starts
# the radio from cold: an advert in progress returns None, a scan's loop ends,
# a pending connect raises OSError(ECONNABORTED). Then three cycles of
# advertise/connect/stop, alternating which side calls stop() with the link up.

import asyncio, aioble

TIMEOUT_MS = 5000


async def stop_soon(ms=300):
    await asyncio.sleep_ms(ms)
    aioble.stop()


async def scan_all():
    n = 0
    async with aioble.scan(0) as scanner:
        async for result in scanner:
            n += 1
    return "scan ended"


async def connect_absent():
    try:
        await aioble.Device(0, "00:11:22:33:44:55").connect(timeout_ms=TIMEOUT_MS)
    except OSError as e:
        return "connect OSError {}".format(e.errno)


async def unwind(label, coro):
    task = asyncio.create_task(coro)
    await stop_soon()
    print(label, await task)


async def instance0_task():
    await unwind("advertise", aioble.advertise(20_000, name="cyc"))
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    for cycle in range(3):
        conn = await aioble.advertise(20_000, name="cyc", timeout_ms=TIMEOUT_MS)
        if cycle % 2 == 0:
            await asyncio.sleep_ms(200)
            aioble.stop()
        else:
            await conn.disconnected(timeout_ms=TIMEOUT_MS)
        print("cycle", cycle, conn.is_connected())


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    await unwind("scan", scan_all())
    await unwind("connect", connect_absent())
    for cycle in range(3):
        conn = None
        async with aioble.scan(TIMEOUT_MS, 30_000, 30_000) as scanner:
            async for result in scanner:
                if result.device.addr == BDADDR[1]:
                    conn = await result.device.connect(timeout_ms=TIMEOUT_MS)
                    break
        if cycle % 2 == 0:
            await conn.disconnected(timeout_ms=TIMEOUT_MS)
        else:
            await asyncio.sleep_ms(200)
            aioble.stop()
        print("cycle", cycle, conn.is_connected())


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
