# aioble client discovery: a characteristics() loop nested in a services()
# loop and a descriptors() loop nested in that, descriptor(uuid) and
# ClientDescriptor read/write against a server Descriptor, characteristic()
# returning None when absent, and enforced timeouts: a discovery given
# 1 ms raises TimeoutError and the link still serves the next discovery; a
# read whose on_read stalls past timeout_ms raises TimeoutError.

import sys

sys.path.append("")
import asyncio
import time
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC_A = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
SVC_B = bluetooth.UUID(0x181A)
CHR_A1 = bluetooth.UUID("00000000-1111-2222-3333-0000000000A1")
CHR_A2 = bluetooth.UUID("00000000-1111-2222-3333-0000000000A2")
CHR_B1 = bluetooth.UUID(0x2A6E)
DSC = bluetooth.UUID(0x2901)
SLOW = bluetooth.UUID("00000000-1111-2222-3333-0000000000B2")


class Slow(aioble.Characteristic):
    reads = 0

    def on_read(self, connection):
        self.reads += 1
        if self.reads == 1:
            time.sleep_ms(1500)  # Stalls the answer past the client's timeout.
        self.write(b"slow%d" % self.reads)
        return 0


def name(u):
    return {SVC_A: "A", SVC_B: "B", CHR_A1: "A1", CHR_A2: "A2", CHR_B1: "B1", SLOW: "slow"}.get(u, str(u))


async def server():
    a = aioble.Service(SVC_A)
    a1 = aioble.Characteristic(a, CHR_A1, read=True, notify=True, initial=b"a1")
    desc = aioble.Descriptor(a1, DSC, read=True, write=True, initial=b"user desc")
    aioble.Characteristic(a, CHR_A2, read=True, write=True, initial=b"a2")
    b = aioble.Service(SVC_B)
    aioble.Characteristic(b, CHR_B1, read=True, initial=b"b1")
    Slow(b, SLOW, read=True)
    aioble.register_services(a, b)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS)
    print("connected")
    print("descriptor written", (await desc.written(timeout_ms=3 * TIMEOUT_MS)) is conn, desc.read())
    await conn.disconnected(timeout_ms=3 * TIMEOUT_MS)
    print("disconnected")


async def client():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected")
    try:
        async for s in conn.services(timeout_ms=1):
            pass
        print("no timeout?")
    except asyncio.TimeoutError:
        print("services timeout")
    # Nested discovery, three levels deep.
    async for s in conn.services():
        if s.uuid not in (SVC_A, SVC_B):
            continue
        print("service", name(s.uuid))
        async for c in s.characteristics():
            print(" characteristic", name(c.uuid), hex(c.properties))
            async for d in c.descriptors():
                print("  descriptor", d.uuid)
    svc = await conn.service(SVC_A)
    print("absent service", await conn.service(bluetooth.UUID(0x1234)))
    a1 = await svc.characteristic(CHR_A1)
    print("absent characteristic", await svc.characteristic(CHR_B1))
    d = await a1.descriptor(DSC)
    print("absent descriptor", await a1.descriptor(bluetooth.UUID(0x2904)))
    print("descriptor read", await d.read(timeout_ms=TIMEOUT_MS))
    await d.write(b"renamed", response=True, timeout_ms=TIMEOUT_MS)
    print("descriptor read", await d.read(timeout_ms=TIMEOUT_MS))
    slow = await (await conn.service(SVC_B)).characteristic(SLOW)
    try:
        await slow.read(timeout_ms=300)
        print("no timeout?")
    except asyncio.TimeoutError:
        print("read timeout")
    # The late answer is absorbed; the next reads get their own values.
    print("after timeout", await a1.read(timeout_ms=TIMEOUT_MS), await slow.read(timeout_ms=TIMEOUT_MS))
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
