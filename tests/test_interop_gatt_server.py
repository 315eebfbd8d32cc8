"""The firmware's GATT server, used by an independent client (Bumble).

The firmware registers services with `gatts_register_services`; Bumble
discovers them, reads values set with `gatts_write` (long ones with Read
Blob), writes them (GATTS_WRITE, value visible to `gatts_read`).
"""

from __future__ import annotations

import asyncio

from test_interop_gap import run_async, session
from test_interop_gap_service import connected_peer
from fwproc import TIMEOUT

from bumble.core import UUID  # noqa: E402

SERVICE = "12345678-1234-5678-1234-56789abcdef0"
CHAR = "12345678-1234-5678-1234-56789abcdef1"
DESC = "12345678-1234-5678-1234-56789abcdef2"
READ, WRITE, NOTIFY = 0x02, 0x08, 0x10

REGISTER = (
    "ble.gatts_register_services(((bluetooth.UUID('%s'), ((bluetooth.UUID('%s'), %d, "
    "((bluetooth.UUID('%s'), %d),)),)),))" % (SERVICE, CHAR, READ | WRITE | NOTIFY, DESC, READ)
)


async def discovered_characteristic(peer):
    await asyncio.wait_for(peer.discover_services(), TIMEOUT)
    service = next(s for s in peer.services if s.uuid == UUID(SERVICE))
    await asyncio.wait_for(service.discover_characteristics(), TIMEOUT)
    char = next(c for c in service.characteristics if c.uuid == UUID(CHAR))
    await asyncio.wait_for(char.discover_descriptors(), TIMEOUT)
    return char


@run_async
async def test_register_discover_read_write():
    async with session() as (radio, fw, device):
        handles = await fw.call(REGISTER)
        (value_handle, desc_handle), = handles
        await fw.call(f"ble.gatts_write({value_handle}, b'hello')")
        handle, connection, peer = await connected_peer(fw, device)
        char = await discovered_characteristic(peer)
        assert char.handle == value_handle
        assert char.properties == READ | WRITE | NOTIFY
        uuids = {d.type for d in char.descriptors}
        assert UUID(DESC) in uuids and UUID.from_16_bits(0x2902) in uuids  # CCCD added
        assert await asyncio.wait_for(char.read_value(), TIMEOUT) == b"hello"

        since = len(fw.lines)
        await asyncio.wait_for(char.write_value(b"from bumble", with_response=True), TIMEOUT)
        await fw.expect(rf"^EV 3 {handle} {value_handle}$", since)
        assert await fw.call(f"ble.gatts_read({value_handle})") == b"from bumble"

        # Longer than the 20-byte default buffer: truncated, as NimBLE.
        await asyncio.wait_for(char.write_value(b"x" * 40, with_response=True), TIMEOUT)
        await fw.expect(rf"^EV 3 {handle} {value_handle}$", since + 1)
        assert await fw.call(f"ble.gatts_read({value_handle})") == b"x" * 20
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_long_values_read_with_read_blob():
    async with session() as (radio, fw, device):
        (value_handle, _), = await fw.call(REGISTER)
        long_value = bytes(range(256)) + bytes(range(44))  # 300 bytes
        assert await fw.call(f"ble.gatts_set_buffer({value_handle}, 300)") is None
        await fw.call(f"ble.gatts_write({value_handle}, {long_value!r})")
        handle, connection, peer = await connected_peer(fw, device)
        char = await discovered_characteristic(peer)
        # MTU 23: Bumble continues with Read Blob until the value is complete.
        assert await asyncio.wait_for(char.read_value(), TIMEOUT) == long_value
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_register_refused_while_connected():
    async with session() as (radio, fw, device):
        await fw.call(REGISTER)
        handle, connection, peer = await connected_peer(fw, device)
        assert (await fw.call_fails(REGISTER)).startswith("OSError(16")  # EBUSY, as NimBLE
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)


REGISTER_INDICATE = REGISTER.replace(str(READ | WRITE | NOTIFY), str(READ | NOTIFY | 0x20))


@run_async
async def test_notifications_send_update_and_direct():
    async with session() as (radio, fw, device):
        (value_handle, _), = await fw.call(REGISTER)
        handle, connection, peer = await connected_peer(fw, device)
        char = await discovered_characteristic(peer)
        got = asyncio.Queue()
        await asyncio.wait_for(char.subscribe(got.put_nowait), TIMEOUT)
        await fw.call(f"ble.gatts_write({value_handle}, b'update-1', True)")
        assert await asyncio.wait_for(got.get(), TIMEOUT) == b"update-1"
        await fw.call(f"ble.gatts_notify({handle}, {value_handle}, b'direct')")
        assert await asyncio.wait_for(got.get(), TIMEOUT) == b"direct"
        await fw.call(f"ble.gatts_notify({handle}, {value_handle})")  # current value
        assert await asyncio.wait_for(got.get(), TIMEOUT) == b"update-1"
        # A burst arrives complete and in order.
        await fw.call(f"[ble.gatts_notify({handle}, {value_handle}, b'n%d' % i) for i in range(50)]")
        burst = [await asyncio.wait_for(got.get(), TIMEOUT) for _ in range(50)]
        assert burst == [b"n%d" % i for i in range(50)]
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_indications_are_confirmed():
    async with session() as (radio, fw, device):
        (value_handle, _), = await fw.call(REGISTER_INDICATE)
        handle, connection, peer = await connected_peer(fw, device)
        char = await discovered_characteristic(peer)
        got = asyncio.Queue()
        await asyncio.wait_for(char.subscribe(got.put_nowait, prefer_notify=False), TIMEOUT)
        since = len(fw.lines)
        await fw.call(f"ble.gatts_indicate({handle}, {value_handle}, b'ind-1')")
        assert await asyncio.wait_for(got.get(), TIMEOUT) == b"ind-1"
        await fw.expect(rf"^EV 20 {handle} {value_handle} 0$", since)
        since = len(fw.lines)
        await fw.call(f"ble.gatts_write({value_handle}, b'ind-2', True)")
        assert await asyncio.wait_for(got.get(), TIMEOUT) == b"ind-2"
        await fw.expect(rf"^EV 20 {handle} {value_handle} 0$", since)
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)
