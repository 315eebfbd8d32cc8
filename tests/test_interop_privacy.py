"""Private addresses against an independent host (Bumble).

The firmware's resolvable private address (addr_mode=2) is checked with Bumble's own
address-hash function against the IRK the firmware hands to its application (secret type
10, key b"irk", as NimBLE): it resolves, a restart seeded with that IRK keeps it (new
address, same key), and forgetting it makes a new one. A Bumble peer that uses private
addresses itself is recognised after bonding: it reconnects from a new address, the
firmware reports its identity address and re-encrypts with the bond.
"""

from __future__ import annotations

import asyncio

from test_interop_sec import (
    ENCRYPTION_UPDATE, SET_SECRET, Delegate, IO, configure, events, firmware, radio_and_peer,
    secrets_from,
)
from test_interop_gap import ADV, PEER_HEX, RANDOM, run_async
from fwproc import TIMEOUT

from bumble import crypto, hci  # noqa: E402

IRK_SECRET = (10, b"irk")


async def new_private_address(device) -> None:
    """Bumble as a privacy-enabled peer takes a new address made from its IRK."""
    device.random_address = hci.Address.generate_private_address(device.irk)
    await device.send_command(hci.HCI_LE_Set_Random_Address_Command(random_address=device.random_address))


def resolves(address: bytes, irk: bytes) -> bool:
    """Whether a private address (most significant byte first, as MicroPython gives it)
    was made from irk (little-endian), per Vol 6 Part B §1.3.2.3."""
    le = bytes(reversed(address))
    return le[5] >> 6 == 0b01 and crypto.ah(irk, le[3:]) == le[:3]


async def private_address(fw) -> bytes:
    await fw.call("ble.config(addr_mode=2)")
    addr_type, hex_addr = await fw.call("(ble.config('mac')[0], ble.config('mac')[1].hex())")
    assert addr_type == 1
    return bytes.fromhex(hex_addr)


@run_async
async def test_private_address_resolves_with_the_irk_the_application_keeps():
    async with radio_and_peer() as (radio, device):
        async with firmware(radio) as fw:
            first = await private_address(fw)
            await asyncio.sleep(0.2)  # the IRK's SET_SECRET is delivered after start-up
            secrets = secrets_from(fw)
        irk = secrets[IRK_SECRET]
        assert len(irk) == 16 and resolves(first, irk)

        # A restart with the application's secrets: a new address from the same key.
        async with firmware(radio, secrets) as fw:
            second = await private_address(fw)
            await asyncio.sleep(0.2)
            assert IRK_SECRET not in secrets_from(fw)  # nothing new handed over
        assert second != first and resolves(second, irk)

        # Without them: a new key, handed over, and the address follows it.
        async with firmware(radio) as fw:
            third = await private_address(fw)
            await asyncio.sleep(0.2)
            new_irk = secrets_from(fw)[IRK_SECRET]
        assert new_irk != irk and resolves(third, new_irk) and not resolves(third, irk)


async def bumble_connects(fw, device) -> tuple[int, object, str]:
    """Bumble connects to the advertising firmware from its current random address;
    returns (firmware handle, Bumble's connection, the address the firmware reported)."""
    await fw.call(f"ble.gap_advertise(50000, {ADV!r})")
    since = len(fw.lines)
    connection = await device.connect(fw.address, own_address_type=RANDOM, timeout=TIMEOUT)
    m = await fw.expect(r"^EV 1 (\d+) (\d) (\w{12})$", since)
    return int(m[1]), connection, f"{m[2]} {m[3]}"


@run_async
async def test_bonded_peer_on_a_new_private_address_is_recognised():
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), mitm=False)
        # A Device made with an address alone has an all-zero IRK, i.e. none.
        device.irk = bytes(range(0x31, 0x41))
        await new_private_address(device)
        async with firmware(radio) as fw:
            handle, connection, seen = await bumble_connects(fw, device)
            # Unknown yet: reported as the private address it came from.
            assert seen == "1 " + device.random_address.to_string(False).replace(":", "").lower()
            since = len(fw.lines)
            await asyncio.wait_for(connection.pair(), TIMEOUT)
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 16$", since)
            # The update comes when the link is encrypted, the bond once the keys are in.
            await fw.expect(rf"^EV {SET_SECRET} 2 ", since)
            await asyncio.wait_for(connection.disconnect(), TIMEOUT)

            # A new private address; the firmware knows it only through the bond's IRK.
            await new_private_address(device)
            since = len(fw.lines)
            handle, connection, seen = await bumble_connects(fw, device)
            # Resolved with the IRK from the pairing: reported by its identity address.
            assert seen == "1 " + PEER_HEX, "\n".join(fw.lines[-30:])
            await asyncio.wait_for(connection.encrypt(), TIMEOUT)
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 16$", since)
            await asyncio.sleep(0.2)
            assert not events(fw, since, SET_SECRET)  # re-encrypted with the bond, no new one


async def firmware_connects_to(fw, device) -> tuple[int, object, str]:
    """Bumble advertises from its current random address; the firmware connects to that
    address. Returns (firmware handle, Bumble's connection, the address reported)."""
    from bumble.device import AdvertisingType

    await device.start_advertising(
        advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
        own_address_type=RANDOM, advertising_data=ADV,
        advertising_interval_min=50, advertising_interval_max=50,
    )
    connected = asyncio.get_running_loop().create_future()
    device.once("connection", connected.set_result)
    since = len(fw.lines)
    rpa = device.random_address.to_string(False).replace(":", "").lower()
    await fw.call(f"ble.gap_connect(1, bytes.fromhex('{rpa}'))")
    m = await fw.expect(r"^EV 7 (\d+) (\d) (\w{12})$", since)
    connection = await asyncio.wait_for(connected, TIMEOUT)
    await device.stop_advertising()
    return int(m[1]), connection, f"{m[2]} {m[3]}"


@run_async
async def test_bonded_peripheral_on_a_new_private_address_is_recognised():
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), mitm=False)
        device.irk = bytes(range(0x31, 0x41))
        await new_private_address(device)
        async with firmware(radio) as fw:
            handle, connection, seen = await firmware_connects_to(fw, device)
            paired = asyncio.get_running_loop().create_future()
            connection.once("pairing", paired.set_result)
            since = len(fw.lines)
            await fw.call(f"ble.gap_pair({handle})")
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 16$", since)
            await asyncio.wait_for(paired, TIMEOUT)
            await fw.call(f"ble.gap_disconnect({handle})")
            await fw.expect(rf"^EV 8 {handle} ", since)

            await new_private_address(device)
            since = len(fw.lines)
            handle, connection, seen = await firmware_connects_to(fw, device)
            assert seen == "1 " + PEER_HEX, "\n".join(fw.lines[-30:])
