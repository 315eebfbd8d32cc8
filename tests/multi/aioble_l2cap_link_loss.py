# aioble L2CAP on link loss: a reader blocked in recvinto() on a channel whose
# link the peer drops returns 0 (end of stream): the backend reports the
# channel's end before the link's.

import sys, asyncio, aioble
async def p():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, name="x", timeout_ms=5000)
    ch = await conn.l2cap_accept(0x80, 100, timeout_ms=5000)
    buf = bytearray(100)
    print("recv after link loss", await ch.recvinto(buf, timeout_ms=5000))
def instance0():
    try:
        asyncio.run(p())
    finally:
        aioble.stop()
async def c():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=5000)
    ch = await conn.l2cap_connect(0x80, 100, timeout_ms=5000)
    await asyncio.sleep_ms(200)
    await conn.disconnect()
    print("disconnected")
def instance1():
    try:
        asyncio.run(c())
    finally:
        aioble.stop()
