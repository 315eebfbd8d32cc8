# aioble core: the shared BLE object, logging, GattError, activation, stop() and
# the IRQ fan-out that every other aioble submodule registers with.

import asyncio
import bluetooth

log_level = 1


def log_error(*args):
    if log_level > 0:
        print("[aioble] E:", *args)


def log_warn(*args):
    if log_level > 1:
        print("[aioble] W:", *args)


def log_info(*args):
    if log_level > 2:
        print("[aioble] I:", *args)


class GattError(Exception):
    def __init__(self, status):
        super().__init__(status)
        self._status = status


_irq_handlers = []
_shutdown_handlers = []


def register_irq_handler(irq, shutdown):
    if irq:
        _irq_handlers.append(irq)
    if shutdown:
        _shutdown_handlers.append(shutdown)


# Every handler sees every event (submodules filter themselves); the first
# non-None answer goes back to the stack (GATTS_READ_REQUEST, GET_SECRET, ...).
# A failing handler is logged so it can't starve the others.
def ble_irq(event, data):
    result = None
    for handler in _irq_handlers:
        try:
            r = handler(event, data)
        except Exception as e:
            log_error("irq", event, repr(e))
            r = None
        if result is None:
            result = r
    if _pump is not None:
        _pump.set()
    return result


# The stack hands events to Python through the scheduler, which runs only
# between bytecodes: an asyncio loop blocked in poll() on file descriptors
# (e.g. every task in asyncio.sleep) would hear of a link loss only when its
# sleep ends. So while aioble has waiters, one task waits on a flag that
# every event sets: the loop wakes as soon as an event was handled, and the
# tasks the event woke or cancelled run at once. The backend's Waker has a
# file descriptor on unix, so the loop sleeps in poll() until then (an
# asyncio.ThreadSafeFlag would be checked every millisecond); elsewhere the
# loop waits for interrupts between checks. stop() ends the task.
try:
    from _trouble import Waker as _Waker
except ImportError:
    _Waker = None


class _Flag:
    def __init__(self):
        self._w = _Waker()

    def set(self):
        self._w.set()

    async def wait(self):
        if not self._w.clear():
            yield asyncio.core._io_queue.queue_read(self._w)
            self._w.clear()


_pump = None


async def _pump_task(flag):
    while flag is _pump:
        await flag.wait()


def ensure_pump():
    global _pump
    if _pump is None:
        _pump = _Flag() if _Waker else asyncio.ThreadSafeFlag()
        asyncio.create_task(_pump_task(_pump))


def ensure_active():
    if not ble.active():
        # Bonds come back with the radio (stop() forgets them), as upstream.
        try:
            from .security import load_secrets

            load_secrets()
        except ImportError:
            pass
        ble.irq(ble_irq)
        ble.active(True)


def config(*args, **kwargs):
    ensure_active()
    return ble.config(*args, **kwargs)


# Radio off. The controller reports nothing more once inactive, so the
# submodules' shutdown hooks unwind their own waiters (connections, scans,
# adverts) as if the radio had reported the end of each.
def stop():
    global _pump
    ble.active(False)
    if _pump is not None:
        _pump.set()
        _pump = None
    for handler in _shutdown_handlers:
        try:
            handler()
        except Exception as e:
            log_error("shutdown", repr(e))


ble = bluetooth.BLE()
ble.irq(ble_irq)
