# aioble server write semantics: capture=True writes come out of written() as
# (connection, data) in order per characteristic, through ONE 10-entry queue
# shared by every capture characteristic (oldest dropped when full); a plain
# characteristic keeps a 20-byte value (a 30-byte long write is cut); a
# BufferedCharacteristic(append=True) accumulates writes until read; an
# on_read override can refresh the value or reject the read (GattError).

import sys

sys.path.append("")
import asyncio
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
C1 = bluetooth.UUID("00000000-1111-2222-3333-000000000001")
C2 = bluetooth.UUID("00000000-1111-2222-3333-000000000002")
PLAIN = bluetooth.UUID("00000000-1111-2222-3333-000000000003")
BUF = bluetooth.UUID("00000000-1111-2222-3333-000000000004")
GUARD = bluetooth.UUID("00000000-1111-2222-3333-000000000005")
CTL = bluetooth.UUID("00000000-1111-2222-3333-000000000006")


class Guarded(aioble.Characteristic):
    reads = 0

    def on_read(self, connection):
        self.reads += 1
        if self.reads % 2 == 0:
            return 0x02  # Read Not Permitted
        self.write(b"count%d" % self.reads)
        return 0


async def drain(char):
    got = []
    try:
        while True:
            conn, data = await char.written(timeout_ms=300)
            got.append(data)
    except asyncio.TimeoutError:
        return got


async def server():
    svc = aioble.Service(SVC)
    c1 = aioble.Characteristic(svc, C1, write=True, capture=True)
    c2 = aioble.Characteristic(svc, C2, write=True, capture=True)
    plain = aioble.Characteristic(svc, PLAIN, read=True, write=True)
    buf = aioble.BufferedCharacteristic(svc, BUF, write=True, max_len=50, append=True)
    guard = Guarded(svc, GUARD, read=True, initial=b"stored")
    ctl = aioble.Characteristic(svc, CTL, write=True)
    aioble.register_services(svc)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS)
    print("connected")
    # Phase 1: a0 b0 a1 b1 a2 arrive interleaved; each characteristic sees its own in order.
    for char in (c1, c1, c1, c2, c2):
        c, data = await char.written(timeout_ms=TIMEOUT_MS)
        print("captured", c is conn, data)
    # Phase 2: 12 writes arrive while nobody awaits: the 2 oldest are dropped.
    print("ctl", (await ctl.written(timeout_ms=TIMEOUT_MS)) is conn)
    print("c1", await drain(c1))
    print("c2", await drain(c2))
    print("plain", (await plain.written(timeout_ms=TIMEOUT_MS)) is conn, plain.read())
    await ctl.written(timeout_ms=TIMEOUT_MS)
    print("buf", buf.read(), buf.read())
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected", guard.reads)


async def client():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected")
    svc = await conn.service(SVC)
    chars = {}
    async for c in svc.characteristics():
        chars[c.uuid] = c
    print("characteristics", len(chars))
    c1, c2, plain, buf, guard, ctl = (chars[u] for u in (C1, C2, PLAIN, BUF, GUARD, CTL))
    for char, data in ((c1, b"a0"), (c2, b"b0"), (c1, b"a1"), (c2, b"b1"), (c1, b"a2")):
        await char.write(data, timeout_ms=TIMEOUT_MS)
    for i in range(12):
        await (c1 if i % 2 == 0 else c2).write(b"x%d" % i, timeout_ms=TIMEOUT_MS)
    await ctl.write(b"go", timeout_ms=TIMEOUT_MS)
    await plain.write(b"0123456789" * 3, timeout_ms=TIMEOUT_MS)
    print("plain", await plain.read(timeout_ms=TIMEOUT_MS))
    await buf.write(b"abc", timeout_ms=TIMEOUT_MS)
    await buf.write(b"def", timeout_ms=TIMEOUT_MS)
    await ctl.write(b"go", timeout_ms=TIMEOUT_MS)
    for i in range(3):
        try:
            print("guard", await guard.read(timeout_ms=TIMEOUT_MS))
        except aioble.GattError as e:
            print("guard GattError", e._status)
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
