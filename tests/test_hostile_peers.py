"""Hostile peers and controllers (issue 12, part C): the link stays usable, or is closed
cleanly, and the reaction the Core spec asks for comes.

A Bumble host on the same virtual radio plays the peer (test_interop_gap.session); where the
junk comes from the controller's side, the firmware reaches its controller through an
HciProxy (session(proxied=True)). After each case the peer still reads a value from the
firmware's GATT server over the same link.
"""

from __future__ import annotations

import asyncio

import pytest

from fwproc import TIMEOUT
from test_hci_robustness import UNKNOWN, acl, connection_complete, event
from test_interop_gap import run_async, session
from test_interop_gap_service import connected_peer
from test_interop_gatt_server import REGISTER
from test_interop_sec import Delegate, IO, bumble_connects, configure, firmware, radio_and_peer

from hci_proxy import HciProxy  # noqa: E402  (test_interop_gap puts python/ on sys.path)

from bumble import att, hci  # noqa: E402
from bumble.device import Peer  # noqa: E402


INVALID_PDU = 0x04  # ATT error code (Vol 3 Part F §3.4.1.1)
PIN_OR_KEY_MISSING = 0x06  # HCI error code: what an LTK Negative Reply makes the central see
SMP_PAIRING_RESPONSE, SMP_PAIRING_FAILED = 0x02, 0x05
AUTHENTICATION_REQUIREMENTS = 0x03  # SMP Pairing Failed reason


class Link:
    """One connection from the Bumble peer to the firmware's GATT server, whose one
    characteristic holds `value`; `works()` checks the link still carries ATT."""

    def __init__(self, fw, device, handle, connection, peer, value_handle, value):
        self.fw, self.device, self.handle = fw, device, handle
        self.connection, self.peer, self.value_handle, self.value = connection, peer, value_handle, value
        self.ended: list[int] = []
        connection.on("disconnection", self.ended.append)

    @classmethod
    async def open(cls, fw, device, value: bytes = b"hello", buffer: int = 20) -> Link:
        (value_handle, _), = await fw.call(REGISTER)
        await fw.call(f"ble.gatts_set_buffer({value_handle}, {buffer})")
        await fw.call(f"ble.gatts_write({value_handle}, {value!r})")
        handle, connection, peer = await connected_peer(fw, device)
        link = cls(fw, device, handle, connection, peer, value_handle, value)
        await link.works()
        return link

    async def works(self) -> None:
        """The link is up and reads are answered with the value.

        The first read reaches the firmware after whatever was sent before it, so once it is
        answered the firmware has handled all of that; a link closed because of it (which
        takes milliseconds) is gone after the pause, and the second read shows the link
        still carries ATT."""
        for _ in range(2):
            try:
                got = await asyncio.wait_for(self.peer.read_value(self.value_handle), TIMEOUT)
            except (Exception, asyncio.CancelledError) as e:  # a link closed under the read
                raise AssertionError(f"read failed ({e!r}), link closed: {self.ended}\n{self.fw.report()}")
            assert got == self.value
            await asyncio.sleep(0.5)
            assert not self.ended, f"link closed, reason {self.ended}\n{self.fw.report()}"
        assert self.fw.alive(), self.fw.report()
        assert not [x for x in self.fw.lines if "panic" in x or "Traceback" in x], self.fw.report()

    async def request(self, pdu: att.ATT_PDU) -> att.ATT_PDU:
        """Sends a raw ATT request; the response PDU."""
        try:
            return await asyncio.wait_for(self.peer.gatt_client.send_request(pdu), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no response to {pdu.name} in {TIMEOUT} s\n{self.fw.report()}") from None

    def writes(self, since: int) -> list[str]:
        """GATTS_WRITE events the firmware reported since line `since`."""
        return [x for x in self.fw.lines[since:] if x.startswith("EV 3 ")]


# --- 1. An L2CAP frame to a channel id nobody opened ------------------------------------------
@pytest.mark.parametrize(
    "cid",
    [
        pytest.param(0x0020, id="reserved-fixed"),
        pytest.param(0x003A, id="apple-probe"),
        pytest.param(0x0040, id="le-dynamic"),
        pytest.param(0x0080, id="beyond-le-dynamic"),
        pytest.param(0xFFFF, id="last"),
    ],
)
@run_async
async def test_frame_to_a_channel_nobody_opened_is_dropped(cid):
    # Nothing listens on the channel, so the frame is discarded, whole, and the link carries
    # on. Frames longer than one ACL fragment (the controller cuts at 27 bytes) once cost the
    # link: trouble-host refused the first fragment without starting a reassembly, got the
    # continuations, and dropped the link on a continuation it didn't expect.
    async with session() as (radio, fw, device):
        link = await Link.open(fw, device)
        for size in (4, 60, 300):
            device.send_l2cap_pdu(link.connection.handle, cid, bytes(i % 256 for i in range(size)))
            await link.works()


# --- 2. An ACL continuation fragment with no start ---------------------------------------------
def continuation(handle: int, payload: bytes) -> bytes:
    return acl(handle, payload, first=False)


@run_async
async def test_continuation_without_a_start_is_dropped():
    # A controller passes on what the air brought: a continuation (LLID 01) of nothing. It
    # belongs to no frame and is dropped; the link carries on.
    async with session(proxied=True) as (radio, fw, device):
        link = await Link.open(fw, device)
        live = int.from_bytes(connection_complete(fw.proxy)[5:7], "little")
        fw.proxy.inject(continuation(live, b"abcde"))
        await link.works()


@run_async
async def test_continuation_without_a_start_among_controller_junk():
    async with session(proxied=True) as (radio, fw, device):
        link = await Link.open(fw, device)
        live = int.from_bytes(connection_complete(fw.proxy)[5:7], "little")
        before = await fw.call("__import__('_trouble').stats()")
        nocp = lambda handle, n: event(0x13, b"\x01" + handle.to_bytes(2, "little") + n.to_bytes(2, "little"))
        junk = [
            nocp(live, 5),  # completions for packets never sent
            event(0xF0, b"\x01\x02"),  # an event code the host doesn't know
            acl(UNKNOWN, b"\x03\x00\x04\x00\x0a\x01\x00"),  # a Read Request on no link
            continuation(live, b"xyz"),
            nocp(UNKNOWN, 1),
            continuation(live, b"q" * 10),
        ]
        fw.proxy.inject(b"".join(junk))
        await link.works()
        after = await fw.call("__import__('_trouble').stats()")
        assert after["hci_unknown_handle"] > before["hci_unknown_handle"], (before, after)


# --- 3. An LTK request on a link with no bond -------------------------------------------------
async def encrypt_with_an_unknown_key(link: Link):
    """The peer (central) starts encryption with a key the firmware never had. The outcome:
    the HCI error the encryption failed with, 0 if it succeeded, or a text if the link closed."""
    outcome = asyncio.get_running_loop().create_future()
    link.connection.once("connection_encryption_failure", lambda e: outcome.done() or outcome.set_result(e))
    link.connection.once("connection_encryption_change", lambda: outcome.done() or outcome.set_result(0))
    link.connection.once("disconnection", lambda r: outcome.done() or outcome.set_result(f"link closed, {r}"))
    await link.device.send_command(
        hci.HCI_LE_Enable_Encryption_Command(
            connection_handle=link.connection.handle,
            random_number=bytes(8),
            encrypted_diversifier=0,
            long_term_key=bytes(range(16)),
        )
    )
    return await asyncio.wait_for(outcome, TIMEOUT)


@run_async
async def test_ltk_request_without_a_bond_gets_a_negative_reply():
    # The firmware's controller asks its host for the key (LE Long Term Key Request); with
    # none, the host answers LTK Negative Reply (Vol 4 Part E §7.8.26), the central's
    # encryption fails with PIN or Key Missing (Vol 6 Part B §5.1.3.1) and the link stays up,
    # unencrypted.
    async with session() as (radio, fw, device):
        link = await Link.open(fw, device)
        since = len(fw.lines)
        assert await encrypt_with_an_unknown_key(link) == PIN_OR_KEY_MISSING
        await link.works()
        assert not link.connection.is_encrypted
        assert not [x for x in fw.lines[since:] if x.startswith(f"EV 28 {link.handle} 1 ")]


class KeyReplyTooLate(HciProxy):
    """Reports every LTK Request Reply as failed with Unknown Connection Identifier, as the
    controller does when the peer left between its key request and the reply."""

    def __init__(self, radio) -> None:
        super().__init__(radio)
        self.rewritten = 0

    def on_packet(self, packet: bytes) -> None:
        p = bytearray(packet)
        # H4 event, Command Complete, length, ncmd, opcode 0x201a, status
        if p[:2] == b"\x04\x0e" and len(p) >= 7 and p[4:6] == b"\x1a\x20":
            p[6] = 0x02
            self.rewritten += 1
        super().on_packet(bytes(p))


@run_async
async def test_a_key_reply_too_late_costs_no_link():
    # trouble's control task ended on that error, and the stack with it: every link dropped
    # and the stack restarted. The reply has nothing left to do; the stack must go on.
    async with session(proxied=True, proxy_type=KeyReplyTooLate) as (radio, fw, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), mitm=False, bonding=False)
        link = await Link.open(fw, device)
        since = len(fw.lines)
        await asyncio.wait_for(link.connection.pair(), TIMEOUT)
        await fw.expect(rf"^EV 28 {link.handle} 1 0 0 16$", since)
        assert fw.proxy.rewritten >= 1
        await link.works()
        assert link.connection.is_encrypted


# --- 4. ATT PDUs longer than ATT_MTU ------------------------------------------------------------
@run_async
async def test_requests_longer_than_the_mtu_are_refused_and_change_nothing():
    # ATT_MTU (23 here: nobody exchanged) bounds every PDU (Vol 3 Part F §3.2.8). A longer
    # request is answered with Invalid PDU and changes nothing; a longer command is dropped.
    async with session() as (radio, fw, device):
        link = await Link.open(fw, device, buffer=400)  # room for the whole 300 bytes
        assert link.connection.att_mtu == 23
        vh = link.value_handle
        since = len(fw.lines)
        for request in (
            att.ATT_Write_Request(attribute_handle=vh, attribute_value=b"x" * 300),
            att.ATT_Write_Request(attribute_handle=vh, attribute_value=b"x" * 21),  # 24 bytes
            att.ATT_Prepare_Write_Request(attribute_handle=vh, value_offset=0, part_attribute_value=b"p" * 100),
        ):
            response = await link.request(request)
            assert isinstance(response, att.ATT_Error_Response), response
            assert (response.request_opcode_in_error, response.error_code) == (request.op_code, INVALID_PDU)
        await link.peer.gatt_client.send_command(att.ATT_Write_Command(attribute_handle=vh, attribute_value=b"y" * 300))
        # Nothing was queued by the refused Prepare Write: executing it writes nothing.
        response = await link.request(att.ATT_Execute_Write_Request(flags=1))
        assert isinstance(response, att.ATT_Execute_Write_Response), response
        await link.works()
        assert await fw.call(f"ble.gatts_read({vh})") == b"hello"
        assert not link.writes(since), fw.report()
        # Exactly ATT_MTU is a valid write.
        response = await link.request(att.ATT_Write_Request(attribute_handle=vh, attribute_value=b"z" * 20))
        assert isinstance(response, att.ATT_Write_Response), response
        await fw.expect(rf"^EV 3 {link.handle} {vh}$", since)
        assert await fw.call(f"ble.gatts_read({vh})") == b"z" * 20


@run_async
async def test_request_longer_than_any_att_pdu_is_refused():
    # Longer than the reassembly buffer (ATT_PDU_MAX, 527 bytes): still a request, which the
    # client waits for an answer to (for 30 s, then the bearer is lost, §3.3.3).
    async with session() as (radio, fw, device):
        link = await Link.open(fw, device)
        since = len(fw.lines)
        request = att.ATT_Write_Request(attribute_handle=link.value_handle, attribute_value=b"x" * 600)
        response = await link.request(request)
        assert isinstance(response, att.ATT_Error_Response), response
        assert (response.request_opcode_in_error, response.error_code) == (request.op_code, INVALID_PDU)
        await link.works()
        assert not link.writes(since), fw.report()


@run_async
async def test_notifications_longer_than_the_mtu_are_dropped():
    # The firmware as GATT client: a notification or indication longer than ATT_MTU is
    # invalid and not reported; the ones after it are.
    async with session() as (radio, fw, device):
        link = await Link.open(fw, device)
        since = len(fw.lines)
        send = lambda op, value: device.send_l2cap_pdu(link.connection.handle, 4, bytes([op, 0x42, 0x00]) + value)
        send(0x1B, b"N" * 21)  # 24 bytes
        send(0x1D, b"I" * 21)
        send(0x1B, b"n" * 20)  # 23 bytes: fine
        await fw.expect(rf"^EV 18 {link.handle} 66 {(b'n' * 20).hex()}$", since)
        send(0x1D, b"i" * 20)
        await fw.expect(rf"^EV 19 {link.handle} 66 {(b'i' * 20).hex()}$", since)
        assert [x.split()[0:2] for x in fw.lines[since:] if x.startswith(("EV 18", "EV 19"))] == [
            ["EV", "18"], ["EV", "19"]], fw.report()
        await link.works()


# --- 5. A legacy Pairing Request (no Secure Connections bit) -----------------------------------
def pairing_request(auth_req: int) -> bytes:
    """SMP Pairing Request: NoInputNoOutput, no OOB, `auth_req`, 16-byte keys, EncKey|IdKey."""
    return bytes([0x01, 0x03, 0x00, auth_req, 16, 0x03, 0x03])


async def smp_answer(device, connection, pdu: bytes) -> bytes:
    """Sends one SMP PDU from Bumble's side, bypassing its security manager; the answer."""
    got = asyncio.get_running_loop().create_future()
    original = device.smp_manager.on_smp_pdu
    device.smp_manager.on_smp_pdu = lambda c, p: got.done() or got.set_result(bytes(p))
    try:
        device.send_l2cap_pdu(connection.handle, 6, pdu)
        return await asyncio.wait_for(got, TIMEOUT)
    finally:
        device.smp_manager.on_smp_pdu = original


@run_async
async def test_legacy_pairing_request_under_the_default_configuration_is_accepted():
    # MicroPython's default (le_secure=False, as NimBLE): legacy pairing is allowed, so a
    # peer without Secure Connections gets a Pairing Response and pairs.
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), sc=False, mitm=False)
        async with firmware(radio) as fw:
            handle, connection = await bumble_connects(fw, device)
            for auth_req in (0x00, 0x01, 0x05):  # no bonding, bonding, bonding + MITM; no SC bit
                answer = await smp_answer(device, connection, pairing_request(auth_req))
                assert answer[0] == SMP_PAIRING_RESPONSE, answer.hex()
                await asyncio.wait_for(connection.disconnect(), TIMEOUT)
                handle, connection = await bumble_connects(fw, device)
            # And a whole legacy pairing (Just Works) completes.
            since = len(fw.lines)
            await asyncio.wait_for(connection.pair(), TIMEOUT)
            await fw.expect(rf"^EV 28 {handle} 1 0 1 16$", since)


@run_async
async def test_le_secure_refuses_legacy_pairing_and_the_link_lives():
    # le_secure=True requires Secure Connections (MicroPython's documentation): the legacy
    # request gets Pairing Failed (Authentication Requirements), the link carries on, and
    # switching the setting back allows legacy pairing again on the same link.
    async with radio_and_peer() as (radio, device):
        configure(device, Delegate(IO.NO_OUTPUT_NO_INPUT), sc=False, mitm=False)
        async with firmware(radio, config="le_secure=True") as fw:
            (value_handle, _), = await fw.call(REGISTER)
            await fw.call(f"ble.gatts_write({value_handle}, b'still here')")
            handle, connection = await bumble_connects(fw, device)
            assert await smp_answer(device, connection, pairing_request(0x01)) == bytes(
                [SMP_PAIRING_FAILED, AUTHENTICATION_REQUIREMENTS])
            assert await asyncio.wait_for(Peer(connection).read_value(value_handle), TIMEOUT) == b"still here"
            assert fw.alive() and not connection.is_encrypted
            await fw.call("ble.config(le_secure=False)")
            since = len(fw.lines)
            await asyncio.wait_for(connection.pair(), TIMEOUT)
            await fw.expect(rf"^EV 28 {handle} 1 0 1 16$", since)
