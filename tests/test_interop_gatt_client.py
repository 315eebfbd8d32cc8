"""The firmware's GATT client against an independent server (a Bumble peripheral).

Bumble advertises and serves SERVICE (plus a small OTHER service); the firmware connects as
central and uses gattc_* on it: discovery (services, characteristics, descriptors), a long
read, short / long / unacknowledged writes, MTU exchange, notifications and indications.
Handles are checked against Bumble's own attribute layout, values against what Bumble's
callbacks saw.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

from test_interop_gap import PEER, firmware_connects, run_async, until
from fwproc import TIMEOUT, Firmware, agent
from vradio import VirtualRadio  # noqa: E402  (test_interop_gap puts python/ on sys.path)

from bumble.core import UUID  # noqa: E402
from bumble.gatt import (  # noqa: E402
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR as CCCD_UUID,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)

SERVICE = "12345678-1234-5678-1234-56789abcdef0"
LONG = "12345678-1234-5678-1234-56789abcdef1"  # read-only, 300-byte value
SINK = "12345678-1234-5678-1234-56789abcdef2"  # writable, up to 512 bytes
EVENTS = "12345678-1234-5678-1234-56789abcdef3"  # notify + indicate, custom descriptor
DESC = "12345678-1234-5678-1234-56789abcdef4"
OTHER = 0xFFF0  # a second, 16-bit service, so discovery by UUID has something to leave out
OTHER_CHAR = 0xFFF1

LONG_VALUE = bytes(range(256)) + bytes(range(44))  # 300 bytes, every offset distinct
DESC_VALUE = b"custom descriptor"
SINK_CAPACITY = 512
WRITE_DONE, READ_RESULT, READ_DONE, NOTIFY, INDICATE, MTU_EXCHANGED = 17, 15, 16, 18, 19, 21
P = Characteristic.Properties

# Events as `EV <code> <fields...>`: buffers as hex, UUIDs as MicroPython prints them
# (`UUID(0x2902)`, `UUID('1234...')`). write_commands() sends Write Commands back to back:
# while the link's request queue is full gattc_write raises ENOMEM (NimBLE does the same), and
# the caller retries, as upstream's perf_gatt_char_write.py does; it returns how many retries.
AGENT = agent("""
import time
seen = set()
def irq(ev, data):
    if ev == 5:  # each distinct scan report once
        key = (data[0], bytes(data[1]), data[2], bytes(data[4]))
        if key in seen:
            return
        seen.add(key)
    print('EV', ev, *(bytes(x).hex() if isinstance(x, memoryview) else x for x in data))
def write_commands(conn, handle, values):
    retries = 0
    for v in values:
        t = time.ticks_ms()
        while True:
            try:
                ble.gattc_write(conn, handle, v, 0)
                break
            except OSError as e:
                if e.errno != 12 or time.ticks_diff(time.ticks_ms(), t) > 3000:
                    raise
                retries += 1
                time.sleep_ms(1)
    return retries
""")


def fw_uuid(uuid) -> str:
    """How the firmware prints a bluetooth.UUID (given as int, str or Bumble UUID)."""
    if isinstance(uuid, UUID):
        b = uuid.uuid_bytes
        uuid = int.from_bytes(b, "little") if len(b) == 2 else uuid.to_hex_str("-").lower()
    return f"UUID(0x{uuid:04x})" if isinstance(uuid, int) else f"UUID('{uuid}')"


class Server:
    """Bumble's GATT database and what its callbacks saw."""

    def __init__(self, device) -> None:
        self.reads = 0  # calls of LONG's read callback (one per Read / Read Blob request)
        self.writes: list[bytes] = []  # values written to SINK, whole (prepared ones joined)
        self.long = Characteristic(
            LONG, P.READ, Characteristic.READABLE, CharacteristicValue(read=self._read_long))
        self.sink = Characteristic(
            SINK, P.READ | P.WRITE | P.WRITE_WITHOUT_RESPONSE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _: self.writes[-1] if self.writes else b"",
                                write=self._write_sink))
        self.desc = Descriptor(DESC, Descriptor.READABLE, DESC_VALUE)
        self.events = Characteristic(
            EVENTS, P.READ | P.NOTIFY | P.INDICATE, Characteristic.READABLE, b"idle",
            descriptors=[self.desc])
        self.service = Service(SERVICE, [self.long, self.sink, self.events])
        self.other_char = Characteristic(
            UUID.from_16_bits(OTHER_CHAR), P.READ, Characteristic.READABLE, b"o")
        self.other = Service(UUID.from_16_bits(OTHER), [self.other_char])
        device.add_services([self.service, self.other])
        # Bumble appends the CCCD after the characteristic's own descriptors.
        self.cccd = next(a for a in device.gatt_server.attributes
                         if a.type == CCCD_UUID and self.events.handle < a.handle
                         <= self.events.end_group_handle)
        self.subscriptions = asyncio.Queue()  # (notify, indicate) as Bumble records them
        self.events.on("subscription",
                       lambda _c, n, i: self.subscriptions.put_nowait((n, i)))

    def _read_long(self, _connection) -> bytes:
        self.reads += 1
        return LONG_VALUE

    def _write_sink(self, _connection, value: bytes) -> None:
        assert len(value) <= SINK_CAPACITY
        self.writes.append(bytes(value))


@asynccontextmanager
async def connected():
    """Firmware connected as central to a Bumble peripheral serving Server."""
    # As test_interop_gap.session, with this file's agent (its helper write_commands).
    async with VirtualRadio(count=1) as radio:
        device = radio.add_host_device("bumble", PEER)
        await device.power_on()
        server = Server(device)
        async with Firmware(AGENT, radio.endpoints[0]) as fw:
            await fw.ready()
            fw.address = radio.controllers[0].public_address  # what firmware_connects checks
            handle, connection = await firmware_connects(fw, device)
            yield fw, device, server, handle, connection
            gone = asyncio.get_running_loop().create_future()
            connection.once("disconnection", gone.set_result)
            await fw.call(f"ble.gap_disconnect({handle})")
            await asyncio.wait_for(gone, TIMEOUT)


async def gattc(fw, expr: str, done: str) -> tuple[list[str], re.Match]:
    """Runs one gattc_* call; returns (the lines it printed before `done`, done's match)."""
    since = len(fw.lines)
    assert await fw.call(expr) is None
    end = await fw.expect(done, since)
    index = fw.lines.index(end.string, since)
    return fw.lines[since:index], end


def results(lines: list[str], pattern: str) -> list[re.Match]:
    return [m for line in lines if (m := re.match(pattern, line))]


@run_async
async def test_discover_services_all_and_by_uuid():
    async with connected() as (fw, device, server, h, _):
        lines, _ = await gattc(fw, f"ble.gattc_discover_services({h})", rf"^EV 10 {h} 0$")
        found = [(int(m[1]), int(m[2]), m[3])
                 for m in results(lines, rf"^EV 9 {h} (\d+) (\d+) (.+)$")]
        # Every service in Bumble's database, in handle order, with its exact range.
        expected = [(s.handle, s.end_group_handle, fw_uuid(s.uuid))
                    for s in device.gatt_server.services]
        assert len(expected) == 4  # GAP, GATT, our two
        assert found == expected

        # By UUID (128- and 16-bit): exactly that service, nothing else.
        for uuid, expr, service in ((SERVICE, f"'{SERVICE}'", server.service),
                                    (OTHER, f"{OTHER:#x}", server.other)):
            lines, _ = await gattc(fw, f"ble.gattc_discover_services({h}, bluetooth.UUID({expr}))",
                                   rf"^EV 10 {h} 0$")
            found = [(int(m[1]), int(m[2]), m[3])
                     for m in results(lines, rf"^EV 9 {h} (\d+) (\d+) (.+)$")]
            assert found == [(service.handle, service.end_group_handle, fw_uuid(uuid))]


@run_async
async def test_discover_characteristics_and_descriptors():
    async with connected() as (fw, device, server, h, _):
        s = server.service
        lines, _ = await gattc(
            fw, f"ble.gattc_discover_characteristics({h}, {s.handle}, {s.end_group_handle})",
            rf"^EV 12 {h} 0$")
        chars = [(int(m[1]), int(m[2]), int(m[3]), m[4])
                 for m in results(lines, rf"^EV 11 {h} (\d+) (\d+) (\d+) (.+)$")]
        # (end handle, value handle, properties, uuid): Bumble's own layout. A characteristic
        # ends where its last descriptor does (the next declaration minus one).
        assert chars == [
            (c.end_group_handle, c.handle, int(c.properties), fw_uuid(c.uuid))
            for c in (server.long, server.sink, server.events)
        ], chars
        assert server.long.end_group_handle == server.long.handle  # no descriptors
        assert server.events.end_group_handle == s.end_group_handle  # last in the service

        # By UUID: only that characteristic.
        lines, _ = await gattc(
            fw, f"ble.gattc_discover_characteristics({h}, {s.handle}, {s.end_group_handle}, "
                f"bluetooth.UUID('{SINK}'))", rf"^EV 12 {h} 0$")
        assert [int(m[1]) for m in results(lines, rf"^EV 11 {h} \d+ (\d+) \d+ ")] \
            == [server.sink.handle]

        # EVENTS's descriptors: the custom one, then the CCCD Bumble added.
        e = server.events
        lines, _ = await gattc(
            fw, f"ble.gattc_discover_descriptors({h}, {e.handle}, {e.end_group_handle})",
            rf"^EV 14 {h} 0$")
        descs = [(int(m[1]), m[2]) for m in results(lines, rf"^EV 13 {h} (\d+) (.+)$")]
        assert descs == [(server.desc.handle, f"UUID('{DESC}')"),
                         (server.cccd.handle, "UUID(0x2902)")]
        assert server.desc.handle == e.handle + 1 and server.cccd.handle == e.handle + 2

        # The custom descriptor reads back.
        lines, _ = await gattc(fw, f"ble.gattc_read({h}, {server.desc.handle})",
                               rf"^EV {READ_DONE} {h} {server.desc.handle} 0$")
        assert [m[1] for m in results(lines, rf"^EV {READ_RESULT} {h} \d+ (\w*)$")] \
            == [DESC_VALUE.hex()]


@run_async
async def test_long_read_is_one_result():
    async with connected() as (fw, device, server, h, _):
        v = server.long.handle
        lines, _ = await gattc(fw, f"ble.gattc_read({h}, {v})", rf"^EV {READ_DONE} {h} {v} 0$")
        got = results(lines, rf"^EV {READ_RESULT} {h} {v} (\w*)$")
        assert [bytes.fromhex(m[1]) for m in got] == [LONG_VALUE]
        # MTU 23: one Read of 22 bytes, then Read Blob until a short part (300 = 13*22 + 14).
        assert server.reads == 14

        # After an MTU exchange the parts are 246 bytes: Read plus one Read Blob.
        assert await fw.call("ble.config(mtu=247)") is None
        await gattc(fw, f"ble.gattc_exchange_mtu({h})", rf"^EV {MTU_EXCHANGED} {h} 247$")
        server.reads = 0
        lines, _ = await gattc(fw, f"ble.gattc_read({h}, {v})", rf"^EV {READ_DONE} {h} {v} 0$")
        assert [bytes.fromhex(m[1]) for m in results(lines, rf"^EV {READ_RESULT} {h} {v} (\w*)$")] \
            == [LONG_VALUE]
        assert server.reads == 2


@run_async
async def test_writes_short_truncated_long_and_without_response():
    async with connected() as (fw, device, server, h, connection):
        v = server.sink.handle
        done = rf"^EV {WRITE_DONE} {h} {v} 0$"
        short = bytes(range(100, 120))  # 20 bytes = MTU 23 - 3
        await gattc(fw, f"ble.gattc_write({h}, {v}, {short!r}, 1)", done)
        assert server.writes == [short]

        # Mode 1 longer than MTU-3: cut to 20 bytes, as NimBLE does.
        await gattc(fw, f"ble.gattc_write({h}, {v}, {bytes(range(40))!r}, 1)", done)
        assert server.writes[-1] == bytes(range(20))

        # Mode 2: Prepare Write parts + Execute; Bumble's server joins them into one write.
        long = bytes((i * 7) & 0xFF for i in range(500))
        await gattc(fw, f"ble.gattc_write({h}, {v}, {long!r}, 2)", done)
        assert server.writes[-1] == long and len(server.writes) == 3
        # Beyond the longest attribute value (512): refused at the call, nothing sent.
        assert (await fw.call_fails(f"ble.gattc_write({h}, {v}, bytes(513), 2)")).startswith(
            "OSError(22")

        # Mode 0 (Write Command), a burst: ENOMEM is backpressure, not loss. Bumble gets
        # every value, in order, and there is no WRITE_DONE.
        since = len(fw.lines)
        commands = [b"cmd%02d" % i for i in range(30)]
        assert await fw.call(f"write_commands({h}, {v}, {commands!r})") >= 0
        await until(lambda: len(server.writes) == 3 + len(commands))
        assert server.writes[3:] == commands
        await asyncio.sleep(0.2)
        assert len(server.writes) == 3 + len(commands)
        assert not any(line.startswith(f"EV {WRITE_DONE} ") for line in fw.lines[since:])


@run_async
async def test_mtu_exchange():
    async with connected() as (fw, device, server, h, connection):
        assert await fw.call("ble.config(mtu=247)") is None
        await gattc(fw, f"ble.gattc_exchange_mtu({h})", rf"^EV {MTU_EXCHANGED} {h} 247$")
        assert device.gatt_server.max_mtu > 247  # so the firmware's value is the minimum
        await until(lambda: connection.att_mtu == 247)

        # Mode 1 now carries MTU-3 = 244 bytes.
        v = server.sink.handle
        value = bytes(range(244))
        await gattc(fw, f"ble.gattc_write({h}, {v}, {value + b'cut'!r}, 1)",
                    rf"^EV {WRITE_DONE} {h} {v} 0$")
        assert server.writes == [value]


@run_async
async def test_notifications_in_order_and_indications_confirmed():
    async with connected() as (fw, device, server, h, connection):
        e, cccd = server.events.handle, server.cccd.handle
        await gattc(fw, f"ble.gattc_write({h}, {cccd}, b'\\x01\\x00', 1)",
                    rf"^EV {WRITE_DONE} {h} {cccd} 0$")
        assert await asyncio.wait_for(server.subscriptions.get(), TIMEOUT) == (True, False)

        since = len(fw.lines)
        sent = [b"note-%02d" % i for i in range(20)]
        for value in sent:
            await device.notify_subscriber(connection, server.events, value)
        await fw.expect(rf"^EV {NOTIFY} {h} {e} {sent[-1].hex()}$", since)
        got = [bytes.fromhex(m[1])
               for m in results(fw.lines[since:], rf"^EV {NOTIFY} {h} {e} (\w*)$")]
        assert got == sent

        # CCCD 2: indications only. indicate_subscriber returns once the confirmation came.
        await gattc(fw, f"ble.gattc_write({h}, {cccd}, b'\\x02\\x00', 1)",
                    rf"^EV {WRITE_DONE} {h} {cccd} 0$")
        assert await asyncio.wait_for(server.subscriptions.get(), TIMEOUT) == (False, True)
        since = len(fw.lines)
        for i in range(3):
            await asyncio.wait_for(
                device.indicate_subscriber(connection, server.events, b"ind-%d" % i), TIMEOUT)
        await fw.expect(rf"^EV {INDICATE} {h} {e} {b'ind-2'.hex()}$", since)
        got = [bytes.fromhex(m[1])
               for m in results(fw.lines[since:], rf"^EV {INDICATE} {h} {e} (\w*)$")]
        assert got == [b"ind-0", b"ind-1", b"ind-2"]

        # After an MTU exchange a notification carries up to 244 bytes, whole.
        assert await fw.call("ble.config(mtu=247)") is None
        await gattc(fw, f"ble.gattc_exchange_mtu({h})", rf"^EV {MTU_EXCHANGED} {h} 247$")
        await gattc(fw, f"ble.gattc_write({h}, {cccd}, b'\\x01\\x00', 1)",
                    rf"^EV {WRITE_DONE} {h} {cccd} 0$")
        await asyncio.wait_for(server.subscriptions.get(), TIMEOUT)
        big = bytes(range(244))
        since = len(fw.lines)
        await device.notify_subscriber(connection, server.events, big)
        await fw.expect(rf"^EV {NOTIFY} {h} {e} {big.hex()}$", since)
