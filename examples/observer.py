# Observer: passively scans and decodes the camera beacon's manufacturer data
# (company 0xFFFF, b"CAM" + seq + temperature), printing each new value once.
# A ScanResult is handed out again whenever that device's payload changes.
# Peer: examples/beacon.py.
# Run: python python/run_example.py beacon
# Usage: micropython observer.py [values=6] [scan_ms=20000]
# Exit status 0 (RESULT OK) once `values` distinct beacon values were heard.
import sys
import struct

import asyncio
import aioble
from micropython import const

_COMPANY_TEST = const(0xFFFF)
WANT = int(sys.argv[1]) if len(sys.argv) > 1 else 6
SCAN_MS = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000

heard = {}  # seq -> temperature


def hundredths(v):
    # Exact decimal text of a value in 0.01 units (float formatting may round the last digit).
    return "%d.%02d" % (v // 100, v % 100)


async def main():
    # Passive (active=False): a broadcaster's data is all in the advert itself.
    async with aioble.scan(SCAN_MS, interval_us=30_000, window_us=30_000) as scanner:
        async for result in scanner:
            for company, data in result.manufacturer(_COMPANY_TEST):
                if len(data) != 7 or data[:3] != b"CAM":
                    continue
                seq, temp = struct.unpack("<Hh", data[3:])
                if seq in heard:
                    continue
                heard[seq] = temp
                print("heard %s name=%s connectable=%s seq=%d temp=%s rssi=%d" % (
                    result.device.addr_hex(), result.name(), result.connectable, seq, hundredths(temp), result.rssi))
                if len(heard) >= WANT:
                    return


try:
    asyncio.run(main())
finally:
    aioble.stop()
ok = len(heard) >= WANT
print("SUMMARY values=%d first_seq=%s last_seq=%s" % (len(heard), min(heard) if heard else None, max(heard) if heard else None))
print("RESULT OK" if ok else "RESULT FAIL")
sys.exit(0 if ok else 1)
