# aioble server: values written before register_services() are kept and
# written at registration, as upstream aioble does: Characteristic.write()
# and Descriptor.write() (also replacing an initial value, also into a
# BufferedCharacteristic's larger buffer, and with send_update=True, which has
# nobody to update yet). read() before registration returns the kept value
# (b"" if none). A client then reads exactly those values.

import asyncio, aioble, bluetooth

TIMEOUT_MS = 5000
SVC = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b1")
PLAIN = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b2")
INIT = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b3")
BUF = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b4")
EMPTY = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b5")
DESC = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000b6")
LONG = bytes(range(48, 48 + 60))


async def instance0_task():
    svc = aioble.Service(SVC)
    plain = aioble.Characteristic(svc, PLAIN, read=True, notify=True)
    init = aioble.Characteristic(svc, INIT, read=True, initial=b"initial")
    buf = aioble.BufferedCharacteristic(svc, BUF, read=True, max_len=len(LONG))
    empty = aioble.Characteristic(svc, EMPTY, read=True)
    desc = aioble.Descriptor(plain, DESC, read=True)
    print("before", empty.read(), init.read())
    plain.write(b"plain value", send_update=True)
    init.write(b"replaced")
    buf.write(LONG)
    desc.write(b"descriptor value")
    print("kept", plain.read(), init.read(), buf.read() == LONG, desc.read())
    aioble.register_services(svc)
    print("registered", plain.read(), init.read(), buf.read() == LONG, desc.read(), empty.read())
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, name="prewrite", timeout_ms=TIMEOUT_MS)
    await conn.disconnected(timeout_ms=TIMEOUT_MS)


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    await conn.exchange_mtu(100)
    svc = await conn.service(SVC, timeout_ms=TIMEOUT_MS)
    values = []
    for uuid in (PLAIN, INIT, BUF, EMPTY):
        char = await svc.characteristic(uuid, timeout_ms=TIMEOUT_MS)
        values.append(await char.read(timeout_ms=TIMEOUT_MS))
    char = await svc.characteristic(PLAIN, timeout_ms=TIMEOUT_MS)
    desc = await char.descriptor(DESC, timeout_ms=TIMEOUT_MS)
    print("client", values[0], values[1], values[2] == LONG, values[3], await desc.read(timeout_ms=TIMEOUT_MS))
    await conn.disconnect()


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
