"""Benchmarks over the virtual radio, printed as numbers (never asserted).

The link first: what the virtual link carries, measured in the same run on fresh
controllers with the same latency, by two minimal raw-HCI hosts (ACL packets of the
controller's size, as fast as its buffers come back: the ceiling) and by two Bumble
hosts in their own processes (GATT and L2CAP as a full host stack does them). Each
firmware throughput below is printed beside the share of that ceiling its workload can
use, and each round trip beside its floor (two link latencies).

GAP: time for active(True), connection set-up time, and the firmware's CPU use
while idle in each state (the transport thread sleeps in poll() until the
controller or a timer needs it, so idle should be ~0 %), also with an aioble app
waiting in notified() and written().

GATT, between two firmware instances on fresh controllers (MTU 247 after the
exchange): 2000 writes without response and 2000 notifications of 244 bytes, median
write and read round trips, indication round trip, and both firmware processes' CPU
time per MB.

L2CAP, between two firmware instances: one credit-based channel (MTU 512), 1 MiB
sent in 512-byte SDUs; throughput from the receiver's first to last byte, how often
the sender stalled, and both processes' CPU time per MB.

Usage (repo root, project venv): python python/bench.py [--micropython PATH]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import select
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


# GATT bench agents: a script defines helpers, then evaluates one expression per stdin line
# and answers `OK <repr>` / `ERR <repr>` (as tests/fwproc.py's agent). Timings are taken inside
# the firmware with ticks_us, so pipe latency to this process is not in them.
GATT_COMMON = """
import bluetooth, time, sys, select
ble = bluetooth.BLE()
SVC = bluetooth.UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')
CHR = bluetooth.UUID('6e400002-b5a3-f393-e0a9-e50e24dcca9e')
n = {}     # events seen, by code
last = {}  # latest data of each event (buffers copied: they are only valid in the handler)
def irq(e, d):
    n[e] = n.get(e, 0) + 1
    last[e] = tuple(bytes(x) if isinstance(x, memoryview) else x for x in d)
def wait(e, count, idle=False, ms=5000):
    # Busy by default: the VM runs scheduled BLE callbacks at every backward jump, so a
    # round trip is measured without sleep granularity. idle=True sleeps 1 ms per check
    # (for the CPU measurement, where spinning would be counted).
    t = time.ticks_ms()
    while n.get(e, 0) < count:
        if time.ticks_diff(time.ticks_ms(), t) > ms:
            raise OSError('timeout: event %d seen %d of %d' % (e, n.get(e, 0), count))
        if idle:
            time.sleep_ms(1)
retries = 0
def retry(f, *a):
    # ENOMEM while the link's queue and buffers are full (NimBLE does the same): sleep 1 ms
    # and retry, so waiting costs no CPU. Upstream perf_gatt_char_write.py retries too.
    global retries
    t = time.ticks_ms()
    while True:
        try:
            return f(*a)
        except OSError as e:
            if e.errno != 12 or time.ticks_diff(time.ticks_ms(), t) > 5000:
                raise
            retries += 1
            time.sleep_ms(1)
"""
GATT_LOOP = """
ble.irq(irq)
ble.active(True)
ble.config(mtu=247)  # only while active (ENODEV before), as with NimBLE
print('READY')
p = select.poll()
p.register(sys.stdin, select.POLLIN)
while True:
    if p.poll(10):
        line = sys.stdin.readline()
        if not line:
            break
        try:
            print('OK', repr(eval(line)))
        except Exception as e:
            print('ERR', repr(e))
"""
GATT_PERIPHERAL = GATT_COMMON + """
def serve():
    global vh
    # READ | WRITE_NO_RESPONSE | WRITE | NOTIFY | INDICATE
    ((vh,),) = ble.gatts_register_services(((SVC, ((CHR, 0x3E),)),))
    ble.gatts_set_buffer(vh, 244)  # the default 20 bytes would cut the values
    ble.gap_advertise(20000, b'\\x02\\x01\\x06\\x05\\x09bnch')
def notify(count, size):
    conn = last[1][0]
    data = bytearray(size)
    k = n.get(20, 0)
    t = time.ticks_us()
    for i in range(count):
        data[0] = i & 255
        retry(ble.gatts_notify, conn, vh, data)
    # Indications follow the notifications on the same bearer: once this one is confirmed
    # the central has received every notification.
    retry(ble.gatts_indicate, conn, vh, b'end')
    wait(20, k + 1)
    return time.ticks_diff(time.ticks_us(), t)
def indicate(count):
    conn = last[1][0]
    k = n.get(20, 0)
    t = time.ticks_us()
    for i in range(count):
        ble.gatts_indicate(conn, vh, b'i%d' % i)
        wait(20, k + i + 1)
    dt = time.ticks_diff(time.ticks_us(), t)
    return dt if last[20][2] == 0 else -1
""" + GATT_LOOP
GATT_CENTRAL = GATT_COMMON + """
def connect(addr):
    global conn, vh
    ble.gap_connect(0, addr, 5000)
    wait(7, 1)
    conn = last[7][0]
    ble.gattc_exchange_mtu(conn)
    wait(21, 1)
    ble.gattc_discover_characteristics(conn, 1, 0xFFFF, CHR)
    wait(12, 1)
    end, vh = last[11][1], last[11][2]
    ble.gattc_discover_descriptors(conn, vh, end)  # only the CCCD follows the value
    wait(14, 1)
    ble.gattc_write(conn, last[13][1], b'\\x03\\x00', 1)  # notifications + indications
    wait(17, 1)
    return last[21][1]
def write_nr(count, size):
    data = bytearray(size)
    k = n.get(17, 0)
    t = time.ticks_us()
    for i in range(count):
        data[0] = i & 255
        retry(ble.gattc_write, conn, vh, data, 0)
    # ATT is sequential on the bearer: the server answers this Write Request only after it
    # has taken every Write Command before it, so the time covers delivery.
    retry(ble.gattc_write, conn, vh, b'end', 1)
    wait(17, k + 1, idle=True)
    return time.ticks_diff(time.ticks_us(), t)
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
def write_rsp(count, size):
    # Median round trip of a Write Request; -1 if one failed.
    data = bytearray(size)
    k = n.get(17, 0)
    times = []
    for i in range(count):
        data[0] = i & 255
        t = time.ticks_us()
        ble.gattc_write(conn, vh, data, 1)
        wait(17, k + i + 1)
        times.append(time.ticks_diff(time.ticks_us(), t))
        if last[17][2] != 0:
            return -1
    return median(times)
def read_rtt(count):
    # Median round trip of a read (GATTC_READ_DONE); -1 if one failed.
    k = n.get(16, 0)
    times = []
    for i in range(count):
        t = time.ticks_us()
        ble.gattc_read(conn, vh)
        wait(16, k + i + 1)
        times.append(time.ticks_diff(time.ticks_us(), t))
        if last[16][2] != 0:
            return -1
    return median(times)
""" + GATT_LOOP
# The data path issue's workloads: 2000 values of 244 bytes at MTU 247 (~0.5 MB each way:
# CPU time in /proc comes in 10 ms ticks, so the per-MB figure needs that much traffic).
WNR_COUNT, RSP_COUNT, NOTIFY_COUNT, IND_COUNT, VALUE = 2000, 50, 2000, 30, 244


# L2CAP bench agents: the receiver drains every RECV at once and notes when the first and last
# bytes arrived; the sender queues SDUs and sleeps 1 ms per check while stalled (so waiting costs
# no CPU in the per-MB figure).
L2CAP_COMMON = """
import bluetooth, time, sys, select
ble = bluetooth.BLE()
n = {}
last = {}
got = 0
t_first = t_last = 0
buf = bytearray(1024)
ready = [True]
def irq(e, d):
    global got, t_first, t_last
    if e == 25:
        while True:
            k = ble.l2cap_recvinto(d[0], d[1], buf)
            if not k:
                break
            if not got:
                t_first = time.ticks_us()
            got += k
        t_last = time.ticks_us()
        return
    if e == 26:
        ready[0] = True
        return
    n[e] = n.get(e, 0) + 1
    last[e] = tuple(bytes(x) if isinstance(x, memoryview) else x for x in d)
def wait(e, count, ms=5000):
    t = time.ticks_ms()
    while n.get(e, 0) < count:
        if time.ticks_diff(time.ticks_ms(), t) > ms:
            raise OSError('timeout: event %d' % e)
        time.sleep_ms(1)
"""
L2CAP_PERIPHERAL = L2CAP_COMMON + """
def serve(psm, mtu):
    ble.l2cap_listen(psm, mtu)
    ble.gap_advertise(20000, b'\\x02\\x01\\x06\\x05\\x09bnch')
def received():
    return got, time.ticks_diff(t_last, t_first)
""" + GATT_LOOP
L2CAP_CENTRAL = L2CAP_COMMON + """
def connect(addr, psm, mtu):
    global conn, cid
    ble.gap_connect(0, addr, 5000)
    wait(7, 1)
    conn = last[7][0]
    ble.l2cap_connect(conn, psm, mtu)
    wait(23, 1)
    cid = last[23][1]
    return last[23][4]
stalls = 0
def send(total, size):
    global stalls
    data = bytearray(size)
    sent = 0
    t = time.ticks_ms()
    while sent < total:
        ready[0] = False
        if not ble.l2cap_send(conn, cid, data):
            stalls += 1
            while not ready[0]:
                if time.ticks_diff(time.ticks_ms(), t) > 60000:
                    raise OSError('stalled')
                time.sleep_ms(1)
        sent += size
    return sent
""" + GATT_LOOP
# 1 MiB in 512-byte SDUs, MTU 512 (the data path issue's workload).
L2CAP_TOTAL, L2CAP_SDU, L2CAP_MTU = 1 << 20, 512, 512


class Agent:
    """One firmware process running a GATT agent; every read from it is bounded."""

    def __init__(self, name: str, exe: str, script: str, endpoint: str) -> None:
        self.name, self.buf, self.tail = name, b'', []
        # `make firmware` may be replacing the binary right now: retry for a while.
        for attempt in range(50):
            try:
                self.proc = subprocess.Popen(
                    [exe, '-c', script], env={**os.environ, 'MICROPYBTUART': endpoint},
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.2)

    def line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise RuntimeError(f'{self.name}: no answer in {timeout} s; last: {self.tail}')
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f'{self.name} exited ({self.proc.poll()}); last: {self.tail}')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        text = line.decode(errors='replace')
        self.tail = (self.tail + [text])[-5:]
        return text

    def call(self, expr: str, timeout: float = 15.0):
        self.proc.stdin.write(expr.encode() + b'\n')
        self.proc.stdin.flush()
        while True:
            line = self.line(timeout)
            if line.startswith('OK '):
                return ast.literal_eval(line[3:])
            if line.startswith('ERR '):
                raise RuntimeError(f'{self.name}: {expr} -> {line[4:]}')


def start_radio(latency_ms: float, procs: list) -> list[dict]:
    """A fresh vradio with two controllers (TESTING.md: no state carried between runs)."""
    radio = subprocess.Popen(
        [sys.executable, '-m', 'vradio', '--count', '2', '--latency-ms', str(latency_ms)],
        cwd=ROOT / 'python', stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    procs.append(radio)
    ready, _, _ = select.select([radio.stdout], [], [], 10)
    if not ready:
        raise RuntimeError('vradio did not start')
    return json.loads(radio.stdout.readline().split(' ', 1)[1])['controllers']


def start_pair(args, procs: list, peripheral: str, central: str):
    """A fresh radio and two agents on it, both READY; returns (peripheral, central,
    the peripheral's address)."""
    ready = start_radio(args.latency_ms, procs)
    per = Agent('peripheral', args.micropython, peripheral, ready[0]['endpoint'])
    procs.append(per.proc)
    cen = Agent('central', args.micropython, central, ready[1]['endpoint'])
    procs.append(cen.proc)
    for a in (per, cen):
        while a.line(10) != 'READY':
            pass
    return per, cen, bytes.fromhex(ready[0]['address'].replace(':', ''))


def gatt_bench(args, procs: list) -> list:
    per, cen, addr = start_pair(args, procs, GATT_PERIPHERAL, GATT_CENTRAL)
    per.call('serve()')
    mtu = cen.call(f'connect({addr!r})')
    results = [('gatt_mtu (after exchange)', mtu, '')]

    # Write without response, with both processes' CPU time around the run.
    pids = (per.proc.pid, cen.proc.pid)
    base = per.call('n.get(3, 0)')  # GATTS_WRITE events so far
    before = [cpu_ticks(p) for p in pids]
    us = cen.call(f'write_nr({WNR_COUNT}, {VALUE})', timeout=60)
    per_s, cen_s = ((cpu_ticks(p) - b) / CLK_TCK for p, b in zip(pids, before))
    cpu_s, mb = per_s + cen_s, WNR_COUNT * VALUE / 1e6
    got = per.call('n.get(3, 0)') - base - 1  # less the closing Write Request
    results += [
        ('gatt_write_nr_throughput', WNR_COUNT * VALUE / (us / 1e6), 'B/s'),
        ('gatt_write_nr_delivered', got, f'of {WNR_COUNT}'),
        ('gatt_write_nr_enomem_retries', cen.call('retries'), ''),
        ('gatt_write_nr_cpu_per_mb', cpu_s / mb,
         f's (both fw: {cpu_s:.2f} s = central {cen_s:.2f} + peripheral {per_s:.2f},'
         f' for {mb:.3f} MB in {us / 1e6:.2f} s)'),
    ]

    # -1: a request failed (status != 0); printed as nan rather than a misleading time.
    us = cen.call(f'write_rsp({RSP_COUNT}, {VALUE})')
    results.append(('gatt_write_rtt_median', us / 1e3 if us > 0 else float('nan'), 'ms'))
    us = cen.call(f'read_rtt({RSP_COUNT})')
    results.append(('gatt_read_rtt_median', us / 1e3 if us > 0 else float('nan'), 'ms'))

    base = cen.call('n.get(18, 0)')
    before = [cpu_ticks(p) for p in pids]
    us = per.call(f'notify({NOTIFY_COUNT}, {VALUE})', timeout=60)
    per_s, cen_s = ((cpu_ticks(p) - b) / CLK_TCK for p, b in zip(pids, before))
    cpu_s, mb = per_s + cen_s, NOTIFY_COUNT * VALUE / 1e6
    got = cen.call('n.get(18, 0)') - base
    results += [
        ('gatt_notify_throughput', NOTIFY_COUNT * VALUE / (us / 1e6), 'B/s'),
        ('gatt_notify_delivered', got, f'of {NOTIFY_COUNT}'),
        ('gatt_notify_cpu_per_mb', cpu_s / mb,
         f's (both fw: {cpu_s:.2f} s = central {cen_s:.2f} + peripheral {per_s:.2f},'
         f' for {mb:.3f} MB in {us / 1e6:.2f} s)'),
    ]

    us = per.call(f'indicate({IND_COUNT})')
    results.append(
        ('gatt_indicate_round_trip', us / 1e3 / IND_COUNT if us > 0 else float('nan'), 'ms'))
    return results


def l2cap_bench(args, procs: list) -> list:
    per, cen, addr = start_pair(args, procs, L2CAP_PERIPHERAL, L2CAP_CENTRAL)
    per.call(f'serve(0x80, {L2CAP_MTU})')
    peer_mtu = cen.call(f'connect({addr!r}, 0x80, {L2CAP_MTU})')
    pids = (per.proc.pid, cen.proc.pid)
    before = [cpu_ticks(p) for p in pids]
    cen.call(f'send({L2CAP_TOTAL}, {L2CAP_SDU})', timeout=120)
    deadline = time.monotonic() + 60
    while (got := per.call('received()'))[0] < L2CAP_TOTAL and time.monotonic() < deadline:
        time.sleep(0.05)
    per_s, cen_s = ((cpu_ticks(p) - b) / CLK_TCK for p, b in zip(pids, before))
    received, us = got
    cpu_s, mb = per_s + cen_s, received / 1e6
    return [
        ('l2cap_mtu (peer)', peer_mtu, ''),
        ('l2cap_throughput', received / (us / 1e6) if us > 0 else float('nan'), 'B/s'),
        ('l2cap_delivered', received, f'of {L2CAP_TOTAL} bytes'),
        ('l2cap_sender_stalls', cen.call('stalls'), f'of {L2CAP_TOTAL // L2CAP_SDU} sends'),
        ('l2cap_cpu_per_mb', cpu_s / mb if mb else float('nan'),
         f's (both fw: {cpu_s:.2f} s = central {cen_s:.2f} + peripheral {per_s:.2f},'
         f' for {mb:.3f} MB in {us / 1e6:.2f} s)'),
    ]


def link_bench(args, procs: list) -> list:
    """What the virtual link carries: two Bumble hosts (python/link_peer.py), each in its
    own process as the firmware instances are, on a fresh radio with the same latency."""
    peer = [sys.executable, str(ROOT / 'python' / 'link_peer.py')]
    ready = start_radio(args.latency_ms, procs)
    raw = subprocess.run(peer + ['raw', ready[0]['endpoint'], ready[1]['endpoint'], ready[0]['address']],
                         capture_output=True, text=True, timeout=300)
    out = raw.stdout
    stop(procs)
    procs.clear()
    ready = start_radio(args.latency_ms, procs)
    server = subprocess.Popen(peer + ['server', ready[0]['endpoint']], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(server)
    line = server.stdout.readline() if select.select([server.stdout], [], [], 20)[0] else ''
    if not line.startswith('READY '):
        raise RuntimeError(f'link server did not start: {line!r}')
    client = subprocess.Popen(peer + ['client', ready[1]['endpoint'], line.split()[1]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(client)
    got, _ = client.communicate(timeout=300)
    out += got
    results = []
    for line in out.splitlines():
        if line.startswith('RESULT '):
            _, name, value = line.split()
            unit = 'ms' if name.endswith('_ms') else '' if name.endswith(('mtu', '_len')) else 'B/s'
            results.append((name, int(value) if unit == '' else float(value), unit))
    if client.returncode or not results:
        raise RuntimeError(f'link client failed ({client.returncode}): {out[-500:]!r}')
    return results


# aioble apps that wait: the peripheral in written(), the central in notified(); each
# prints WAITING once it is in its wait, then the parent samples their CPU time.
AIOBLE_PERIPHERAL = """
import asyncio, aioble, bluetooth
SVC = bluetooth.UUID(0x181A)
service = aioble.Service(SVC)
char = aioble.Characteristic(service, bluetooth.UUID(0x2A6E), write=True, notify=True)
aioble.register_services(service)
async def main():
    conn = await aioble.advertise(50_000, name='idle', services=[SVC])
    print('WAITING')
    await char.written()
asyncio.run(main())
"""
AIOBLE_CENTRAL = """
import asyncio, aioble, bluetooth
async def main():
    conn = await aioble.Device(0, {addr!r}).connect()
    svc = await conn.service(bluetooth.UUID(0x181A))
    char = await svc.characteristic(bluetooth.UUID(0x2A6E))
    await char.subscribe()
    print('WAITING')
    await char.notified()
asyncio.run(main())
"""


def aioble_idle_bench(args, procs: list) -> list:
    ready = start_radio(args.latency_ms, procs)
    addr = bytes.fromhex(ready[0]['address'].replace(':', ''))
    per = Agent('peripheral', args.micropython, AIOBLE_PERIPHERAL, ready[0]['endpoint'])
    procs.append(per.proc)
    time.sleep(0.5)
    cen = Agent('central', args.micropython, AIOBLE_CENTRAL.format(addr=addr), ready[1]['endpoint'])
    procs.append(cen.proc)
    for a in (per, cen):
        while a.line(15) != 'WAITING':
            pass
    time.sleep(0.5)
    pids = (per.proc.pid, cen.proc.pid)
    before = [cpu_ticks(p) for p in pids]
    time.sleep(IDLE_S - 1.0)
    per_c, cen_c = (100.0 * (cpu_ticks(p) - b) / CLK_TCK / (IDLE_S - 1.0) for p, b in zip(pids, before))
    return [('idle_cpu_aioble_written', per_c, '%'), ('idle_cpu_aioble_notified', cen_c, '%')]


def cpu_ticks(pid: int) -> int:
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def gap_bench(args, procs: list) -> list:
    ready = start_radio(args.latency_ms, procs)
    addr = bytes.fromhex(ready[0]['address'].replace(':', ''))
    per = Agent('peripheral', args.micropython, PERIPHERAL.format(idle=IDLE_S),
                ready[0]['endpoint'])
    procs.append(per.proc)
    cen = Agent('central', args.micropython, CENTRAL.format(idle=IDLE_S, addr=addr),
                ready[1]['endpoint'])
    procs.append(cen.proc)
    results = []
    # The peripheral walks through its states on its own; each line is bounded by one state.
    while (word := per.line(IDLE_S * 3).split())[:2] != ['STATE', 'connected']:
        if word[:1] == ['T']:
            results.append((word[1], float(word[2]), 'ms'))
        elif word[:1] == ['STATE']:
            time.sleep(0.5)  # let the state settle before sampling
            a = cpu_ticks(per.proc.pid)
            time.sleep(IDLE_S - 1.0)
            b = cpu_ticks(per.proc.pid)
            results.append((f'idle_cpu_{word[1]}', 100.0 * (b - a) / CLK_TCK / (IDLE_S - 1.0), '%'))
    time.sleep(0.5)
    a = cpu_ticks(per.proc.pid)
    time.sleep(IDLE_S - 1.0)
    b = cpu_ticks(per.proc.pid)
    results.append(('idle_cpu_connected', 100.0 * (b - a) / CLK_TCK / (IDLE_S - 1.0), '%'))
    word = cen.line(IDLE_S * 3).split()
    if word[:1] == ['T']:
        results.append((word[1], float(word[2]), 'ms'))
    for p in (per.proc, cen.proc):
        p.wait(IDLE_S + 5)
        if p.returncode:
            raise RuntimeError(f'firmware exited with {p.returncode}')
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--micropython', default=str(ROOT / 'build/unix/micropython'))
    ap.add_argument('--latency-ms', type=float, default=5.0)
    args = ap.parse_args()
    print(f'bench (virtual radio, {args.latency_ms:g} ms link latency)', flush=True)
    status = 0
    link: dict = {}
    for phase in (link_bench, gap_bench, aioble_idle_bench, gatt_bench, l2cap_bench):
        procs: list[subprocess.Popen] = []  # only what this phase started, ended by handle
        try:
            results = phase(args, procs)
        except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError) as e:
            print(f'  {phase.__name__} failed: {e}', flush=True)
            status = 1
            continue
        finally:
            stop(procs)
        link.update({name: value for name, value, _ in results if name.startswith('link_')})
        for name, value, unit in results:
            number = f'{value:10d}' if isinstance(value, int) else f'{value:10.1f}'
            print(f'  {name:30s} {number} {unit}{beside(name, value, link, args)}', flush=True)
    return status


# ATT and L2CAP bytes the link carries per payload byte of each workload: a 244-byte
# notification or write command is a 251-byte frame (ATT header 3, L2CAP 4); a 512-byte
# SDU in K-frames of at most 247 bytes is 526 (SDU length 2, three L2CAP headers 12).
EFFICIENCY = {
    'gatt_notify_throughput': 244 / 251,
    'gatt_write_nr_throughput': 244 / 251,
    'l2cap_throughput': 512 / 526,
}
BUMBLE = {
    'gatt_notify_throughput': 'link_notify',
    'gatt_write_nr_throughput': 'link_write_nr',
    'l2cap_throughput': 'link_l2cap',
    'gatt_write_rtt_median': 'link_write_rtt_ms',
    'gatt_read_rtt_median': 'link_read_rtt_ms',
}


def beside(name: str, value, link: dict, args) -> str:
    """The link's own figure for a firmware figure, and how close the firmware comes."""
    if name in EFFICIENCY and 'link_acl' in link:
        ceiling = link['link_acl'] * EFFICIENCY[name]
        return (f'   [link carries {ceiling:.0f} B/s of this (raw ACL, same run): {100 * value / ceiling:.0f} %;'
                f' two Bumble hosts: {link.get(BUMBLE[name], float("nan")):.0f} B/s]')
    if name in ('gatt_write_rtt_median', 'gatt_read_rtt_median'):
        return (f'   [floor {2 * args.latency_ms:.1f} ms (two link latencies);'
                f' two Bumble hosts: {link.get(BUMBLE[name], float("nan")):.1f} ms]')
    return ''


def stop(procs: list) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in (p.stdin, p.stdout):
            if f:
                f.close()


if __name__ == '__main__':
    sys.exit(main())
