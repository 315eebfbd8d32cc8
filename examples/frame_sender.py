# Camera frames over L2CAP: the camera (peripheral) accepts a credit-based
# channel on PSM 0x80 (agreed out of band with the viewer) and streams the
# frames the viewer asks for: a synthetic 160x120 grey image per frame (a
# gradient with a bright square that moves from frame to frame), each after a
# 16-byte header carrying its size, sequence number and CRC-32. Bulk data like
# this is what L2CAP is for: no 20-byte values, no ATT round trips.
# Peer: examples/frame_receiver.py.
# Run: python python/run_example.py frames
# Usage: micropython frame_sender.py [idle_s=0]
#   idle_s: stop once a viewer has come and gone and none came back within
#   idle_s seconds; 0: run until Ctrl-C.
# Header: b"FRM0" + width, height, seq (uint16 each), 2 pad bytes, crc32 (uint32), little endian.
import sys
import struct
import binascii
import time

import asyncio
import aioble
from micropython import const

_PSM = const(0x80)
_MTU = const(512)  # the chapter's suggestion; the camera allows up to 1017
WIDTH, HEIGHT = 160, 120
IDLE_S = int(sys.argv[1]) if len(sys.argv) > 1 else 0

stats = {"frames": 0, "bytes": 0}


def make_frame(seq):
    img = bytearray(WIDTH * HEIGHT)
    for y in range(HEIGHT):
        base = y * WIDTH
        for x in range(WIDTH):
            img[base + x] = (x + 2 * y) & 0xFF
    # The "object": a 24x24 white square crossing the view.
    left, top = (seq * 29) % (WIDTH - 24), (seq * 17) % (HEIGHT - 24)
    for y in range(top, top + 24):
        img[y * WIDTH + left : y * WIDTH + left + 24] = b"\xff" * 24
    return img


async def stream(channel, count):
    for seq in range(count):
        frame = make_frame(seq)
        crc = binascii.crc32(frame)
        start = time.ticks_ms()
        await channel.send(struct.pack("<4sHHHxxI", b"FRM0", WIDTH, HEIGHT, seq, crc))
        # send() cuts the frame into SDUs of the viewer's MTU and waits for credits.
        await channel.send(frame)
        await channel.flush()
        stats["frames"] += 1
        stats["bytes"] += len(frame)
        print("sent frame seq=%d bytes=%d crc=%08x in %d ms" % (seq, len(frame), crc, time.ticks_diff(time.ticks_ms(), start)))


async def serve(connection):
    channel = await connection.l2cap_accept(_PSM, _MTU, timeout_ms=5000)
    print("channel open, our mtu %d, peer mtu %d" % (channel.our_mtu, channel.peer_mtu))
    request = bytearray(channel.our_mtu)
    n = await channel.recvinto(request, timeout_ms=5000)
    if request[:4] != b"GET ":
        print("unknown request %r" % bytes(request[:n]))
        return
    await stream(channel, int(bytes(request[4:n])))
    # The viewer closes once it has checked everything.
    await channel.disconnected(timeout_ms=10_000)
    print("channel closed")


async def main():
    served = 0
    while True:
        try:
            connection = await aioble.advertise(
                100_000, name="cam-frames", timeout_ms=IDLE_S * 1000 if IDLE_S and served else None
            )
        except asyncio.TimeoutError:
            print("no viewer for %d s, stopping" % IDLE_S)
            return
        served += 1
        print("connected %s" % connection.device.addr_hex())
        try:
            await serve(connection)
        except (aioble.DeviceDisconnectedError, aioble.L2CAPDisconnectedError, asyncio.TimeoutError) as e:
            print("viewer gone: %r" % e)
        await connection.disconnected(timeout_ms=None)
        print("disconnected")


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY frames=%d bytes=%d" % (stats["frames"], stats["bytes"]))
