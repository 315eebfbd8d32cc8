"""Advertising as a legacy-HCI host expects it: PDU types, scan responses, intervals."""

from __future__ import annotations

import asyncio
import dataclasses
import enum

from bumble import controller as bumble_controller
from bumble import hci, ll

Props = hci.HCI_LE_Set_Extended_Advertising_Parameters_Command.AdvertisingProperties
AdvType = hci.HCI_LE_Set_Advertising_Parameters_Command.AdvertisingType

# Spec floor for legacy advertising intervals; also keeps the CPU cost of a 2-core box low.
MIN_INTERVAL_S = 0.020
# High duty cycle directed advertising gives up after 1.28 s (Core Vol 6 Part B 4.4.2.4.3).
HIGH_DUTY_TIMEOUT_S = 1.28


class Kind(enum.IntEnum):
    """Legacy advertising PDU kinds, numbered as the LE Advertising Report event_type."""

    ADV_IND = 0
    ADV_DIRECT_IND = 1
    ADV_SCAN_IND = 2
    ADV_NONCONN_IND = 3

    @property
    def connectable(self) -> bool:
        """Whether a CONNECT_IND may answer this PDU."""
        return self in (Kind.ADV_IND, Kind.ADV_DIRECT_IND)

    @property
    def scannable(self) -> bool:
        """Whether a SCAN_REQ may answer this PDU."""
        return self in (Kind.ADV_IND, Kind.ADV_SCAN_IND)


KIND_OF_ADV_TYPE = {
    AdvType.ADV_IND: Kind.ADV_IND,
    AdvType.ADV_DIRECT_IND: Kind.ADV_DIRECT_IND,
    AdvType.ADV_SCAN_IND: Kind.ADV_SCAN_IND,
    AdvType.ADV_NONCONN_IND: Kind.ADV_NONCONN_IND,
    AdvType.ADV_DIRECT_IND_LOW_DUTY: Kind.ADV_DIRECT_IND,
}


def kind_of_properties(properties: int) -> Kind:
    """The legacy PDU kind that legacy extended-advertising event properties ask for."""
    if properties & Props.DIRECTED_ADVERTISING:
        return Kind.ADV_DIRECT_IND
    if properties & Props.CONNECTABLE_ADVERTISING:
        return Kind.ADV_IND
    if properties & Props.SCANNABLE_ADVERTISING:
        return Kind.ADV_SCAN_IND
    return Kind.ADV_NONCONN_IND


@dataclasses.dataclass
class LegacyAdvPdu(ll.AdvertisingPdu):
    """A legacy advertising event, carrying the scan response an active scanner would get."""

    advertiser_address: hci.Address
    kind: Kind
    data: bytes
    scan_response_data: bytes = b''
    target_address: hci.Address | None = None


@dataclasses.dataclass
class ExtAdvPdu(ll.AdvExtInd):
    """An extended advertising event that knows its properties and scan response."""

    properties: int = 0
    scan_response_data: bytes = b''


@dataclasses.dataclass
class ConnectRsp(ll.AdvertisingPdu):
    """The advertiser's answer to CONNECT_IND: whether it is now connected."""

    initiator_address: hci.Address
    advertiser_address: hci.Address
    accepted: bool


class LegacyAdvertiser(bumble_controller.LegacyAdvertiser):
    """Legacy advertiser honouring the advertising type, scan response and interval units."""

    def accepts(self, initiator: hci.Address) -> bool:
        """Whether a CONNECT_IND from `initiator` may connect to this advertiser now."""
        kind = KIND_OF_ADV_TYPE.get(self.advertising_type, Kind.ADV_IND)
        if not (self.enabled and kind.connectable):
            return False
        return kind != Kind.ADV_DIRECT_IND or initiator == self.target

    @property
    def target(self) -> hci.Address:
        """Directed advertising target (parsed with the type the host gave)."""
        return self.peer_address

    _timeout: asyncio.TimerHandle | None = None

    def start(self) -> None:
        super().start()
        if self.advertising_type == AdvType.ADV_DIRECT_IND:
            self._timeout = asyncio.get_running_loop().call_later(
                HIGH_DUTY_TIMEOUT_S, self._on_high_duty_timeout
            )

    def stop(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        super().stop()

    def _on_high_duty_timeout(self) -> None:
        self._timeout = None
        if self.enabled:
            self.stop()
            self.controller.send_hci_packet(
                hci.HCI_LE_Connection_Complete_Event(
                    status=hci.HCI_ErrorCode.ADVERTISING_TIMEOUT_ERROR,
                    connection_handle=0,
                    role=hci.Role.PERIPHERAL,
                    peer_address_type=0,
                    peer_address=hci.Address.ANY,
                    connection_interval=0,
                    peripheral_latency=0,
                    supervision_timeout=0,
                    central_clock_accuracy=0,
                )
            )

    def _on_timer_fired(self) -> None:
        self.send_advertising_data()
        # Interval is in 0.625 ms units (stock Bumble reads it as milliseconds).
        interval = max(self.advertising_interval_min * 0.000625, MIN_INTERVAL_S)
        self.timer_handle = asyncio.get_running_loop().call_later(interval, self._on_timer_fired)

    def send_advertising_data(self) -> None:
        if not self.enabled:
            return
        kind = KIND_OF_ADV_TYPE.get(self.advertising_type, Kind.ADV_IND)
        directed = kind == Kind.ADV_DIRECT_IND
        self.controller.send_advertising_pdu(
            LegacyAdvPdu(
                advertiser_address=self.address,
                kind=kind,
                data=b'' if directed else bytes(self.advertising_data),
                scan_response_data=bytes(self.scan_response_data),
                target_address=self.target if directed else None,
            )
        )


class AdvertisingSet(bumble_controller.AdvertisingSet):
    """Advertising set that sends legacy PDUs when its properties ask for them."""

    @property
    def properties(self) -> int:
        """The set's advertising event properties (0 before parameters are set)."""
        return int(self.parameters.advertising_event_properties) if self.parameters else 0

    @property
    def target(self) -> hci.Address | None:
        """Directed advertising target, or None for undirected sets."""
        if not (self.parameters and self.properties & Props.DIRECTED_ADVERTISING):
            return None
        return self.parameters.peer_address

    def accepts(self, initiator: hci.Address) -> bool:
        """Whether a CONNECT_IND from `initiator` may connect to this set now."""
        if not (self.enabled and self.properties & Props.CONNECTABLE_ADVERTISING):
            return False
        target = self.target
        return target is None or initiator == target

    def start(self) -> None:
        # Stock start() on a running set would add a second timer and double the rate.
        self.stop()
        super().start()

    def send_extended_advertising_data(self) -> None:
        if not (self.controller.link and self.address):
            return
        properties = self.properties
        if properties & Props.USE_LEGACY_ADVERTISING_PDUS:
            kind = kind_of_properties(properties)
            pdu: ll.AdvertisingPdu = LegacyAdvPdu(
                advertiser_address=self.address,
                kind=kind,
                data=b'' if kind == Kind.ADV_DIRECT_IND else bytes(self.data),
                scan_response_data=bytes(self.scan_response_data),
                target_address=self.target,
            )
        else:
            pdu = ExtAdvPdu(
                advertiser_address=self.address,
                data=bytes(self.data),
                target_address=self.target,
                sid=self.parameters.advertising_sid if self.parameters else 0,
                periodic_advertising_data=bytes(self.periodic_advertising_data) or None,
                properties=properties,
                scan_response_data=bytes(self.scan_response_data),
            )
        self.controller.send_advertising_pdu(pdu)
