"""Benchmarks over the virtual radio, printed as numbers (never asserted).

GAP figures so far: time for active(True), connection set-up time, and the
firmware's CPU use while idle in each state (the transport thread sleeps in
poll() until the controller or a timer needs it, so idle should be ~0 %).

Usage (repo root, project venv): python python/bench.py [--micropython PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDLE_S = 5.0
CLK_TCK = os.sysconf('SC_CLK_TCK')

# Prints "T <name> <ms>" timings and "STATE <name>" when a state is entered,
# then holds it for IDLE_S so the parent can sample /proc.
PERIPHERAL = """
import bluetooth, time, sys
b = bluetooth.BLE()
ev = []
b.irq(lambda e, d: ev.append(e))
t = time.ticks_ms(); b.active(1); print('T active_ms', time.ticks_diff(time.ticks_ms(), t))
print('STATE active'); time.sleep({idle})
b.gap_advertise(100_000, b'\\x02\\x01\\x06\\x05\\x09bnch')
print('STATE advertising'); time.sleep({idle})
while 1 not in ev: time.sleep_ms(5)
print('STATE connected'); time.sleep({idle} + 2)
b.active(0)
"""
CENTRAL = """
import bluetooth, time
b = bluetooth.BLE()
ev = []
b.irq(lambda e, d: ev.append(e))
b.active(1)
time.sleep({idle} * 2 + 0.5)
t = time.ticks_ms(); b.gap_connect(0, {addr!r}, 5000)
while 7 not in ev: time.sleep_ms(1)
print('T connect_ms', time.ticks_diff(time.ticks_ms(), t))
time.sleep({idle} + 1)
b.active(0)
"""


def cpu_ticks(pid: int) -> int:
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--micropython', default=str(ROOT / 'build/unix/micropython'))
    ap.add_argument('--latency-ms', type=float, default=5.0)
    args = ap.parse_args()
    radio = subprocess.Popen(
        [sys.executable, '-m', 'vradio', '--count', '2', '--latency-ms', str(args.latency_ms)],
        cwd=ROOT / 'python', stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    procs = [radio]
    try:
        ready = json.loads(radio.stdout.readline().split(' ', 1)[1])['controllers']
        addr = bytes.fromhex(ready[0]['address'].replace(':', ''))
        env = lambda i: {**os.environ, 'MICROPYBTUART': ready[i]['endpoint']}
        per = subprocess.Popen([args.micropython, '-c', PERIPHERAL.format(idle=IDLE_S)],
                               env=env(0), stdout=subprocess.PIPE, text=True)
        procs.append(per)
        cen = subprocess.Popen([args.micropython, '-c', CENTRAL.format(idle=IDLE_S, addr=addr)],
                               env=env(1), stdout=subprocess.PIPE, text=True)
        procs.append(cen)
        results = []
        for line in per.stdout:
            word = line.split()
            if word[:1] == ['T']:
                results.append((word[1], float(word[2]), 'ms'))
            elif word[:1] == ['STATE']:
                time.sleep(0.5)  # let the state settle before sampling
                a = cpu_ticks(per.pid)
                time.sleep(IDLE_S - 1.0)
                b = cpu_ticks(per.pid)
                results.append((f'idle_cpu_{word[1]}', 100.0 * (b - a) / CLK_TCK / (IDLE_S - 1.0), '%'))
        for line in cen.stdout:
            word = line.split()
            if word[:1] == ['T']:
                results.append((word[1], float(word[2]), 'ms'))
        per.wait(30)
        cen.wait(30)
        print(f'bench (virtual radio, {args.latency_ms:g} ms link latency)')
        for name, value, unit in results:
            print(f'  {name:28s} {value:8.1f} {unit}')
        return 0 if per.returncode == 0 and cen.returncode == 0 else 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == '__main__':
    sys.exit(main())
