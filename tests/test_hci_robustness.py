"""Controller input is untrusted: bad HCI input is dropped and counted, the stack keeps working.

Firmware A reaches its controller through an HciProxy (tests/hci_proxy.py) that injects extra
controller -> host bytes; firmware B sits directly on another controller of the same virtual
radio. After each injection A must still advertise/connect with B, its process must be alive,
and the matching `_trouble.stats()` counter must have moved by the expected amount.
Encodings follow Core spec Vol 4 Part E 7.7 (events) and 5.4.2 (ACL).
"""

from __future__ import annotations

import asyncio
import random
import sys
from contextlib import asynccontextmanager

from fwproc import ROOT, TIMEOUT, Firmware, agent, run_bounded

sys.path.insert(0, str(ROOT / "python"))  # the vradio package

from hci_proxy import HciProxy  # noqa: E402
from vradio import VirtualRadio  # noqa: E402

UNKNOWN = 0x0123  # a connection handle the controller never announced

# The agent (fwproc.agent) with these handlers prints BLE events and keeps one scan report
# per address; scan(ms) starts a fresh scan; _buf is a receive buffer for L2CAP reads.
AGENT = agent("""
import _trouble
seen = set()
def irq(ev, data):
    if ev == 5:
        a = bytes(data[1])
        if a not in seen:
            seen.add(a)
            print('SCAN', a.hex(), bytes(data[4]).hex())
    elif ev in (1, 2, 7, 8):
        print('EV', ev, data[0], bytes(data[2]).hex())
    elif ev == 28 or 22 <= ev <= 26:
        print('EV', ev, *data)
    else:
        print('EV', ev)
_buf = bytearray(64)
def scan(ms):
    seen.clear()
    ble.gap_scan(ms, 20000, 20000)
""")


class Agent(Firmware):
    """One firmware process running AGENT on one HCI pty; all waits are bounded."""

    def __init__(self, name: str, endpoint: str) -> None:
        super().__init__(AGENT, endpoint, name)

    async def start(self) -> None:
        await super().start()
        await self.ready()

    async def stats(self) -> dict:
        return await self.call("_trouble.stats()")


class Rig:
    def __init__(self, radio: VirtualRadio, proxy: HciProxy, a: Agent, b: Agent):
        self.radio, self.proxy, self.a, self.b = radio, proxy, a, b

    async def inject(self, raw: bytes, counter: str | None = None, expected: int = 0) -> None:
        """Injects raw into A; with a counter, waits until it moved by `expected` and checks
        that it moved by exactly that and nothing else did.

        Without a counter there is nothing to wait for: whatever A's controller answers next
        comes after raw on the same pty, so the checks that follow see its effect.
        """
        before = await self.a.stats() if counter else None
        self.proxy.inject(raw)
        if not counter:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            after = await self.a.stats()
            if after[counter] - before[counter] >= expected or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        delta = {k: v - before[k] for k, v in after.items() if v != before[k]}
        assert delta == {counter: expected}, f"{raw.hex()}: {delta}"
        assert self.a.alive(), self.a.report()

    async def a_is_seen(self) -> None:
        """A advertises and B's scan reports A's exact advertising payload."""
        a, b = self.a, self.b
        payload = b"\x02\x01\x06\x07\x09ROBUST"
        await a.call(f"ble.gap_advertise(20000, {payload!r})")
        since = len(b.lines)
        await b.call("scan(3000)")
        await b.expect(f"^SCAN {a.mac} {payload.hex()}$", since)
        await b.call("ble.gap_scan(None)")
        await a.call("ble.gap_advertise(None)")

    async def connect(self) -> tuple[int, int]:
        """B connects to advertising A; returns (A's handle, B's handle)."""
        a, b = self.a, self.b
        await a.call("ble.gap_advertise(20000)")
        sa, sb = len(a.lines), len(b.lines)
        await b.call(f"ble.gap_connect({a.addr_type}, bytes.fromhex('{a.mac}'))")
        on_b = await b.expect(rf"^EV 7 (\d+) {a.mac}$", sb)
        on_a = await a.expect(rf"^EV 1 (\d+) {b.mac}$", sa)
        return int(on_a[1]), int(on_b[1])

    async def disconnect(self, handles: tuple[int, int]) -> None:
        """B disconnects; both sides report the end of that link."""
        sa, sb = len(self.a.lines), len(self.b.lines)
        await self.b.call(f"ble.gap_disconnect({handles[1]})")
        await self.b.expect(rf"^EV 8 {handles[1]} {self.a.mac}$", sb)
        await self.a.expect(rf"^EV 2 {handles[0]} {self.b.mac}$", sa)

    async def a_works(self) -> None:
        """Full GAP round: seen by B's scan, then connected to and disconnected by B."""
        await self.a_is_seen()
        await self.disconnect(await self.connect())
        assert self.a.alive(), self.a.report()


@asynccontextmanager
async def rig():
    """A fresh radio, proxy and two firmware instances; everything stopped afterwards."""
    async with VirtualRadio(count=1) as radio, HciProxy(radio) as proxy:
        a, b = Agent("A", proxy.endpoint), Agent("B", radio.endpoints[0])
        try:
            await a.start()
            await b.start()
            yield Rig(radio, proxy, a, b)
            assert a.alive(), a.report()
            # A Rust panic or a Python exception in the irq handler would show up here.
            assert not [x for x in a.lines if "panic" in x or "Traceback" in x], a.report()
        finally:
            await a.stop()
            await b.stop()


run_async = run_bounded(40)  # each test on its own event loop, with an overall bound


# --- HCI encodings ------------------------------------------------------------------------
def h16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def event(code: int, params: bytes) -> bytes:
    return bytes([0x04, code, len(params)]) + params


def le_event(subevent: int, params: bytes) -> bytes:
    return event(0x3E, bytes([subevent]) + params)


def acl(handle: int, payload: bytes, first: bool = True) -> bytes:
    """A first automatically flushable fragment (PB=10), or a continuation (PB=01)."""
    return b"\x02" + h16(handle | (0x2000 if first else 0x1000)) + h16(len(payload)) + payload


# Events the host handles (Disconnection/Encryption Change/Command Complete/Status, Hardware
# Error, NOCP, Data Buffer Overflow, Key Refresh, LE Meta).
KNOWN_EVENTS = [0x05, 0x08, 0x0E, 0x0F, 0x10, 0x13, 0x1A, 0x30, 0x3E]


def random_packets(rng: random.Random, count: int, live: int) -> bytes:
    """Correctly framed packets with random parameters: each one reaches the filter."""
    out = bytearray()
    for _ in range(count):
        x, params = rng.random(), rng.randbytes(rng.randrange(40))
        if x < 0.7:
            code = rng.choice(KNOWN_EVENTS)
            subevent = bytes([rng.randrange(1, 0x0E)]) if code == 0x3E else b""
            out += event(code, subevent + params)
        elif x < 0.9:  # ACL, mostly to the live link
            out += acl(rng.choice([live, live, live, 0, 2, UNKNOWN]), params)
        else:
            out += event(rng.randrange(256), params)
    return bytes(out)


def connection_complete(proxy: HciProxy) -> bytes:
    """The one successful LE (Enhanced) Connection Complete A's controller sent so far."""
    completes = [
        p for p in proxy.forwarded if p[:2] == b"\x04\x3e" and p[3] in (0x01, 0x0A) and p[4] == 0
    ]
    assert len(completes) == 1, completes
    return completes[0]


# --- the cases ----------------------------------------------------------------------------
@run_async
async def test_junk_bytes_between_packets_are_counted():
    async with rig() as r:
        # 0x01 (a command) and 0x00/0x06+ are no controller -> host H4 indicators.
        junk = bytes([0x00, 0x01, 0x06, 0x7F, 0xFF, 0x41])
        await r.inject(junk, "hci_junk_bytes", len(junk))
        await r.inject(junk + event(0x13, b"\x00") + junk, "hci_junk_bytes", 2 * len(junk))
        await r.a_works()


@run_async
async def test_truncated_and_empty_events_are_malformed():
    async with rig() as r:
        truncated = [
            event(0x0E, b"\x01\x03"),  # Command Complete without a whole opcode
            event(0x0E, b""),  # empty Command Complete
            event(0x0F, b"\x00\x01"),  # Command Status without opcode
            event(0x3E, b""),  # empty LE Meta event
            le_event(0x01, b"\x00" + h16(0x0040)),  # LE Connection Complete cut after handle
            event(0x05, b"\x00" + h16(0x0040)),  # Disconnection Complete without reason
            event(0x13, b"\x02" + h16(0x0040) + h16(1)),  # NOCP announcing 2 handles, giving 1
            le_event(0x0A, b"\x00" + h16(0x0040) + b"\x01"),  # Enhanced Connection Complete, cut
        ]
        for raw in truncated:
            await r.inject(raw, "hci_malformed", 1)
        await r.a_works()


@run_async
async def test_truncated_advertising_reports_are_malformed():
    async with rig() as r:
        await r.a.call("scan(0)")  # so the reports reach A's scan handler
        truncated = [
            le_event(0x02, b"\x01\x00"),  # Advertising Report: 1 announced, 1 byte given
            # Advertising Report whose data length (31) runs past the event's end.
            le_event(0x02, b"\x01\x00\x00" + bytes(6) + b"\x1f\x02\x01\x06\xc0"),
            le_event(0x0D, b"\x01" + bytes(10)),  # Extended Advertising Report, cut
            # Extended Advertising Report whose data length (31) runs past the event's end.
            le_event(0x0D, b"\x01" + bytes(23) + b"\x1f\x02\x01\x06"),
        ]
        for raw in truncated:
            await r.inject(raw, "hci_malformed", 1)
        await r.a.call("ble.gap_scan(None)")
        await r.a_works()


@run_async
async def test_command_complete_with_truncated_return_parameters_is_malformed():
    async with rig() as r:
        # LE Read Buffer Size succeeded but its 3 bytes of return parameters are missing.
        await r.inject(event(0x0E, b"\x01" + h16(0x2002) + b"\x00"), "hci_malformed", 1)
        await r.a_works()


@run_async
async def test_oversized_acl_is_skipped_whole():
    async with rig() as r:
        # 256 > 255-byte buffer payload; the payload is all event indicators (0x04) so any
        # failure to skip it would show up as junk or malformed events.
        raw = b"\x02" + h16(0x2040) + h16(256) + b"\x04" * 256
        await r.inject(raw, "hci_oversized", 1)  # and no junk or malformed packets
        await r.a_works()


@run_async
async def test_sco_and_iso_data_are_unsupported():
    async with rig() as r:
        await r.inject(b"\x03" + h16(0x0040) + b"\x03abc", "hci_unsupported", 1)  # SCO
        await r.inject(b"\x05" + h16(0x0040) + h16(4) + bytes(4), "hci_unsupported", 1)  # ISO
        await r.a_works()


@run_async
async def test_unsolicited_command_complete_and_status_do_not_wedge():
    async with rig() as r:
        await r.inject(event(0x0E, b"\x01" + h16(0x2018) + b"\x00" + bytes(8)))  # LE Rand
        await r.inject(event(0x0E, b"\x01" + h16(0x0C03) + b"\x00"))  # Reset, long done
        await r.inject(event(0x0E, b"\x01" + h16(0xFC42) + b"\x00\x55"))  # vendor opcode
        await r.inject(event(0x0F, b"\x00\x01" + h16(0x200D)))  # Status: LE Create Connection
        await r.a_works()


@run_async
async def test_completed_packets_for_unknown_handle_do_not_wedge():
    async with rig() as r:
        await r.inject(event(0x13, b"\x01" + h16(UNKNOWN) + h16(5)))
        await r.inject(event(0x13, b"\x02" + h16(UNKNOWN) + h16(UNKNOWN + 1) + h16(1) + h16(1)))
        await r.a_works()


@run_async
async def test_security_events_for_unknown_handle_are_counted():
    async with rig() as r:
        ltk_request = le_event(0x05, h16(UNKNOWN) + bytes(8) + h16(0))
        encryption_change = event(0x08, b"\x00" + h16(UNKNOWN) + b"\x01")
        key_refresh = event(0x30, b"\x00" + h16(UNKNOWN))
        for raw in (ltk_request, encryption_change, key_refresh):
            await r.inject(raw, "hci_unknown_handle", 1)
        await r.a_works()


@run_async
async def test_acl_for_unknown_handle_is_counted():
    async with rig() as r:
        att_read = b"\x03\x00\x04\x00\x0a\x01\x00"  # L2CAP ATT channel: Read Request, handle 1
        await r.inject(acl(UNKNOWN, att_read), "hci_unknown_handle", 1)
        await r.a_works()


@run_async
async def test_second_connection_complete_for_live_handle_is_counted():
    async with rig() as r:
        handles = await r.connect()
        # Replay the controller's own LE (Enhanced) Connection Complete for the live link.
        complete = connection_complete(r.proxy)
        since = len(r.a.lines)
        await r.inject(complete, "hci_unknown_handle", 1)
        # The real link still ends properly, and Python never saw a second connection.
        await r.disconnect(handles)
        assert not [line for line in r.a.lines[since:] if line.startswith("EV 1 ")]
        # The filter forgot the handle with the real disconnection: its data is now unknown.
        handle = int.from_bytes(complete[5:7], "little")
        await r.inject(acl(handle, b"\x00" * 4), "hci_unknown_handle", 1)
        await r.a_works()


@run_async
async def test_att_from_the_air_is_withheld_until_gatt_exists():
    # trouble-host's ATT decoder indexes PDUs without length checks; a peer's
    # truncated request must never reach it (only Exchange MTU does).
    async with rig() as r:
        handles = await r.connect()
        live = int.from_bytes(connection_complete(r.proxy)[5:7], "little")
        truncated_group_type = b"\x05\x00\x04\x00\x10\x01\x00\xff\xff"  # no UUID
        empty_att = b"\x00\x00\x04\x00"
        await r.inject(acl(live, truncated_group_type), "att_withheld", 1)
        await r.inject(acl(live, empty_att), "att_withheld", 1)
        # A fragmented ATT PDU: the first part and its continuation (PB=01) are withheld.
        first = b"\x08\x00\x04\x00\x12\x03\x00"
        cont = acl(live, b"abcde", first=False)
        await r.inject(acl(live, first) + cont, "att_withheld", 2)
        await r.disconnect(handles)
        await r.a_works()


@run_async
async def test_seeded_random_burst_leaves_the_stack_working():
    async with rig() as r:
        burst = random.Random(1234).randbytes(2000)
        # The burst may end inside a packet: a header whose length field announces up to
        # 65535 payload bytes (an ACL the framer then skips as oversized). Zero bytes complete
        # any such packet (as a zero length or payload byte) and, once the framer is idle,
        # are junk (0x00 is no H4 indicator), so 4 + 65535 of them always resynchronise it.
        # Junk made of other non-indicators would not do: inside a packet it is payload.
        # This seed needs it: after an event and two SCO packets the burst starts an ACL
        # announcing 56359 bytes, which swallows the rest of the burst and most of the filler.
        filler = bytes(4 + 65535)
        before = await r.a.stats()
        await r.inject(burst + filler)
        await r.a_works()
        after = await r.a.stats()
        for counter in ("hci_junk_bytes", "hci_oversized", "hci_unsupported"):
            assert after[counter] > before[counter], (counter, before, after)


@run_async
async def test_seeded_random_packets_leave_the_stack_working():
    async with rig() as r:
        handles = await r.connect()
        live = int.from_bytes(connection_complete(r.proxy)[5:7], "little")
        before = await r.a.stats()
        await r.inject(random_packets(random.Random(1234), 1000, live))
        await r.disconnect(handles)
        await r.a_works()
        after = await r.a.stats()
        assert after["hci_malformed"] > before["hci_malformed"], (before, after)
        assert after["hci_unknown_handle"] > before["hci_unknown_handle"], (before, after)


# SMP command codes 0x01-0x0E with their payload sizes (Core Vol 3 Part H 3.5-3.6).
SMP_SIZES = {1: 6, 2: 6, 3: 16, 4: 16, 5: 1, 6: 16, 7: 10, 8: 16, 9: 7, 10: 16, 11: 1, 12: 64, 13: 16, 14: 1}


def smp(payload: bytes) -> bytes:
    """An L2CAP frame on the security manager's channel (CID 6)."""
    return h16(len(payload)) + h16(6) + payload


@run_async
async def test_seeded_random_smp_from_the_air_leaves_pairing_working():
    # trouble-host runs SMP itself: out-of-order commands, wrong lengths, unknown codes and
    # random parameters from the peer must end in a refusal, never in a crash.
    async with rig() as r:
        handles = await r.connect()
        live = int.from_bytes(connection_complete(r.proxy)[5:7], "little")
        rng = random.Random(4321)
        burst = bytearray()
        for _ in range(300):
            code = rng.randrange(0, 0x11)
            size = SMP_SIZES.get(code, 0) if rng.random() < 0.7 else rng.randrange(0, 70)
            burst += acl(live, smp(bytes([code]) + rng.randbytes(size)))
        await r.inject(bytes(burst))
        await r.disconnect(handles)
        await r.a_works()
        # Pairing still works afterwards, on a fresh link.
        handles = await r.connect()
        sa, sb = len(r.a.lines), len(r.b.lines)
        await r.b.call(f"ble.gap_pair({handles[1]})")
        # Encrypted, unauthenticated (Just Works), bonded, full-size key.
        await r.a.expect(rf"^EV 28 {handles[0]} 1 0 1 16$", sa)
        await r.b.expect(rf"^EV 28 {handles[1]} 1 0 1 16$", sb)
        await r.disconnect(handles)


@run_async
async def test_security_request_after_failed_reencryption_is_withheld():
    # A (central) bonds with B. On a new link A's controller reports that encryption failed
    # (as a controller does when the peer lost the bond: PIN or Key Missing). A Security
    # Request from B then would make trouble-host unwrap the bond it may no longer use (a
    # panic); the filter withholds it, and pairing afresh still works.
    async with rig() as r:
        a, b = r.a, r.b

        async def a_connects_to_b() -> tuple[int, int]:
            await b.call("ble.gap_advertise(20000)")
            sa, sb = len(a.lines), len(b.lines)
            await a.call(f"ble.gap_connect({b.addr_type}, bytes.fromhex('{b.mac}'))")
            on_a = await a.expect(rf"^EV 7 (\d+) {b.mac}$", sa)
            on_b = await b.expect(rf"^EV 1 (\d+) {a.mac}$", sb)
            return int(on_a[1]), int(on_b[1])

        ha, hb = await a_connects_to_b()
        sa = len(a.lines)
        await a.call(f"ble.gap_pair({ha})")
        await a.expect(rf"^EV 28 {ha} 1 0 1 16$", sa)
        sb = len(b.lines)
        await a.call(f"ble.gap_disconnect({ha})")
        await b.expect(rf"^EV 2 {hb} {a.mac}$", sb)

        ha, hb = await a_connects_to_b()
        completes = [p for p in r.proxy.forwarded if p[:2] == b"\x04\x3e" and p[3] in (0x01, 0x0A) and p[4] == 0]
        live = int.from_bytes(completes[-1][5:7], "little")
        await r.inject(event(0x08, bytes([0x06]) + h16(live) + b"\x00"))  # Encryption Change: key missing
        await r.inject(acl(live, smp(b"\x0b\x01")), "smp_withheld", 1)  # Security Request, bonding
        sa, sb = len(a.lines), len(b.lines)
        await a.call(f"ble.gap_pair({ha})")
        await a.expect(rf"^EV 28 {ha} 1 0 1 16$", sa)
        await b.expect(rf"^EV 28 {hb} 1 0 1 16$", sb)
        await a.call(f"ble.gap_disconnect({ha})")
        await b.expect(rf"^EV 2 {hb} {a.mac}$", sb)
        await r.a_works()


def l2cap(cid: int, payload: bytes) -> bytes:
    """An L2CAP frame (basic header) on channel cid."""
    return h16(len(payload)) + h16(cid) + payload


@run_async
async def test_seeded_random_l2cap_from_the_air_leaves_channels_working():
    # Credit-based channels are the backend's own: random signalling (well-formed requests
    # for a listened PSM among it, so channels open) and random K-frames on dynamic channel
    # ids must end in refusals and closed channels, never in a crash; channels work after.
    async with rig() as r:
        await r.a.call("ble.l2cap_listen(0x80, 512)")
        handles = await r.connect()
        live = int.from_bytes(connection_complete(r.proxy)[5:7], "little")
        rng = random.Random(2468)
        burst = bytearray()
        for _ in range(400):
            if rng.random() < 0.5:
                code = rng.choice([0x01, 0x06, 0x07, 0x14, 0x15, 0x16, rng.randrange(256)])
                body = rng.randbytes(rng.choice([2, 4, 10, rng.randrange(0, 20)]))
                if code == 0x14 and rng.random() < 0.5:
                    body = b"".join(h16(v) for v in (
                        0x80, 0x40 + rng.randrange(4), rng.randrange(23, 600), rng.randrange(23, 300),
                        rng.randrange(0, 20)))
                frame = l2cap(5, bytes([code, rng.randrange(1, 256)]) + h16(len(body)) + body)
            else:
                frame = l2cap(0x40 + rng.randrange(3), rng.randbytes(rng.randrange(0, 240)))
            burst += acl(live, frame)
        await r.inject(bytes(burst))
        await r.disconnect(handles)
        # The burst got somewhere: it opened channels, which then closed.
        assert any(line.startswith("EV 23 ") for line in r.a.lines), r.a.report()
        assert any(line.startswith("EV 24 ") for line in r.a.lines), r.a.report()
        await r.a_works()
        # A fresh link: B opens a channel to A's PSM and sends; A reads it.
        handles = await r.connect()
        sa, sb = len(r.a.lines), len(r.b.lines)
        await r.b.call(f"ble.l2cap_connect({handles[1]}, 0x80, 256)")
        cid_b = int((await r.b.expect(rf"^EV 23 {handles[1]} (\d+) 128 256 512$", sb))[1])
        cid_a = int((await r.a.expect(rf"^EV 23 {handles[0]} (\d+) 128 512 256$", sa))[1])
        await r.b.call(f"ble.l2cap_send({handles[1]}, {cid_b}, b'after the storm')")
        await r.a.expect(rf"^EV 25 {handles[0]} {cid_a}$", sa)
        n = await r.a.call(f"ble.l2cap_recvinto({handles[0]}, {cid_a}, _buf)")
        assert await r.a.call(f"bytes(_buf[:{n}])") == b"after the storm"
        await r.disconnect(handles)
