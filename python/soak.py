#!/usr/bin/env python3
"""Soak (issue 12, E): two firmware instances on the virtual radio for a long time.

usage: soak.py [--cycles 1000] [--minutes 10] [--seed S] [--micropython PATH] [--workdir DIR]

1. Connect/disconnect cycles: the central connects, reads a known value and disconnects, or
   (every other cycle) asks the peripheral to disconnect; the peripheral advertises again.
2. Notifications plus L2CAP streaming for --minutes, with the link dropped at random moments
   (seeded) by either end. The peripheral notifies (epoch, sequence number) every 2 ms; the
   central acknowledges what it got every 20 notifications (a write). The central streams
   a known byte sequence over an L2CAP channel in SDUs that carry their stream offset; after
   every reconnect it reads how far the peripheral got (a characteristic) and resumes there.
   The peripheral checks every SDU: an offset beyond what it has is bytes lost, one behind it
   bytes repeated, payload that differs from the sequence bytes corrupted; it keeps a CRC-32
   of the stream as received.

Prints the resident memory (VmRSS) and MicroPython heap in use of each firmware process at the
start and the end, crashes, L2CAP bytes lost (and the CRC-32 of what arrived against the CRC-32
of what was sent), and the notifications: each one received, or sent on a link that dropped
before it arrived and after the last acknowledgement. Exits 0 only if nothing crashed, no
cycle failed, no L2CAP byte was lost, repeated or corrupted, and every notification is
accounted for.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / 'tests'))

from apifuzz import gdb_backtrace, gdb_state, signal_name  # noqa: E402
from fwproc import FIRMWARE, Firmware, agent  # noqa: E402
from vradio import VirtualRadio  # noqa: E402

AGENT = agent((HERE / 'soak_agent.py').read_text())
PAT = bytes(range(256)) * 2


def stream_crc(n: int) -> int:
    """CRC-32 of the first n bytes of the soak's L2CAP stream (see soak_agent._stream)."""
    crc, off = 0, 0
    while off < n:
        b = off >> 8
        k = min(256, n - off)
        s = (b * 31) & 255
        crc = zlib.crc32(PAT[s:s + k], crc)
        off += k
    return crc


def rss_kib(pid: int) -> int:
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


class Soak:
    def __init__(self, args) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.t0 = time.monotonic()
        self.failures: list[str] = []
        self.crashes = 0

    def say(self, text: str) -> None:
        print(f'{time.monotonic() - self.t0:8.1f} {text}', flush=True)

    def alive(self, *fws: Firmware) -> bool:
        ok = True
        for fw in fws:
            if not fw.alive():
                ok = False
                if not getattr(fw, 'counted', False):
                    fw.counted = True
                    self.crashes += 1
                    self.failures.append(f'{fw.name} died: {signal_name(fw.proc.returncode)}')
                    self.say(f'{fw.name} DIED ({signal_name(fw.proc.returncode)})\n' + fw.report())
        return ok

    async def wait_ok(self, fw: Firmware, since: int, timeout: float, progress: str = '', skip: int = 0,
                      silence: float | None = None):
        """The first OK/ERR line at index >= since after `skip` others (a function's return),
        showing progress lines. With `silence`, that long without a line is a hang."""
        deadline = time.monotonic() + timeout
        shown = since
        heard = time.monotonic()
        while time.monotonic() < deadline:
            if len(fw.lines) > shown:
                heard = time.monotonic()
            elif silence and time.monotonic() - heard > silence:
                state = await asyncio.to_thread(gdb_state, fw.proc.pid)
                raise AssertionError(f'{fw.name}: silent for {silence:.0f} s (hung)\n{state}\n{fw.report()}')
            for i in range(shown, len(fw.lines)):
                line = fw.lines[i]
                if line.startswith(('OK ', 'ERR ')) and skip:
                    skip -= 1
                elif line.startswith(('OK ', 'ERR ')):
                    if line.startswith('ERR '):
                        raise AssertionError(f'{fw.name}: {line}')
                    import ast
                    return ast.literal_eval(line[3:])
                if progress and line.startswith(progress):
                    self.say(f'{fw.name}: {line}')
                shown = i + 1
            if not self.alive(fw):
                raise AssertionError(f'{fw.name} died')
            await asyncio.sleep(0.2)
        raise AssertionError(f'{fw.name}: no answer within {timeout:.0f} s\n{fw.report()}')

    async def run(self) -> int:
        a = self.args
        work = Path(a.workdir or tempfile.mkdtemp(prefix='soak-'))
        async with VirtualRadio(count=2, latency_ms=a.latency_ms, btsnoop_dir=a.btsnoop_dir) as radio:
            self.radio = radio
            p = Firmware(AGENT, radio.endpoints[0], 'P', cwd=str(work), core=True, binary=a.micropython)
            c = Firmware(AGENT, radio.endpoints[1], 'C', cwd=str(work), core=True, binary=a.micropython)
            try:
                await p.start()
                await p.ready()
                mem_p0 = await p.call("setup('P')")
                await c.start()
                await c.ready()
                mem_c0 = await c.call(f"setup('C', ({p.addr_type}, '{p.mac}'))")
                rss0 = {'P': rss_kib(p.proc.pid), 'C': rss_kib(c.proc.pid)}
                self.say(f'start: RSS P {rss0["P"]} KiB, C {rss0["C"]} KiB; heap in use P {mem_p0} B, C {mem_c0} B')
                if a.cycles:
                    await self.cycles(p, c)
                if a.minutes > 0 and self.alive(p, c):
                    await self.stream(p, c)
                if self.alive(p, c):
                    rss1 = {'P': rss_kib(p.proc.pid), 'C': rss_kib(c.proc.pid)}
                    heap = {fw.name: (await fw.call('gc.collect() or gc.mem_alloc()')) for fw in (p, c)}
                    self.say(f'end:   RSS P {rss1["P"]} KiB ({rss1["P"] - rss0["P"]:+d}), '
                             f'C {rss1["C"]} KiB ({rss1["C"] - rss0["C"]:+d}); '
                             f'heap in use after gc P {heap["P"]} B, C {heap["C"]} B')
            except AssertionError as e:
                self.failures.append(str(e).splitlines()[0])
                self.say(f'FAILED: {e}')
                if self.alive(p, c) and 'hung' in str(e):
                    for fw in (p, c):
                        self.say(f'{fw.name} state (gdb):\n' + await asyncio.to_thread(gdb_state, fw.proc.pid))
            finally:
                for fw in (p, c):
                    await fw.stop()
        for core in sorted(work.glob('core*')):
            self.say(f'core file {core}:\n' + gdb_backtrace([str(a.micropython), str(core)]))
        self.say(f'crashes: {self.crashes}')
        if self.failures:
            self.say('FAIL: ' + '; '.join(self.failures))
            return 1
        self.say('PASS')
        if not a.workdir:
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
        return 0

    async def cycles(self, p: Firmware, c: Firmware) -> None:
        n = self.args.cycles
        self.say(f'phase 1: {n} connect/disconnect cycles')
        t = time.monotonic()
        sp, sc = len(p.lines), len(c.lines)
        await p.send(f'cycles_server({n})')
        await c.send(f'cycles_client({n})')
        rc = await self.wait_ok(c, sc, 5 * n + 60, progress=('CYCLES', 'FAIL'), silence=60)
        rp = await self.wait_ok(p, sp, 30)
        dt = time.monotonic() - t
        self.say(f'cycles: central {rc["cycles"]} ({rc["failed"]} failed), peripheral saw {rp["cycles"]} '
                 f'disconnects ({rp["adv_errors"]} advertising errors) in {dt:.0f} s')
        if rc['failed'] or rc['cycles'] != n or rp['cycles'] != n or rp['adv_errors']:
            self.failures.append(f'cycles: {rc["failed"]} failed {rc["failures"][:5]}, peripheral saw '
                                 f'{rp["cycles"]}, advertising errors {rp["adv_errors"]}')

    async def stream(self, p: Firmware, c: Firmware) -> None:
        a = self.args
        self.say(f'phase 2: notifications plus L2CAP streaming for {a.minutes:g} min, random drops')
        rates = f'{a.notify_ms}, {a.sdu_max}, {a.sends_per_step}'
        start = {}
        for fw in (p, c):
            start[fw.name] = len(fw.lines)
            await fw.send(f'loop({rates})')
        sent = {'P': 0, 'C': 0}  # commands sent to each loop: each answers one OK/ERR line

        def ended(fw):
            # One more OK/ERR line than commands answered: loop() itself returned or raised.
            answers = [ln for ln in fw.lines[start[fw.name]:] if ln.startswith(('OK ', 'ERR '))]
            return answers[-1] if len(answers) > sent[fw.name] else None

        async def ask(fw, expr):
            sent[fw.name] += 1
            return await fw.call(expr, timeout=10)
        end = time.monotonic() + a.minutes * 60
        next_drop = time.monotonic() + self.rng.uniform(a.drop_min_s, a.drop_max_s)
        next_status = time.monotonic() + 10
        drops = 0
        progress, since = None, time.monotonic()
        while time.monotonic() < end:
            await asyncio.sleep(0.2)
            if not self.alive(p, c):
                return
            now = time.monotonic()
            if now >= next_drop:
                side = self.rng.choice((p, c))
                if await ask(side, 'drop()'):
                    drops += 1
                next_drop = now + self.rng.uniform(a.drop_min_s, a.drop_max_s)
            if now >= next_status:
                next_status = now + 10
                for fw in (p, c):
                    if line := ended(fw):
                        self.failures.append(f'{fw.name} loop() ended: {line}')
                        self.say(f'{fw.name} loop() ended: {line}\n{fw.report()}')
                        return
                sp_ = await ask(p, 'status()')
                sc_ = await ask(c, 'status()')
                self.say(f'notified {sp_["seq"]}, stream sent {sc_["tx"]} B, received {sp_["rx"]} B, '
                         f'drops {drops}, RSS P {rss_kib(p.proc.pid)} KiB C {rss_kib(c.proc.pid)} KiB, '
                         f'heap P {sp_["mem"]} C {sc_["mem"]}')
                # What each end received (events, stream bytes): a sender's count can go on
                # rising while nothing arrives.
                now_progress = (sp_['rx'], sp_['events'], sc_['events'])
                if self.args.verbose:
                    adv = [(getattr(ctl.le_legacy_advertiser, 'enabled', None), [(str(a), c.handle) for a, c in ctl.le_connections.items()], str(getattr(ctl, 'pending_le_connection', None))[:300], getattr(ctl, 'connect_in_flight', None), getattr(ctl, 'le_scan_enable', None)) for ctl in self.radio.controllers]
                    self.say(f'P {sp_}\n         C {sc_}\n         controllers advertising: {adv}')
                if now_progress != progress:
                    progress, since = now_progress, now
                elif now - since >= self.args.stall_s:
                    # Nothing arrived at either end: no event, no stream byte. A stack that stopped.
                    self.failures.append(f'stalled: nothing arrived for {now - since:.0f} s')
                    self.say(f'STALLED for {now - since:.0f} s; P {sp_}; C {sc_}')
                    for fw in (p, c):
                        self.say(f'{fw.name} state (gdb):\n' + await asyncio.to_thread(gdb_state, fw.proc.pid))
                    return
        # Wind down: no more notifications, the stream only up to where it got; then the
        # link must come back and the peripheral must have every stream byte.
        last_seq = await p.call('quiet()', timeout=10)
        target = await c.call('quiet()', timeout=10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = await p.call('status()', timeout=10)
            if st['rx'] >= target and st['links']:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)  # the last notifications and acknowledgements
        ends = []
        for fw in (p, c):
            since = len(fw.lines)
            await fw.call('stop()', timeout=10)
            ends.append(await self.wait_ok(fw, since, 30, skip=1))  # after stop()'s own answer
        rp, rc = ends
        self.account(rp, rc, target, last_seq, drops)

    def account(self, rp: dict, rc: dict, target: int, last_seq: int, drops: int) -> None:
        # L2CAP: every byte the central sent must have arrived once, intact, in order.
        lost = rp['rx_lost'] + max(0, target - rp['rx'])
        want_crc = stream_crc(rp['rx'])
        self.say(f'L2CAP: sent {rc["tx"]} B in {rc["sdus"]} SDUs, received {rp["rx"]} B; lost {lost} B, '
                 f'repeated {rp["rx_dup"]} B, corrupted {rp["rx_bad"]} B; CRC-32 received '
                 f'{rp["rx_crc"]:#010x}, sent {want_crc:#010x}; send errors {rc["errors"]}')
        if lost or rp['rx_dup'] or rp['rx_bad'] or rp['rx_crc'] != want_crc:
            self.failures.append(f'L2CAP: lost {lost} B, repeated {rp["rx_dup"]} B, corrupted {rp["rx_bad"]} B, '
                                 f'CRC {rp["rx_crc"]:#010x} != {want_crc:#010x}' if rp['rx_crc'] != want_crc else
                                 f'L2CAP: lost {lost} B, repeated {rp["rx_dup"]} B, corrupted {rp["rx_bad"]} B')
        # Notifications, link by link (epoch): received ones form an unbroken run from the
        # first sent; the rest were sent before that link dropped and never acknowledged.
        got = rc['got']
        sent = received = in_flight = 0
        bad = []
        epochs = rp['epochs']
        for i, (epoch, _conn, first, last, acked) in enumerate(epochs):
            if last is None:
                continue  # nothing sent on this link
            n = last - first + 1
            sent += n
            r = got.get(epoch)
            if r is None:
                rfirst, rlast, count, gaps, disorder = first, first - 1, 0, 0, 0
            else:
                rfirst, rlast, count, gaps, disorder = r
            received += count
            final = i == len(epochs) - 1
            if rfirst != first or gaps or disorder or rlast > last or count != rlast - rfirst + 1:
                bad.append(f'link {epoch}: sent {first}..{last}, got {rfirst}..{rlast} ({count}, '
                           f'{gaps} missing, {disorder} out of order)')
            elif acked is not None and acked > rlast:
                bad.append(f'link {epoch}: acknowledged {acked} beyond received {rlast}')
            elif rlast < last:
                if final:
                    bad.append(f'last link {epoch}: {last - rlast} notifications never arrived')
                else:
                    in_flight += last - rlast
        stray = [e for e in got if not any(e == ep[0] for ep in epochs)]
        if stray:
            bad.append(f'notifications of links never made: {stray[:5]}')
        self.say(f'notifications: sent {sent} on {len(epochs)} links ({drops} drops by the driver), received '
                 f'{received}, in flight at a drop (sent, never acknowledged) {in_flight}, unaccounted '
                 f'{sent - received - in_flight}; notify errors {rp["errors"]}')
        if bad or sent - received - in_flight:
            self.failures.append('notifications: ' + '; '.join(bad[:5]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--cycles', type=int, default=1000)
    ap.add_argument('--minutes', type=float, default=10.0)
    ap.add_argument('--seed', type=lambda s: int(s, 0), default=None, help='drop schedule (default: clock)')
    ap.add_argument('--drop-min-s', type=float, default=2.0)
    ap.add_argument('--drop-max-s', type=float, default=20.0)
    ap.add_argument('--notify-ms', type=int, default=2, help='the peripheral notifies this often (0: never)')
    ap.add_argument('--sdu-max', type=int, default=480, help='largest L2CAP SDU payload in bytes (0: no L2CAP)')
    ap.add_argument('--sends-per-step', type=int, default=4, help='L2CAP sends per loop step of the central')
    ap.add_argument('--stall-s', type=float, default=30.0, help='no progress this long ends phase 2 as a failure')
    ap.add_argument('--latency-ms', type=float, default=5.0)
    ap.add_argument('--micropython', default=str(FIRMWARE))
    ap.add_argument('--workdir', help='keep the working directory (core files) here')
    ap.add_argument('--btsnoop-dir', help='write each controller\'s HCI traffic here (btsnoop)')
    ap.add_argument('-v', '--verbose', action='store_true', help='show both ends\' state when nothing moves')
    args = ap.parse_args(argv)
    args.micropython = str(Path(args.micropython).resolve())  # the instances run in another directory
    if args.seed is None:
        args.seed = int(time.time() * 1000) & 0xFFFFFFFF
    if not os.access(args.micropython, os.X_OK):
        print(f'no firmware at {args.micropython} (run: make firmware)', file=sys.stderr)
        return 2
    print(f'soak: seed {args.seed:#x}, {args.cycles} cycles, {args.minutes:g} min of streaming', flush=True)
    return asyncio.run(Soak(args).run())


if __name__ == '__main__':
    sys.exit(main())
