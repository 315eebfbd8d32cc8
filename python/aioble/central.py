# aioble central role: scan() (async context manager and async iterator of
# ScanResult) and the connect procedure behind Device.connect().

from micropython import const
import asyncio
import bluetooth
import struct

from .core import ble, ensure_active, register_irq_handler, log_error, Flag
from .device import Device, DeviceConnection, DeviceTimeout

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_IRQ_PERIPHERAL_CONNECT = const(7)
_IRQ_PERIPHERAL_DISCONNECT = const(8)

_ADV_IND = const(0)
_ADV_DIRECT_IND = const(1)
_SCAN_RSP = const(4)

_ADV_TYPE_NAME_SHORT = const(0x08)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_MANUFACTURER = const(0xFF)

_EALREADY = const(114)
_ECONNABORTED = const(103)
_BAD_HANDLE = const(65535)  # a failed/cancelled connection attempt (README)

_active_scanner = None
_connecting = {}  # Device -> [Flag, DeviceConnection, attempt failed, link came up]


def _central_irq(event, data):
    global _active_scanner
    if event == _IRQ_SCAN_RESULT:
        if _active_scanner:
            addr_type, addr, adv_type, rssi, adv_data = data
            _active_scanner._result(addr_type, bytes(addr), adv_type, rssi, bytes(adv_data))
    elif event == _IRQ_SCAN_DONE:
        s = _active_scanner
        if s:
            _active_scanner = None
            s._finish()
    elif event == _IRQ_PERIPHERAL_CONNECT:
        conn_handle, addr_type, addr = data
        pending = _connecting.get(Device(addr_type, bytes(addr)))
        if pending is None and len(_connecting) == 1:
            # The controller runs one attempt at a time; the peer may report
            # another address than the one we dialled (e.g. a private one).
            pending = next(iter(_connecting.values()))
        if pending is None:
            # Our attempt was abandoned (timeout) but the link came up anyway.
            try:
                ble.gap_disconnect(conn_handle)
            except OSError:
                pass
            return
        pending[1]._on_connect(conn_handle)
        pending[3] = True
        pending[0].set()
    elif event == _IRQ_PERIPHERAL_DISCONNECT and data[0] == _BAD_HANDLE:
        for pending in _connecting.values():
            pending[2] = True
            pending[0].set()


def _central_shutdown():
    global _active_scanner
    s, _active_scanner = _active_scanner, None
    if s:
        s._finish()
    for pending in _connecting.values():
        pending[2] = True
        pending[0].set()


register_irq_handler(_central_irq, _central_shutdown)


async def _cancel_scan():
    if _active_scanner:
        await _active_scanner.cancel()


async def _connect(connection, timeout_ms, scan_duration_ms, min_conn_interval_us, max_conn_interval_us):
    device = connection.device
    if device in _connecting:
        raise ValueError("Already connecting")
    ensure_active()
    await _cancel_scan()  # a central can't scan and connect at once
    pending = [Flag(), connection, False, False]
    _connecting[device] = pending
    # The controller's attempt lasts scan_duration_ms (default: the whole
    # timeout); a failed attempt is retried while timeout_ms allows. A link
    # that came up counts even if the peer has closed it again by the time
    # this task runs: the caller gets the (already disconnected) connection,
    # as if it had looked a moment earlier, rather than a new attempt.
    duration = scan_duration_ms if scan_duration_ms is not None else (timeout_ms or 2000)
    try:
        with DeviceTimeout(None, timeout_ms):
            while not pending[3]:
                pending[2] = False
                ble.gap_connect(device.addr_type, device.addr, duration, min_conn_interval_us, max_conn_interval_us)
                while not pending[3] and not pending[2]:
                    await pending[0].wait()
                if not ble.active():
                    raise OSError(_ECONNABORTED)  # stop() during connect
                if pending[2] and scan_duration_ms is not None and not pending[3]:
                    raise asyncio.TimeoutError  # the caller's own attempt length ran out
        return connection
    except BaseException:
        if not pending[3]:
            device._connection = None
            try:
                ble.gap_connect(None)
            except OSError:
                pass
        raise
    finally:
        del _connecting[device]


class ScanResult:
    def __init__(self, device):
        self.device = device
        self.adv_data = None
        self.resp_data = None
        self.rssi = None
        self.connectable = False

    # Returns True when the payload changed, so the scan yields it again.
    def _update(self, adv_type, rssi, adv_data):
        self.rssi = rssi
        if adv_type == _SCAN_RSP:
            changed = adv_data != self.resp_data
            self.resp_data = adv_data
        else:
            self.connectable = adv_type in (_ADV_IND, _ADV_DIRECT_IND)
            changed = adv_data != self.adv_data
            self.adv_data = adv_data
        return changed

    def __str__(self):
        return "Scan result: {} {}".format(self.device, self.rssi)

    # Values of every AD structure of the given types, adv data first.
    def _decode_field(self, *adv_types):
        for payload in (self.adv_data, self.resp_data):
            if not payload:
                continue
            i = 0
            while i + 1 < len(payload):
                n = payload[i]
                if n == 0 or i + 1 + n > len(payload):
                    break  # padding or a truncated field ends the payload
                if payload[i + 1] in adv_types:
                    yield payload[i + 2 : i + 1 + n]
                i += 1 + n

    def name(self):
        for value in self._decode_field(_ADV_TYPE_NAME, _ADV_TYPE_NAME_SHORT):
            try:
                return value.decode()
            except UnicodeError:
                return str(value)
        return None

    def services(self):
        for size, types in ((2, (0x02, 0x03)), (4, (0x04, 0x05)), (16, (0x06, 0x07))):
            for value in self._decode_field(*types):
                for i in range(0, len(value) - size + 1, size):
                    yield bluetooth.UUID(value[i : i + size])

    def manufacturer(self, filter=None):
        for value in self._decode_field(_ADV_TYPE_MANUFACTURER):
            if len(value) < 2:
                continue
            company_id = struct.unpack("<H", value[:2])[0]
            if filter is None or filter == company_id:
                yield (company_id, bytes(value[2:]))


class scan:
    # Only one scan runs at a time; leaving the `async with` block cancels it.
    def __init__(self, duration_ms, interval_us=1280000, window_us=11250, active=False):
        self._duration_ms = duration_ms
        self._interval_us = interval_us or 1280000
        self._window_us = window_us or 11250
        self._active = active
        self._results = {}  # Device -> ScanResult, so updates reuse the object
        self._queue = []
        self._event = Flag()
        self._started = False
        self._done = False

    def _result(self, addr_type, addr, adv_type, rssi, adv_data):
        device = Device(addr_type, addr)
        r = self._results.get(device)
        if r is None:
            r = self._results[device] = ScanResult(device)
        if r._update(adv_type, rssi, adv_data) and r not in self._queue:
            self._queue.append(r)
            self._event.set()

    def _finish(self):
        self._done = True
        self._event.set()

    def _start(self):
        global _active_scanner
        if self._started:
            return
        if _active_scanner:
            raise OSError(_EALREADY)
        ensure_active()
        _active_scanner = self
        self._started = True
        try:
            ble.gap_scan(self._duration_ms, self._interval_us, self._window_us, self._active)
        except BaseException:
            _active_scanner = None
            self._done = True
            raise

    async def __aenter__(self):
        self._start()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_traceback):
        await self.cancel()

    def __aiter__(self):
        self._start()
        return self

    async def __anext__(self):
        while True:
            if self._queue:
                return self._queue.pop(0)
            if self._done:
                raise StopAsyncIteration
            await self._event.wait()

    async def cancel(self):
        global _active_scanner
        if self._done or not self._started:
            return
        try:
            ble.gap_scan(None)
        except OSError as e:
            log_error("scan stop", e)
        # SCAN_DONE may come just after gap_scan(None) returns; poll for it
        # (the iterator may be waiting on _event, which takes one waiter).
        for _ in range(100):
            if self._done:
                return
            await asyncio.sleep_ms(10)
        if _active_scanner is self:
            _active_scanner = None
        self._done = True
