# aioble L2CAP connection-oriented channels: L2CAPChannel, and accept() and
# connect() behind DeviceConnection.l2cap_accept()/l2cap_connect().
#
# Beyond upstream: several channels per connection, and a device that listens
# can still connect. Each send() of up to peer_mtu bytes is one SDU and each
# recvinto() returns at most one SDU, so a buffer of our_mtu bytes gets every
# SDU whole. After the peer closes the channel, recvinto() still returns
# what arrived before the close, then 0 (end of stream); after that, and for
# every other operation on a closed channel, L2CAPDisconnectedError.

from micropython import const
import asyncio

from .core import ble, register_irq_handler, ensure_pump, Flag
from .device import DeviceConnection, DeviceTimeout

_IRQ_L2CAP_ACCEPT = const(22)
_IRQ_L2CAP_CONNECT = const(23)
_IRQ_L2CAP_DISCONNECT = const(24)
_IRQ_L2CAP_RECV = const(25)
_IRQ_L2CAP_SEND_READY = const(26)

# L2CAP result sent back for a channel nobody on this link can take.
_RESULT_NO_RESOURCES = const(4)


class L2CAPDisconnectedError(Exception):
    pass


class L2CAPConnectionError(Exception):
    # args[0]: the L2CAP result code (2 = PSM not supported).
    pass


# (conn_handle, cid) -> L2CAPChannel. A closed channel stays here while its
# unread data can still be read; the backend may then hand its id to a new
# channel on the same link, and from that moment the id's events are the new
# channel's (see _current).
_channels = {}
_incoming = {}  # (conn_handle, psm) -> [L2CAPChannel accepted but not yet handed out]
_outgoing = {}  # (conn_handle, psm) -> [L2CAPChannel waiting for CONNECT], oldest first
_listening = set()  # PSMs passed to l2cap_listen


def _current(conn_handle, cid):
    # The channel the id's events belong to: a closed one no longer gets any
    # (its id is being reused), so an event naming it is about a new channel.
    channel = _channels.get((conn_handle, cid))
    if channel is not None and channel._closed:
        return None
    return channel


def _l2cap_irq(event, data):
    if event == _IRQ_L2CAP_ACCEPT:
        conn_handle, cid, psm, our_mtu, peer_mtu = data
        connection = DeviceConnection._connected.get(conn_handle)
        if connection is None:
            return _RESULT_NO_RESOURCES
        channel = L2CAPChannel(connection)
        channel._bind(cid, our_mtu, peer_mtu)
        _incoming.setdefault((conn_handle, psm), []).append(channel)
        return 0
    if event == _IRQ_L2CAP_CONNECT:
        conn_handle, cid, psm, our_mtu, peer_mtu = data
        channel = _current(conn_handle, cid)
        if channel is None:
            waiting = _outgoing.get((conn_handle, psm))
            if not waiting:
                return
            channel = waiting.pop(0)
            channel._bind(cid, our_mtu, peer_mtu)
        channel._connected = True
        channel._flag.set()
    elif event == _IRQ_L2CAP_DISCONNECT:
        conn_handle, cid, psm, status = data
        channel = _current(conn_handle, cid)
        if channel is None:
            waiting = _outgoing.get((conn_handle, psm))
            if waiting:
                # A connect attempt that failed: status is the L2CAP result.
                channel = waiting.pop(0)
                channel._status = status
        if channel is not None:
            channel._on_close()
    elif event in (_IRQ_L2CAP_RECV, _IRQ_L2CAP_SEND_READY):
        channel = _current(data[0], data[1])
        if channel is not None:
            if event == _IRQ_L2CAP_SEND_READY:
                channel._stalled = False
            channel._flag.set()


def _l2cap_shutdown():
    # The backend forgets every channel (and its unread data) with the radio.
    for channel in list(_channels.values()):
        channel._on_close()
        channel._cid = None
    for waiting in _outgoing.values():
        for channel in waiting:
            channel._on_close()
    _channels.clear()
    _incoming.clear()
    _outgoing.clear()
    _listening.clear()


register_irq_handler(_l2cap_irq, _l2cap_shutdown)


class L2CAPChannel:
    def __init__(self, connection):
        self._connection = connection
        self._conn_handle = connection._conn_handle
        self._cid = None
        self.our_mtu = 0
        self.peer_mtu = 0
        self._connected = False
        self._closed = False
        self._eof = False  # the end of stream was returned once
        self._status = 0
        self._stalled = False
        # One waiter at a time per channel: a reader, a sender, or set-up.
        self._flag = Flag()

    def _bind(self, cid, our_mtu, peer_mtu):
        key = (self._conn_handle, cid)
        old = _channels.get(key)
        if old is not None:
            # The id was handed out again, so the closed channel's unread data
            # is gone: it reads the end of its stream, never the new channel's data.
            old._cid = None
        self._cid = cid
        self.our_mtu, self.peer_mtu = our_mtu, peer_mtu
        _channels[key] = self

    def _on_close(self):
        self._closed = True
        self._stalled = False
        self._flag.set()

    def _forget(self):
        key = (self._conn_handle, self._cid)
        if _channels.get(key) is self:
            del _channels[key]
        self._cid = None

    def _assert_connected(self):
        if self._closed or not self._connected:
            raise L2CAPDisconnectedError

    def available(self):
        if self._cid is None or self._eof:
            return 0
        try:
            return ble.l2cap_recvinto(self._conn_handle, self._cid, None)
        except OSError:
            return 0

    async def recvinto(self, buf, timeout_ms=None):
        if self._eof or not self._connected:
            raise L2CAPDisconnectedError
        ensure_pump()
        with DeviceTimeout(None, timeout_ms):
            while True:
                n = 0  # no id (handed to a new channel) or forgotten by the backend: nothing more
                if self._cid is not None:
                    try:
                        n = ble.l2cap_recvinto(self._conn_handle, self._cid, buf)
                    except OSError:
                        pass
                if n:
                    return n
                if self._closed:
                    self._eof = True
                    self._forget()
                    return 0
                await self._flag.wait()

    async def send(self, buf, timeout_ms=None, chunk_size=None):
        self._assert_connected()
        size = self.peer_mtu if not chunk_size else min(chunk_size, self.peer_mtu)
        mv = memoryview(buf)
        ensure_pump()
        with DeviceTimeout(None, timeout_ms):
            offset = 0
            while True:
                await self._unstalled()
                n = min(size, len(mv) - offset)
                # Marked before the call: SEND_READY may be handled before it returns.
                self._stalled = True
                if ble.l2cap_send(self._conn_handle, self._cid, mv[offset : offset + n]):
                    self._stalled = False
                offset += n
                if offset >= len(mv):
                    return

    async def _unstalled(self):
        while self._stalled:
            await self._flag.wait()
        self._assert_connected()

    async def flush(self, timeout_ms=None):
        # Returns once the backend takes more: what was sent is queued there,
        # going out as the peer's credits allow.
        ensure_pump()
        with DeviceTimeout(None, timeout_ms):
            await self._unstalled()

    async def disconnect(self, timeout_ms=1000):
        if self._closed:
            return
        try:
            ble.l2cap_disconnect(self._conn_handle, self._cid)
        except OSError:
            pass  # already going
        await self.disconnected(timeout_ms)

    async def disconnected(self, timeout_ms=1000):
        ensure_pump()
        with DeviceTimeout(None, timeout_ms):
            while not self._closed:
                await self._flag.wait()

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_traceback):
        await self.disconnect()


def _check(connection):
    if not connection.is_connected():
        from .device import DeviceDisconnectedError

        raise DeviceDisconnectedError


async def accept(connection, psm, mtu, timeout_ms):
    _check(connection)
    if psm not in _listening:
        ble.l2cap_listen(psm, mtu)
        _listening.add(psm)
    key = (connection._conn_handle, psm)
    with connection.timeout(timeout_ms):
        while True:
            ready = [c for c in _incoming.get(key, ()) if c._connected or c._closed]
            if ready:
                channel = ready[0]
                _incoming[key].remove(channel)
                if channel._connected:
                    return channel
                continue
            # Any channel event on this link may be the one; poll in small steps.
            await asyncio.sleep_ms(5)


async def connect(connection, psm, mtu, timeout_ms):
    _check(connection)
    channel = L2CAPChannel(connection)
    key = (connection._conn_handle, psm)
    _outgoing.setdefault(key, []).append(channel)
    try:
        ble.l2cap_connect(connection._conn_handle, psm, mtu)
        with connection.timeout(timeout_ms):
            while not channel._connected and not channel._closed:
                await channel._flag.wait()
    finally:
        if channel in _outgoing.get(key, ()):
            _outgoing[key].remove(channel)
    if not channel._connected:
        raise L2CAPConnectionError(channel._status)
    return channel
