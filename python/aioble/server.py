# aioble server side: local GATT services, characteristics and descriptors.
# Written from the documented aioble 0.6.x API (see README "aioble").

from micropython import const
import bluetooth
import asyncio

from .core import ble, ensure_active, register_irq_handler, GattError, log_warn, Flag
from .device import DeviceConnection

_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_GATTS_INDICATE_DONE = const(20)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
# Private to aioble (as upstream): never handed to the stack.
_FLAG_CAPTURE = const(0x10000)

# Writes to capture characteristics go through ONE queue shared by all of
# them, bounded so a flood of writes nobody awaits cannot exhaust the heap;
# the oldest entry is dropped first.
_CAPTURE_LIMIT = const(10)
_capture_queue = []

# value/descriptor handle -> local object, for routing server IRQs.
_registered = {}

# Client writes are numbered as they arrive. asyncio wakes tasks waiting on
# flags in its poller's order, not in the order the flags were set,
# so when several writes are delivered at once, written() lets the waiters of
# earlier writes run first (upstream wakes them in arrival order).
_arrivals = 0


def _conn(conn_handle):
    return DeviceConnection._connected.get(conn_handle)


def _server_irq(event, data):
    if event == _IRQ_GATTS_WRITE:
        conn_handle, handle = data[0], data[1]
        obj = _registered.get(handle)
        if obj:
            obj._remote_write(_conn(conn_handle))
    elif event == _IRQ_GATTS_READ_REQUEST:
        conn_handle, handle = data
        obj = _registered.get(handle)
        if obj:
            # The result becomes the ATT error (0 = allow).
            return obj.on_read(_conn(conn_handle))
    elif event == _IRQ_GATTS_INDICATE_DONE:
        conn_handle, handle, status = data
        obj = _registered.get(handle)
        if isinstance(obj, Characteristic):
            obj._indicate_done(conn_handle, status)


def _server_shutdown():
    # Radio off: pending captures came from links that are gone. Handles stay
    # routed: register_services() replaces them if the app registers again.
    _capture_queue.clear()


register_irq_handler(_server_irq, _server_shutdown)


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []

    def _tuple(self):
        return (self.uuid, tuple(c._tuple() for c in self.characteristics))


class BaseCharacteristic:
    _value_handle = None
    _waiters = 0  # tasks inside written()
    _arrival = 0  # arrival number of the pending (non-capture) write

    def _register(self, handle):
        self._value_handle = handle
        _registered[handle] = self
        if self._initial is not None:
            self.write(self._initial)

    def _check(self):
        if self._value_handle is None:
            raise ValueError("Not registered")

    def read(self):
        if self._value_handle is None:
            return self._initial or b""
        return ble.gatts_read(self._value_handle)

    def write(self, data, send_update=False):
        if self._value_handle is None:
            # As upstream: kept, and written when the services are registered
            # (no client can be subscribed before that, so there is no update).
            self._initial = data
            return
        ble.gatts_write(self._value_handle, data, send_update)

    def on_read(self, connection):
        # Override to refresh the value (self.write) or reject (ATT code).
        return 0

    def _remote_write(self, connection):
        global _arrivals
        _arrivals += 1
        if self.flags & _FLAG_CAPTURE:
            # Read now: the IRQ is delivered synchronously, so this is exactly
            # the value this write stored, even if another write follows.
            data = ble.gatts_read(self._value_handle)
            if len(_capture_queue) >= _CAPTURE_LIMIT:
                dropped = _capture_queue.pop(0)
                log_warn("Capture queue full, dropped write to", dropped[0].uuid)
                dropped[0]._flag.set()
            _capture_queue.append((self, connection, data, _arrivals))
        else:
            self._write_connection = connection
            if not self._write_pending:
                self._arrival = _arrivals  # only the latest value is kept; it counts from the first
            self._write_pending = True
        self._flag.set()

    def _next_arrival(self):
        # The arrival number of the write written() would return next, or None.
        if self.flags & _FLAG_CAPTURE:
            for entry in _capture_queue:
                if entry[0] is self:
                    return entry[3]
            return None
        return self._arrival if self._write_pending else None

    def _after_earlier(self, arrival):
        # True while another waiting written() has an earlier write to return.
        for other in _registered.values():
            if other is not self and other._waiters:
                n = other._next_arrival()
                if n is not None and n < arrival:
                    return True
        return False

    def _take(self):
        if self.flags & _FLAG_CAPTURE:
            for i, entry in enumerate(_capture_queue):
                if entry[0] is self:
                    _capture_queue.pop(i)
                    return entry[1], entry[2]
        self._write_pending = False
        return self._write_connection

    async def written(self, timeout_ms=None):
        if not hasattr(self, "_flag"):
            raise ValueError("Not writable")
        self._waiters += 1
        try:
            while True:
                arrival = self._next_arrival()
                if arrival is not None:
                    if not self._after_earlier(arrival):
                        return self._take()
                    # That waiter was woken too: let it run, then look again.
                    await asyncio.sleep_ms(0)
                    continue
                # A Flag: set from the BLE IRQ, wakes the asyncio poller.
                if timeout_ms is None:
                    await self._flag.wait()
                else:
                    await asyncio.wait_for_ms(self._flag.wait(), timeout_ms)
        finally:
            self._waiters -= 1


class Characteristic(BaseCharacteristic):
    def __init__(
        self,
        service,
        uuid,
        read=False,
        write=False,
        write_no_response=False,
        notify=False,
        indicate=False,
        initial=None,
        capture=False,
    ):
        service.characteristics.append(self)
        self.descriptors = []
        self.uuid = uuid
        self._indications = {}  # conn_handle -> [status, flag] awaiting confirmation
        flags = 0
        if read:
            flags |= _FLAG_READ
        if write or write_no_response:
            flags |= (_FLAG_WRITE if write else 0) | (
                _FLAG_WRITE_NO_RESPONSE if write_no_response else 0
            )
            if capture:
                flags |= _FLAG_CAPTURE
            self._flag = Flag()
            self._write_pending = False
            self._write_connection = None
        if notify:
            flags |= _FLAG_NOTIFY
        if indicate:
            flags |= _FLAG_INDICATE
        self.flags = flags
        self._initial = initial

    def _tuple(self):
        return (
            self.uuid,
            self.flags & 0xFFFF,
            tuple(d._tuple() for d in self.descriptors),
        )

    def notify(self, connection, data=None):
        self._check()
        if data is None:
            ble.gatts_notify(connection._conn_handle, self._value_handle)
        else:
            ble.gatts_notify(connection._conn_handle, self._value_handle, data)

    async def indicate(self, connection, data=None, timeout_ms=1000):
        self._check()
        conn_handle = connection._conn_handle
        if conn_handle in self._indications:
            raise ValueError("In progress")  # one unconfirmed indication per link
        # [status, flag] for this link, filled by INDICATE_DONE.
        pending = self._indications[conn_handle] = [None, Flag()]
        try:
            with connection.timeout(timeout_ms):
                if data is None:
                    ble.gatts_indicate(conn_handle, self._value_handle)
                else:
                    ble.gatts_indicate(conn_handle, self._value_handle, data)
                while pending[0] is None:
                    await pending[1].wait()
        finally:
            del self._indications[conn_handle]
        if pending[0] != 0:
            raise GattError(pending[0])

    def _indicate_done(self, conn_handle, status):
        pending = self._indications.get(conn_handle)
        if pending:
            pending[0] = status
            pending[1].set()


class BufferedCharacteristic(Characteristic):
    def __init__(self, *args, max_len=20, append=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._max_len = max_len
        self._append = append

    def _register(self, handle):
        ble.gatts_set_buffer(handle, self._max_len, self._append)
        super()._register(handle)


class Descriptor(BaseCharacteristic):
    def __init__(self, characteristic, uuid, read=False, write=False, initial=None):
        characteristic.descriptors.append(self)
        self.uuid = uuid
        flags = 0
        if read:
            flags |= _FLAG_READ
        if write:
            flags |= _FLAG_WRITE
            self._flag = Flag()
            self._write_pending = False
            self._write_connection = None
        self.flags = flags
        self._initial = initial

    def _tuple(self):
        return (self.uuid, self.flags)


def register_services(*services):
    ensure_active()
    # Registering again replaces the whole database.
    _registered.clear()
    _capture_queue.clear()
    handles = ble.gatts_register_services(tuple(s._tuple() for s in services))
    for svc, svc_handles in zip(services, handles):
        it = iter(svc_handles)
        for c in svc.characteristics:
            c._register(next(it))
            for d in c.descriptors:
                d._register(next(it))
