"""The GAP and GATT services and MTU exchange, read by an independent host (Bumble).

The backend serves ATT itself (trouble-host's server is not used); these are
the attributes every phone reads first.
"""

from __future__ import annotations

import asyncio

from test_interop_gap import ADV, PEER_HEX, RANDOM, run_async, session
from fwproc import TIMEOUT

from bumble.core import UUID  # noqa: E402
from bumble.device import Peer  # noqa: E402

GAP = UUID.from_16_bits(0x1800)
GATT = UUID.from_16_bits(0x1801)
DEVICE_NAME = UUID.from_16_bits(0x2A00)
APPEARANCE = UUID.from_16_bits(0x2A01)


async def connected_peer(fw, device):
    await fw.call(f"ble.gap_advertise(50000, {ADV!r})")
    since = len(fw.lines)
    connection = await device.connect(fw.address, own_address_type=RANDOM, timeout=TIMEOUT)
    handle = int((await fw.expect(rf"^EV 1 (\d+) 1 {PEER_HEX}$", since))[1])
    return handle, connection, Peer(connection)


@run_async
async def test_services_and_device_name():
    async with session() as (radio, fw, device):
        _, connection, peer = await connected_peer(fw, device)
        await asyncio.wait_for(peer.discover_services(), TIMEOUT)
        assert [s.uuid for s in peer.services][:2] == [GAP, GATT]
        names = await asyncio.wait_for(peer.read_characteristics_by_uuid(DEVICE_NAME), TIMEOUT)
        assert names == [b"MPY TROUBLE"]
        assert await fw.call("ble.config(gap_name='camera-1')") is None
        names = await asyncio.wait_for(peer.read_characteristics_by_uuid(DEVICE_NAME), TIMEOUT)
        assert names == [b"camera-1"]
        appearance = await asyncio.wait_for(peer.read_characteristics_by_uuid(APPEARANCE), TIMEOUT)
        assert [len(v) for v in appearance] == [2]
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_mtu_exchange_started_by_the_peer():
    async with session() as (radio, fw, device):
        assert await fw.call("ble.config(mtu=150)") is None
        handle, connection, peer = await connected_peer(fw, device)
        since = len(fw.lines)
        mtu = await asyncio.wait_for(peer.request_mtu(200), TIMEOUT)
        assert mtu == 150  # min(ours, theirs)
        await fw.expect(rf"^EV 21 {handle} 150$", since)
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)
