"""Pairing and bonding against an independent host (a Bumble Device).

LE Secure Connections Just Works and passkey entry, each started by either side; a bond
survives a restart of the firmware process (the secrets travel through the application,
here the agent's dict, seeded into the new process) and the peer re-encrypts without
pairing; legacy pairing reports the negotiated key size; `le_secure=True` refuses it.
Bumble pairs with a random identity address (see TESTING.md).
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, contextmanager

from test_interop_gap import ADV, PEER, PEER_HEX, RANDOM, firmware_connects, run_async
from fwproc import TIMEOUT, Firmware, agent
from vradio import VirtualRadio  # noqa: E402  (test_interop_gap puts python/ on sys.path)

from bumble import crypto  # noqa: E402
from bumble.core import ProtocolError  # noqa: E402
from bumble.device import Peer  # noqa: E402
from bumble.pairing import PairingConfig, PairingDelegate  # noqa: E402

IO = PairingDelegate.IoCapability
ENCRYPTION_UPDATE, SET_SECRET, PASSKEY_ACTION = 28, 30, 31
INPUT, DISPLAY = 2, 3
KEY_SIZE_TOO_SHORT = 0x0C
# One characteristic, readable only over an encrypted link (_FLAG_READ | _FLAG_READ_ENCRYPTED).
REGISTER_ENCRYPTED = (
    "ble.gatts_register_services(((bluetooth.UUID('12345678-1234-5678-1234-56789abcdef0'), "
    "((bluetooth.UUID('12345678-1234-5678-1234-56789abcdef1'), 0x0202),)),))"
)

# Secrets live in the agent's dict, as an application keeps them; SEED is replaced by a
# previous run's secrets. Events print as `EV <code> <fields>`, SET_SECRET as
# `EV 30 <type> <key hex> <value hex>`.
HANDLERS = """
secrets = SEED
def irq(ev, data):
    if ev == 30:
        t, k, v = data
        secrets[(t, bytes(k))] = bytes(v)
        print('EV 30', t, bytes(k).hex(), bytes(v).hex())
        return True
    if ev == 29:
        t, i, k = data
        if k is None:
            values = [v for (tt, _), v in secrets.items() if tt == t]
            return values[i] if i < len(values) else None
        return secrets.get((t, bytes(k)))
    print('EV', ev, *(bytes(x).hex() if isinstance(x, memoryview) else x for x in data))
"""


class Delegate(PairingDelegate):
    """Bumble's user: shows or types passkeys through queues, accepts comparisons."""

    def __init__(self, io, max_key: int = 16) -> None:
        super().__init__(io_capability=io, maximum_encryption_key_size=max_key)
        self.shown: asyncio.Queue = asyncio.Queue()
        self.typed: asyncio.Queue = asyncio.Queue()

    async def display_number(self, number: int, digits: int) -> None:
        self.shown.put_nowait(number)

    async def get_number(self) -> int | None:
        return await self.typed.get()


def configure(device, delegate, sc=True, mitm=True, bonding=True) -> None:
    device.pairing_config_factory = lambda connection: PairingConfig(
        sc=sc, mitm=mitm, bonding=bonding, delegate=delegate,
        identity_address_type=PairingConfig.AddressType.RANDOM,
    )


@asynccontextmanager
async def radio_and_peer():
    async with VirtualRadio(count=1) as radio:
        device = radio.add_host_device("bumble", PEER)
        await device.power_on()
        yield radio, device


@asynccontextmanager
async def firmware(radio, secrets: dict | None = None, config: str = ""):
    script = agent(HANDLERS.replace("SEED", repr(secrets or {})))
    if config:
        script = script.replace("ble.irq(irq)\n", f"ble.irq(irq)\nble.config({config})\n", 1)
    async with Firmware(script, radio.endpoints[0]) as fw:
        await fw.ready()
        fw.address = radio.controllers[0].public_address
        yield fw


async def bumble_connects(fw, device):
    """The firmware advertises, Bumble connects; returns (firmware handle, connection)."""
    await fw.call(f"ble.gap_advertise(50000, {ADV!r})")
    since = len(fw.lines)
    connection = await device.connect(fw.address, own_address_type=RANDOM, timeout=TIMEOUT)
    handle = int((await fw.expect(rf"^EV 1 (\d+) 1 {PEER_HEX}$", since))[1])
    return handle, connection


def events(fw, since: int, code: int) -> list[str]:
    return [line for line in fw.lines[since:] if line.startswith(f"EV {code} ")]


def secrets_from(fw) -> dict:
    out = {}
    for line in events(fw, 0, SET_SECRET):
        _, _, t, key, value = line.split()
        out[(int(t), bytes.fromhex(key))] = bytes.fromhex(value)
    return out


@run_async
async def test_just_works_bond_then_reencrypt_after_firmware_restart():
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), mitm=False)
        async with firmware(radio) as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            await asyncio.wait_for(connection.pair(), TIMEOUT)
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 16$", since)
            # The peripheral reports the encryption when the link becomes encrypted; the
            # bond record follows once the keys are distributed (NimBLE's order too).
            await fw.expect(rf"^EV {SET_SECRET} 2 ", since)
            assert not events(fw, since, PASSKEY_ACTION)
            await asyncio.wait_for(connection.disconnect(), TIMEOUT)
            await fw.expect(rf"^EV 2 {handle} ", since)
            assert len(events(fw, since, ENCRYPTION_UPDATE)) == 1, "the pairing's end changed nothing"
            secrets = secrets_from(fw)
        # One bond record, keyed by Bumble's random identity address (kind 1, address LSB
        # first), and nothing else (the local IRK is only handed over with addr_mode=2).
        assert sorted(secrets) == [(2, bytes([1]) + bytes(reversed(bytes.fromhex(PEER_HEX))))]

        # A new firmware process that gets the secrets from its application.
        async with firmware(radio, secrets) as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            await asyncio.wait_for(connection.encrypt(), TIMEOUT)
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 16$", since)
            await asyncio.sleep(0.3)
            assert not events(fw, since, PASSKEY_ACTION) and not events(fw, since, SET_SECRET)
            await asyncio.wait_for(connection.disconnect(), TIMEOUT)

        # Without the secrets the bond is gone: Bumble's encryption attempt fails.
        async with firmware(radio) as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            try:
                await asyncio.wait_for(connection.encrypt(), TIMEOUT)
                encrypted = True
            except (Exception, asyncio.CancelledError):  # refused, or the link dropped
                encrypted = False
            assert not encrypted
            # Whatever the firmware reported, it never claimed an encrypted link.
            assert all(line.split()[3] == "0" for line in events(fw, since, ENCRYPTION_UPDATE))


@run_async
async def test_passkey_bumble_initiates_firmware_displays():
    async with radio_and_peer() as (radio, device):
        delegate = Delegate(IO.KEYBOARD_INPUT_ONLY)
        configure(device, delegate)
        async with firmware(radio, config="mitm=True, io=0") as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            pairing = asyncio.ensure_future(connection.pair())
            m = await fw.expect(rf"^EV {PASSKEY_ACTION} {handle} {DISPLAY} (\d+)$", since)
            assert await fw.call(f"ble.gap_passkey({handle}, {DISPLAY}, {m[1]})") is None
            delegate.typed.put_nowait(int(m[1]))
            await asyncio.wait_for(pairing, TIMEOUT)
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 1 1 16$", since)
            await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_passkey_firmware_initiates_then_reencrypts_with_the_bond():
    async with radio_and_peer() as (radio, device):
        delegate = Delegate(IO.DISPLAY_OUTPUT_ONLY)
        configure(device, delegate)
        async with firmware(radio, config="mitm=True, io=2") as fw:
            handle, connection = await firmware_connects(fw, device)
            # Bumble stores the keys only when its side of the pairing ends, which can be
            # after the firmware's (its last keys are still on the air): wait for that
            # before the link goes, or the reconnection has no bond on Bumble's side.
            paired = asyncio.get_running_loop().create_future()
            connection.once("pairing", lambda keys: paired.set_result(keys))
            since = len(fw.lines)
            assert await fw.call(f"ble.gap_pair({handle})") is None
            await fw.expect(rf"^EV {PASSKEY_ACTION} {handle} {INPUT} 0$", since)
            shown = await asyncio.wait_for(delegate.shown.get(), TIMEOUT)
            assert await fw.call(f"ble.gap_passkey({handle}, {INPUT}, {shown})") is None
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 1 1 16$", since)
            assert len(events(fw, since, SET_SECRET)) == 1
            await asyncio.wait_for(paired, TIMEOUT)
            await fw.call(f"ble.gap_disconnect({handle})")
            await fw.expect(rf"^EV 8 {handle} ", since)
            await device.stop_advertising()

            # Reconnect: gap_pair encrypts with the bond, no passkey asked.
            handle, connection = await firmware_connects(fw, device)
            since = len(fw.lines)
            assert await fw.call(f"ble.gap_pair({handle})") is None
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 1 1 16$", since)
            assert not events(fw, since, PASSKEY_ACTION)
            assert delegate.shown.empty()


@contextmanager
def bumble_masks_stk(size: int):
    """Bumble 0.0.236 encrypts with the full 16-byte STK whatever key size was negotiated;
    the spec (Vol 3 Part H §2.3.4) and the firmware mask it to that size. Make Bumble's
    s1 do so for the duration (its values are little-endian: the high bytes go)."""
    original = crypto.s1
    crypto.s1 = lambda k, r1, r2: original(k, r1, r2)[:size] + bytes(16 - size)
    try:
        yield
    finally:
        crypto.s1 = original


@run_async
async def test_legacy_pairing_reports_the_negotiated_key_size():
    for size in (16, 12):
        async with radio_and_peer() as (radio, device):
            configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT, max_key=size), sc=False, mitm=False)
            async with firmware(radio, config="le_secure=False") as fw:
                ((value_handle,),) = await fw.call(REGISTER_ENCRYPTED)
                await fw.call(f"ble.gatts_write({value_handle}, b'sealed')")
                handle, connection = await bumble_connects(fw, device)
                since = len(fw.lines)
                with bumble_masks_stk(size):
                    await asyncio.wait_for(connection.pair(), TIMEOUT)
                await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 1 0 1 {size}$", since)
                # An attribute that needs encryption wants a full-size key.
                peer = Peer(connection)
                if size == 16:
                    assert await asyncio.wait_for(peer.read_value(value_handle), TIMEOUT) == b"sealed"
                else:
                    try:
                        await asyncio.wait_for(peer.read_value(value_handle), TIMEOUT)
                        code = None
                    except ProtocolError as e:
                        code = e.error_code
                    assert code == KEY_SIZE_TOO_SHORT
                await asyncio.wait_for(connection.disconnect(), TIMEOUT)


@run_async
async def test_le_secure_refuses_legacy_pairing():
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), sc=False, mitm=False)
        async with firmware(radio, config="le_secure=True") as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            try:
                await asyncio.wait_for(connection.pair(), TIMEOUT)
                paired = True
            except Exception:
                paired = False
            assert not paired
            # trouble refuses the request before any pairing starts and tells the host
            # nothing (see README): no ENCRYPTION_UPDATE, and certainly no encrypted one.
            await asyncio.sleep(0.3)
            assert fw.alive() and not events(fw, since, ENCRYPTION_UPDATE)


@run_async
async def test_public_key_off_the_curve_fails_pairing():
    """A P-256 public key that is not on the curve (Bumble's own key with y changed) fails
    pairing cleanly: no encryption, no bond, the firmware and the link live on. (trouble-host
    checks the point before the Diffie-Hellman step; from outside, a refused point and a DH
    key that doesn't match look the same, so this shows the clean failure, not which one.)"""
    from bumble import smp

    original = smp.Session.send_public_key_command

    def off_curve(session) -> None:
        y = bytearray(session.ecc_key.y[::-1])
        y[0] ^= 1  # little-endian: the lowest bit of y
        session.send_command(
            smp.SMP_Pairing_Public_Key_Command(public_key_x=session.ecc_key.x[::-1], public_key_y=bytes(y)))

    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), mitm=False)
        async with firmware(radio) as fw:
            handle, connection = await bumble_connects(fw, device)
            since = len(fw.lines)
            smp.Session.send_public_key_command = off_curve
            try:
                try:
                    await asyncio.wait_for(connection.pair(), TIMEOUT)
                    paired = True
                except (Exception, asyncio.CancelledError):  # refused, or the link dropped
                    paired = False
            finally:
                smp.Session.send_public_key_command = original
            assert not paired
            await fw.expect(rf"^EV {ENCRYPTION_UPDATE} {handle} 0 0 0 0$", since)
            assert all(line.split()[3] == "0" for line in events(fw, since, ENCRYPTION_UPDATE))
            assert not events(fw, since, SET_SECRET)
            # Nothing else broke: the firmware still answers and the link is up.
            assert await fw.call("ble.gap_disconnect(%d)" % handle) is True
