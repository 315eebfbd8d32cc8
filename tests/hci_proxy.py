"""A pty between one virtual-radio controller and a firmware, able to inject controller input.

Host -> controller bytes are handed to the controller unchanged (Bumble's own H4 parser cuts
them into packets, as the radio's pty transport does). Controller -> host traffic arrives here
as whole H4 packets; it is forwarded unchanged and recorded. `inject()` writes extra bytes on
the same event loop, so they always land between two forwarded packets.
"""

from __future__ import annotations

from vradio import transports


class HciProxy:
    """The controller's host sink: forwards, records, and injects on demand."""

    def __init__(self, radio) -> None:
        self.radio = radio
        self.forwarded: list[bytes] = []  # controller -> host packets, H4 indicator included
        self._pty = None
        self.controller = None

    async def __aenter__(self) -> HciProxy:
        self._pty = await transports.open_pty()
        self.controller = self.radio.add_controller(host_source=self._pty.source, host_sink=self)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._pty.close()

    @property
    def endpoint(self) -> str:
        """The pty path the firmware opens."""
        return self._pty.endpoint

    def on_packet(self, packet: bytes) -> None:
        self.forwarded.append(bytes(packet))
        self._pty.sink.on_packet(packet)

    def inject(self, raw: bytes) -> None:
        """Extra controller -> host bytes, written between whole packets."""
        self._pty.sink.on_packet(raw)
