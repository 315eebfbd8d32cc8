# aioble scan results over changing adverts: raw adv_data/resp_data bypass the
# builder and come back byte for byte (scan response only with active=True);
# a non-connectable advert is reported with connectable False; when a
# device's payload changes the scan yields the same ScanResult object again;
# limited_disc sets the LE Limited flag. Both adverts end by timeout.

import asyncio, aioble

ADV1 = b"\x02\x01\x06\x05\xff\xbc\x0aV1"
RSP1 = b"\x05\x09raw1"
# names are sized in bytes. 13 x U+00E9 = 26 bytes: flags 3 + name 28
# end exactly at byte 31 and stay in the advert; 14 (28 bytes) must spill to
# the scan response, though 14 characters would seem to fit.
NAME3 = "\u00e9" * 13
NAME4 = "\u00e9" * 14


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    multitest.wait("scanning")
    print("raw", await aioble.advertise(30_000, adv_data=ADV1, resp_data=RSP1, connectable=False, timeout_ms=1500))
    r = await aioble.advertise(30_000, connectable=False, limited_disc=True, manufacturer=(0x0ABC, b"V2"), timeout_ms=1500)
    print("built", r)
    print("name3", await aioble.advertise(30_000, connectable=False, name=NAME3, timeout_ms=1500))
    print("name4", await aioble.advertise(30_000, connectable=False, name=NAME4, timeout_ms=1500))
    multitest.wait("done")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    first = None
    raw_seen = False
    printed = set()  # a payload may be yielded again when its scan response comes
    async with aioble.scan(10000, 30_000, 30_000, active=True) as scanner:
        multitest.broadcast("scanning")
        async for result in scanner:
            if result.device.addr != BDADDR[1]:
                continue
            if first is None:
                first = result
            # The scan response may come with the advert or just after it.
            if not raw_seen and result.adv_data == ADV1 and result.resp_data == RSP1:
                raw_seen = True
                print("raw: same object", result is first, "connectable", result.connectable)
                print(" name", result.name(), "manufacturer", list(result.manufacturer()))
            if "v2" not in printed and list(result.manufacturer(0x0ABC)) == [(0x0ABC, b"V2")]:
                printed.add("v2")
                print("built: same object", result is first, "connectable", result.connectable)
                print(" flags", hex(result.adv_data[2]), "services", list(result.services()))
            if "n3" not in printed and result.name() == NAME3:
                printed.add("n3")
                print("name3 in advert", len(result.adv_data), result.adv_data[3:5])
            if result.name() == NAME4:
                print("name4 in response", len(result.adv_data), result.resp_data[:2])
                break
    multitest.broadcast("done")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
