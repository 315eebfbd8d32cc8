"""Focused reproductions of the failures the API fuzz and the soak found (issue 12, E and F).

Each test is one failure kind of python/apifuzz.py or python/soak.py cut down to the few calls
that cause it, so it fails fast and the same way every time until the cause is fixed:

- gatts_set_buffer with a negative length or 0 leaves the gatts db entry pointing at memory the
  GC freed (MicroPython's gc_realloc frees the block), so later writes corrupt the heap: the
  fuzz's crashes (segfaults in the VM, corrupt globals).
- A peer that keeps the ATT inbox full while a long frame is going out wedges the stack: the
  transport stops reading the controller, so the Number Of Completed Packets events that would
  let the frame finish are never read, nor any later Command Complete (every gap_advertise then
  raises ETIMEDOUT).
- A call made from the IRQ handler while another call waits (the wait runs the scheduler)
  takes over the single hand-over slot: the waiting gatts_notify returns success although its
  notification is never sent.
- A call that times out waits longer than its documented 2 s: the wait counts 1 ms sleeps,
  not time, and the IRQ handlers the scheduler runs in each sleep are not counted at all.
- An L2CAP channel whose data the application has not read yet outlives its link (it drains),
  and the controller gives the next link the same handle: the peer's new channel, with the same
  channel id, is refused as "source CID already allocated" (result 10).
- gap_connect(None) right after gap_connect(...) replaces the connect request before the stack
  saw it: no PERIPHERAL_DISCONNECT, and every later gap_connect raises EALREADY.
"""

from __future__ import annotations

import asyncio
import sys
import time

from fwproc import ROOT, Firmware, agent, run_bounded

sys.path.insert(0, str(ROOT / "python"))  # the vradio package

from vradio import VirtualRadio  # noqa: E402

COMMON = """
import gc, time
EV = []
NESTED = [0, 0, False]  # notifications from the IRQ handler: made, succeeded; switched on
def irq(ev, data):
    if len(EV) < 2000:
        EV.append((ev,) + tuple(bytes(x) if isinstance(x, memoryview) else x for x in data))
    if ev == 3 and NESTED[2] and data[1] == H[1]:
        # An app that answers a write with a notification, from its IRQ handler.
        NESTED[0] += 1
        try:
            ble.gatts_notify(data[0], H[0], b'from irq')
            NESTED[1] += 1
        except OSError:
            pass
    if ev == 5 and SLOW_SCAN_MS[0]:
        time.sleep_ms(SLOW_SCAN_MS[0])
    if ev in (4, 22):
        return 0
SLOW_SCAN_MS = [0]
def nest_on():
    NESTED[2] = True
def scan_slowly(ms):
    # Every scan result costs the IRQ handler ms milliseconds (an app doing work per report).
    SLOW_SCAN_MS[0] = ms
    ble.gap_scan(0, 20000, 20000)
    return True
H = []
def table():
    svc = (bluetooth.UUID(0xFF00), ((bluetooth.UUID(0xFF01), 0x12), (bluetooth.UUID(0xFF02), 0x0E)))
    H.extend(ble.gatts_register_services((svc,))[0])
    return H
def wait(code, ms=5000):
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        for e in EV:
            if e[0] == code:
                EV.remove(e)
                return e
        time.sleep_ms(2)
    raise OSError(110)
def advertise():
    ble.gap_advertise(20000, b'\\x02\\x01\\x06\\x04\\x09rep')
    return True
def connect(addr_type, addr):
    ble.gap_connect(addr_type, bytes.fromhex(addr), 5000)
    return wait(7)[1]
def set_buffer_then_write(n):
    # The value's buffer is resized to n, then the heap is used and the value written.
    ble.gatts_write(H[1], b'B' * 20)
    try:
        ble.gatts_set_buffer(H[1], n)
        verdict = 'accepted'
    except OSError as e:
        verdict = e.errno
    gc.collect()  # allocation starts again from the heap's first free block
    junk = [bytearray(b'A' * 16) for i in range(300)]
    value = ble.gatts_read(H[1])
    ble.gatts_write(H[1], bytes(244) if n < 0 else b'C' * 10)
    gc.collect()
    return verdict, value, all(j == b'A' * 16 for j in junk)
def notify_burst(conn, ms, size, pause_ms=0):
    # Notifications of `size` bytes as fast as gatts_notify takes them; (sent, timed out, longest call ms).
    sent = timeouts = longest = 0
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        t = time.ticks_ms()
        try:
            ble.gatts_notify(conn, H[0], sent.to_bytes(4, 'little') + bytes(size - 4))
            sent += 1
        except OSError as e:
            timeouts += e.errno == 110
        longest = max(longest, time.ticks_diff(time.ticks_ms(), t))
        if pause_ms:
            time.sleep_ms(pause_ms)
    return sent, timeouts, longest
def write_burst(conn, ms, every_ms):
    # Write Commands to the second characteristic; returns how many went.
    n = 0
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        try:
            ble.gattc_write(conn, H[1], b'w' * 20, 0)
            n += 1
        except OSError:
            pass
        time.sleep_ms(every_ms)
    return n
def connect_and_cancel():
    # Connect to an address nobody has, cancel at once; then a new connect must be accepted.
    a = b'\x10\x20\x30\x40\x50\x60'
    EV.clear()
    ble.gap_connect(0, a, 1000)
    ble.gap_connect(None)
    time.sleep_ms(1500)
    ended = len([e for e in EV if e[0] == 8])
    try:
        ble.gap_connect(0, a, 200)
        again = 'accepted'
    except OSError as e:
        again = e.errno
    time.sleep_ms(500)
    return ended, again
def l2cap_open(conn):
    ble.l2cap_connect(conn, 0x80, 256)
    return wait(23)[2]
def l2cap_outcome(conn):
    # The first L2CAP_CONNECT or L2CAP_DISCONNECT for conn: (event, status or cid).
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 5000:
        for e in EV:
            if e[0] in (23, 24) and e[1] == conn:
                EV.remove(e)
                return (e[0], e[4] if e[0] == 24 else e[2])
        time.sleep_ms(2)
    return None
def notified():
    # The sequence numbers of the notifications received (the ones from the IRQ handler apart).
    seqs = [int.from_bytes(e[3][:4], 'little') for e in EV if e[0] == 18 and e[3] != b'from irq']
    irq = len([e for e in EV if e[0] == 18 and e[3] == b'from irq'])
    EV[:] = [e for e in EV if e[0] != 18]
    return seqs, irq
"""
AGENT = agent(COMMON)


async def pair_of(radio: VirtualRadio) -> tuple[Firmware, Firmware, int]:
    """A peripheral and a central with a link (MTU 256 both ways); returns them and the handle."""
    p = Firmware(AGENT, radio.endpoints[0], "P")
    c = Firmware(AGENT, radio.endpoints[1], "C")
    for fw in (p, c):
        await fw.start()
        await fw.ready()
        await fw.call("table()")
        await fw.call("ble.config(mtu=256)")
    await p.call("advertise()")
    conn = await c.call(f"connect({p.addr_type}, '{p.mac}')")
    await c.call(f"ble.gattc_exchange_mtu({conn})")
    await c.call("wait(21)")
    return p, c, conn


@run_bounded(60)
async def test_set_buffer_negative_length_is_refused_and_corrupts_nothing():
    async with VirtualRadio(count=1) as radio:
        async with Firmware(AGENT, radio.endpoints[0], "P") as fw:
            await fw.ready()
            await fw.call("table()")
            verdict, value, intact = await fw.call("set_buffer_then_write(-1)")
            assert fw.alive(), fw.report()
            assert verdict == 22 and value == b"B" * 20 and intact, (verdict, value, intact)


@run_bounded(60)
async def test_set_buffer_zero_leaves_no_dangling_value():
    async with VirtualRadio(count=1) as radio:
        async with Firmware(AGENT, radio.endpoints[0], "P") as fw:
            await fw.ready()
            await fw.call("table()")
            verdict, value, intact = await fw.call("set_buffer_then_write(0)")
            # Refused (the value stays) or accepted (the value is empty); never freed memory.
            assert (verdict, value) in ((22, b"B" * 20), ("accepted", b"")) and intact, (verdict, value, intact)


@run_bounded(90)
async def test_long_notifications_while_the_peer_writes_do_not_wedge_the_stack():
    async with VirtualRadio(count=2) as radio:
        p, c, conn = await pair_of(radio)
        try:
            # The central keeps the peripheral's ATT inbox busy with Write Commands while the
            # peripheral sends notifications longer than its share of controller buffers.
            await c.send(f"write_burst({conn}, 3000, 1)")
            sent, timeouts, longest = await p.call(f"notify_burst({conn}, 3000, 244)", timeout=30)
            await c.expect(r"^OK \d+", timeout=10)
            assert timeouts == 0 and longest < 2000, (sent, timeouts, longest)
            assert await p.call("advertise()", timeout=10) is True
        finally:
            await p.stop()
            await c.stop()


@run_bounded(90)
async def test_notify_from_the_irq_handler_does_not_swallow_a_waiting_notify():
    async with VirtualRadio(count=2) as radio:
        p, c, conn = await pair_of(radio)
        try:
            # The peripheral answers every write with a notification from its IRQ handler,
            # which runs inside the main thread's gatts_notify waits.
            await p.call("nest_on()")
            await c.send(f"write_burst({conn}, 5000, 5)")
            sent, timeouts, _ = await p.call(f"notify_burst({conn}, 5000, 8, 5)", timeout=30)
            await c.expect(r"^OK \d+", timeout=10)
            await asyncio.sleep(1.0)
            seqs, from_irq = await c.call("notified()")
            made, ok, _ = await p.call("NESTED")
            assert made > 0, "no notification was made from the IRQ handler"
            missing = sorted(set(range(sent)) - set(seqs))
            assert not missing and timeouts == 0, (
                f"{len(missing)} of {sent} notifications gatts_notify returned for never arrived "
                f"(first {missing[:10]}); {timeouts} timed out; from the IRQ handler {ok} sent, {from_irq} arrived")
        finally:
            await p.stop()
            await c.stop()


@run_bounded(60)
async def test_a_call_that_times_out_takes_its_documented_two_seconds():
    async with VirtualRadio(count=2) as radio:
        # B's controller never completes LE Set Advertising Parameters; B scans A's
        # advertising meanwhile and spends 15 ms on each report.
        radio.controllers[1].on_hci_le_set_advertising_parameters_command = lambda command: None
        async with Firmware(AGENT, radio.endpoints[0], "A") as a, Firmware(AGENT, radio.endpoints[1], "B") as b:
            await a.ready()
            await b.ready()
            await a.call("advertise()")
            await b.call("scan_slowly(15)")
            t0 = time.monotonic()
            err = await b.call_fails("advertise()", timeout=30)
            took = time.monotonic() - t0
            assert "110" in err or "ETIMEDOUT" in err, err
            # REQUEST_TIMEOUT_MS is 2000; a little slack for the round trip to the agent.
            assert took < 2.6, f"gap_advertise took {took:.2f} s to time out"


@run_bounded(60)
async def test_a_connect_cancelled_at_once_ends_and_allows_the_next():
    async with VirtualRadio(count=1) as radio:
        async with Firmware(AGENT, radio.endpoints[0], "A") as fw:
            await fw.ready()
            for _ in range(3):
                ended, again = await fw.call("connect_and_cancel()", timeout=10)
                # The cancelled attempt is reported (NimBLE: PERIPHERAL_DISCONNECT, handle 65535)
                # and the stack takes the next connect.
                assert (ended, again) == (1, "accepted"), (ended, again)


@run_bounded(90)
async def test_a_channel_left_unread_on_a_dropped_link_does_not_refuse_the_next_links_channel():
    async with VirtualRadio(count=2) as radio:
        p, c, conn = await pair_of(radio)
        try:
            await p.call("ble.l2cap_listen(0x80, 256)")
            cid = await c.call(f"l2cap_open({conn})")
            await p.call("wait(23)")
            await c.call(f"ble.l2cap_send({conn}, {cid}, b'unread' * 10)")
            await p.call("wait(25)")  # data arrived; the application doesn't read it
            await c.call(f"ble.gap_disconnect({conn})")
            await c.call("wait(8)")
            await p.call("wait(2)")
            await p.call("advertise()")
            await c.call("EV.clear()")  # the first link's endings
            conn = await c.call(f"connect({p.addr_type}, '{p.mac}')")
            await c.call(f"ble.l2cap_connect({conn}, 0x80, 256)")
            outcome = await c.call(f"l2cap_outcome({conn})", timeout=10)
            assert outcome is not None and outcome[0] == 23, f"second link's channel: {outcome} (24 = refused, with the result)"
        finally:
            await p.stop()
            await c.stop()
