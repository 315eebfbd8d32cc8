# aioble GAP: advertise() payload building (name sized in bytes, 16/32/128-bit
# service lists, appearance, manufacturer, spill to the scan response) and
# scan()'s ScanResult parsing; connect/disconnect from both sides; timeouts:
# a non-connectable advert returns None, a connectable one raises
# TimeoutError, an oversized payload raises ValueError.

import sys, asyncio, aioble, bluetooth

TIMEOUT_MS = 5000
UUID16 = bluetooth.UUID(0x181A)
UUID32 = bluetooth.UUID(b"\x78\x56\x34\x12")
UUID128 = bluetooth.UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E")
NAME = "c\u00e2mera"  # 6 characters, 7 bytes (sized in bytes)


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    # Flags 3 + 16-bit 4 + 32-bit 6 + 128-bit 18 = 31: the name and the rest
    # spill to the scan response.
    conn = await aioble.advertise(
        20_000,
        name=NAME,
        services=[UUID16, UUID32, UUID128],
        appearance=0x0340,
        manufacturer=(0x0ABC, b"\x01\x02"),
        timeout_ms=TIMEOUT_MS,
    )
    print("connected", type(conn).__name__, conn.is_connected())
    # The central holds the link until we have looked at it (a slow
    # peripheral would otherwise see it closed already).
    multitest.broadcast("seen")
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected", conn.is_connected())

    # a beacon's advert just ends.
    print("beacon", await aioble.advertise(20_000, connectable=False, manufacturer=(0x0ABC, b"B"), timeout_ms=300))
    try:
        await aioble.advertise(20_000, name="x", timeout_ms=300)
    except asyncio.TimeoutError:
        print("connectable advert: TimeoutError")
    try:
        await aioble.advertise(20_000, name="n" * 40)
    except ValueError:
        print("oversized: ValueError")

    # Second connection, this time closed by us.
    multitest.broadcast("again")
    conn = await aioble.advertise(20_000, name="again", timeout_ms=TIMEOUT_MS)
    print("connected again")
    await conn.disconnect()
    print("disconnect ->", conn.is_connected())


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def find(name):
    async with aioble.scan(TIMEOUT_MS, 30_000, 30_000, active=True) as scanner:
        async for result in scanner:
            if result.device.addr == BDADDR[1] and result.name() == name:
                return result


async def instance1_task():
    multitest.next()
    result = await find(NAME)
    print("name", result.name().encode(), len(result.name()))
    print("services", list(result.services()))
    print("uuid in services", UUID128 in result.services(), bluetooth.UUID(0x1234) in result.services())
    print("manufacturer", list(result.manufacturer()), list(result.manufacturer(0x0ABC)), list(result.manufacturer(1)))
    print("adv/resp", len(result.adv_data), len(result.resp_data), result.connectable)
    device = aioble.Device(BDADDR[0], result.device.addr_hex())
    print("device eq", device == result.device)
    async with await device.connect(timeout_ms=TIMEOUT_MS) as conn:
        print("connected", conn.is_connected(), conn.device == device)
        multitest.wait("seen")
    print("after with", conn.is_connected())

    multitest.wait("again")
    result = await find("again")
    conn = await result.device.connect(timeout_ms=TIMEOUT_MS)
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("peer closed", conn.is_connected())


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
