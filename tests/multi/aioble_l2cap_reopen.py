# aioble L2CAP: channels opened one after another on one connection and PSM.
# The central opens a channel, sends, and closes it; the peripheral accepts,
# reads, and sees the close; the next channel on the same PSM works like the
# first, although both ends hand out channel ids again: the central's
# l2cap_connect returns it (a refused attempt in between raises
# L2CAPConnectionError), and the peripheral reads its data, not the end of
# the previous channel's stream. A closed channel whose id went to a new one
# reads end of stream, never the new channel's data. The whole app (register,
# advertise, three channels in turn, aioble.stop()) runs three times.

import asyncio, aioble, bluetooth

TIMEOUT_MS = 5000
PSM = 0x80
MTU = 128
ROUNDS = 3

SERVICE = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000a1")
CHAR = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000a2")


def payload(rnd, k):
    return "round {} channel {}".format(rnd, k).encode()


async def accept_and_read(conn, rnd, k, buf):
    channel = await conn.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
    n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
    await channel.disconnected(timeout_ms=TIMEOUT_MS)
    return channel, bytes(buf[:n]) == payload(rnd, k)


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    for rnd in range(ROUNDS):
        service = aioble.Service(SERVICE)
        aioble.Characteristic(service, CHAR, read=True, initial=b"r%d" % rnd)
        aioble.register_services(service)
        multitest.broadcast("adv %d" % rnd)
        conn = await aioble.advertise(20_000, name="reopen", timeout_ms=TIMEOUT_MS)
        buf = bytearray(MTU)
        # The first two stay unread to their end (the backend keeps them for that).
        task = asyncio.create_task(accept_and_read(conn, rnd, 0, buf))
        # accept() listens at once; the central opens its channel after that.
        await asyncio.sleep_ms(20)
        multitest.broadcast("listening %d" % rnd)
        first, ok0 = await task
        second, ok1 = await accept_and_read(conn, rnd, 1, buf)
        third = await conn.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
        old = await first.recvinto(buf, timeout_ms=TIMEOUT_MS)
        n = await third.recvinto(buf, timeout_ms=TIMEOUT_MS)
        ok2 = bytes(buf[:n]) == payload(rnd, 2)
        await third.disconnected(timeout_ms=TIMEOUT_MS)
        eof = await second.recvinto(buf, timeout_ms=TIMEOUT_MS)
        print("peripheral round", rnd, "data", ok0, ok1, ok2, "old channels end", old, eof)
        await conn.disconnected(timeout_ms=TIMEOUT_MS)
        aioble.stop()


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    for rnd in range(ROUNDS):
        multitest.wait("adv %d" % rnd)
        conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
        multitest.wait("listening %d" % rnd)
        for k in range(3):
            if k == 1:
                try:
                    await conn.l2cap_connect(0x99, MTU, timeout_ms=TIMEOUT_MS)
                except aioble.L2CAPConnectionError as e:
                    print("central round", rnd, "unknown psm", e.args[0])
            channel = await conn.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS)
            await channel.send(payload(rnd, k))
            await channel.disconnect()
        print("central round", rnd, "three channels sent and closed")
        await conn.disconnect()
        aioble.stop()


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
