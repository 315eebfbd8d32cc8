# aioble server: tasks awaiting written() on different characteristics wake in
# the order the writes arrived. A client writes A, then B, round after round:
# without response (back to back, delivered together), with response, and to
# a pair of capture=True characteristics. One task awaits each
# characteristic and records when it woke and what it got. In every round A's
# task runs before B's, and each sees that round's value.

import asyncio, aioble, bluetooth

TIMEOUT_MS = 5000
ROUNDS = 10
SVC = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000d1")
A = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000d2")
B = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000d3")
CA = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000d4")
CB = bluetooth.UUID("a5a5a5a5-0000-4000-8000-0000000000d5")


async def watch(char, name, woke):
    while True:
        got = await char.written()
        woke.append((name, got[1] if isinstance(got, tuple) else char.read()))


async def instance0_task():
    svc = aioble.Service(SVC)
    chars = {}
    for name, uuid in (("A", A), ("B", B), ("A", CA), ("B", CB)):
        capture = uuid in (CA, CB)
        c = aioble.Characteristic(svc, uuid, write=True, write_no_response=True, capture=capture)
        chars[(name, capture)] = c
    aioble.register_services(svc)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    conn = await aioble.advertise(20_000, name="order", timeout_ms=TIMEOUT_MS)
    woke = []
    # B's tasks start first: the order of the waits must not matter.
    tasks = [asyncio.create_task(watch(chars[k], k[0], woke)) for k in (("B", False), ("A", False), ("B", True), ("A", True))]
    await asyncio.sleep_ms(50)
    multitest.broadcast("ready")
    wrong = []
    for rnd in range(3 * ROUNDS):
        with conn.timeout(TIMEOUT_MS):
            while len(woke) < 2:
                await asyncio.sleep_ms(1)
        if woke != [("A", b"a%d" % rnd), ("B", b"b%d" % rnd)]:
            wrong.append((rnd, woke[:]))
        woke.clear()
        multitest.broadcast("round %d" % rnd)
    print("rounds", 3 * ROUNDS, "out of order", wrong)
    await conn.disconnected(timeout_ms=TIMEOUT_MS)
    for t in tasks:
        t.cancel()


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    conn = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    svc = await conn.service(SVC, timeout_ms=TIMEOUT_MS)
    pairs = []
    for a, b in ((A, B), (CA, CB)):
        pairs.append((await svc.characteristic(a, timeout_ms=TIMEOUT_MS), await svc.characteristic(b, timeout_ms=TIMEOUT_MS)))
    multitest.wait("ready")
    for rnd in range(3 * ROUNDS):
        # Without response, with response, then capture characteristics without response.
        response = ROUNDS <= rnd < 2 * ROUNDS
        a, b = pairs[rnd >= 2 * ROUNDS]
        await a.write(b"a%d" % rnd, response=response, timeout_ms=TIMEOUT_MS)
        await b.write(b"b%d" % rnd, response=response, timeout_ms=TIMEOUT_MS)
        multitest.wait("round %d" % rnd)
    print("client wrote", 3 * ROUNDS, "rounds")
    await conn.disconnect()


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()
