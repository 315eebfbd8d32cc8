"""A phone app, played by a Bumble host on the virtual radio: what nRF Connect or a
companion app does with the camera's ESS sensor (examples/sensor_peripheral.py).

It scans for the Environmental Sensing service UUID (0x181A), connects, discovers the
temperature (0x2A6E) and humidity (0x2A6F) characteristics, reads them, subscribes to both
and reports each value until it has `readings` temperatures, then disconnects.
Used by `python python/demo.py --phone`.
"""

from __future__ import annotations

import asyncio
import struct

from bumble.core import UUID, AdvertisingData
from bumble.device import Device, Peer

ESS = UUID.from_16_bits(0x181A)
TEMPERATURE = UUID.from_16_bits(0x2A6E)
HUMIDITY = UUID.from_16_bits(0x2A6F)
STEP_S = 5.0  # bound on each single step (scan, connect, discovery, one value)


def temp_of(value: bytes) -> float:
    return struct.unpack('<h', value)[0] / 100


def hum_of(value: bytes) -> float:
    return struct.unpack('<H', value)[0] / 100


async def find_sensor(device: Device, say):
    found = asyncio.get_running_loop().create_future()

    def on_advertisement(adv) -> None:
        uuids = adv.data.get(AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS) or []
        if ESS in uuids and adv.is_connectable and not found.done():
            found.set_result(adv)

    device.on('advertisement', on_advertisement)
    # Legacy scanning: the firmware advertises with legacy PDUs, as phones still see most.
    await device.start_scanning(legacy=True, active=True)
    try:
        adv = await asyncio.wait_for(found, STEP_S)
    finally:
        await device.stop_scanning(legacy=True)
        device.remove_listener('advertisement', on_advertisement)
    name = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
    say(f'found {name} at {adv.address} (rssi {adv.rssi}), connectable, advertises ESS')
    return adv.address


async def phone_app(device: Device, readings: int, say) -> dict:
    """Runs the app once; returns what it saw: {'reads': [(t, h)], 'temps': [...], 'hums': [...]}."""
    seen = {'reads': [], 'temps': [], 'hums': []}
    address = await find_sensor(device, say)
    connection = await device.connect(address, timeout=STEP_S)
    say(f'connected, handle {connection.handle}')
    try:
        peer = Peer(connection)
        await asyncio.wait_for(peer.discover_services([ESS]), STEP_S)
        service = next(s for s in peer.services if s.uuid == ESS)
        await asyncio.wait_for(service.discover_characteristics(), STEP_S)
        chars = {c.uuid: c for c in service.characteristics}
        temp_char, hum_char = chars[TEMPERATURE], chars[HUMIDITY]
        say(f'discovered ESS: temperature (handle {temp_char.handle}), humidity (handle {hum_char.handle})')
        t = temp_of(await asyncio.wait_for(temp_char.read_value(), STEP_S))
        h = hum_of(await asyncio.wait_for(hum_char.read_value(), STEP_S))
        seen['reads'].append((t, h))
        say(f'read temperature {t:.2f} C, humidity {h:.2f} %')

        enough = asyncio.Event()

        def on_temperature(value: bytes) -> None:
            seen['temps'].append(temp_of(value))
            say(f'notified temperature {seen["temps"][-1]:.2f} C')
            if len(seen['temps']) >= readings:
                enough.set()

        def on_humidity(value: bytes) -> None:
            seen['hums'].append(hum_of(value))
            say(f'notified humidity {seen["hums"][-1]:.2f} %')

        await asyncio.wait_for(temp_char.subscribe(on_temperature), STEP_S)
        await asyncio.wait_for(hum_char.subscribe(on_humidity), STEP_S)
        say('subscribed to both')
        await asyncio.wait_for(enough.wait(), STEP_S * readings)
    finally:
        await asyncio.wait_for(connection.disconnect(), STEP_S)
        say('disconnected')
    return seen
