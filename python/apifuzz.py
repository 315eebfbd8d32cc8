#!/usr/bin/env python3
"""Random calls of the low-level `bluetooth` API on both ends of a live link (issue 12, F).

usage: apifuzz.py [--runs N] [--seconds S] [--master-seed M | --seeds P,C] [--hang-s 10]
                  [--nested PERMILLE] [--disconnect-every N] [--micropython PATH]
                  [--wrap 'valgrind --tool=helgrind'] [--workdir DIR] [--stop-on-fail]

Each run starts a fresh virtual radio and two firmware instances. The peripheral (P) serves a
small GATT table, listens on an L2CAP PSM and advertises; the central (C) registers the same
table (so both ends' gattc_* calls have real targets) and connects. Then for S seconds each end
makes, as fast as it can, random calls (python/apifuzz_agent.py: 24 kinds, arguments mixing the
link's real handles with wrong types, stale and unknown handles and ids, empty to 600-byte
buffers; gap_disconnect rarely, after which the ends reconnect by themselves; some calls come
from inside the IRQ handler). Afterwards both ends stop what is left running, the central drops
the link and reconnects, reads a known value, writes one, gets a notification and moves bytes
over a new L2CAP channel, and both switch BLE off.

A run fails on: a crash (the process dies; its core file is kept and read with gdb), a hang
(an end silent for --hang-s; gdb shows where it waits), a call that took longer than its
documented bound (2 s) or raised an exception type the API does not document, or any step
after the fuzz that does not work (a wedged stack). Each failure is printed with both seeds and
the last calls each end made (read from the end's call ring in its memory or core file, named
from the seed). Seeds derive from the master seed and the run number, so `--master-seed M`
repeats a whole series and `--seeds P,C` one run.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # vradio, apifuzz_agent
sys.path.insert(0, str(ROOT / 'tests'))  # fwproc

import apifuzz_agent as plan_mod  # noqa: E402
from fwproc import FIRMWARE, Firmware, agent  # noqa: E402
from vradio import VirtualRadio  # noqa: E402

AGENT_SOURCE = (HERE / 'apifuzz_agent.py').read_text()
STEP_S = 8.0  # bound of one post-fuzz step (each waits at most 5 s inside the firmware)


def derive_seeds(master: int, run: int) -> tuple[int, int]:
    """The two ends' seeds of run number `run` of the series `master`."""
    r = random.Random(f'apifuzz:{master}:{run}')
    return r.getrandbits(32), r.getrandbits(32)


@dataclass
class End:
    """One firmware instance of a run and what became of it."""
    role: str  # 'P' or 'C'
    seed: int
    fw: Firmware
    summary: dict | None = None
    ring: dict | None = None
    gdb: str = ''
    failure: str = ''  # crash, hang, slow call, undocumented exception


# Outcome kinds, most severe first: a run is reported by the worst thing that happened in it.
KINDS = ('crash', 'hang', 'setup', 'wedged', 'post-check', 'bad-exception', 'slow', 'ok')


@dataclass
class Outcome:
    run: int
    seeds: tuple[int, int]
    kind: str = 'ok'
    detail: str = ''
    ends: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def flag(self, kind: str, detail: str) -> None:
        """Records a failure; the run's kind becomes the most severe one seen."""
        self.notes.append(f'{kind}: {detail}')
        if KINDS.index(kind) < KINDS.index(self.kind):
            self.kind, self.detail = kind, detail


# --- finding a call ring in a process's memory or core file ------------------------------------

MAGIC = bytes(b ^ 0xFF for b in plan_mod.RING_MAGIC)
RING_BYTES = plan_mod.RING_HEAD + 4 * (plan_mod.RING_SLOTS + plan_mod.NESTED_SLOTS)


def parse_ring(blob: bytes) -> dict | None:
    """The call ring in a memory image: counts and entries (kind, status, conn) per call number."""
    best = None
    for m in re.finditer(re.escape(MAGIC), blob):
        raw = blob[m.start():m.start() + RING_BYTES]
        if len(raw) < RING_BYTES:
            continue
        count = int.from_bytes(raw[16:20], 'little')
        nested = int.from_bytes(raw[20:24], 'little')

        def entry(slot):
            o = plan_mod.RING_HEAD + 4 * slot
            return raw[o], raw[o + 1], raw[o + 2] | raw[o + 3] << 8

        main = {}
        for n in range(max(0, count - plan_mod.RING_SLOTS + 1), count + 1):
            main[n] = entry(n % plan_mod.RING_SLOTS)
        inner = {}
        for n in range(max(0, nested - plan_mod.NESTED_SLOTS + 1), nested + 1):
            inner[n] = entry(plan_mod.RING_SLOTS + n % plan_mod.NESTED_SLOTS)
        ring = {'count': count, 'nested': nested, 'main': main, 'inner': inner}
        if best is None or count > best['count']:
            best = ring
    return best


def process_memory(pid: int) -> bytes:
    """The writable private mappings of a live process (where MicroPython's heap is)."""
    chunks = []
    with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/mem', 'rb', 0) as mem:
        for line in maps:
            parts = line.split()
            if len(parts) < 2 or not parts[1].startswith('rw'):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split('-'))
            if hi - lo > 256 << 20:
                continue
            try:
                mem.seek(lo)
                chunks.append(mem.read(hi - lo))
            except OSError:
                pass
    return b''.join(chunks)


def plans(seed: int, salt: int, upto: int, disconnect_every: int, exclude=()) -> list:
    """The first upto+1 planned calls of a generator seeded like the agent's."""
    rng = plan_mod.Rng(seed ^ salt)
    table = plan_mod.kind_table(exclude)
    return [plan_mod.plan(rng, disconnect_every, table) for _ in range(upto + 1)]


def describe_ring(ring: dict, seed: int, disconnect_every: int, last: int = 12, exclude=()) -> str:
    """The last calls of an end, each named from the seed and checked against the ring's kind."""
    status = {1: 'in progress', 2: 'returned', 3: 'raised'}
    out = []
    for title, salt, table, every, key in (
        ('main loop', 0, ring['main'], disconnect_every, 'count'),
        ('IRQ handler', plan_mod.NESTED_SALT, ring['inner'], 0, 'nested'),
    ):
        upto = ring[key]
        if not table or upto > 5_000_000:
            continue
        planned = plans(seed, salt, upto, every, exclude)
        shown = [n for n in sorted(table) if table[n][1]][-last:]
        if not shown:
            continue
        out.append(f'  last calls ({title}, {upto} made):')
        for n in shown:
            kind, st, conn = table[n]
            pk, draws = planned[n]
            mark = '' if pk == kind else f' [ring says kind {kind}]'
            out.append(f'    #{n} {plan_mod.describe(pk, draws)} conn={conn} -> '
                       f'{status.get(st & 0x0F, st)}{mark}')
    return '\n'.join(out)


# Backend state worth seeing when a stack stops working (symbols of the current code; needs
# a build with symbols: make firmware-tool TOOL=debug).
GDB_STATE = (
    "p 'mptrouble::hci::transport::RX'.inner.value.value.value.share",
    "p 'mptrouble::att::bearer::LINKS'.inner.value.value.value[0].inbox.full",
    "p 'mptrouble::att::bearer::LINKS'.inner.value.value.value[1].inbox.full",
    "p 'mptrouble::events::deliver::RING'.inner.value.value.value.len",
    'p delivery_scheduled',
    "p 'mptrouble::gap::state::LINKS'.inner.value.value.value",
    # trouble-host's connection table: state, handle and how many holders each entry has.
)


def gdb_state(pid: int, timeout: float = 60) -> str:
    """The backend's flow-control state of a live process, and where its threads are."""
    cmd = ['gdb', '-batch', '-nx', '-p', str(pid), '-ex', 'set print pretty off']
    for expr in GDB_STATE:
        cmd += ['-ex', f'echo {expr}\\n', '-ex', expr]
    cmd += ['-ex', f'source {HERE / "gdb_trouble.py"}', '-ex', 'thread apply all bt 14']
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (subprocess.TimeoutExpired, FileNotFoundError) as e:
        return f'(gdb: {e})'
    keep = [ln[:400] for ln in r.stdout.splitlines()
            if ln.startswith(('#', 'Thread', '$', 'p ', 'trouble ')) and 'New LWP' not in ln]
    return '\n'.join(keep)


def gdb_backtrace(args: list[str], timeout: float = 60) -> str:
    """`thread apply all bt` of a live process (-p PID) or a core file (BINARY CORE)."""
    if not shutil.which('gdb'):
        return '(gdb not installed)'
    cmd = ['gdb', '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'thread apply all bt 40', *args]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return '(gdb timed out)'
    keep = [ln for ln in r.stdout.splitlines() if ln.startswith(('#', 'Thread', 'Program terminated', '['))
            and 'New LWP' not in ln]
    return '\n'.join(keep)


# --- one run --------------------------------------------------------------------------------

class Fuzz:
    def __init__(self, args) -> None:
        self.args = args
        self.binary = Path(args.micropython).resolve()
        self.wrap = shlex.split(args.wrap) if args.wrap else []

    def log(self, text: str) -> None:
        print(text, flush=True)

    async def run(self, number: int, seeds: tuple[int, int], workdir: Path) -> Outcome:
        out = Outcome(number, seeds)
        t0 = time.monotonic()
        rundir = workdir / f'run{number:04d}'
        rundir.mkdir(parents=True, exist_ok=True)
        async with VirtualRadio(count=2, latency_ms=self.args.latency_ms) as radio:
            ends = []
            for role, seed, endpoint in zip('PC', seeds, radio.endpoints):
                d = rundir / role
                d.mkdir(exist_ok=True)
                fw = Firmware(agent(AGENT_SOURCE), endpoint, role, cwd=str(d), wrap=self.wrap,
                              core=True, binary=self.binary)
                ends.append(End(role, seed, fw))
            out.ends = ends
            try:
                await self._run(out, ends)
            finally:
                for e in ends:
                    await e.fw.stop()
        out.seconds = time.monotonic() - t0
        for e in ends:
            self._collect_core(e, rundir / e.role)
        if out.kind == 'ok' and not self.args.keep:
            shutil.rmtree(rundir, ignore_errors=True)
        return out

    async def _run(self, out: Outcome, ends: list[End]) -> None:
        p, c = ends
        slow = 10 + self.args.slow_start
        try:
            await p.fw.start()
            await p.fw.ready()
            await p.fw.call("setup('P')", timeout=slow)
            await c.fw.start()
            await c.fw.ready()
            await c.fw.call(f"setup('C', ({p.fw.addr_type}, '{p.fw.mac}'))", timeout=slow)
            await c.fw.call('link(5000)', timeout=slow)
            await p.fw.call('link(5000)', timeout=slow)
        except AssertionError as e:
            out.flag('setup', str(e))
            self._check_dead(out, ends)
            return
        await self._fuzz(out, ends)
        if out.kind not in ('crash', 'hang'):
            await self._post(out, p, c)
        self._check_dead(out, ends)
        if self.args.gdb_state and out.kind not in ('ok', 'crash', 'hang'):
            for e in ends:
                if e.fw.alive() and not self.wrap:
                    e.gdb = await asyncio.to_thread(gdb_state, e.fw.proc.pid)

    def _check_dead(self, out: Outcome, ends: list[End]) -> None:
        for e in ends:
            if e.fw.proc is not None and e.fw.proc.returncode is not None and not e.failure:
                code = e.fw.proc.returncode
                if code != 0:
                    e.failure = f'crashed: {signal_name(code)}'
                    out.flag('crash', f'{e.role} {e.failure}')

    async def _fuzz(self, out: Outcome, ends: list[End]) -> None:
        a = self.args
        starts = {}
        for e in ends:
            starts[e.role] = len(e.fw.lines)
            await e.fw.send(f'fuzz({e.seed}, {int(a.seconds * 1000)}, {a.nested}, {a.disconnect_every}, '
                            f'exclude={tuple(a.exclude)!r}, small={a.small})')
        last_len = {e.role: (len(e.fw.lines), time.monotonic()) for e in ends}
        pending = {e.role: e for e in ends}
        deadline = time.monotonic() + a.seconds + a.hang_s + a.slow_start + 5
        while pending:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            for role, e in list(pending.items()):
                lines = e.fw.lines
                for line in lines[starts[role]:]:
                    if line.startswith(('OK ', 'ERR ')):
                        break
                else:
                    line = None
                if line is not None:
                    del pending[role]
                    if line.startswith('ERR '):
                        e.failure = f'fuzz() raised {line[4:]}'
                    else:
                        e.summary = ast.literal_eval(line[3:])
                    continue
                if not e.fw.alive():
                    await asyncio.sleep(0.3)  # let the reader take the last lines
                    e.failure = f'crashed during the fuzz: {signal_name(e.fw.proc.returncode)}'
                    del pending[role]
                    continue
                n, since = last_len[role]
                if len(lines) != n:
                    last_len[role] = (len(lines), now)
                elif now - since > a.hang_s or now > deadline:
                    e.failure = f'hung: silent for {now - since:.1f} s during the fuzz'
                    await self._inspect_hang(e)
                    e.fw.proc.kill()
                    del pending[role]
        for e in ends:
            if e.failure:
                kind = 'crash' if 'crashed' in e.failure else 'hang' if 'hung' in e.failure else 'post-check'
                out.flag(kind, f'{e.role} {e.failure}')
                continue
            s = e.summary
            if s['bad']:
                e.failure = f"undocumented exceptions: {s['bad'][:5]}"
                out.flag('bad-exception', f'{e.role} {e.failure}')
            if s['slow']:
                e.failure = f"calls over their bound: {s['slow'][:5]}"
                out.flag('slow', f'{e.role} {e.failure}')

    async def _inspect_hang(self, e: End) -> None:
        pid = e.fw.proc.pid
        if self.wrap:
            return  # the process is the wrapper (valgrind): its memory is not the firmware's
        try:
            e.ring = parse_ring(process_memory(pid))
        except OSError as err:
            e.gdb = f'(memory not readable: {err})'
        e.gdb = await asyncio.to_thread(gdb_backtrace, ['-p', str(pid)])

    def _collect_core(self, e: End, d: Path) -> None:
        cores = sorted(d.glob('core*'))
        if not cores:
            return
        core = cores[0]
        try:
            e.ring = parse_ring(core.read_bytes())
        except OSError:
            pass
        e.gdb = gdb_backtrace([str(self.binary), str(core)])
        e.failure += f' (core: {core})'

    async def _post(self, out: Outcome, p: End, c: End) -> None:
        """The stack must work after the fuzz: reconnect, read, write, notify, L2CAP, off."""
        known = plan_mod.KNOWN
        # The central's writes still queued or in flight would land on the values the
        # peripheral restores: its links go first, then the peripheral restores.
        steps = [
            (c, 'quiesce()', None),
            (c, 'drop_links()', None),
            (p, 'quiesce()', None),
            (p, 'no_links()', True),
            (p, 'post_advertise()', True),
            (c, 'post_connect()', None),
            (c, 'post_read()', (known, 0)),
            (c, "post_write(b'after the fuzz')", 0),
            (p, 'last_write()', b'after the fuzz'),
            (p, "post_notify(b'notified after')", True),
            (c, 'got_notify()', b'notified after'),
            (c, 'post_l2cap_connect()', None),
            (p, 'l2cap_accepted()', None),
        ]
        got = {}
        try:
            for end, expr, want in steps:
                v = await end.fw.call(expr, timeout=STEP_S + self.args.slow_start)
                got[expr] = v
                if want is not None and v != want:
                    raise AssertionError(f'{end.role}: {expr} -> {v!r}, expected {want!r}')
            cid_c, cid_p = got['post_l2cap_connect()'], got['l2cap_accepted()']
            await c.fw.call(f'l2cap_send({cid_c}, 300)', timeout=STEP_S)
            if await p.fw.call(f'l2cap_recv({cid_p}, 300)', timeout=STEP_S) is not True:
                raise AssertionError('P: the 300 bytes sent over L2CAP after the fuzz did not arrive intact')
            for end in (c, p):
                await end.fw.call('ble.active(False)', timeout=STEP_S)
        except AssertionError as err:
            text = str(err)
            first = text.splitlines()[0]
            kind = 'wedged' if 'ETIMEDOUT' in first or 'OSError(110' in first or '[Errno 110]' in first else 'post-check'
            if kind == 'post-check':
                # Does either end still carry out controller commands?
                for end in (p, c):
                    if end.fw.alive():
                        try:
                            await end.fw.call('probe()', timeout=STEP_S)
                        except AssertionError as probe_err:
                            kind = 'wedged'
                            first += f'; {end.role} probe(): {str(probe_err).splitlines()[0]}'
            out.flag(kind, f'after the fuzz: {first}')

    # --- reporting ---

    def report(self, out: Outcome) -> None:
        p, c = out.ends
        rates = []
        for e in out.ends:
            if e.summary:
                s = e.summary
                rates.append(f"{e.role} {s['calls']} calls (+{s['nested']} from irq) in {s['ms']} ms")
        seeds = f'--seeds {out.seeds[0]:#010x},{out.seeds[1]:#010x}'
        self.log(f'run {out.run}: {out.kind.upper()} [{seeds}] {"; ".join(rates)} ({out.seconds:.0f} s)')
        if out.kind == 'ok':
            return
        for note in out.notes:
            self.log(f'  {note}')
        for e in out.ends:
            if e.failure:
                self.log(f'  {e.role} (seed {e.seed:#010x}): {e.failure}')
            if e.ring:
                self.log(describe_ring(e.ring, e.seed, self.args.disconnect_every, exclude=self.args.exclude))
            if e.gdb:
                self.log(f'  {e.role} state (gdb):')
                self.log('\n'.join('    ' + ln for ln in e.gdb.splitlines()[:60]))
            if e.summary and self.args.verbose:
                self.log(f'  {e.role} exceptions: {e.summary["exceptions"]}')
            if e.failure or self.args.verbose:
                self.log(f'  {e.role} output tail:')
                tail = [ln for ln in e.fw.lines if not ln.startswith('HB ')][-25:]
                self.log('\n'.join('    ' + ln for ln in tail))


def signal_name(code: int | None) -> str:
    if code is None:
        return 'still running'
    if code < 0:
        try:
            return f'signal {signal.Signals(-code).name}'
        except ValueError:
            return f'signal {-code}'
    return f'exit status {code}'


def parse_seeds(text: str) -> tuple[int, int]:
    a, b = text.split(',')
    return int(a, 0), int(b, 0)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--seconds', type=float, default=8.0, help='fuzz time per run')
    ap.add_argument('--master-seed', type=lambda s: int(s, 0), help='default: from the clock (printed)')
    ap.add_argument('--seeds', type=parse_seeds, help='P,C: replay one run with these seeds')
    ap.add_argument('--hang-s', type=float, default=10.0, help='silence that counts as a hang')
    ap.add_argument('--nested', type=int, default=30, help='per mille of events that make a call from the IRQ handler')
    ap.add_argument('--disconnect-every', type=int, default=20000, help='1 in N calls is gap_disconnect (0: never)')
    ap.add_argument('--exclude', type=lambda s: [x for x in s.split(',') if x], default=[],
                    help='call kinds never to make, comma-separated (to look past a known failure)')
    ap.add_argument('--small', action='store_true',
                    help='buffers of at most 20 bytes (one ACL fragment per frame; to look past long-frame failures)')
    ap.add_argument('--latency-ms', type=float, default=5.0)
    ap.add_argument('--micropython', default=str(FIRMWARE), help='firmware binary (e.g. a sanitizer build)')
    ap.add_argument('--wrap', default='', help="run each firmware under this command (e.g. 'valgrind -q')")
    ap.add_argument('--slow-start', type=float, default=0.0, help='extra seconds for set-up steps (valgrind)')
    ap.add_argument('--workdir', help='keep run directories (cores) here; default: a temporary one')
    ap.add_argument('--keep', action='store_true', help='keep the directories of passing runs too')
    ap.add_argument('--stop-on-fail', action='store_true')
    ap.add_argument('--gdb-state', action='store_true',
                    help='when a stack stops working, print its flow-control state (a build with symbols)')
    ap.add_argument('-v', '--verbose', action='store_true')
    return ap


def series(args) -> dict:
    """Runs the series; returns counts per outcome kind. Each run has its own event loop, so
    nothing left over from a run whose firmware crashed (a pipe callback) reaches the next."""
    fuzz = Fuzz(args)
    master = args.master_seed if args.master_seed is not None else int(time.time() * 1000) & 0xFFFFFFFF
    if args.seeds is None:
        print(f'apifuzz: master seed {master:#x}, {args.runs} runs of {args.seconds:g} s', flush=True)
    counts: dict[str, int] = {}
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix='apifuzz-'))
    for n in range(args.runs):
        seeds = args.seeds or derive_seeds(master, n)
        out = asyncio.run(fuzz.run(n, seeds, work))
        fuzz.report(out)
        counts[out.kind] = counts.get(out.kind, 0) + 1
        if out.kind != 'ok' and args.stop_on_fail:
            break
    if not args.workdir and not any(work.iterdir()):
        work.rmdir()
    elif any(work.iterdir()):
        print(f'apifuzz: failed runs kept in {work}')
    summary = ', '.join(f'{k} {v}' for k, v in sorted(counts.items()))
    print(f'apifuzz: {sum(counts.values())} runs: {summary}', flush=True)
    return counts


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not os.access(args.micropython, os.X_OK):
        print(f'no firmware at {args.micropython} (run: make firmware)', file=sys.stderr)
        return 2
    counts = series(args)
    return 0 if set(counts) == {'ok'} else 1


if __name__ == '__main__':
    sys.exit(main())
