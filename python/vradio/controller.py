"""A Bumble software controller corrected to behave like a real one towards a legacy host."""

from __future__ import annotations

import logging
from typing import Callable

from bumble import controller as bumble_controller
from bumble import hci, ll
from bumble.core import PhysicalTransport
from bumble.snoop import Snooper

from vradio.advertising import (
    AdvertisingSet,
    ConnectRsp,
    Kind,
    LegacyAdvertiser,
    LegacyAdvPdu,
)

logger = logging.getLogger(__name__)

Error = hci.HCI_ErrorCode
ExtEventType = hci.HCI_LE_Extended_Advertising_Report_Event.EventType
# Extended report event types of legacy PDUs (Core Vol 4 Part E 7.7.65.13).
EXT_EVENT_TYPE_OF_KIND = {
    Kind.ADV_IND: 0x13,
    Kind.ADV_DIRECT_IND: 0x15,
    Kind.ADV_SCAN_IND: 0x12,
    Kind.ADV_NONCONN_IND: 0x10,
}
LEGACY_SCAN_RSP = 0x04
RSSI = -50


def public_address_for(index: int) -> hci.Address:
    """The deterministic, distinct public address of controller `index`."""
    number = index + 1
    return hci.Address(
        f'F0:00:00:00:{number >> 8:02X}:{number & 0xFF:02X}',
        hci.Address.PUBLIC_DEVICE_ADDRESS,
    )


class VirtualController(bumble_controller.Controller):
    """Bumble Controller with the corrections a legacy-HCI host needs."""

    # Implemented by stock Bumble but not announced, so Bumble hosts fall back to the legacy
    # command, which (correctly, here) cannot connect to extended advertising.
    supported_commands = bumble_controller.Controller.supported_commands | {
        hci.HCI_LE_EXTENDED_CREATE_CONNECTION_COMMAND
    }

    def __init__(
        self,
        name: str,
        *,
        link,
        public_address: hci.Address,
        host_source=None,
        host_sink=None,
        snooper: Snooper | None = None,
    ) -> None:
        self.snooper = snooper
        super().__init__(name, host_source, host_sink, link, public_address)
        self.le_legacy_advertiser = LegacyAdvertiser(self)
        self.scan_mode: str | None = None  # 'legacy' or 'extended': what the host used
        self.scan_active = False
        self.connect_in_flight = False
        self.cancel_requested = False
        self._after_complete: list[Callable[[], None]] = []

    # --- HCI transport, snooped -------------------------------------------------------
    def on_packet(self, packet: bytes) -> None:
        if self.snooper:
            self.snooper.snoop(packet, Snooper.Direction.HOST_TO_CONTROLLER)
        try:
            super().on_packet(packet)
        except Exception:  # an escaping error would close the transport for good
            logger.exception('[%s] failed to handle %s', self.name, packet.hex())

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.CONTROLLER_TO_HOST)
        super().send_hci_packet(packet)

    def on_hci_command_packet(self, command: hci.HCI_Command) -> None:
        handler = getattr(self, f'on_{command.name.lower()}', None)
        if handler is None and not isinstance(command, hci.HCI_SyncCommand):
            # Stock Bumble answers nothing here and the host waits forever.
            self.send_hci_packet(
                hci.HCI_Command_Complete_Event(
                    num_hci_command_packets=1,
                    command_opcode=command.op_code,
                    return_parameters=hci.HCI_StatusReturnParameters(
                        Error.UNKNOWN_HCI_COMMAND_ERROR
                    ),
                )
            )
            return
        super().on_hci_command_packet(command)
        actions, self._after_complete = self._after_complete, []
        for action in actions:
            action()

    def on_hci_reset_command(self, command):
        """Back to power-on state; peers of dropped links see a supervision timeout."""
        self.le_legacy_advertiser.stop()
        self.le_legacy_advertiser = LegacyAdvertiser(self)
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        self.advertising_sets.clear()
        self.le_scan_enable = False
        self.scan_mode = None
        self.pending_le_connection = None
        self.connect_in_flight = self.cancel_requested = False
        for connection in list(self.le_connections.values()):
            connection.send_ll_control_pdu(ll.TerminateInd(Error.CONNECTION_TIMEOUT_ERROR))
        self.le_connections.clear()
        self.event_mask = self.le_event_mask = 0
        return super().on_hci_reset_command(command)

    # --- scanning ---------------------------------------------------------------------
    def on_hci_le_set_scan_parameters_command(self, command):
        result = super().on_hci_le_set_scan_parameters_command(command)
        if result.status == Error.SUCCESS:
            self.scan_active = command.le_scan_type == 1
        return result

    def on_hci_le_set_scan_enable_command(self, command):
        self.scan_mode = 'legacy'
        return super().on_hci_le_set_scan_enable_command(command)

    def on_hci_le_set_extended_scan_parameters_command(self, command):
        self.scan_active = any(t == 1 for t in command.scan_types)
        return super().on_hci_le_set_extended_scan_parameters_command(command)

    def on_hci_le_set_extended_scan_enable_command(self, command):
        self.scan_mode = 'extended'
        return super().on_hci_le_set_extended_scan_enable_command(command)

    def _own_addresses(self) -> tuple[hci.Address, hci.Address]:
        return (self.public_address, self.random_address)

    def _report(self, pdu, event_type: int, data: bytes, legacy: bool) -> None:
        if self.scan_mode == 'legacy':
            report = hci.HCI_LE_Advertising_Report_Event.Report(
                event_type=event_type,
                address_type=pdu.advertiser_address.address_type,
                address=pdu.advertiser_address,
                data=data,
                rssi=RSSI,
            )
            self.send_hci_packet(hci.HCI_LE_Advertising_Report_Event([report]))
            return
        target = pdu.target_address
        report = hci.HCI_LE_Extended_Advertising_Report_Event.Report(
            event_type=event_type,
            address_type=pdu.advertiser_address.address_type,
            address=pdu.advertiser_address,
            primary_phy=hci.Phy.LE_1M,
            secondary_phy=0 if legacy else hci.Phy.LE_1M,
            advertising_sid=0xFF if legacy else pdu.sid,
            tx_power=0x7F,
            rssi=RSSI,
            periodic_advertising_interval=0,
            direct_address_type=target.address_type if target else 0,
            direct_address=target or hci.Address.ANY,
            data=data,
        )
        self.send_hci_packet(hci.HCI_LE_Extended_Advertising_Report_Event([report]))

    def on_ll_advertising_pdu(self, packet: ll.AdvertisingPdu) -> None:
        match packet:
            case LegacyAdvPdu():
                self._on_legacy_adv(packet)
            case ConnectRsp():
                self._on_connect_rsp(packet)
            case _:
                super().on_ll_advertising_pdu(packet)

    def _on_legacy_adv(self, pdu: LegacyAdvPdu) -> None:
        target = pdu.target_address
        if target is not None and target not in self._own_addresses():
            return
        if self.le_scan_enable:
            if self.scan_mode == 'legacy':
                self._report(pdu, int(pdu.kind), pdu.data, True)
            else:
                self._report(pdu, EXT_EVENT_TYPE_OF_KIND[pdu.kind], pdu.data, True)
            if self.scan_active and pdu.kind.scannable:
                event_type = (
                    LEGACY_SCAN_RSP
                    if self.scan_mode == 'legacy'
                    else EXT_EVENT_TYPE_OF_KIND[pdu.kind] | ExtEventType.SCAN_RESPONSE
                )
                self._report(pdu, event_type, pdu.scan_response_data, True)
        if pdu.kind.connectable:
            self._maybe_initiate(pdu.advertiser_address, target)

    def on_advertising_pdu(self, pdu) -> None:
        # Stock code is kept for periodic-advertising sync only; it would report a legacy
        # scanner extended PDUs (with a made-up scan response) and connect to anything.
        scanning, pending = self.le_scan_enable, self.pending_le_connection
        self.le_scan_enable, self.pending_le_connection = False, None
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self.le_scan_enable, self.pending_le_connection = scanning, pending
        properties = getattr(pdu, 'properties', 0)
        target = pdu.target_address
        if target is not None and target not in self._own_addresses():
            return
        if scanning and self.scan_mode == 'extended':
            self._report(pdu, properties & 0x07, pdu.data, False)
            if self.scan_active and properties & ExtEventType.SCANNABLE_ADVERTISING:
                event_type = (properties & 0x07) | ExtEventType.SCAN_RESPONSE
                self._report(pdu, event_type, getattr(pdu, 'scan_response_data', b''), False)
        if properties & ExtEventType.CONNECTABLE_ADVERTISING:
            if isinstance(
                self.pending_le_connection, hci.HCI_LE_Extended_Create_Connection_Command
            ):
                self._maybe_initiate(pdu.advertiser_address, target)

    # --- advertising sets -------------------------------------------------------------
    def _ensure_set(self, handle: int) -> None:
        if handle not in self.advertising_sets:
            self.advertising_sets[handle] = AdvertisingSet(controller=self, handle=handle)

    def on_hci_le_set_advertising_set_random_address_command(self, command):
        self._ensure_set(command.advertising_handle)
        return super().on_hci_le_set_advertising_set_random_address_command(command)

    def on_hci_le_set_extended_advertising_parameters_command(self, command):
        self._ensure_set(command.advertising_handle)
        return super().on_hci_le_set_extended_advertising_parameters_command(command)

    # --- connections ------------------------------------------------------------------
    def _own_address(self, own_address_type: int) -> hci.Address:
        if own_address_type in (
            hci.OwnAddressType.PUBLIC,
            hci.OwnAddressType.RESOLVABLE_OR_PUBLIC,
        ):
            return self.public_address
        return self.random_address

    def _maybe_initiate(self, advertiser: hci.Address, target: hci.Address | None) -> None:
        command = self.pending_le_connection
        if command is None or self.connect_in_flight or command.peer_address != advertiser:
            return
        own = self._own_address(command.own_address_type)
        if (target is not None and target != own) or advertiser in self.le_connections:
            return
        if isinstance(command, hci.HCI_LE_Extended_Create_Connection_Command):
            interval = command.connection_interval_mins[0]
            latency, timeout = command.max_latencies[0], command.supervision_timeouts[0]
        else:
            interval = command.connection_interval_min
            latency, timeout = command.max_latency, command.supervision_timeout
        self.connect_in_flight = True
        self.send_advertising_pdu(
            ll.ConnectInd(
                initiator_address=own,
                advertiser_address=advertiser,
                interval=interval,
                latency=latency,
                timeout=timeout,
            )
        )

    def create_le_connection(self, peer_address: hci.Address) -> None:
        """Unused: connections are created by the CONNECT_IND exchange."""

    def _connection_complete(
        self, status: int, connection=None, role=hci.Role.CENTRAL, peer=None, params=(0, 0, 0)
    ):
        peer = peer or hci.Address.ANY
        interval, latency, timeout = params
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=status,
                connection_handle=connection.handle if connection else 0,
                role=role,
                peer_address_type=peer.address_type,
                peer_address=peer,
                connection_interval=interval,
                peripheral_latency=latency,
                supervision_timeout=timeout,
                central_clock_accuracy=0,
            )
        )

    def _new_connection(self, role, self_address, peer_address):
        connection = bumble_controller.Connection(
            controller=self,
            handle=self.allocate_connection_handle(),
            role=role,
            self_address=self_address,
            peer_address=peer_address,
            link=self.link,
            transport=PhysicalTransport.LE,
            link_type=hci.HCI_Connection_Complete_Event.LinkType.ACL,
        )
        self.le_connections[peer_address] = connection
        return connection

    def on_le_connect_ind(self, packet: ll.ConnectInd) -> None:
        """Accept a CONNECT_IND only while advertising connectably to that initiator."""
        if packet.advertiser_address not in self._own_addresses() and not any(
            s.address == packet.advertiser_address for s in self.advertising_sets.values()
        ):
            return  # not addressed to this controller
        initiator = packet.initiator_address
        advertiser = None
        legacy = self.le_legacy_advertiser
        if legacy.address == packet.advertiser_address and legacy.accepts(initiator):
            advertiser = legacy
        else:
            advertiser = next(
                (
                    s
                    for s in self.advertising_sets.values()
                    if s.address == packet.advertiser_address and s.accepts(initiator)
                ),
                None,
            )
        accepted = advertiser is not None and initiator not in self.le_connections
        self.send_advertising_pdu(
            ConnectRsp(initiator, packet.advertiser_address, accepted=accepted)
        )
        if not accepted:
            return
        connection = self._new_connection(
            hci.Role.PERIPHERAL, packet.advertiser_address, initiator
        )
        params = (packet.interval, packet.latency, packet.timeout)
        self._connection_complete(
            Error.SUCCESS, connection, hci.Role.PERIPHERAL, initiator, params
        )
        if isinstance(advertiser, AdvertisingSet):
            self.send_hci_packet(
                hci.HCI_LE_Advertising_Set_Terminated_Event(
                    status=Error.SUCCESS,
                    advertising_handle=advertiser.handle,
                    connection_handle=connection.handle,
                    num_completed_extended_advertising_events=0,
                )
            )
        advertiser.stop()

    def _on_connect_rsp(self, packet: ConnectRsp) -> None:
        command = self.pending_le_connection
        if (
            not self.connect_in_flight
            or command is None
            or command.peer_address != packet.advertiser_address
            or self._own_address(command.own_address_type) != packet.initiator_address
        ):
            return
        self.connect_in_flight = False
        if packet.accepted:
            connection = self._new_connection(
                hci.Role.CENTRAL, packet.initiator_address, packet.advertiser_address
            )
            self._connection_complete(Error.SUCCESS, connection, peer=packet.advertiser_address)
        elif not self.cancel_requested:
            return  # like a CONNECT_IND nobody heard: keep initiating
        else:
            self._connection_complete(Error.UNKNOWN_CONNECTION_IDENTIFIER_ERROR)
        self.pending_le_connection = None
        self.cancel_requested = False

    def on_hci_le_create_connection_cancel_command(self, command):
        if self.pending_le_connection is None:
            return hci.HCI_StatusReturnParameters(Error.COMMAND_DISALLOWED_ERROR)
        if self.connect_in_flight:
            # CONNECT_IND already sent: the advertiser's answer decides the outcome.
            self.cancel_requested = True
        else:
            self.pending_le_connection = None
            self._after_complete.append(
                lambda: self._connection_complete(Error.UNKNOWN_CONNECTION_IDENTIFIER_ERROR)
            )
        return hci.HCI_StatusReturnParameters(Error.SUCCESS)

    def on_hci_disconnect_command(self, command) -> None:
        connection = self.find_le_connection_by_handle(command.connection_handle)
        if connection is None:
            if self.find_connection_by_handle(command.connection_handle) is None:
                self._send_hci_command_status(
                    Error.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, command.op_code
                )
                return None
            return super().on_hci_disconnect_command(command)
        self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
        connection.send_ll_control_pdu(ll.TerminateInd(command.reason))
        # The local host is told its own side ended the link (stock echoes its reason).
        self.on_le_disconnected(connection, Error.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)
        return None

    def on_link_acl_data(self, sender_address, transport, data: bytes) -> None:
        """Deliver to the host in fragments no larger than LE Read Buffer Size announced."""
        connections = (
            self.le_connections if transport == PhysicalTransport.LE else self.classic_connections
        )
        connection = connections.get(sender_address)
        if connection is None:
            return
        size = (
            self.le_acl_data_packet_length
            if transport == PhysicalTransport.LE
            else self.acl_data_packet_length
        )
        for offset in range(0, max(len(data), 1), size):
            chunk = data[offset : offset + size]
            pb_flag = 2 if offset == 0 else 1
            self.send_hci_packet(
                hci.HCI_AclDataPacket(connection.handle, pb_flag, 0, len(chunk), chunk)
            )
