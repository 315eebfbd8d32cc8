# Camera control client: connects to the control peripheral, sends commands
# (with response, then a burst without response), and reads the status, which
# the peripheral computes on every read; a read while privacy is on must fail
# with GattError status 0x02. Checks each status against what it expects.
# Peer: examples/control_peripheral.py.
# Run: python python/run_example.py control
# Usage: micropython control_client.py
# Exit status 0 (RESULT OK) if every status read matched.
import sys

import asyncio
import aioble
import bluetooth

_CONTROL_UUID = bluetooth.UUID("7a1e0001-5c3a-4e8b-9d2f-6c0de0c0ffee")
_COMMAND_UUID = bluetooth.UUID("7a1e0002-5c3a-4e8b-9d2f-6c0de0c0ffee")
_STATUS_UUID = bluetooth.UUID("7a1e0003-5c3a-4e8b-9d2f-6c0de0c0ffee")

failures = []


async def find():
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if _CONTROL_UUID in result.services():
                return result.device
    return None


async def send(command, cmd, response=True):
    await command.write(cmd, response=response)
    print("sent %s%s" % (cmd.decode(), "" if response else " (no response)"))


async def check_status(status, expected):
    try:
        got = (await status.read()).decode()
    except aioble.GattError as e:
        got = "GattError 0x%02x" % e._status
    print("status %s %s" % ("==" if got == expected else "!= expected %r:" % expected, got))
    if got != expected:
        failures.append(got)


async def main():
    device = await find()
    if device is None:
        raise RuntimeError("camera not found")
    async with await device.connect(timeout_ms=5000) as connection:
        # The status is longer than 20 bytes: with the default MTU it would take a Read
        # plus a Read Blob, and on_read runs for each, so the two halves could differ.
        print("connected, mtu %d" % await connection.exchange_mtu(128))
        service = await connection.service(_CONTROL_UUID)
        command = await service.characteristic(_COMMAND_UUID)
        status = await service.characteristic(_STATUS_UUID)
        for cmd in (b"exposure=120", b"shoot", b"shoot", b"exposure=80", b"shoot"):
            await send(command, cmd)
        await check_status(status, "shots=3 exposure=80 reads=1")
        await send(command, b"privacy on")
        await check_status(status, "GattError 0x02")
        await send(command, b"privacy off")
        await check_status(status, "shots=3 exposure=80 reads=3")
        # A burst: no write waits for the one before, the capture queue keeps them all in order.
        for i in range(8):
            await send(command, b"exposure=%d" % (10 + i) if i % 2 else b"shoot", response=False)
        # A write with response is answered only after the server took every earlier write.
        await send(command, b"shoot")
        await check_status(status, "shots=8 exposure=17 reads=4")


ok = False
try:
    asyncio.run(asyncio.wait_for_ms(main(), 20_000))
    ok = not failures
finally:
    aioble.stop()
print("RESULT OK" if ok else "RESULT FAIL %r" % failures)
sys.exit(0 if ok else 1)
