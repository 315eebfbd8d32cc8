"""VirtualRadio: N corrected controllers on one link, each behind its own HCI transport."""

from __future__ import annotations

import contextlib
import os
import pathlib

from bumble import hci
from bumble.device import Device
from bumble.snoop import BtSnooper
from bumble.transport.common import AsyncPipeSink

from vradio import transports
from vradio.controller import VirtualController, public_address_for
from vradio.link import VirtualLink

DEFAULT_LATENCY_MS = 5.0


class VirtualRadio:
    """Async context manager owning the link, the controllers and their transports."""

    def __init__(
        self,
        count: int = 2,
        transport: str = 'pty',
        latency_ms: float = DEFAULT_LATENCY_MS,
        btsnoop_dir: str | os.PathLike | None = None,
    ) -> None:
        if transport != 'pty' and not transport.startswith('tcp-server:'):
            raise ValueError(f'unsupported transport {transport!r}')
        self.count = count
        self.transport_spec = transport
        self.link = VirtualLink(latency_ms / 1000.0)
        self.btsnoop_dir = pathlib.Path(btsnoop_dir) if btsnoop_dir else None
        self.controllers: list[VirtualController] = []
        self.transports: list = []
        self._files = contextlib.ExitStack()

    async def __aenter__(self) -> VirtualRadio:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def endpoints(self) -> list[str]:
        """Where firmware instance i opens controller i (pty path or host:port)."""
        return [t.endpoint for t in self.transports]

    def _snooper(self, index: int) -> BtSnooper | None:
        if self.btsnoop_dir is None:
            return None
        self.btsnoop_dir.mkdir(parents=True, exist_ok=True)
        # Unbuffered, so the log is complete even if the process is killed.
        output = self._files.enter_context(
            open(self.btsnoop_dir / f'controller{index}.btsnoop', 'wb', buffering=0)
        )
        return BtSnooper(output)

    async def _open_transport(self, index: int):
        if self.transport_spec == 'pty':
            return await transports.open_pty()
        host, port = self.transport_spec[len('tcp-server:') :].rsplit(':', 1)
        return await transports.open_tcp_server(host, int(port) + index if int(port) else 0)

    async def start(self) -> None:
        """Open the transports and attach one controller to each."""
        for index in range(self.count):
            transport = await self._open_transport(index)
            self.transports.append(transport)
            self.add_controller(host_source=transport.source, host_sink=transport.sink)

    def add_controller(self, host_source=None, host_sink=None) -> VirtualController:
        """Attach one more controller to the link (for an in-process host)."""
        index = len(self.controllers)
        controller = VirtualController(
            f'C{index}',
            link=self.link,
            public_address=public_address_for(index),
            host_source=host_source,
            host_sink=host_sink,
            snooper=self._snooper(index),
        )
        self.controllers.append(controller)
        return controller

    def add_host_device(
        self, name: str = 'Bumble', address: str | hci.Address = 'F1:F2:F3:F4:F5:F6'
    ) -> Device:
        """A Bumble host Device on a new controller of this link (call power_on() next)."""
        controller = self.add_controller()
        if isinstance(address, str):
            address = hci.Address(address)
        return Device.with_hci(name, address, controller, AsyncPipeSink(controller))

    def ready_info(self) -> dict:
        """What the CLI prints after READY."""
        return {
            'controllers': [
                {
                    'index': i,
                    'endpoint': endpoint,
                    'address': self.controllers[i].public_address.to_string(False),
                }
                for i, endpoint in enumerate(self.endpoints)
            ]
        }

    async def close(self) -> None:
        """Stop advertising timers, close transports and snoop files."""
        for controller in self.controllers:
            controller.le_legacy_advertiser.stop()
            for advertising_set in controller.advertising_sets.values():
                advertising_set.stop()
        self.link.close()
        for transport in self.transports:
            await transports.close_transport(transport)
        self.transports.clear()
        self._files.close()
