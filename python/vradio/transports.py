"""HCI transports a firmware can open: a pty (UART with H4 framing) or a TCP server."""

from __future__ import annotations

import asyncio
import os
import pty
import socket
import tty

from bumble.transport.common import StreamPacketSink, StreamPacketSource, Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket


class PtyTransport(Transport):
    """H4 over a pseudo-terminal; `endpoint` is the path the firmware opens."""

    def __init__(self, source, sink, primary: int, replica: int, closers) -> None:
        super().__init__(source, sink)
        self.endpoint = os.ttyname(replica)
        self._fds = (primary, replica)
        self._closers = closers

    async def close(self) -> None:
        for closer in self._closers:
            closer.close()
        for fd in self._fds:
            os.close(fd)


async def open_pty() -> PtyTransport:
    """A fresh pty; the replica stays open here so a firmware restart never sees EIO."""
    primary, replica = pty.openpty()
    tty.setraw(primary)
    tty.setraw(replica)
    loop = asyncio.get_running_loop()
    reader, source = await loop.connect_read_pipe(
        StreamPacketSource, open(primary, 'rb', buffering=0, closefd=False)
    )
    writer, _ = await loop.connect_write_pipe(
        asyncio.BaseProtocol, open(primary, 'wb', buffering=0, closefd=False)
    )
    return PtyTransport(source, StreamPacketSink(writer), primary, replica, (writer, reader))


async def open_tcp_server(host: str, port: int) -> Transport:
    """A TCP server for one client at a time (QEMU's chardev); port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    transport = await open_tcp_server_transport_with_socket(sock)
    bound_host, bound_port = sock.getsockname()[:2]
    transport.endpoint = f'{bound_host}:{bound_port}'  # type: ignore[attr-defined]
    return transport


async def close_transport(transport: Transport) -> None:
    """Close a transport, including a TCP server's listening socket."""
    server = getattr(transport, 'server', None)
    if server is not None:
        server.close()
        client = getattr(transport.sink, 'transport', None)
        if client is not None:
            client.close()
    await transport.close()
