# aioble client side: discovery, reads/writes, notifications of a remote GATT
# server. Written from the documented aioble 0.6.x API (see README "aioble").
#
# Beyond upstream: discovery timeout_ms is enforced; discoveries nest
# because each one is buffered to completion before its first result is
# yielded; long reads/writes are transparent.

from micropython import const
import bluetooth
import asyncio
import struct

from .core import ble, register_irq_handler, GattError, Flag
from .device import DeviceConnection

_IRQ_GATTC_SERVICE_RESULT = const(9)
_IRQ_GATTC_SERVICE_DONE = const(10)
_IRQ_GATTC_CHARACTERISTIC_RESULT = const(11)
_IRQ_GATTC_CHARACTERISTIC_DONE = const(12)
_IRQ_GATTC_DESCRIPTOR_RESULT = const(13)
_IRQ_GATTC_DESCRIPTOR_DONE = const(14)
_IRQ_GATTC_READ_RESULT = const(15)
_IRQ_GATTC_READ_DONE = const(16)
_IRQ_GATTC_WRITE_DONE = const(17)
_IRQ_GATTC_NOTIFY = const(18)
_IRQ_GATTC_INDICATE = const(19)

_PROP_READ = const(0x02)
_PROP_WRITE_NO_RESPONSE = const(0x04)
_PROP_WRITE = const(0x08)
_PROP_NOTIFY = const(0x10)
_PROP_INDICATE = const(0x20)

_CCCD_UUID = const(0x2902)
_ENOMEM = const(12)


def _client_irq(event, data):
    # Every IRQ reaches every handler; some carry no conn_handle (or none at all).
    if not _IRQ_GATTC_SERVICE_RESULT <= event <= _IRQ_GATTC_INDICATE:
        return
    conn = DeviceConnection._connected.get(data[0])
    if conn is None:
        return
    if event in (_IRQ_GATTC_SERVICE_RESULT, _IRQ_GATTC_CHARACTERISTIC_RESULT, _IRQ_GATTC_DESCRIPTOR_RESULT):
        if conn._discover:
            conn._discover._result(data[1:])
    elif event in (_IRQ_GATTC_SERVICE_DONE, _IRQ_GATTC_CHARACTERISTIC_DONE, _IRQ_GATTC_DESCRIPTOR_DONE):
        d = conn._discover
        if d:
            # Free the link for the next discovery, even if this one's
            # waiter already gave up (timeout).
            conn._discover = None
            d._done(data[1])
    elif event in (_IRQ_GATTC_READ_RESULT, _IRQ_GATTC_READ_DONE, _IRQ_GATTC_WRITE_DONE,
                   _IRQ_GATTC_NOTIFY, _IRQ_GATTC_INDICATE):
        obj = conn._characteristics.get(data[1])
        if obj:
            obj._event(event, data[2])


def _client_shutdown():
    pass  # Waiters unwind through their connection's disconnect.


register_irq_handler(_client_irq, _client_shutdown)


async def _submit(connection, fn, *args):
    # The host queues two procedures behind the running one and answers
    # ENOMEM beyond that: back off and retry (the caller's timeout bounds it).
    while True:
        try:
            return fn(connection._conn_handle, *args)
        except OSError as e:
            if e.errno != _ENOMEM:
                raise
        await asyncio.sleep_ms(10)


class ClientDiscover:
    # Async iterator over services / characteristics / descriptors.
    def __init__(self, connection, disc_type, parent, timeout_ms, *args):
        self._connection = connection
        self._disc_type = disc_type
        self._parent = parent
        self._timeout_ms = timeout_ms
        self._args = args
        self._results = None
        self._queue = []
        self._status = None
        self._flag = Flag()

    def _result(self, data):
        # The stack's UUID object only lives during the IRQ: copy it.
        data = data[:-1] + (bluetooth.UUID(data[-1]),)
        obj = self._disc_type._from_result(self._parent, data)
        if obj is not None:
            self._queue.append(obj)

    def _done(self, status):
        self._status = status
        self._flag.set()

    async def _run(self):
        conn = self._connection
        # One discovery per link at a time: wait for any earlier one (maybe an
        # abandoned, timed-out one still draining) to get its DONE.
        while conn._discover is not None:
            await asyncio.sleep_ms(5)
        conn._discover = self
        try:
            await _submit(conn, self._disc_type._start_discovery, *self._args)
        except:
            conn._discover = None
            raise
        while self._status is None:
            await self._flag.wait()

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._results is None:
            with self._connection.timeout(self._timeout_ms):
                await self._run()
            # Non-zero status: upstream simply ends the iteration early.
            self._results = self._queue
        if self._results:
            return self._results.pop(0)
        raise StopAsyncIteration


class ClientService:
    def __init__(self, connection, start_handle, end_handle, uuid):
        self.connection = connection
        self._start_handle = start_handle
        self._end_handle = end_handle
        self.uuid = uuid

    def __str__(self):
        return "Service: {} {} {}".format(self._start_handle, self._end_handle, self.uuid)

    @staticmethod
    def _from_result(connection, data):
        return ClientService(connection, *data)

    @staticmethod
    def _start_discovery(conn_handle, uuid=None):
        ble.gattc_discover_services(conn_handle, uuid)

    async def characteristic(self, uuid, timeout_ms=2000):
        result = None
        # Exhaust the discovery so the link is idle afterwards.
        async for c in self.characteristics(uuid, timeout_ms):
            if result is None:
                result = c
        return result

    def characteristics(self, uuid=None, timeout_ms=2000):
        return ClientDiscover(
            self.connection, ClientCharacteristic, self, timeout_ms,
            self._start_handle, self._end_handle, uuid,
        )


class BaseClientCharacteristic:
    def __init__(self, value_handle, properties, uuid):
        self._value_handle = value_handle
        self.properties = properties
        self.uuid = uuid
        # The running procedure's [data, status, flag]; a fresh one per
        # procedure, so a caller woken late still finds its own result and
        # the next caller can't clear (or share) the flag it waits on.
        self._proc = None
        # Route this handle's client events to this object.
        self._connection()._characteristics[value_handle] = self

    def _event(self, event, data):
        proc = self._proc
        if proc is None:
            return
        if event == _IRQ_GATTC_READ_RESULT:
            # The host delivers long values whole; concatenate in case a
            # stack splits them.
            proc[0] += data
        elif event in (_IRQ_GATTC_READ_DONE, _IRQ_GATTC_WRITE_DONE):
            proc[1] = data
            # Over even if its caller gave up (timeout): only now may the
            # next procedure start, so a late DONE can't be taken for its.
            self._proc = None
            proc[2].set()

    async def _procedure(self, fn, timeout_ms, *args):
        conn = self._connection()
        with conn.timeout(timeout_ms):
            # One read/write per attribute at a time: results carry only the handle.
            while self._proc is not None:
                await asyncio.sleep_ms(5)
            proc = self._proc = [b"", None, Flag()]
            try:
                await _submit(conn, fn, self._value_handle, *args)
            except:
                self._proc = None
                raise
            while proc[1] is None:
                await proc[2].wait()
        if proc[1] != 0:
            raise GattError(proc[1])
        return proc[0]

    async def read(self, timeout_ms=1000):
        return await self._procedure(ble.gattc_read, timeout_ms)

    async def write(self, data, response=None, timeout_ms=1000):
        if response is None:
            # With response only when that is all the peer allows.
            p = self.properties
            response = bool(p & _PROP_WRITE) and not (p & _PROP_WRITE_NO_RESPONSE)
        if not response:
            conn = self._connection()
            with conn.timeout(timeout_ms):
                await _submit(conn, ble.gattc_write, self._value_handle, data, 0)
            return
        mtu = self._connection().mtu or 23
        # Mode 2 = long write (Prepare/Execute) when one request can't carry it.
        mode = 2 if len(data) > mtu - 3 else 1
        await self._procedure(ble.gattc_write, timeout_ms, data, mode)


class ClientCharacteristic(BaseClientCharacteristic):
    def __init__(self, service, end_handle, value_handle, properties, uuid):
        self.service = service
        self.connection = service.connection
        self._end_handle = end_handle
        super().__init__(value_handle, properties, uuid)
        # Newest value only (upstream's deque(maxlen=1)).
        self._notify_data = None
        self._notify_flag = Flag()
        self._indicate_data = None
        self._indicate_flag = Flag()

    def __str__(self):
        return "Characteristic: {} {} {} {}".format(
            self._end_handle, self._value_handle, self.properties, self.uuid
        )

    def _connection(self):
        return self.service.connection

    @staticmethod
    def _from_result(service, data):
        # Rediscovery hands back the object already routed for that handle,
        # so one found earlier keeps receiving its results.
        known = service.connection._characteristics.get(data[1])
        if isinstance(known, ClientCharacteristic):
            return known
        return ClientCharacteristic(service, *data)

    @staticmethod
    def _start_discovery(conn_handle, start_handle, end_handle, uuid=None):
        ble.gattc_discover_characteristics(conn_handle, start_handle, end_handle, uuid)

    def _event(self, event, data):
        if event == _IRQ_GATTC_NOTIFY:
            self._notify_data = bytes(data)
            self._notify_flag.set()
        elif event == _IRQ_GATTC_INDICATE:
            self._indicate_data = bytes(data)
            self._indicate_flag.set()
        else:
            super()._event(event, data)

    async def _wait_value(self, attr, flag, timeout_ms):
        conn = self.connection
        with conn.timeout(timeout_ms):
            while getattr(self, attr) is None:
                await flag.wait()
        data = getattr(self, attr)
        setattr(self, attr, None)
        return data

    async def notified(self, timeout_ms=None):
        return await self._wait_value("_notify_data", self._notify_flag, timeout_ms)

    async def indicated(self, timeout_ms=None):
        return await self._wait_value("_indicate_data", self._indicate_flag, timeout_ms)

    async def subscribe(self, notify=True, indicate=False):
        # Start from a clean slate: stale values belong to the old subscription.
        self._notify_data = None
        self._indicate_data = None
        cccd = await self.descriptor(bluetooth.UUID(_CCCD_UUID))
        if cccd is None:
            raise ValueError("CCCD not found")
        await cccd.write(struct.pack("<H", (1 if notify else 0) | (2 if indicate else 0)), response=True)

    async def descriptor(self, uuid, timeout_ms=2000):
        result = None
        async for d in self.descriptors(timeout_ms):
            if result is None and d.uuid == uuid:
                result = d
        return result

    def descriptors(self, timeout_ms=2000):
        return ClientDiscover(
            self.connection, ClientDescriptor, self, timeout_ms,
            self._value_handle, self._end_handle,
        )


class ClientDescriptor(BaseClientCharacteristic):
    def __init__(self, characteristic, dsc_handle, uuid):
        self.characteristic = characteristic
        super().__init__(dsc_handle, _PROP_READ | _PROP_WRITE_NO_RESPONSE, uuid)

    def __str__(self):
        return "Descriptor: {} {} {}".format(self._value_handle, self.properties, self.uuid)

    def _connection(self):
        return self.characteristic.service.connection

    @staticmethod
    def _from_result(characteristic, data):
        # The range starts at the value handle; that is not a descriptor.
        if data[0] == characteristic._value_handle:
            return None
        known = characteristic.connection._characteristics.get(data[0])
        if isinstance(known, ClientDescriptor):
            return known
        return ClientDescriptor(characteristic, *data)

    @staticmethod
    def _start_discovery(conn_handle, start_handle, end_handle):
        ble.gattc_discover_descriptors(conn_handle, start_handle, end_handle)
