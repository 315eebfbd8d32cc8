# Frame viewer: connects to the camera, opens an L2CAP channel on PSM 0x80,
# asks for `frames` frames and reassembles each from the SDUs it receives,
# checking its size and CRC-32 against the header; prints the throughput.
# Peer: examples/frame_sender.py.
# Run: python python/run_example.py frames
# Usage: micropython frame_receiver.py [frames=3]
# Exit status 0 (RESULT OK) if every frame arrived whole with a matching CRC.
import sys
import struct
import binascii
import time

import asyncio
import aioble
from micropython import const

_PSM = const(0x80)
_MTU = const(512)
WANT = int(sys.argv[1]) if len(sys.argv) > 1 else 3

good = []


async def find():
    async with aioble.scan(5000, interval_us=30_000, window_us=30_000, active=True) as scanner:
        async for result in scanner:
            if result.name() == "cam-frames":
                return result.device
    return None


async def receive_frame(channel, buf):
    # Header first: the camera sends it as an SDU of its own.
    n = await channel.recvinto(buf, timeout_ms=5000)
    magic, width, height, seq, crc = struct.unpack("<4sHHHxxI", buf[:n])
    if magic != b"FRM0":
        raise ValueError("not a frame header")
    frame = bytearray(width * height)
    got = 0
    start = time.ticks_ms()
    while got < len(frame):
        n = await channel.recvinto(buf, timeout_ms=5000)
        if n == 0:
            raise aioble.L2CAPDisconnectedError("closed mid-frame")
        frame[got : got + n] = buf[:n]
        got += n
    ms = max(1, time.ticks_diff(time.ticks_ms(), start))
    check = binascii.crc32(frame)
    ok = check == crc
    print("frame seq=%d %dx%d bytes=%d crc=%08x computed=%08x %s, %d kB/s" % (
        seq, width, height, got, crc, check, "ok" if ok else "MISMATCH", got // ms))
    if ok:
        good.append(seq)


async def main():
    device = await find()
    if device is None:
        raise RuntimeError("camera not found")
    async with await device.connect(timeout_ms=5000) as connection:
        print("connected")
        channel = await connection.l2cap_connect(_PSM, _MTU, timeout_ms=5000)
        print("channel open, our mtu %d, peer mtu %d" % (channel.our_mtu, channel.peer_mtu))
        async with channel:
            await channel.send(b"GET %d" % WANT)
            buf = bytearray(channel.our_mtu)
            for _ in range(WANT):
                await receive_frame(channel, buf)


ok = False
try:
    asyncio.run(asyncio.wait_for_ms(main(), 30_000))
    ok = len(good) == WANT
finally:
    aioble.stop()
print("SUMMARY frames_ok=%d of %d" % (len(good), WANT))
print("RESULT OK" if ok else "RESULT FAIL")
sys.exit(0 if ok else 1)
