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


# Every waiter in aioble waits on a Flag, set from the IRQ handler. With the
# backend's Waker behind it, a flag has a file descriptor on unix, so a loop
# with nothing to do sleeps in poll() (an asyncio.ThreadSafeFlag has none,
# and asyncio would check it every millisecond); elsewhere the loop waits for
# interrupts between checks. Wakers share one descriptor (readable while an
# armed Waker is set, or events wait for delivery), so a waiter may wake for
# another's flag: it checks its own and waits again.
try:
    from _trouble import Waker as _Waker
except ImportError:
    _Waker = None


class _WakerFlag:
    def __init__(self):
        self._w = _Waker()

    def set(self):
        self._w.set()

    def clear(self):
        self._w.clear()

    async def wait(self):
        w = self._w
        while not w.clear():
            w.arm(True)
            try:
                yield asyncio.core._io_queue.queue_read(w)
            finally:
                w.arm(False)


Flag = _WakerFlag if _Waker else asyncio.ThreadSafeFlag


# The stack hands events to Python through the scheduler, which runs the IRQ
# handler between any two bytecodes, also in the middle of asyncio's own
# loop. So a handler only sets flags; what must change asyncio's state (a
# task cancelled because its link dropped) is deferred to one task, which
# every event wakes: it runs those at the loop's next turn, and the loop
# wakes as soon as an event was handled. It runs while aioble has waiters;
# stop() ends it.
_pump = None
_deferred = []


def defer(fn):
    # From an IRQ handler: call fn() from the pump task, not in the handler.
    _deferred.append(fn)
    if _pump is not None:
        _pump.set()


def _run_deferred():
    while _deferred:
        fn = _deferred.pop(0)
        try:
            fn()
        except Exception as e:
            log_error("deferred", repr(e))


async def _pump_task(flag):
    while flag is _pump:
        await flag.wait()
        _run_deferred()


def ensure_pump():
    global _pump
    if _pump is None:
        _pump = Flag()
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
    for handler in _shutdown_handlers:
        try:
            handler()
        except Exception as e:
            log_error("shutdown", repr(e))
    # Not from an IRQ: what the handlers deferred can run here.
    _run_deferred()
    if _pump is not None:
        _pump.set()
        _pump = None


ble = bluetooth.BLE()
ble.irq(ble_irq)
