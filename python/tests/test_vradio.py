"""Each correction to stock Bumble controllers, seen from a host; plus the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

from bumble import hci
from bumble.core import AdvertisingData
from bumble.device import AdvertisingType
from bumble.gatt import GATT_DEVICE_NAME_CHARACTERISTIC

from hcihost import RawHost, connect_pair, run_async
from vradio import VirtualRadio

Report = hci.HCI_LE_Advertising_Report_Event
ExtReport = hci.HCI_LE_Extended_Advertising_Report_Event
Complete = hci.HCI_LE_Connection_Complete_Event
Disconnected = hci.HCI_Disconnection_Complete_Event
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hosts(radio: VirtualRadio, count: int) -> list[RawHost]:
    return [RawHost(radio.add_controller()) for _ in range(count)]


def reports_from(host: RawHost, address: hci.Address) -> list:
    return [r for e in host.of(Report) for r in e.reports if r.address == address]


@run_async
async def test_each_controller_has_a_distinct_public_address():
    async with VirtualRadio(count=0) as radio:
        addresses = set()
        for host in hosts(radio, 3):
            event = await host.command(hci.HCI_Read_BD_ADDR_Command())
            addresses.add(event.return_parameters.bd_addr.to_string(False))
        assert len(addresses) == 3 and '00:00:00:00:00:00' not in addresses


@run_async
async def test_acl_between_public_addresses_is_delivered_fragmented_and_acked():
    async with VirtualRadio(count=0) as radio:
        a, b = hosts(radio, 2)
        central, peripheral = await connect_pair(a, b)
        payload = bytes(range(100))
        pdu = len(payload).to_bytes(2, 'little') + b'\x04\x00' + payload  # L2CAP, ATT CID
        since_a, since_b = len(a.packets), len(b.packets)
        for offset in range(0, len(pdu), 27):
            chunk = pdu[offset : offset + 27]
            b.send(hci.HCI_AclDataPacket(central, 0 if offset == 0 else 1, 0, len(chunk), chunk))
        await a.wait_for(lambda p: isinstance(p, hci.HCI_AclDataPacket), since_a)
        await asyncio.sleep(0.1)
        fragments = a.of(hci.HCI_AclDataPacket, since_a)
        assert b''.join(f.data for f in fragments) == pdu
        assert all(len(f.data) <= a.controller.le_acl_data_packet_length for f in fragments)
        assert [f.pb_flag for f in fragments] == [2] + [1] * (len(fragments) - 1)
        assert {f.connection_handle for f in fragments} == {peripheral}
        acked = sum(
            sum(e.num_completed_packets)
            for e in b.of(hci.HCI_Number_Of_Completed_Packets_Event, since_b)
        )
        assert acked == len(range(0, len(pdu), 27))


@run_async
async def test_legacy_scanner_gets_legacy_reports_and_only_active_gets_scan_response():
    async with VirtualRadio(count=0) as radio:
        adv, passive, active = hosts(radio, 3)
        await passive.scan(active=False)
        await active.scan(active=True)
        await adv.advertise(adv_type=0, data=b'\x02\x01\x06', scan_data=b'\x04\x09abc')
        address = adv.controller.public_address
        await active.wait_for(lambda p: isinstance(p, Report) and p.reports[0].event_type == 4)
        await asyncio.sleep(0.1)
        assert not passive.of(ExtReport) and not active.of(ExtReport)
        by_type = {r.event_type: r.data for r in reports_from(active, address)}
        assert by_type == {0: b'\x02\x01\x06', 4: b'\x04\x09abc'}
        assert {r.event_type for r in reports_from(passive, address)} == {0}


@run_async
async def test_advertising_type_is_honoured():
    async with VirtualRadio(count=0) as radio:
        scanner, *advertisers = hosts(radio, 4)
        await scanner.scan(active=True)
        await advertisers[0].advertise(adv_type=2, data=b'\x02\x01\x04', scan_data=b'\x02\x09s')
        await advertisers[1].advertise(adv_type=3, data=b'\x02\x01\x04', scan_data=b'\x02\x09n')
        await advertisers[2].advertise(adv_type=4, peer=scanner.controller.public_address)
        await asyncio.sleep(0.3)
        seen = [
            {(r.event_type, r.data) for r in reports_from(scanner, a.controller.public_address)}
            for a in advertisers
        ]
        assert seen[0] == {(2, b'\x02\x01\x04'), (4, b'\x02\x09s')}
        assert seen[1] == {(3, b'\x02\x01\x04')}
        assert seen[2] == {(1, b'')}


@run_async
async def test_directed_advertising_reaches_only_its_target():
    async with VirtualRadio(count=0) as radio:
        adv, target, other = hosts(radio, 3)
        await other.scan()
        await target.scan()
        await adv.advertise(adv_type=4, peer=target.controller.public_address)
        await asyncio.sleep(0.2)
        assert {r.event_type for r in reports_from(target, adv.controller.public_address)} == {1}
        assert not reports_from(other, adv.controller.public_address)


@run_async
async def test_non_connectable_advertiser_is_seen_but_refuses_connections():
    async with VirtualRadio(count=0) as radio:
        for adv_type in (2, 3):
            adv, central = hosts(radio, 2)
            await central.scan()
            await adv.advertise(adv_type=adv_type)
            await central.wait_for(
                lambda p: isinstance(p, Report) and p.reports[0].event_type == adv_type
            )
            await central.command(
                hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=0, filter_duplicates=0)
            )
            await central.create_connection(adv.controller.public_address)
            assert await central.absent(lambda p: isinstance(p, Complete), duration=0.3)
            assert not adv.of(Complete) and not adv.controller.le_connections


@run_async
async def test_unknown_command_gets_command_complete_unknown():
    async with VirtualRadio(count=0) as radio:
        (host,) = hosts(radio, 1)
        for op_code in (0xFC34, 0x2099):  # vendor-specific; unassigned LE OCF
            event = await host.command(
                hci.HCI_Command(b'\x01', op_code=op_code), expect_status=None
            )
            assert isinstance(event, hci.HCI_Command_Complete_Event)
            assert event.return_parameters.data == b'\x01'


@run_async
async def test_cancel_of_connection_to_silent_address_completes_with_0x02():
    async with VirtualRadio(count=0) as radio:
        (host,) = hosts(radio, 1)
        silent = hci.Address('F0:00:00:00:99:99', hci.Address.PUBLIC_DEVICE_ADDRESS)
        await host.create_connection(silent)
        assert await host.absent(lambda p: isinstance(p, Complete), duration=0.4)
        since = len(host.packets)
        await host.command(hci.HCI_LE_Create_Connection_Cancel_Command())
        event = await host.connection_complete(since)
        assert event.status == hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR
        kinds = [type(p) for p in host.packets[since:]]
        assert kinds.index(hci.HCI_Command_Complete_Event) < kinds.index(Complete)
        await host.command(hci.HCI_LE_Create_Connection_Cancel_Command(), expect_status=0x0C)


@run_async
async def test_bumble_advertising_set_reaches_legacy_scanner_with_its_scan_response():
    async with VirtualRadio(count=0) as radio:
        (scanner,) = hosts(radio, 1)
        device = radio.add_host_device('peer', 'F5:00:00:00:00:01')
        await device.power_on()
        await scanner.scan(active=True)
        name = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, b'peer')]))
        await device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED_SCANNABLE,
            advertising_data=b'\x02\x01\x06',
            scan_response_data=name,
        )
        assert device.legacy_advertising_set is not None  # extended commands, legacy PDUs
        await scanner.wait_for(lambda p: isinstance(p, Report) and p.reports[0].event_type == 4)
        by_type = {r.event_type: r.data for r in reports_from(scanner, device.random_address)}
        assert by_type == {2: b'\x02\x01\x06', 4: name}


@run_async
async def test_link_latency_delays_and_keeps_order():
    async with VirtualRadio(count=0, latency_ms=50) as radio:
        loop = asyncio.get_running_loop()
        start, arrivals = loop.time(), []
        for i in range(200):
            radio.link.deliver(lambda i=i: arrivals.append((i, loop.time() - start)))
        await asyncio.sleep(0.2)
        assert [i for i, _ in arrivals] == list(range(200))
        assert min(t for _, t in arrivals) >= 0.05
        adv, scanner = hosts(radio, 2)
        await scanner.scan()
        enabled = loop.time()
        await adv.advertise()
        await scanner.wait_for(lambda p: isinstance(p, Report))
        assert loop.time() - enabled >= 0.05


@run_async
async def test_advertising_interval_is_in_0_625_ms_units():
    async with VirtualRadio(count=0, latency_ms=0) as radio:
        adv, scanner = hosts(radio, 2)
        await scanner.scan()
        await adv.advertise(interval=0x00C8)  # 125 ms; stock Bumble waits 200 ms
        await asyncio.sleep(1.0)
        assert len(reports_from(scanner, adv.controller.public_address)) >= 7


@run_async
async def test_disconnect_is_reported_to_both_sides():
    async with VirtualRadio(count=0) as radio:
        for initiator in (0, 1):
            a, b = hosts(radio, 2)
            handles = await connect_pair(a, b)
            hosts_by_side = (b, a)  # central first, as handles are
            local, remote = hosts_by_side[initiator], hosts_by_side[1 - initiator]
            await local.command(
                hci.HCI_Disconnect_Command(connection_handle=handles[initiator], reason=0x13)
            )
            mine = await local.wait_for(lambda p: isinstance(p, Disconnected))
            theirs = await remote.wait_for(lambda p: isinstance(p, Disconnected))
            assert mine.reason == hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR
            assert theirs.reason == 0x13 and theirs.connection_handle == handles[1 - initiator]
            assert not a.controller.le_connections and not b.controller.le_connections


@run_async
async def test_reset_drops_connections_and_peer_sees_timeout():
    async with VirtualRadio(count=0) as radio:
        a, b = hosts(radio, 2)
        await connect_pair(a, b)
        await a.command(hci.HCI_Reset_Command())
        event = await b.wait_for(lambda p: isinstance(p, Disconnected))
        assert event.reason == hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
        assert not a.controller.le_connections and not a.controller.is_advertising


@run_async
async def test_high_duty_directed_advertising_times_out():
    async with VirtualRadio(count=0) as radio:
        adv, target = hosts(radio, 2)
        await adv.advertise(adv_type=1, peer=target.controller.public_address)
        event = await adv.connection_complete(timeout=3.0)
        assert event.status == hci.HCI_ErrorCode.ADVERTISING_TIMEOUT_ERROR


@run_async
async def test_bumble_hosts_with_public_addresses_talk_gatt():
    async with VirtualRadio(count=0) as radio:
        peripheral = radio.add_host_device('gatt-server', 'F5:00:00:00:00:02')
        central = radio.add_host_device('gatt-client', 'F5:00:00:00:00:03')
        await peripheral.power_on()
        await central.power_on()
        await peripheral.start_advertising(own_address_type=hci.OwnAddressType.PUBLIC)
        connection = await central.connect(
            peripheral.public_address, own_address_type=hci.OwnAddressType.PUBLIC, timeout=5
        )
        values = await asyncio.wait_for(
            connection.gatt_client.read_characteristics_by_uuid(
                GATT_DEVICE_NAME_CHARACTERISTIC, None
            ),
            5,
        )
        assert values == [b'gatt-server']


@run_async
async def test_btsnoop_log_per_controller(tmp_path):
    async with VirtualRadio(count=0, btsnoop_dir=tmp_path) as radio:
        (host,) = hosts(radio, 1)
        await host.command(hci.HCI_Reset_Command())
    data = (tmp_path / 'controller0.btsnoop').read_bytes()
    assert data[:8] == b'btsnoop\0' and int.from_bytes(data[12:16], 'big') == 1002  # H4
    first_length = int.from_bytes(data[16:20], 'big')
    assert data[40 : 40 + first_length] == bytes(hci.HCI_Reset_Command())


@run_async
async def test_tcp_server_transport_serves_h4():
    async with VirtualRadio(count=1, transport='tcp-server:127.0.0.1:0') as radio:
        host, port = radio.endpoints[0].rsplit(':', 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(bytes(hci.HCI_Reset_Command()))
        assert await asyncio.wait_for(reader.readexactly(7), 5) == bytes.fromhex('040e0401030c00')
        writer.close()


def read_exactly(fd: int, count: int, timeout: float = 5.0) -> bytes:
    data, deadline = b'', time.monotonic() + timeout
    while len(data) < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f'timed out after {data.hex()}'
        data += os.read(fd, count - len(data))
    return data


def test_cli_ready_line_pty_reset_and_sigterm():
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'vradio', '--count', '2'],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith('READY '), (
            line,
            proc.stderr.read() if proc.poll() is not None else '',
        )
        controllers = json.loads(line[len('READY ') :])['controllers']
        assert [c['index'] for c in controllers] == [0, 1]
        assert len({c['address'] for c in controllers}) == 2
        for controller in controllers:
            fd = os.open(controller['endpoint'], os.O_RDWR | os.O_NOCTTY)
            try:
                os.write(fd, bytes(hci.HCI_Reset_Command()))
                assert read_exactly(fd, 7) == bytes.fromhex('040e0401030c00')
            finally:
                os.close(fd)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_exits_when_stdin_closes():
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'vradio', '--count', '1', '--transport', 'tcp-server:127.0.0.1:0'],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        endpoint = json.loads(proc.stdout.readline()[len('READY ') :])['controllers'][0][
            'endpoint'
        ]
        host, port = endpoint.rsplit(':', 1)
        socket.create_connection((host, int(port)), timeout=5).close()
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
