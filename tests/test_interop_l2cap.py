"""L2CAP credit-based channels between the firmware and an independent host (Bumble).

Both directions of channel set-up, data both ways checked byte for byte (SDUs of varying
length, segmented on both sides), a Bumble server that grants few credits (the firmware must
wait for them), refusal of an unknown PSM, and a peer that breaks the rules: frames beyond its
credits, an SDU longer than the MTU, a frame longer than the MPS and malformed signalling must
close the channel (or be answered), never hurt the firmware.
"""

from __future__ import annotations

import asyncio
import struct

from test_interop_gap import PEER, RANDOM, PEER_HEX, ADV, firmware_connects, run_async, until
from fwproc import TIMEOUT, Firmware, agent
from vradio import VirtualRadio  # noqa: E402  (test_interop_gap puts python/ on sys.path)

from bumble import l2cap  # noqa: E402

PSM = 0x80
ACCEPT, CONNECT, DISCONNECT = 22, 23, 24
SIGNALLING = 0x0005

# Received bytes collect per channel id in `rx` (unless `pause` is non-empty: then they wait
# in the backend, holding their credits); `send_all` queues SDUs, waiting out stalls.
AGENT = agent("""
import time
rx = {}
ready = {}
pause = []
def irq(ev, data):
    if ev == 25:
        if pause:
            return
        conn, cid = data
        buf = bytearray(1024)
        while True:
            n = ble.l2cap_recvinto(conn, cid, buf)
            if not n:
                break
            rx[cid] = rx.get(cid, b'') + bytes(buf[:n])
        return
    if ev == 26:
        ready[data[1]] = True
        return
    print('EV', ev, *(bytes(x).hex() if isinstance(x, memoryview) else x for x in data))
def send_all(conn, cid, sdus):
    stalls = 0
    for s in sdus:
        ready[cid] = False
        if not ble.l2cap_send(conn, cid, s):
            stalls += 1
            t = time.ticks_ms()
            while not ready[cid]:
                if time.ticks_diff(time.ticks_ms(), t) > 5000:
                    raise OSError('no SEND_READY')
                time.sleep_ms(1)
    return stalls
""")


def sdus(seed: int, count: int, mtu: int) -> list[bytes]:
    """count SDUs of lengths 1..mtu with contents derived from seed."""
    out = []
    for i in range(count):
        n = 1 + (i * 131 + seed) % mtu
        out.append(bytes((seed + i * 7 + j) & 0xFF for j in range(n)))
    return out


async def session(radio):
    device = radio.add_host_device("bumble", PEER)
    await device.power_on()
    return device


async def bumble_connects(fw, device, since):
    """Bumble connects to the advertising firmware; returns (fw handle, Bumble connection)."""
    await fw.call(f"ble.gap_advertise(50000, {ADV!r})")
    connection = await device.connect(fw.address, own_address_type=RANDOM, timeout=TIMEOUT)
    handle = int((await fw.expect(rf"^EV 1 (\d+) 1 {PEER_HEX}$", since))[1])
    return handle, connection


async def fw_rx(fw, cid: int, length: int) -> bytes:
    """Waits until the firmware has received length bytes on cid; returns them."""
    async def enough():
        while (await fw.call(f"len(rx.get({cid}, b''))")) < length:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(enough(), 4 * TIMEOUT)
    return bytes.fromhex(await fw.call(f"rx[{cid}].hex()"))


def firmware_session():
    class Session:
        async def __aenter__(self):
            self.radio = VirtualRadio(count=1)
            await self.radio.__aenter__()
            self.device = await session(self.radio)
            self.fw = Firmware(AGENT, self.radio.endpoints[0])
            await self.fw.__aenter__()
            await self.fw.ready()
            self.fw.address = self.radio.controllers[0].public_address
            return self

        async def __aexit__(self, *exc):
            await self.fw.__aexit__(*exc)
            await self.radio.__aexit__(*exc)

    return Session()


@run_async
async def test_bumble_opens_channel_to_firmware_and_data_flows_both_ways():
    async with firmware_session() as s:
        fw, device = s.fw, s.device
        assert await fw.call(f"ble.l2cap_listen({PSM}, 512)") is None
        since = len(fw.lines)
        handle, connection = await bumble_connects(fw, device, since)
        channel = await connection.create_l2cap_channel(
            spec=l2cap.LeCreditBasedChannelSpec(psm=PSM, mtu=600, mps=100, max_credits=8))
        m = await fw.expect(rf"^EV {ACCEPT} {handle} (\d+) {PSM} 512 600$", since)
        cid = int(m[1])
        await fw.expect(rf"^EV {CONNECT} {handle} {cid} {PSM} 512 600$", since)
        assert channel.peer_mtu == 512

        # Bumble -> firmware: 40 SDUs up to 512 bytes in 100-byte frames.
        sent = sdus(3, 40, 512)
        for sdu in sent:
            channel.write(sdu)
        await asyncio.wait_for(channel.drain(), 4 * TIMEOUT)
        assert await fw_rx(fw, cid, sum(map(len, sent))) == b"".join(sent)

        # Firmware -> Bumble: SDU boundaries arrive as sent.
        got = []
        channel.sink = got.append
        back = sdus(9, 40, 512)
        await fw.call(f"send_all({handle}, {cid}, {back!r})")
        await until(lambda: len(got) == len(back), 4 * TIMEOUT)
        assert got == back

        # Bumble closes the channel: the firmware reports it, the cid is gone.
        await asyncio.wait_for(channel.disconnect(), TIMEOUT)
        await fw.expect(rf"^EV {DISCONNECT} {handle} {cid} {PSM} 0$", since)
        assert (await fw.call_fails(f"ble.l2cap_send({handle}, {cid}, b'x')")).startswith("OSError(22")


@run_async
async def test_firmware_opens_channel_to_stingy_bumble_server():
    async with firmware_session() as s:
        fw, device = s.fw, s.device
        channels = []
        got = []

        def on_channel(channel):
            channel.sink = got.append
            channels.append(channel)

        # Two credits at a time, 50-byte frames: the firmware has to wait for every top-up.
        device.create_l2cap_server(
            spec=l2cap.LeCreditBasedChannelSpec(psm=PSM + 1, mtu=300, mps=50, max_credits=2),
            handler=on_channel)
        handle, connection = await firmware_connects(fw, device)
        since = len(fw.lines)

        # Nobody listens on PSM: refused with result 2.
        await fw.call(f"ble.l2cap_connect({handle}, {PSM}, 256)")
        m = await fw.expect(rf"^EV {DISCONNECT} {handle} (\d+) {PSM} 2$", since)

        await fw.call(f"ble.l2cap_connect({handle}, {PSM + 1}, 256)")
        m = await fw.expect(rf"^EV {CONNECT} {handle} (\d+) {PSM + 1} 256 300$", since)
        cid = int(m[1])
        await until(lambda: channels)
        out = sdus(5, 30, 300)
        stalls = await fw.call(f"send_all({handle}, {cid}, {out!r})")
        await until(lambda: len(got) == len(out), 4 * TIMEOUT)
        assert got == out
        assert stalls > 0  # the queue filled while credits trickled in

        # The firmware closes; Bumble sees the channel go.
        closed = asyncio.get_running_loop().create_future()
        channels[0].once("close", lambda: closed.set_result(True))
        await fw.call(f"ble.l2cap_disconnect({handle}, {cid})")
        await fw.expect(rf"^EV {DISCONNECT} {handle} {cid} {PSM + 1} 0$", since)
        await asyncio.wait_for(closed, TIMEOUT)


@run_async
async def test_peer_breaking_the_rules_loses_the_channel_not_the_firmware():
    async with firmware_session() as s:
        fw, device = s.fw, s.device
        assert await fw.call(f"ble.l2cap_listen({PSM}, 200)") is None
        since = len(fw.lines)
        handle, connection = await bumble_connects(fw, device, since)
        bumble_handle = connection.handle
        channel_manager = device.l2cap_channel_manager

        async def open_channel():
            start = len(fw.lines)
            channel = await connection.create_l2cap_channel(
                spec=l2cap.LeCreditBasedChannelSpec(psm=PSM, mtu=200, mps=100, max_credits=4))
            cid = int((await fw.expect(rf"^EV {CONNECT} {handle} (\d+) {PSM} 200 200$", start))[1])
            return channel, cid, start

        def raw(cid: int, payload: bytes) -> None:
            channel_manager.send_pdu(connection, cid, payload)

        # An SDU announced longer than our MTU (200).
        channel, cid, start = await open_channel()
        raw(cid, struct.pack("<H", 201) + bytes(10))
        await fw.expect(rf"^EV {DISCONNECT} {handle} {cid} {PSM} 0$", start)
        await until(lambda: channel.state != channel.State.CONNECTED)

        # A frame longer than our MPS (247 bytes of payload at most).
        channel, cid, start = await open_channel()
        raw(cid, struct.pack("<H", 198) + bytes(248))
        await fw.expect(rf"^EV {DISCONNECT} {handle} {cid} {PSM} 0$", start)

        # More frames than credits granted: each claims a 1-byte SDU. The firmware doesn't
        # read meanwhile, so no credits come back.
        channel, cid, start = await open_channel()
        await fw.call("pause.append(1)")
        granted = channel.credits
        assert granted > 0
        for _ in range(granted + 1):
            raw(cid, struct.pack("<H", 1) + b"z")
        await fw.expect(rf"^EV {DISCONNECT} {handle} {cid} {PSM} 0$", start)

        # Malformed and unknown signalling: answered with Command Reject, nothing else.
        rejects = []
        original = channel_manager.on_control_frame

        def spy(conn, cid, frame):
            if frame.code == l2cap.CommandCode.L2CAP_COMMAND_REJECT:
                rejects.append(frame)
            return original(conn, cid, frame)

        channel_manager.on_control_frame = spy
        raw(SIGNALLING, bytes([0x14, 7, 10, 0, 0x80]))  # truncated connection request
        raw(SIGNALLING, bytes([0x16, 8, 2, 0, 0x40]))  # truncated credit indication
        await until(lambda: len(rejects) == 2)

        # The firmware is fine: the link is up and a new channel works.
        await fw.call("pause.pop()")
        channel, cid, start = await open_channel()
        channel.write(b"still here")
        assert await fw_rx(fw, cid, 10) == b"still here"
        assert bumble_handle == connection.handle
