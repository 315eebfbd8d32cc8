# Broadcaster: a camera that publishes its frame counter and board temperature
# in manufacturer-specific data (company 0xFFFF, the SIG's ID reserved for
# tests), non-connectable, in one-second advertising rounds: the chapter's
# beacon loop, where advertise(connectable=False, timeout_ms=...) simply
# returns after each round. Nobody can connect; observers just listen.
# Peer: examples/observer.py.
# Run: python python/run_example.py beacon
# Usage: micropython beacon.py [rounds=0 (until Ctrl-C)] [round_ms=1000]
# Payload: b"CAM" + seq (uint16) + temperature (int16, 0.01 degC), little endian.
import sys
import struct

import asyncio
import aioble
from micropython import const

_COMPANY_TEST = const(0xFFFF)
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 0
ROUND_MS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000

sent = 0


def hundredths(v):
    # Exact decimal text of a value in 0.01 units (float formatting may round the last digit).
    return "%d.%02d" % (v // 100, v % 100)


async def main():
    global sent
    temp = 2400
    seq = 0
    while not ROUNDS or seq < ROUNDS:
        seq += 1
        temp += 7 if seq % 3 else -11  # a drifting (simulated) board temperature
        payload = b"CAM" + struct.pack("<Hh", seq, temp)
        print("beacon seq=%d temp=%s" % (seq, hundredths(temp)))
        sent = seq
        # 100 ms: ten chances per round for an observer to hear this value.
        await aioble.advertise(
            100_000, name="cam-beacon", manufacturer=(_COMPANY_TEST, payload),
            connectable=False, timeout_ms=ROUND_MS,
        )


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
finally:
    aioble.stop()
print("SUMMARY values=%d" % sent)
