"""GAP interop: the unix firmware against an independent host (a Bumble Device).

One asyncio process holds the virtual radio and the Bumble peer (on an extra controller of
the same link); the firmware runs as a subprocess on controller 0's pty, driven by AGENT.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack, asynccontextmanager

from fwproc import ROOT, TIMEOUT, Firmware, agent, run_bounded

sys.path.insert(0, str(ROOT / "python"))  # vradio

from bumble import hci  # noqa: E402
from bumble.device import AdvertisingType  # noqa: E402

from hci_proxy import HciProxy  # noqa: E402
from vradio import VirtualRadio  # noqa: E402

PEER = hci.Address("F1:F2:F3:F4:F5:F6")  # Bumble's static random address
PEER_HEX = "f1f2f3f4f5f6"
RANDOM = hci.OwnAddressType.RANDOM
ADV = b"\x02\x01\x06\x09\x09mpy-gap!"
RSP = b"\x07\xff\x34\x12\xde\xad\xbe\xef"
REMOTE_USER_TERMINATED = 0x13  # remote user terminated, what gap_disconnect sends

# The agent (fwproc.agent) with this handler prints each BLE event as
# `EV <code> <fields...>` (buffers as hex; each distinct scan result once).
AGENT = agent("""
seen = set()
def irq(ev, data):
    data = tuple(bytes(x).hex() if isinstance(x, memoryview) else x for x in data)
    if ev == 5:
        if data in seen:
            return
        seen.add(data)
    print('EV', ev, *data)
""")

run_async = run_bounded(30)  # each test on its own event loop, with an overall bound


@asynccontextmanager
async def session(proxied: bool = False, binary=None, proxy_type=HciProxy):
    """Radio with the firmware on controller 0 and a powered Bumble peer; all torn down after.

    With `proxied`, the firmware reaches its controller through an HciProxy (hci_proxy.py),
    or the `proxy_type` given, kept as `fw.proxy`, so a test can also inject controller
    input; `binary` is another build of the firmware."""
    async with VirtualRadio(count=0 if proxied else 1) as radio, AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(proxy_type(radio)) if proxied else None
        device = radio.add_host_device("bumble", PEER)
        await device.power_on()
        async with Firmware(AGENT, proxy.endpoint if proxy else radio.endpoints[0], binary=binary) as fw:
            fw.proxy = proxy
            await fw.ready()
            public = radio.controllers[0].public_address
            # The firmware reports its controller's public address as its own.
            assert (fw.addr_type, fw.mac) == (0, public.to_string(False).replace(":", "").lower())
            fw.address = public
            yield radio, fw, device


async def until(predicate, timeout: float = TIMEOUT) -> None:
    """Polls predicate (plain state of this process) until true, bounded."""
    async def poll():
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def bumble_scan(device, address: hci.Address, active: bool) -> set:
    """(event_type, data) of every legacy report from address during one scan."""
    reports = []
    listener = device.host.on("advertising_report", reports.append)
    # Legacy scanning: Bumble's extended scanning reports a made-up scan response.
    await device.start_scanning(legacy=True, active=active, filter_duplicates=False)
    try:
        wanted = {0, 4} if active else {0}
        await until(lambda: wanted <= {r.event_type for r in reports if r.address == address})
        await asyncio.sleep(0.3)  # a few more rounds, so a stray report would show
    finally:
        await device.stop_scanning(legacy=True)
        device.host.remove_listener("advertising_report", listener)
    ours = [r for r in reports if r.address == address]
    assert all(r.address.address_type == hci.Address.PUBLIC_DEVICE_ADDRESS for r in ours)
    return {(r.event_type, r.data) for r in ours}


@run_async
async def test_bumble_scan_sees_firmware_payloads_and_public_address():
    async with session() as (radio, fw, device):
        assert await fw.call(f"ble.gap_advertise(50000, {ADV!r}, resp_data={RSP!r})") is None
        assert await bumble_scan(device, fw.address, active=False) == {(0, ADV)}
        assert await bumble_scan(device, fw.address, active=True) == {(0, ADV), (4, RSP)}


@run_async
async def test_bumble_connects_updates_parameters_and_disconnects():
    async with session() as (radio, fw, device):
        # Record what the firmware's controller tells the firmware about the update.
        told = []
        controller = radio.controllers[0]
        forward = controller.send_hci_packet
        controller.send_hci_packet = lambda packet: (told.append(packet), forward(packet))[1]

        await fw.call(f"ble.gap_advertise(50000, {ADV!r})")
        since = len(fw.lines)
        connection = await device.connect(fw.address, own_address_type=RANDOM, timeout=TIMEOUT)
        handle = int((await fw.expect(rf"^EV 1 (\d+) 1 {PEER_HEX}$", since))[1])

        # 30-50 ms interval, latency 2, 4 s timeout: Bumble's controller picks interval_max.
        await asyncio.wait_for(connection.update_parameters(30, 50, 2, 4000), TIMEOUT)
        m = await fw.expect(rf"^EV 27 (\d+) (\d+) (\d+) (\d+) (\d+)$", since)
        got = tuple(map(int, m.groups()))
        assert got == (handle, 40, 2, 400, 0)  # 1.25 ms and 10 ms units, status 0
        update = [p for p in told if isinstance(p, hci.HCI_LE_Connection_Update_Complete_Event)]
        assert [
            (u.connection_handle, u.connection_interval, u.peripheral_latency,
             u.supervision_timeout, u.status) for u in update
        ] == [got]
        p = connection.parameters  # Bumble's own view, in ms
        assert (p.connection_interval, p.peripheral_latency, p.supervision_timeout) == (
            50.0, 2, 4000.0)

        await asyncio.wait_for(connection.disconnect(), TIMEOUT)
        await fw.expect(rf"^EV 2 {handle} 1 {PEER_HEX}$", since)
        assert sum(line.startswith("EV 27 ") for line in fw.lines) == 1  # no duplicate


async def firmware_connects(fw: Firmware, device):
    """Bumble advertises; the firmware scans, sees it, connects.

    Returns (firmware handle, Bumble's connection)."""
    await device.start_advertising(
        advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
        own_address_type=RANDOM,
        advertising_data=ADV,
        scan_response_data=RSP,
        advertising_interval_min=50,
        advertising_interval_max=50,
    )
    since = len(fw.lines)
    await fw.call("ble.gap_scan(3000, 30000, 30000, True)")
    await fw.expect(rf"^EV 5 1 {PEER_HEX} 0 -?\d+ {ADV.hex()}$", since)
    await fw.expect(rf"^EV 5 1 {PEER_HEX} 4 -?\d+ {RSP.hex()}$", since)
    await fw.call("ble.gap_scan(None)")
    await fw.expect(r"^EV 6$", since)

    connected = asyncio.get_running_loop().create_future()
    device.once("connection", connected.set_result)
    since = len(fw.lines)
    await fw.call(f"ble.gap_connect(1, bytes.fromhex('{PEER_HEX}'))")
    handle = int((await fw.expect(rf"^EV 7 (\d+) 1 {PEER_HEX}$", since))[1])
    connection = await asyncio.wait_for(connected, TIMEOUT)
    assert connection.peer_address == fw.address and connection.role == hci.Role.PERIPHERAL
    return handle, connection


@run_async
async def test_firmware_scans_connects_and_disconnects_bumble():
    async with session() as (radio, fw, device):
        handle, connection = await firmware_connects(fw, device)
        gone = asyncio.get_running_loop().create_future()
        connection.once("disconnection", gone.set_result)
        since = len(fw.lines)
        assert await fw.call(f"ble.gap_disconnect({handle})") is True
        await fw.expect(rf"^EV 8 {handle} 1 {PEER_HEX}$", since)
        assert await asyncio.wait_for(gone, TIMEOUT) == REMOTE_USER_TERMINATED


@run_async
async def test_bumble_disconnects_firmware_central():
    async with session() as (radio, fw, device):
        handle, connection = await firmware_connects(fw, device)
        since = len(fw.lines)
        await asyncio.wait_for(connection.disconnect(), TIMEOUT)
        await fw.expect(rf"^EV 8 {handle} 1 {PEER_HEX}$", since)
        assert await fw.call(f"ble.gap_disconnect({handle})") is False  # already gone
