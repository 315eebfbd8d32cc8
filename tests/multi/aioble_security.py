# aioble security: pair() and bonds kept in a secrets file. Numeric
# comparison completes through set_passkey_handler(), authenticated;
# mitm=True with io=3 (no way to confirm) raises OSError(EACCES); a Just Works
# bond is written to the file with the local IRK (2 entries, atomically: no
# temporary file is left), and after both sides restart their stacks the
# bonded pair re-encrypts without pairing again. A corrupt secrets file is reported and ignored.

import sys, os, json, asyncio, aioble

TIMEOUT_MS = 5000
IO_DISPLAY_YES_NO = 1
IO_NONE = 3


def remove(*paths):
    for p in paths:
        try:
            os.remove(p)
        except OSError:
            pass


def fresh(path):
    # Files go to the runner's working directory; each test run starts and ends clean.
    remove(path, path + ".new")
    aioble.security.load_secrets(path)


def bonds(path):
    try:
        with open(path) as f:
            entries = json.load(f)
    except OSError:
        return "no file"
    left = True
    try:
        os.stat(path + ".new")
    except OSError:
        left = False
    return len(entries), "temporary file left" if left else "no temporary file"


def compare(connection, action, passkey):
    # Both sides see the same six digits and accept them.
    return action == aioble.security.PASSKEY_ACTION_NUMERIC_COMPARISON


async def until_encrypted(conn):
    for _ in range(TIMEOUT_MS // 10):
        if conn.encrypted:
            return True
        await asyncio.sleep_ms(10)
    return False


async def instance0_task():
    path = "aioble_security_p.json"
    fresh(path)
    aioble.security.set_passkey_handler(compare)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    for rnd, cfg in enumerate(
        (dict(bond=False, mitm=True, io=IO_DISPLAY_YES_NO), dict(bond=False, mitm=False, io=IO_NONE), dict(bond=True, mitm=False, io=IO_NONE))
    ):
        aioble.config(**cfg)
        multitest.broadcast("adv %d" % rnd)
        conn = await aioble.advertise(20_000, name="sec", timeout_ms=TIMEOUT_MS)
        if rnd != 1:
            print("round", rnd, "encrypted", await until_encrypted(conn), conn.authenticated, conn.bonded)
        await conn.disconnected(timeout_ms=2 * TIMEOUT_MS)
    await asyncio.sleep_ms(200)
    print("peripheral secrets", bonds(path))

    # Restart: the bond comes back from the file.
    aioble.stop()
    aioble.config("mac")
    multitest.broadcast("adv again")
    conn = await aioble.advertise(20_000, name="sec", timeout_ms=TIMEOUT_MS)
    print("again encrypted", await until_encrypted(conn), conn.bonded)
    await conn.disconnected(timeout_ms=TIMEOUT_MS)

    # A file that doesn't parse: reported, ignored, nothing breaks.
    with open("aioble_security_bad.json", "w") as f:
        f.write("[[2, 'AQID")
    aioble.security.load_secrets("aioble_security_bad.json")
    print("corrupt file ignored", len(aioble.security._secrets))
    remove(path, "aioble_security_bad.json")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def connect(rnd):
    multitest.wait("adv %s" % rnd)
    device = aioble.Device(*BDADDR)
    return await device.connect(timeout_ms=TIMEOUT_MS)


async def instance1_task():
    path = "aioble_security_c.json"
    fresh(path)
    aioble.security.set_passkey_handler(compare)
    multitest.next()

    conn = await connect(0)
    await conn.pair(bond=False, mitm=True, io=IO_DISPLAY_YES_NO)
    print("numeric comparison", conn.encrypted, conn.authenticated, conn.bonded, conn.key_size)
    await conn.disconnect()

    conn = await connect(1)
    try:
        await conn.pair(bond=False, mitm=True, io=IO_NONE)
        print("mitm without io: paired?")
    except OSError as e:
        print("mitm without io: OSError", e.errno)
    await conn.disconnect()

    conn = await connect(2)
    await conn.pair()
    print("just works", conn.encrypted, conn.authenticated, conn.bonded, conn.key_size)
    await conn.disconnect()
    await asyncio.sleep_ms(200)
    print("central secrets", bonds(path))

    aioble.stop()
    conn = await connect("again")
    await conn.pair()
    print("re-encrypted", conn.encrypted, conn.bonded, "secrets", bonds(path))
    await conn.disconnect()
    remove(path)


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
