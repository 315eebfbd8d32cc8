# aioble GAP timeouts and link loss: scan duration/cancel/one-at-a-time,
# connect timeout to an absent device, connect cancelling a running scan,
# exchange_mtu (twice: same MTU), connection.timeout() and
# disconnected() raising TimeoutError, DeviceDisconnectedError in a task
# guarded by connection.timeout(None), and stop() then restart from cold.

import time, asyncio, aioble

TIMEOUT_MS = 5000


async def expect(label, coro, exc):
    try:
        await coro
        print(label, "no error")
    except exc as e:
        print(label, type(e).__name__)


async def guarded_sleep(conn, ms):
    t0 = time.ticks_ms()
    try:
        with conn.timeout(None):
            await asyncio.sleep_ms(ms)
        print("guard: no error")
    except aioble.DeviceDisconnectedError:
        # The link loss must end the wait early, not after the sleep.
        print("guard: DeviceDisconnectedError", time.ticks_diff(time.ticks_ms(), t0) < ms // 2)


async def short_timeout(conn):
    with conn.timeout(200):
        await asyncio.sleep_ms(1000)


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, name="tmo", timeout_ms=TIMEOUT_MS)
    print("mtu", conn.mtu, await conn.exchange_mtu(100), await conn.exchange_mtu(100), conn.mtu)
    await expect("timeout()", short_timeout(conn), asyncio.TimeoutError)
    await expect("disconnected()", conn.disconnected(timeout_ms=200), asyncio.TimeoutError)
    multitest.broadcast("guard")
    await guarded_sleep(conn, 4000)
    await expect("timeout() after loss", short_timeout(conn), aioble.DeviceDisconnectedError)

    # stop() with a link up: its waiters unwind, then advertise restarts the radio.
    conn = await aioble.advertise(20_000, name="tmo", timeout_ms=TIMEOUT_MS)
    task = asyncio.create_task(guarded_sleep(conn, 4000))
    await asyncio.sleep_ms(300)
    aioble.stop()
    await task
    print("stopped", conn.is_connected())
    conn = await aioble.advertise(20_000, name="tmo", timeout_ms=TIMEOUT_MS)
    print("restarted", conn.is_connected())
    await conn.disconnected(timeout_ms=TIMEOUT_MS)


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def scan_then_connect():
    # Connecting from inside the loop cancels the scan, which ends the loop.
    conn = None
    async with aioble.scan(0, 30_000, 30_000) as scanner:
        async for result in scanner:
            if conn is None and result.device.addr == BDADDR[1]:
                conn = await result.device.connect(timeout_ms=TIMEOUT_MS)
    return conn


async def instance1_task():
    multitest.next()
    t0 = time.ticks_ms()
    async for result in aioble.scan(300):
        pass
    print("scan(300) ended", time.ticks_diff(time.ticks_ms(), t0) < 2000)
    async with aioble.scan(0) as scanner:
        try:
            async with aioble.scan(0):
                pass
        except OSError as e:
            print("second scan", e.errno)
    await expect("absent device", aioble.Device(0, "00:11:22:33:44:55").connect(timeout_ms=500), asyncio.TimeoutError)

    conn = await scan_then_connect()
    print("connected", conn.is_connected())
    multitest.wait("guard")
    await asyncio.sleep_ms(500)
    await conn.disconnect()

    conn = await scan_then_connect()
    await guarded_sleep(conn, 4000)  # the peer's stop() ends the link
    conn = await scan_then_connect()
    print("reconnected", conn.is_connected())
    await asyncio.sleep_ms(200)
    await conn.disconnect()


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
