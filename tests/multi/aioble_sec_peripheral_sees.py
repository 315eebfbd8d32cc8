# aioble security, the chapter's pairing fragment: a central pairs with
# pair(bond=True, le_secure=True) and drops the link as soon as pair()
# returns; the peripheral, which only polls connection.encrypted, must see
# the link encrypted and bonded with a 16-byte key. The backend reports the
# encryption when the link becomes encrypted: the peripheral's
# ENCRYPTION_UPDATE comes before the bond record (SET_SECRET), which needs
# the keys the central distributes just before it disconnects. Three
# centrals in turn, so each round is a new pairing without restarting a stack.

import os, asyncio, aioble
from micropython import const

_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_SET_SECRET = const(30)
_SECRET_BOND = const(2)

TIMEOUT_MS = 5000
CENTRALS = 3


def fresh(path):
    # Files go to the runner's working directory; each run starts and ends clean.
    for p in (path, path + ".new"):
        try:
            os.remove(p)
        except OSError:
            pass
    aioble.security.load_secrets(path)


seen = []  # the peripheral's security IRQs, in order


def watch(event, data):
    # Beside aioble's own handlers; answers nothing.
    if event == _IRQ_ENCRYPTION_UPDATE and data[1]:
        seen.append("encrypted")
    elif event == _IRQ_SET_SECRET and data[0] == _SECRET_BOND:
        seen.append("bond")


async def instance0_task():
    path = "aioble_sec_seen_p.json"
    fresh(path)
    aioble.core.register_irq_handler(watch, None)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    for k in range(1, CENTRALS + 1):
        seen.clear()
        multitest.broadcast("adv %d" % k)
        conn = await aioble.advertise(20_000, name="sec", timeout_ms=TIMEOUT_MS)
        while conn.is_connected():
            await asyncio.sleep_ms(1)
        for _ in range(200):
            if "bond" in seen:
                break
            await asyncio.sleep_ms(10)
        print("peripheral", k, conn.encrypted, conn.authenticated, conn.bonded, conn.key_size, seen[:2])
    # The runner relays broadcasts to every instance: the centrals stay until here.
    multitest.broadcast("done")
    aioble.stop()
    fresh(path)


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def central_task(k):
    path = "aioble_sec_seen_c%d.json" % k
    fresh(path)
    multitest.next()
    multitest.wait("adv %d" % k)
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    await conn.pair(bond=True, le_secure=True)
    print("central", k, conn.encrypted, conn.authenticated, conn.bonded, conn.key_size)
    await conn.disconnect()
    aioble.stop()
    fresh(path)
    multitest.wait("done")


def central(k):
    try:
        asyncio.run(central_task(k))
    finally:
        aioble.stop()


def instance1():
    central(1)


def instance2():
    central(2)


def instance3():
    central(3)
