# aioble security: pair(), and the bonds the stack hands over through the
# secrets IRQs, kept in a JSON file (a list of [sec_type, key, value], key and
# value in base64) so bonded peers re-encrypt without pairing after a restart.
#
# Beyond upstream: the file is replaced atomically (written beside, then
# renamed), so a power cut leaves the old bonds or the new ones, never a
# torn file; a file that doesn't parse is reported and ignored. Passkey and
# numeric-comparison pairing can complete: set_passkey_handler() takes
# a function called for every passkey request, and passkey() answers one
# later if the handler doesn't. pair() raises OSError(EACCES) when the
# pairing fails or when mitm=True could not be met (io=3 has no way to
# confirm a code, so the link would be encrypted but not authenticated).

from micropython import const, schedule
import asyncio
import binascii
import json

from .core import ble, register_irq_handler, log_error, log_warn, Flag
from .device import DeviceConnection

_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

_IO_CAPABILITY_NO_INPUT_OUTPUT = const(3)
_EACCES = const(13)

# MicroPython's passkey actions, for handlers.
PASSKEY_ACTION_INPUT = const(2)
PASSKEY_ACTION_DISPLAY = const(3)
PASSKEY_ACTION_NUMERIC_COMPARISON = const(4)

_DEFAULT_PATH = "ble_secrets.json"

_secrets = {}  # (sec_type, key bytes) -> value bytes, in insertion order
_path = None
_save_pending = False
_passkey_handler = None


def load_secrets(path=None):
    # With no path: the file loaded last (activation reloads it), else the default.
    global _path, _secrets
    _path = path or _path or _DEFAULT_PATH
    loaded = {}
    try:
        with open(_path, "r") as f:
            entries = json.load(f)
        for sec_type, key, value in entries:
            loaded[(int(sec_type), binascii.a2b_base64(key))] = binascii.a2b_base64(value)
    except OSError:
        pass  # no file yet: no bonds
    except (ValueError, TypeError) as e:
        log_error("secrets file", _path, "ignored:", repr(e))
        loaded = {}
    _secrets = loaded


def _save(_):
    global _save_pending
    _save_pending = False
    if _path is None:
        return
    entries = [
        [sec_type, binascii.b2a_base64(key, newline=False).decode(), binascii.b2a_base64(value, newline=False).decode()]
        for (sec_type, key), value in _secrets.items()
    ]
    import os

    tmp = _path + ".new"
    try:
        with open(tmp, "w") as f:
            json.dump(entries, f)
        os.rename(tmp, _path)
    except OSError as e:
        log_error("secrets file", _path, "not saved:", repr(e))


def _security_irq(event, data):
    global _save_pending
    if event == _IRQ_ENCRYPTION_UPDATE:
        conn_handle, encrypted, authenticated, bonded, key_size = data
        connection = DeviceConnection._connected.get(conn_handle)
        if connection is not None:
            connection.encrypted = encrypted
            connection.authenticated = authenticated
            connection.bonded = bonded
            connection.key_size = key_size
            if connection._pair_event:
                connection._pair_event.set()
    elif event == _IRQ_GET_SECRET:
        sec_type, index, key = data
        if key is None:
            # The index-th secret of this type (the stack enumerates them).
            i = 0
            for (t, _), value in _secrets.items():
                if t == sec_type:
                    if i == index:
                        return value
                    i += 1
            return None
        return _secrets.get((sec_type, bytes(key)))
    elif event == _IRQ_SET_SECRET:
        sec_type, key, value = data
        key = (sec_type, bytes(key))
        if value is None:
            _secrets.pop(key, None)
        else:
            _secrets[key] = bytes(value)
        # File I/O outside the IRQ, once for a burst of secrets.
        if not _save_pending:
            _save_pending = True
            schedule(_save, None)
        return True
    elif event == _IRQ_PASSKEY_ACTION:
        conn_handle, action, passkey = data
        connection = DeviceConnection._connected.get(conn_handle)
        if _passkey_handler is None or connection is None:
            log_warn("passkey action", action, "unanswered (no handler)")
            return
        answer = _passkey_handler(connection, action, passkey)
        if answer is not None:
            _answer(connection, action, answer)


def _answer(connection, action, answer):
    if action == PASSKEY_ACTION_NUMERIC_COMPARISON:
        value = 1 if answer else 0
    elif action == PASSKEY_ACTION_DISPLAY and answer is True:
        value = 0  # acknowledged; the stack uses the passkey it showed
    else:
        value = int(answer)
    ble.gap_passkey(connection._conn_handle, action, value)


def _security_shutdown():
    global _secrets
    # As upstream: stop() forgets the loaded secrets; activation reloads them.
    _secrets = {}


register_irq_handler(_security_irq, _security_shutdown)


def set_passkey_handler(handler):
    # handler(connection, action, passkey) is called in the IRQ for each
    # request. Return the passkey typed (action 2), True/False for a numeric
    # comparison (action 4) or True once the displayed passkey is shown
    # (action 3); return None to answer later with passkey().
    global _passkey_handler
    _passkey_handler = handler


def passkey(connection, action, answer):
    # Answers a pending passkey request, as a handler's return value would.
    _answer(connection, action, answer)


async def pair(
    connection,
    bond=True,
    le_secure=True,
    mitm=False,
    io=_IO_CAPABILITY_NO_INPUT_OUTPUT,
    timeout_ms=20000,
):
    ble.config(bond=bond, le_secure=le_secure, mitm=mitm, io=io)
    with connection.timeout(timeout_ms):
        connection._pair_event = Flag()
        try:
            ble.gap_pair(connection._conn_handle)
            await connection._pair_event.wait()
        finally:
            connection._pair_event = None
    if not connection.encrypted or (mitm and not connection.authenticated):
        raise OSError(_EACCES)
