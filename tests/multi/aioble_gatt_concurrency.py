# aioble client procedures in parallel: 8 reads at once (more than the host's
# 1 running + 2 queued per link, so ENOMEM is retried inside aioble; reads of
# one characteristic take turns), 5 writes at once; a read pending when the
# link drops raises DeviceDisconnectedError. Server side: written() and
# notified() time out with TimeoutError; indicate() on a closed link raises
# DeviceDisconnectedError.

import sys

sys.path.append("")
import asyncio
import time
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
UUIDS = [bluetooth.UUID("00000000-1111-2222-3333-00000000000%d" % i) for i in range(5)]
SLOW = bluetooth.UUID("00000000-1111-2222-3333-0000000000FF")


class Slow(aioble.Characteristic):
    def on_read(self, connection):
        time.sleep_ms(800)
        return 0


async def server():
    svc = aioble.Service(SVC)
    chars = [
        aioble.Characteristic(svc, u, read=True, write=True, indicate=True, initial=b"v%d" % i)
        for i, u in enumerate(UUIDS)
    ]
    Slow(svc, SLOW, read=True)
    aioble.register_services(svc)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS)
    print("connected")
    for c in chars:
        await c.written(timeout_ms=TIMEOUT_MS)
    print("written", [c.read() for c in chars])
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected")
    try:
        await chars[0].written(timeout_ms=200)
    except asyncio.TimeoutError:
        print("written timeout")
    try:
        await chars[0].indicate(conn, b"late")
    except aioble.DeviceDisconnectedError:
        print("indicate DeviceDisconnectedError")


async def client():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected")
    svc = await conn.service(SVC)
    chars = []
    for u in UUIDS:
        chars.append(await svc.characteristic(u))
    slow = await svc.characteristic(SLOW)
    reads = [c.read(timeout_ms=TIMEOUT_MS) for c in chars + chars[:3]]
    print("reads", await asyncio.gather(*reads))
    await asyncio.gather(*(c.write(b"w%d" % i, timeout_ms=TIMEOUT_MS) for i, c in enumerate(chars)))
    try:
        await chars[0].indicated(timeout_ms=200)
    except asyncio.TimeoutError:
        print("indicated timeout")

    async def pending_read():
        try:
            await slow.read(timeout_ms=TIMEOUT_MS)
            print("read completed?")
        except aioble.DeviceDisconnectedError:
            print("read DeviceDisconnectedError")

    task = asyncio.create_task(pending_read())
    await asyncio.sleep_ms(200)
    await conn.disconnect()
    await task
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
