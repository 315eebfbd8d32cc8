# aioble long values: a 300-byte value read in one read() and written in
# one write() (Prepare/Execute when it exceeds MTU-3), at the default MTU and
# after exchange_mtu(100); a value that fits is a plain write; a 512-byte
# value (the ATT maximum) round-trips too.

import sys

sys.path.append("")
import asyncio
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
BIG = bluetooth.UUID("00000000-1111-2222-3333-444444444444")


def pattern(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


async def server():
    svc = aioble.Service(SVC)
    big = aioble.BufferedCharacteristic(svc, BIG, read=True, write=True, max_len=512, initial=pattern(300, 1))
    aioble.register_services(svc)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS)
    print("connected")
    for seed, n in ((2, 300), (3, 300), (4, 90), (5, 512)):
        await big.written(timeout_ms=TIMEOUT_MS)
        print("written", len(big.read()), big.read() == pattern(n, seed))
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected")


async def client():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected", conn.mtu)
    big = await (await conn.service(SVC)).characteristic(BIG)
    v = await big.read(timeout_ms=TIMEOUT_MS)
    print("read", len(v), v == pattern(300, 1))
    await big.write(pattern(300, 2), timeout_ms=TIMEOUT_MS)
    v = await big.read(timeout_ms=TIMEOUT_MS)
    print("read", len(v), v == pattern(300, 2))
    print("mtu", await conn.exchange_mtu(100, timeout_ms=TIMEOUT_MS))
    for seed, n in ((3, 300), (4, 90), (5, 512)):
        await big.write(pattern(n, seed), timeout_ms=TIMEOUT_MS)
        v = await big.read(timeout_ms=TIMEOUT_MS)
        print("read", len(v), v == pattern(n, seed))
    await conn.disconnect()
    print("disconnected")


def instance0():
    try:
        asyncio.run(server())
    finally:
        aioble.stop()


def instance1():
    try:
        asyncio.run(client())
    finally:
        aioble.stop()
