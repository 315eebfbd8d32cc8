"""One Bumble host on a virtual-radio controller, for measuring what the link carries.

The bench (python/bench.py) runs two of these, each in its own process like the two
firmware instances it compares with, on a fresh virtual radio with the same latency:

    link_peer.py server TTY          # GATT server + L2CAP server, advertises; prints READY
    link_peer.py client TTY ADDRESS  # connects, runs every measurement, prints RESULT lines

The client drives the whole run. What it measures mirrors the firmware bench: MTU 247
and 244-byte values for notifications and writes without response (each timed until the
peer has them all), 512-byte L2CAP SDUs, and median write and read round trips.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from bumble import l2cap
from bumble.core import UUID
from bumble.device import Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.transport import open_transport

SERVICE = UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')
CHAR = UUID('6e400002-b5a3-f393-e0a9-e50e24dcca9e')
PSM = 0x80
VALUE = 244
NOTIFY_COUNT, WNR_COUNT, RTT_COUNT = 2000, 2000, 50
L2CAP_TOTAL, L2CAP_SDU, L2CAP_MTU = 1 << 20, 512, 512
P = Characteristic.Properties


class ServerSide:
    """The GATT server: counts writes; a write of b'n<count>' starts a notification burst."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.written = 0
        self.l2cap_bytes = 0
        self.char = Characteristic(
            CHAR, P.READ | P.WRITE | P.WRITE_WITHOUT_RESPONSE | P.NOTIFY,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _c: bytes(VALUE), write=self.on_write))
        device.add_services([Service(SERVICE, [self.char])])
        device.create_l2cap_server(
            spec=l2cap.LeCreditBasedChannelSpec(psm=PSM, mtu=L2CAP_MTU, mps=247, max_credits=64),
            handler=self.on_channel)

    def on_write(self, connection, value: bytes) -> None:
        self.written += 1
        if value.startswith(b'n'):
            asyncio.get_running_loop().create_task(self.notify(connection, int(value[1:])))

    async def notify(self, connection, count: int) -> None:
        value = bytearray(VALUE)
        for i in range(count):
            value[0] = i & 255
            await self.device.notify_subscriber(connection, self.char, bytes(value))

    def on_channel(self, channel) -> None:
        def sink(sdu: bytes) -> None:
            self.l2cap_bytes += len(sdu)
            if self.l2cap_bytes >= L2CAP_TOTAL:
                channel.write(b'done')
        channel.sink = sink


async def server(tty: str) -> None:
    async with await open_transport(f'serial:{tty}') as hci:
        device = Device.with_hci('link-server', Address('F0:F1:F2:F3:F4:F5'), hci.source, hci.sink)
        ServerSide(device)
        await device.power_on()
        await device.start_advertising(auto_restart=False)
        print(f'READY {device.random_address}', flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def client(tty: str, address: str) -> None:
    async with await open_transport(f'serial:{tty}') as hci:
        device = Device.with_hci('link-client', Address('F6:F7:F8:F9:FA:FB'), hci.source, hci.sink)
        await device.power_on()
        connection = await device.connect(Address(address), timeout=10)
        peer = Peer(connection)
        mtu = await peer.request_mtu(247)
        print(f'RESULT link_mtu {mtu}', flush=True)
        await peer.discover_services([SERVICE])
        service = peer.get_services_by_uuid(SERVICE)[0]
        await service.discover_characteristics([CHAR])
        char = service.get_characteristics_by_uuid(CHAR)[0]
        await char.discover_descriptors()

        # Notifications: from the first to the last one received.
        got = {'n': 0, 't0': 0.0, 't1': 0.0}
        done = asyncio.get_running_loop().create_future()

        def on_value(_value: bytes) -> None:
            got['n'] += 1
            now = time.monotonic()
            if got['n'] == 1:
                got['t0'] = now
            if got['n'] == NOTIFY_COUNT and not done.done():
                got['t1'] = now
                done.set_result(None)

        await char.subscribe(on_value)
        await char.write_value(b'n%d' % NOTIFY_COUNT, with_response=True)
        await asyncio.wait_for(done, 120)
        # Per notification interval over the whole burst (the first one starts the clock).
        rate = (NOTIFY_COUNT - 1) * VALUE / (got['t1'] - got['t0'])
        print(f'RESULT link_notify {rate:.1f}', flush=True)

        # Writes without response, closed by one with response (ATT is in order).
        value = bytearray(VALUE)
        t0 = time.monotonic()
        for i in range(WNR_COUNT):
            value[0] = i & 255
            await char.write_value(bytes(value), with_response=False)
        await char.write_value(b'end', with_response=True)
        print(f'RESULT link_write_nr {WNR_COUNT * VALUE / (time.monotonic() - t0):.1f}', flush=True)

        # Round trips.
        rtts = []
        for _ in range(RTT_COUNT):
            t = time.monotonic()
            await char.write_value(bytes(VALUE), with_response=True)
            rtts.append(time.monotonic() - t)
        print(f'RESULT link_write_rtt_ms {statistics.median(rtts) * 1e3:.2f}', flush=True)
        rtts = []
        for _ in range(RTT_COUNT):
            t = time.monotonic()
            await char.read_value()
            rtts.append(time.monotonic() - t)
        print(f'RESULT link_read_rtt_ms {statistics.median(rtts) * 1e3:.2f}', flush=True)

        # L2CAP: 1 MiB in 512-byte SDUs, until the server says it has them all.
        channel = await connection.create_l2cap_channel(
            spec=l2cap.LeCreditBasedChannelSpec(psm=PSM, mtu=L2CAP_MTU, mps=247, max_credits=64))
        finished = asyncio.get_running_loop().create_future()
        channel.sink = lambda sdu: finished.done() or finished.set_result(sdu)
        t0 = time.monotonic()
        sent = 0
        while sent < L2CAP_TOTAL:
            channel.write(bytes(L2CAP_SDU))
            sent += L2CAP_SDU
            await channel.drain()
        await asyncio.wait_for(finished, 120)
        print(f'RESULT link_l2cap {L2CAP_TOTAL / (time.monotonic() - t0):.1f}', flush=True)
        await connection.disconnect()


class RawHost:
    """The least a host can be: H4 bytes on a controller's tty, no stack at all."""

    def __init__(self, tty: str) -> None:
        import os
        import termios
        import tty as ttymod

        self.fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
        ttymod.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self.buf = b''

    def send(self, data: bytes) -> None:
        import os

        while data:
            data = data[os.write(self.fd, data):]

    def command(self, opcode: int, params: bytes = b'') -> bytes:
        """Sends an HCI command and returns its Command Complete's return parameters."""
        self.send(bytes([1]) + opcode.to_bytes(2, 'little') + bytes([len(params)]) + params)
        while True:
            kind, body = self.packet()
            if kind == 4 and body[0] == 0x0E and int.from_bytes(body[3:5], 'little') == opcode:
                return body[5:]
            if kind == 4 and body[0] == 0x0F and int.from_bytes(body[4:6], 'little') == opcode:
                return body[2:3]

    def packet(self, timeout: float = 10.0):
        """The next H4 packet: (kind, body)."""
        import os
        import select

        while True:
            got = self._parse()
            if got:
                return got
            if not select.select([self.fd], [], [], timeout)[0]:
                raise TimeoutError('controller silent')
            self.buf += os.read(self.fd, 65536)

    def _parse(self):
        b = self.buf
        if not b:
            return None
        head = {2: 4, 4: 2}[b[0]]
        if len(b) < 1 + head:
            return None
        n = int.from_bytes(b[3:5], 'little') if b[0] == 2 else b[2]
        if len(b) < 1 + head + n:
            return None
        self.buf = b[1 + head + n:]
        return b[0], b[1:1 + head + n]


def raw(tty_a: str, tty_b: str, address_a: str) -> None:
    """The link's own capacity: A sends ACL packets of the controller's full size to B as
    fast as A's buffers come back, B counts what arrives; printed as payload bytes/s."""
    a, b = RawHost(tty_a), RawHost(tty_b)
    for h in (a, b):
        h.command(0x0C03)  # Reset
    size_total = a.command(0x2002)  # LE Read Buffer Size
    acl_len, credits = int.from_bytes(size_total[1:3], 'little'), size_total[3]
    # A advertises (ADV_IND, 20 ms), B connects to it.
    a.command(0x2006, (32).to_bytes(2, 'little') * 2 + bytes([0, 0, 0]) + bytes(6) + bytes([7, 0]))
    a.command(0x200A, b'\x01')
    peer = bytes(reversed(bytes.fromhex(address_a.replace(':', ''))))
    b.command(0x200D, (16).to_bytes(2, 'little') * 2 + b'\x00\x00' + peer + b'\x00'
              + (24).to_bytes(2, 'little') * 2 + b'\x00\x00' + (400).to_bytes(2, 'little') + b'\x00\x00' * 2)
    handle = None
    while handle is None:
        kind, body = a.packet()
        if kind == 4 and body[0] == 0x3E and body[2] == 0x01 and body[3] == 0:
            handle = int.from_bytes(body[4:6], 'little')
    # Each packet one whole L2CAP frame on a channel nobody serves (the controllers check frames).
    payload = (acl_len - 4).to_bytes(2, 'little') + (0x3F).to_bytes(2, 'little') + bytes(acl_len - 4)
    header = bytes([2]) + (handle | 0x0000).to_bytes(2, 'little') + acl_len.to_bytes(2, 'little')
    packet = header + payload
    total, received, t0 = 4000, 0, None
    sent = 0
    import os
    import select
    while received < total * acl_len:
        while credits and sent < total:
            a.send(packet)
            credits -= 1
            sent += 1
        ready = select.select([a.fd, b.fd], [], [], 10)[0]
        if not ready:
            raise TimeoutError('link stalled')
        if a.fd in ready:
            a.buf += os.read(a.fd, 65536)
            while (got := a._parse()) is not None:
                kind, body = got
                if kind == 4 and body[0] == 0x13:  # Number Of Completed Packets
                    for i in range(body[2]):
                        credits += int.from_bytes(body[5 + 4 * i:7 + 4 * i], 'little')
        if b.fd in ready:
            b.buf += os.read(b.fd, 65536)
            while (got := b._parse()) is not None:
                kind, body = got
                if kind == 2:
                    received += int.from_bytes(body[2:4], 'little')
                    if t0 is None:
                        t0 = time.monotonic()
    rate = (received - acl_len) / (time.monotonic() - t0)
    print(f'RESULT link_acl {rate:.1f}', flush=True)
    print(f'RESULT link_acl_len {acl_len}', flush=True)


def main() -> None:
    role, tty = sys.argv[1], sys.argv[2]
    if role == 'server':
        asyncio.run(server(tty))
    elif role == 'raw':
        raw(tty, sys.argv[3], sys.argv[4])
    else:
        asyncio.run(client(tty, sys.argv[3]))


if __name__ == '__main__':
    main()
