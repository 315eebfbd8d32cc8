# aioble devices and connections: Device (a peer address), DeviceConnection
# (one link), DeviceTimeout (bounds a group of awaits and turns a link loss
# into DeviceDisconnectedError in whatever was waiting on that link).

from micropython import const
import asyncio
import binascii

from .core import ble, register_irq_handler, log_error, ensure_pump, defer, Flag

_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_PERIPHERAL_DISCONNECT = const(8)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_CONNECTION_UPDATE = const(27)
_EOPNOTSUPP = const(95)


class DeviceDisconnectedError(Exception):
    pass


def _device_irq(event, data):
    if event in (_IRQ_CENTRAL_DISCONNECT, _IRQ_PERIPHERAL_DISCONNECT):
        c = DeviceConnection._connected.get(data[0])
        if c:
            c._on_disconnect()
    elif event == _IRQ_MTU_EXCHANGED:
        c = DeviceConnection._connected.get(data[0])
        if c:
            c.mtu = data[1]
            if c._mtu_event:
                c._mtu_event.set()
    elif event == _IRQ_CONNECTION_UPDATE:
        c = DeviceConnection._connected.get(data[0])
        if c and data[4] == 0:
            # the settled parameters, in the controller's units
            # (interval 1.25 ms, supervision timeout 10 ms).
            c.conn_interval, c.conn_latency, c.supervision_timeout = data[1:4]


def _device_shutdown():
    # The radio is off: every link is gone, report it to their waiters.
    for c in list(DeviceConnection._connected.values()):
        c._on_disconnect()


register_irq_handler(_device_irq, _device_shutdown)


class DeviceTimeout:
    # Sync context manager (used inside coroutines): cancels the current task
    # after timeout_ms (-> asyncio.TimeoutError) or when `connection` drops
    # (-> DeviceDisconnectedError). timeout_ms=None: disconnect guard only.
    def __init__(self, connection, timeout_ms):
        self._connection = connection
        self._timeout_ms = timeout_ms
        self._timed_out = False
        self._task = None
        self._timeout_task = None

    async def _timeout_sleep(self):
        try:
            await asyncio.sleep_ms(self._timeout_ms)
        except asyncio.CancelledError:
            return
        self._timed_out = True
        if self._task is not None:
            self._task.cancel()

    def _cancel(self):
        # Called from the pump task (a link loss is handled in the IRQ, which
        # may run inside asyncio's loop) or from stop(), which may run in the
        # task itself: a task can't cancel itself, so a helper task does it
        # at its next await, if it is still in the block.
        if self._task is None:
            return
        try:
            self._task.cancel()
        except RuntimeError:

            async def canceller():
                if self._task is not None:
                    self._task.cancel()

            asyncio.create_task(canceller())

    def __enter__(self):
        if self._connection is not None:
            if not self._connection.is_connected():
                raise DeviceDisconnectedError
            self._connection._timeouts.append(self)
        self._task = asyncio.current_task()
        ensure_pump()
        if self._timeout_ms:
            self._timeout_task = asyncio.create_task(self._timeout_sleep())
        return self

    def __exit__(self, exc_type, exc_val, exc_traceback):
        self._task = None  # a late canceller must leave the task alone
        if self._timeout_task:
            self._timeout_task.cancel()
        c = self._connection
        if c is not None and self in c._timeouts:
            c._timeouts.remove(self)
        if exc_type == asyncio.CancelledError:
            if c is not None and not c.is_connected():
                raise DeviceDisconnectedError
            if self._timed_out:
                raise asyncio.TimeoutError


class Device:
    def __init__(self, addr_type, addr):
        # addr: 6 bytes, or "aa:bb:cc:dd:ee:ff" as printed by addr_hex().
        if isinstance(addr, str):
            addr = binascii.unhexlify(addr.replace(":", ""))
        self.addr_type = addr_type
        self.addr = bytes(addr)
        self._connection = None

    def __eq__(self, other):
        return isinstance(other, Device) and self.addr_type == other.addr_type and self.addr == other.addr

    def __hash__(self):
        return hash((self.addr_type, self.addr))

    def __str__(self):
        return "Device({}, {}{})".format(
            "ADDR_PUBLIC" if self.addr_type == 0 else "ADDR_RANDOM",
            self.addr_hex(),
            ", CONNECTED" if self._connection else "",
        )

    def addr_hex(self):
        return binascii.hexlify(self.addr, ":").decode()

    async def connect(
        self, timeout_ms=10000, scan_duration_ms=None, min_conn_interval_us=None, max_conn_interval_us=None
    ):
        if self._connection:
            return self._connection
        from .central import _connect

        return await _connect(
            DeviceConnection(self), timeout_ms, scan_duration_ms, min_conn_interval_us, max_conn_interval_us
        )


class DeviceConnection:
    # conn_handle -> DeviceConnection for every open link (used by all submodules).
    _connected = {}

    def __init__(self, device):
        self.device = device
        device._connection = self
        self.encrypted = False
        self.authenticated = False
        self.bonded = False
        self.key_size = False
        self.mtu = 23  # ATT default until an exchange says otherwise
        self.conn_interval = None
        self.conn_latency = None
        self.supervision_timeout = None
        self._conn_handle = None
        self._timeouts = []  # active DeviceTimeouts on this link
        self._waiters = []  # flags of disconnected() callers
        self._mtu_event = None
        self._pair_event = None
        self._discover = None  # client.py: the discovery running on this link
        self._characteristics = {}  # client.py: value handle -> ClientCharacteristic

    # Called by central/peripheral once the link is up.
    def _on_connect(self, conn_handle):
        self._conn_handle = conn_handle
        DeviceConnection._connected[conn_handle] = self

    def _on_disconnect(self):
        DeviceConnection._connected.pop(self._conn_handle, None)
        self._conn_handle = None
        if self.device._connection is self:
            self.device._connection = None
        for f in self._waiters:
            f.set()
        for t in list(self._timeouts):
            defer(t._cancel)

    def is_connected(self):
        return self._conn_handle is not None

    def timeout(self, timeout_ms):
        return DeviceTimeout(self, timeout_ms)

    async def disconnected(self, timeout_ms=None, disconnect=False):
        if disconnect and self._conn_handle is not None:
            try:
                ble.gap_disconnect(self._conn_handle)
            except OSError as e:
                log_error("Disconnect", e)
        # One flag per waiter: a Flag takes a single waiter.
        flag = Flag()
        self._waiters.append(flag)
        try:
            with DeviceTimeout(None, timeout_ms):
                while self._conn_handle is not None:
                    await flag.wait()
        finally:
            self._waiters.remove(flag)

    async def disconnect(self, timeout_ms=2000):
        await self.disconnected(timeout_ms, disconnect=True)

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        # one exchange per link (ATT); asking again returns the MTU in
        # force (the backend re-reports MTU_EXCHANGED).
        if not self.is_connected():
            raise DeviceDisconnectedError
        if mtu:
            ble.config(mtu=mtu)
        if self._mtu_event is None:
            self._mtu_event = Flag()
        self._mtu_event.clear()
        with self.timeout(timeout_ms):
            ble.gattc_exchange_mtu(self._conn_handle)
            await self._mtu_event.wait()
        return self.mtu

    async def service(self, uuid, timeout_ms=2000):
        result = None
        # Run discovery to the end so the link is free for the next one.
        async for service in self.services(uuid, timeout_ms):
            if result is None and service.uuid == uuid:
                result = service
        return result

    def services(self, uuid=None, timeout_ms=2000):
        from .client import ClientDiscover, ClientService

        return ClientDiscover(self, ClientService, self, timeout_ms, uuid)

    async def pair(self, *args, **kwargs):
        try:
            from .security import pair
        except ImportError:
            raise OSError(_EOPNOTSUPP)
        return await pair(self, *args, **kwargs)

    async def l2cap_accept(self, psm, mtu, timeout_ms=None):
        try:
            from .l2cap import accept
        except ImportError:
            raise OSError(_EOPNOTSUPP)
        return await accept(self, psm, mtu, timeout_ms)

    async def l2cap_connect(self, psm, mtu, timeout_ms=1000):
        try:
            from .l2cap import connect
        except ImportError:
            raise OSError(_EOPNOTSUPP)
        return await connect(self, psm, mtu, timeout_ms)

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_traceback):
        await self.disconnect()

    def __str__(self):
        return "Connection({}, {})".format(self.device, self._conn_handle)
