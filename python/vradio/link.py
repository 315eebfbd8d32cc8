"""The shared air: a Bumble LocalLink with latency, in-order delivery and exact routing."""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Callable

from bumble import core, hci, link, ll

logger = logging.getLogger(__name__)


class VirtualLink(link.LocalLink):
    """LocalLink whose every delivery is delayed by a fixed one-way latency, in send order."""

    def __init__(self, latency_s: float = 0.005) -> None:
        super().__init__()
        self.latency_s = max(0.0, latency_s)
        # One FIFO for all traffic: with a constant delay, send order is delivery order,
        # which loop.call_later alone does not promise for equal deadlines.
        self._queue: collections.deque[tuple[float, Callable[[], None]]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def deliver(self, action: Callable[[], None]) -> None:
        """Run `action` after the link latency, after everything sent before it."""
        loop = asyncio.get_running_loop()
        self._queue.append((loop.time() + self.latency_s, action))
        if self._timer is None:
            self._timer = loop.call_at(self._queue[0][0], self._drain)

    def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = None
        while self._queue and self._queue[0][0] <= loop.time():
            _, action = self._queue.popleft()
            try:
                action()
            except Exception:  # one bad delivery must not stall the air for everyone
                logger.exception('link delivery failed')
        if self._queue and self._timer is None:
            self._timer = loop.call_at(self._queue[0][0], self._drain)

    def close(self) -> None:
        """Drop whatever is still in flight."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()

    def le_peer(self, self_address: hci.Address, peer_address: hci.Address):
        """The controller at the other end of the LE connection self_address -> peer_address."""
        for controller in self.controllers:
            connection = controller.le_connections.get(self_address)
            if connection is not None and connection.self_address == peer_address:
                return controller
        return None

    def send_acl_data(self, sender_controller, destination_address, transport, data):
        """Route LE ACL by connection, labelled with the connection's own address."""
        if transport != core.PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        connection = sender_controller.le_connections.get(destination_address)
        if connection is None:
            return
        source = connection.self_address
        self.deliver(
            lambda: self._to_peer(
                source,
                destination_address,
                lambda peer: peer.on_link_acl_data(source, transport, data),
            )
        )

    def send_advertising_pdu(self, sender_controller, packet: ll.AdvertisingPdu) -> None:
        """Broadcast to every other controller, after the latency."""
        for controller in list(self.controllers):
            if controller is not sender_controller:
                self.deliver(lambda c=controller: c.on_ll_advertising_pdu(packet))  # type: ignore

    def send_ll_control_pdu(self, sender_address, receiver_address, packet) -> None:
        """Send to the connected peer only; a vanished peer just never hears it."""
        self.deliver(
            lambda: self._to_peer(
                sender_address,
                receiver_address,
                lambda peer: peer.on_ll_control_pdu(sender_address, packet),
            )
        )

    def _to_peer(self, source, destination, action) -> None:
        # Resolved on arrival: the central creates its side of a connection only when the
        # peripheral's answer arrives, which is queued before anything the peripheral sends.
        if (peer := self.le_peer(source, destination)) is not None:
            action(peer)
