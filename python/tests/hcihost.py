"""A scripted legacy-HCI host for tests: sends raw HCI packets, records what comes back."""

from __future__ import annotations

import asyncio
import functools

from bumble import hci

ANY = hci.Address.ANY


def run_async(fn):
    """Run an async test body in a fresh event loop, with an overall timeout."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 30))

    return wrapper


class RawHost:
    """Host end of one controller, speaking only the legacy LE commands a firmware uses."""

    def __init__(self, controller) -> None:
        self.controller = controller
        self.packets: list[hci.HCI_Packet] = []
        self._arrived = asyncio.Event()
        controller.host = self

    def on_packet(self, data: bytes) -> None:
        self.packets.append(hci.HCI_Packet.from_bytes(data))
        self._arrived.set()

    def send(self, packet) -> None:
        """Hand one packet (object or bytes) to the controller."""
        self.controller.on_packet(bytes(packet))

    async def wait_for(self, predicate, since: int = 0, timeout: float = 2.0):
        """The first packet at index >= since matching predicate; TimeoutError if none."""

        async def scan():
            index = since
            while True:
                while index < len(self.packets):
                    if predicate(self.packets[index]):
                        return self.packets[index]
                    index += 1
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def absent(self, predicate, since: int = 0, duration: float = 0.3) -> bool:
        """True if no matching packet arrives within `duration`."""
        try:
            await self.wait_for(predicate, since, duration)
        except TimeoutError:
            return True
        return False

    def of(self, cls, since: int = 0) -> list:
        """Received packets of one class."""
        return [p for p in self.packets[since:] if isinstance(p, cls)]

    async def command(self, command, expect_status: int | None = 0):
        """Send a command and return its Command Complete/Status event."""
        since = len(self.packets)
        self.send(command)
        event = await self.wait_for(
            lambda p: isinstance(p, (hci.HCI_Command_Complete_Event, hci.HCI_Command_Status_Event))
            and p.command_opcode == command.op_code,
            since,
        )
        if expect_status is not None:
            assert status_of(event) == expect_status, event
        return event

    async def advertise(self, adv_type=0, data=b'', scan_data=b'', own=0, peer=ANY, interval=0x20):
        """Legacy advertising, as LE Set Advertising Parameters/Data/Enable does it."""
        await self.command(
            hci.HCI_LE_Set_Advertising_Parameters_Command(
                advertising_interval_min=interval,
                advertising_interval_max=interval,
                advertising_type=adv_type,
                own_address_type=own,
                peer_address_type=peer.address_type,
                peer_address=peer,
                advertising_channel_map=7,
                advertising_filter_policy=0,
            )
        )
        await self.command(hci.HCI_LE_Set_Advertising_Data_Command(advertising_data=data))
        await self.command(hci.HCI_LE_Set_Scan_Response_Data_Command(scan_response_data=scan_data))
        await self.command(hci.HCI_LE_Set_Advertising_Enable_Command(advertising_enable=1))

    async def scan(self, active=False, own=0):
        """Legacy scanning, as LE Set Scan Parameters/Enable does it."""
        await self.command(
            hci.HCI_LE_Set_Scan_Parameters_Command(
                le_scan_type=1 if active else 0,
                le_scan_interval=0x10,
                le_scan_window=0x10,
                own_address_type=own,
                scanning_filter_policy=0,
            )
        )
        await self.command(
            hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=1, filter_duplicates=0)
        )

    async def create_connection(self, peer: hci.Address, own=0):
        """LE Create Connection (legacy), answered by Command Status."""
        await self.command(
            hci.HCI_LE_Create_Connection_Command(
                le_scan_interval=0x10,
                le_scan_window=0x10,
                initiator_filter_policy=0,
                peer_address_type=peer.address_type,
                peer_address=peer,
                own_address_type=own,
                connection_interval_min=24,
                connection_interval_max=40,
                max_latency=0,
                supervision_timeout=400,
                min_ce_length=0,
                max_ce_length=0,
            )
        )

    async def connection_complete(self, since: int = 0, timeout: float = 2.0):
        """The next LE Connection Complete event."""
        return await self.wait_for(
            lambda p: isinstance(p, hci.HCI_LE_Connection_Complete_Event), since, timeout
        )


def status_of(event) -> int:
    """Status of a Command Complete or Command Status event."""
    if isinstance(event, hci.HCI_Command_Status_Event):
        return event.status
    parameters = event.return_parameters
    if hasattr(parameters, 'status'):
        return parameters.status
    return bytes(parameters)[0] if not hasattr(parameters, 'data') else parameters.data[0]


async def connect_pair(a: RawHost, b: RawHost):
    """A advertises connectably with its public address; B connects with its public one."""
    await a.advertise(adv_type=0)
    await b.create_connection(a.controller.public_address)
    central = await b.connection_complete()
    peripheral = await a.connection_complete()
    assert central.status == 0 and peripheral.status == 0
    return central.connection_handle, peripheral.connection_handle
