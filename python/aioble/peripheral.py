# aioble peripheral role: advertise() builds the payload, advertises and
# returns the DeviceConnection of the central that connects.
#
# Beyond upstream: a non-connectable advert's timeout_ms returns None (the
# beacon loop); the name is sized in bytes and a field may end exactly at
# byte 31.

from micropython import const
import asyncio
import struct

from .core import ble, ensure_active, register_irq_handler, log_error, Flag
from .device import Device, DeviceConnection, DeviceTimeout

_IRQ_CENTRAL_CONNECT = const(1)

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_UUID16_COMPLETE = const(0x03)
_ADV_TYPE_UUID32_COMPLETE = const(0x05)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_APPEARANCE = const(0x19)
_ADV_TYPE_MANUFACTURER = const(0xFF)
_ADV_PAYLOAD_MAX_LEN = const(31)

_incoming = None  # DeviceConnection waiting to be returned by advertise()
_connect_event = None


def _peripheral_irq(event, data):
    global _incoming
    if event == _IRQ_CENTRAL_CONNECT:
        conn_handle, addr_type, addr = data
        connection = DeviceConnection(Device(addr_type, bytes(addr)))
        connection._on_connect(conn_handle)
        _incoming = connection
        if _connect_event:
            _connect_event.set()


def _peripheral_shutdown():
    global _incoming
    _incoming = None
    if _connect_event:
        _connect_event.set()  # advertise() sees no connection and returns None


register_irq_handler(_peripheral_irq, _peripheral_shutdown)


# Appends one AD structure to the advertising payload if it fits, else to the
# scan response; neither -> ValueError.
def _append(adv_data, resp_data, adv_type, value):
    field = bytes((len(value) + 1, adv_type)) + value
    for buf in (adv_data, resp_data):
        if len(buf) + len(field) <= _ADV_PAYLOAD_MAX_LEN:
            buf.extend(field)
            return
    raise ValueError("Advertising payload too long")


def _build(limited_disc, br_edr, name, services, appearance, manufacturer):
    adv_data = bytearray()
    resp_data = bytearray()
    flags = (0x01 if limited_disc else 0x02) + (0x18 if br_edr else 0x04)
    _append(adv_data, resp_data, _ADV_TYPE_FLAGS, bytes((flags,)))
    if services:
        # One list field per UUID size, in 16/32/128 order.
        for size, adv_type in (
            (2, _ADV_TYPE_UUID16_COMPLETE),
            (4, _ADV_TYPE_UUID32_COMPLETE),
            (16, _ADV_TYPE_UUID128_COMPLETE),
        ):
            group = b"".join(bytes(u) for u in services if len(bytes(u)) == size)
            if group:
                _append(adv_data, resp_data, adv_type, group)
    if name:
        _append(adv_data, resp_data, _ADV_TYPE_NAME, name.encode() if isinstance(name, str) else bytes(name))
    if appearance:
        _append(adv_data, resp_data, _ADV_TYPE_APPEARANCE, struct.pack("<H", appearance))
    if manufacturer:
        _append(
            adv_data, resp_data, _ADV_TYPE_MANUFACTURER, struct.pack("<H", manufacturer[0]) + bytes(manufacturer[1])
        )
    return adv_data, resp_data


async def advertise(
    interval_us,
    adv_data=None,
    resp_data=None,
    connectable=True,
    limited_disc=False,
    br_edr=False,
    name=None,
    services=None,
    appearance=0,
    manufacturer=None,
    timeout_ms=None,
):
    global _incoming, _connect_event
    if not adv_data and not resp_data:
        # Raw adv_data/resp_data bypass the builder entirely.
        adv_data, resp_data = _build(limited_disc, br_edr, name, services, appearance, manufacturer)
        adv_data, resp_data = bytes(adv_data), bytes(resp_data)

    ensure_active()
    if _connect_event is None:
        _connect_event = Flag()
    _connect_event.clear()
    _incoming = None
    ble.gap_advertise(interval_us, adv_data=adv_data, resp_data=resp_data, connectable=connectable)
    try:
        with DeviceTimeout(None, timeout_ms):
            while _incoming is None:
                await _connect_event.wait()
                if not ble.active():
                    return None  # stop() ended the advert
            connection, _incoming = _incoming, None
            return connection
    except asyncio.CancelledError:
        return None  # cancelled by the app: advertising stops, as upstream
    except asyncio.TimeoutError:
        if not connectable:
            return None  # a beacon's advert simply ends
        raise
    finally:
        # The controller stops advertising on connect; this covers the rest.
        if ble.active():
            try:
                ble.gap_advertise(None)
            except OSError as e:
                log_error("advertise stop", e)
