# aioble L2CAP: connection.l2cap_connect()/l2cap_accept() and L2CAPChannel.
# SDUs of up to the MTU come out of recvinto() whole, one per call; data
# sent just before the peer closes is still read, then recvinto() returns 0
# and a further call raises L2CAPDisconnectedError. An unknown PSM raises
# L2CAPConnectionError(2). The peripheral, which listens, also opens a channel
# itself while the first is open (two channels on one link); the channel's
# async context manager closes it.

import sys, asyncio, aioble

TIMEOUT_MS = 5000
PSM = 0x80
PSM_BACK = 0x81
MTU = 512
SIZES = (1, 100, 246, 247, 248, 511, 512)


def sdu(i, n):
    return bytes((i * 13 + j) & 0xFF for j in range(n))


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, name="l2cap", timeout_ms=TIMEOUT_MS)
    channel = await conn.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
    print("accepted", channel.our_mtu, channel.peer_mtu)
    buf = bytearray(MTU)
    got = []
    for _ in SIZES:
        n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
        got.append(bytes(buf[:n]))
    print("whole sdus", [len(g) for g in got], all(g == sdu(i, len(g)) for i, g in enumerate(got)))

    # A second channel, opened by the side that listens.
    back = await conn.l2cap_connect(PSM_BACK, 100, timeout_ms=TIMEOUT_MS)
    async with back:
        await back.send(b"from the listener")
        await back.flush()
        multitest.wait("read back")
    print("second channel closed by its context manager")

    # The central sends its last words and closes at once.
    n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
    print("after close", bytes(buf[:n]))
    print("end of stream", await channel.recvinto(buf, timeout_ms=TIMEOUT_MS))
    try:
        await channel.recvinto(buf)
    except aioble.L2CAPDisconnectedError:
        print("then L2CAPDisconnectedError")
    await conn.disconnected(timeout_ms=TIMEOUT_MS)


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    device = aioble.Device(*BDADDR)
    conn = await device.connect(timeout_ms=TIMEOUT_MS)
    try:
        await conn.l2cap_connect(0x99, MTU, timeout_ms=TIMEOUT_MS)
    except aioble.L2CAPConnectionError as e:
        print("unknown psm", e.args[0])
    channel = await conn.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS)
    print("connected", channel.our_mtu, channel.peer_mtu)
    for i, n in enumerate(SIZES):
        await channel.send(sdu(i, n))

    back = await conn.l2cap_accept(PSM_BACK, 100, timeout_ms=TIMEOUT_MS)
    buf = bytearray(100)
    n = await back.recvinto(buf, timeout_ms=TIMEOUT_MS)
    print("second channel", bytes(buf[:n]), back.peer_mtu)
    multitest.broadcast("read back")
    await back.disconnected(timeout_ms=TIMEOUT_MS)

    await channel.send(b"last words")
    await channel.disconnect()
    try:
        await channel.send(b"more")
    except aioble.L2CAPDisconnectedError:
        print("send after close: L2CAPDisconnectedError")
    await asyncio.sleep_ms(300)
    await conn.disconnect()


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
