# aioble discovery on two links at the same time: one central connects
# to two peripherals and runs a nested services()/characteristics() walk on
# both concurrently; each link's results stay on that link. Then it
# subscribes on both and each server's send_update reaches its own client.

import sys

sys.path.append("")
import asyncio
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHR = [bluetooth.UUID("00000000-1111-2222-3333-00000000000%d" % i) for i in range(4)]


async def server(index):
    svc = aioble.Service(SVC)
    chars = [aioble.Characteristic(svc, u, read=True, notify=True, initial=b"s%dc%d" % (index, i)) for i, u in enumerate(CHR)]
    ctl = aioble.Characteristic(svc, bluetooth.UUID(0xFFF0), write=True)
    aioble.register_services(svc)
    multitest.globals(**{"BDADDR%d" % index: aioble.config("mac")})
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=3 * TIMEOUT_MS)
    print("connected")
    await ctl.written(timeout_ms=3 * TIMEOUT_MS)  # client subscribed
    chars[index].write(b"update from %d" % index, send_update=True)
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected")


async def walk(conn):
    found = []
    async for s in conn.services():
        if s.uuid == SVC:
            async for c in s.characteristics():
                if c.properties & 0x02:  # readable (ctl is write-only)
                    found.append(await c.read(timeout_ms=TIMEOUT_MS))
    return found


async def client():
    multitest.next()
    conns = []
    for addr in (BDADDR0, BDADDR1):
        conns.append(await aioble.Device(*addr).connect(timeout_ms=TIMEOUT_MS))
    print("connected")
    for i, found in enumerate(await asyncio.gather(*(walk(c) for c in conns))):
        print("link", i, found)
    subs = []
    for i, conn in enumerate(conns):
        svc = await conn.service(SVC)
        c = await svc.characteristic(CHR[i])
        await c.subscribe(notify=True)
        subs.append(c)
        await (await svc.characteristic(bluetooth.UUID(0xFFF0))).write(b"go", response=True)
    for i, c in enumerate(subs):
        print("notified", i, await c.notified(timeout_ms=TIMEOUT_MS))
    for conn in conns:
        await conn.disconnect()
    print("disconnected")


def instance0():
    try:
        asyncio.run(server(0))
    finally:
        aioble.stop()


def instance1():
    try:
        asyncio.run(server(1))
    finally:
        aioble.stop()


def instance2():
    try:
        asyncio.run(client())
    finally:
        aioble.stop()
