# aioble server + client basics: discovery by UUID, read, write with and
# without response (response=None picks by the peer's properties),
# send_update notify, direct notify, subscribe-to-indicate + awaited
# indicate, unsubscribe (CCCD 0), and notified()/indicated() keeping only
# the newest value.
# The server never blocks in multitest.wait while the client works: every
# client read raises READ_REQUEST, answered by the server's Python code. The
# client signals steps by writing to a capture characteristic instead.

import sys

sys.path.append("")
import asyncio
import aioble
import bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHR = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
WNR = bluetooth.UUID("00000000-1111-2222-3333-555555555555")
CTL = bluetooth.UUID("00000000-1111-2222-3333-666666666666")


async def step(ctl, name):
    _, data = await ctl.written(timeout_ms=TIMEOUT_MS)
    assert data == name, data


async def signal(ctl, name):
    await ctl.write(name, response=True, timeout_ms=TIMEOUT_MS)


async def server():
    svc = aioble.Service(SVC)
    char = aioble.Characteristic(svc, CHR, read=True, write=True, notify=True, indicate=True, initial=b"init")
    wnr = aioble.Characteristic(svc, WNR, write=True, write_no_response=True)
    ctl = aioble.Characteristic(svc, CTL, write=True, capture=True)
    aioble.register_services(svc)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS)
    print("connected")
    c = await char.written(timeout_ms=TIMEOUT_MS)
    print("written", c is conn, char.read())
    c = await wnr.written(timeout_ms=TIMEOUT_MS)
    print("written wnr", c is conn, wnr.read())
    char.write(b"srv-value")
    multitest.broadcast("written")
    await step(ctl, b"subscribed")
    char.write(b"n1", send_update=True)
    await step(ctl, b"got-n1")
    char.notify(conn, b"n2")
    await step(ctl, b"got-n2")
    char.notify(conn, b"old")
    char.notify(conn, b"newest")
    await step(ctl, b"got-newest")
    await step(ctl, b"subscribed-ind")
    await char.indicate(conn, b"i1", timeout_ms=TIMEOUT_MS)
    print("indicate acked")
    char.write(b"i2", send_update=True)
    await step(ctl, b"unsubscribed")
    char.write(b"quiet", send_update=True)  # CCCD is 0: nothing is sent
    await conn.disconnected()
    print("disconnected")


async def client():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected")
    svc = await conn.service(SVC)
    char = await svc.characteristic(CHR)
    wnr = await svc.characteristic(WNR)
    ctl = await svc.characteristic(CTL)
    print("found", svc.uuid == SVC, char.uuid == CHR, hex(char.properties), hex(wnr.properties))
    print("missing", await svc.characteristic(bluetooth.UUID(0x1234)))
    print("read", await char.read(timeout_ms=TIMEOUT_MS))
    await char.write(b"hello", timeout_ms=TIMEOUT_MS)  # peer allows only with-response
    await wnr.write(b"fire", timeout_ms=TIMEOUT_MS)  # write-no-response chosen
    multitest.wait("written")
    print("read", await char.read(timeout_ms=TIMEOUT_MS))
    await char.subscribe(notify=True)
    await signal(ctl, b"subscribed")
    print("notified", await char.notified(timeout_ms=TIMEOUT_MS))
    await signal(ctl, b"got-n1")
    print("notified", await char.notified(timeout_ms=TIMEOUT_MS))
    await signal(ctl, b"got-n2")
    await asyncio.sleep_ms(500)
    print("notified", await char.notified(timeout_ms=TIMEOUT_MS))
    await signal(ctl, b"got-newest")
    try:
        await char.notified(timeout_ms=200)
    except asyncio.TimeoutError:
        print("notified timeout")
    await char.subscribe(notify=False, indicate=True)
    await signal(ctl, b"subscribed-ind")
    print("indicated", await char.indicated(timeout_ms=TIMEOUT_MS))
    print("indicated", await char.indicated(timeout_ms=TIMEOUT_MS))
    await char.subscribe(notify=False)
    await signal(ctl, b"unsubscribed")
    for wait in (char.notified, char.indicated):
        try:
            print("unexpected", await wait(timeout_ms=300))
        except asyncio.TimeoutError:
            print("nothing after unsubscribe")
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
