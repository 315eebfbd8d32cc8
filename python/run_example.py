"""Runs an app from examples/ against its peers, each on its own unix firmware instance,
all on a fresh virtual radio started (and stopped) here.

Usage (repo root, project venv):
    python python/run_example.py NAME          # sensor, beacon, control, hub, relay, frames, bond, gap
    python python/run_example.py --list
Every line the instances print is shown as `<seconds> [<role>] <line>`. Exit status 0 only if
every instance exits with status 0 within the scenario's time bound.

Clients end by themselves. Servers (roles marked `server`) are given an idle time after which
they stop by themselves once their clients are gone; one still running SERVER_WAIT_S after the
last client ended gets SIGINT (what Ctrl-C would send), and is killed if that doesn't end it
(such a run fails).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'python'))  # vradio

from vradio import VirtualRadio  # noqa: E402

FIRMWARE = ROOT / 'build' / 'unix' / 'micropython'
EXAMPLES = ROOT / 'examples'
SERVER_WAIT_S = 8.0  # after the last client: a server's idle time (3 s) plus its unwinding
STOP_GRACE_S = 3.0  # a server's time to unwind after SIGINT


@dataclass
class Role:
    name: str
    script: str
    args: tuple = ()
    server: bool = False
    delay: float = 0.0  # seconds after the previous role started


@dataclass
class Scenario:
    doc: str
    roles: list
    timeout: float = 60.0
    runs: int = 1  # >1: the same roles run again (a restart), keeping each role's directory


# The apps and the peers they are shown with (and tested against: tests/test_examples.py).
SCENARIOS = {
    'gap': Scenario(
        'GAP with the low-level bluetooth module: advertise/scan/connect twice',
        [Role('peripheral', 'gap_peripheral.py', ('30', '2'), server=True),
         Role('central', 'gap_central.py', (), delay=0.5)],
        timeout=45,
    ),
    'sensor': Scenario(
        'ESS sensor peripheral (drops the link every 8 samples) and a central that reconnects',
        [Role('sensor', 'sensor_peripheral.py', ('300', '8', '3'), server=True),
         Role('central', 'sensor_central.py', ('20',), delay=0.5)],
        timeout=60,
    ),
    'beacon': Scenario(
        'non-connectable manufacturer-data beacon and an observer',
        [Role('beacon', 'beacon.py', ('8',), server=True),
         Role('observer', 'observer.py', ('6',), delay=0.5)],
        timeout=40,
    ),
    'control': Scenario(
        'command characteristic (capture=True) and on_read status, exercised by a client',
        [Role('camera', 'control_peripheral.py', ('3',), server=True),
         Role('client', 'control_client.py', (), delay=0.5)],
        timeout=40,
    ),
    'hub': Scenario(
        'one peripheral serving three centrals at once',
        [Role('hub', 'hub_peripheral.py', ('300', '3'), server=True)]
        + [Role(f'viewer{i}', 'hub_central.py', (str(i), '3'), delay=1.5) for i in range(1, 4)],
        timeout=60,
    ),
    'relay': Scenario(
        'a relay: central of the sensor and peripheral to a display at the same time',
        [Role('sensor', 'sensor_peripheral.py', ('500', '0', '3'), server=True),
         Role('relay', 'relay.py', ('3',), server=True, delay=0.5),
         Role('display', 'sensor_central.py', ('10', 'cam-relay'), delay=1.0)],
        timeout=60,
    ),
    'frames': Scenario(
        'camera frames over an L2CAP channel, checksummed',
        [Role('camera', 'frame_sender.py', ('3',), server=True),
         Role('viewer', 'frame_receiver.py', ('3',), delay=0.5)],
        timeout=60,
    ),
    'bond': Scenario(
        'pair and bond, then both restart and the link comes back encrypted without pairing',
        [Role('camera', 'bond_peripheral.py', ('3',), server=True),
         Role('phone', 'bond_central.py', (), delay=0.5)],
        timeout=90,
        runs=2,
    ),
}


@dataclass
class Outcome:
    ok: bool = True
    lines: dict = field(default_factory=dict)  # role -> [lines], every run
    codes: dict = field(default_factory=dict)  # role -> exit status per run
    dirs: dict = field(default_factory=dict)  # role -> its working directory


class Runner:
    def __init__(self, scenario: Scenario, echo, firmware: Path = FIRMWARE, latency_ms: float = 5.0):
        self.scenario, self.echo, self.firmware, self.latency_ms = scenario, echo, firmware, latency_ms
        self.t0 = time.monotonic()
        self.out = Outcome()

    def show(self, role: str, text: str) -> None:
        if self.echo:
            self.echo(f'{time.monotonic() - self.t0:7.2f} [{role}] {text}')

    async def _pipe(self, role: str, proc) -> None:
        while line := await proc.stdout.readline():
            text = line.decode(errors='replace').rstrip('\n')
            self.out.lines[role].append(text)
            self.show(role, text)

    async def start(self, role: Role, endpoint: str):
        """Starts one role's firmware on a controller; returns (process, output pipe task)."""
        env = dict(os.environ, MICROPYBTUART=endpoint)
        # Each role in its own directory: bond keys (ble_secrets.json) are per device.
        proc = await asyncio.create_subprocess_exec(
            str(self.firmware), str(EXAMPLES / role.script), *role.args,
            cwd=self.out.dirs[role.name], env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return proc, asyncio.create_task(self._pipe(role.name, proc))

    async def _run_once(self, deadline: float) -> bool:
        roles = self.scenario.roles
        async with VirtualRadio(count=len(roles), latency_ms=self.latency_ms) as radio:
            procs = {}
            try:
                for role, endpoint in zip(roles, radio.endpoints):
                    await asyncio.sleep(role.delay)
                    procs[role.name] = await self.start(role, endpoint)
                clients = [procs[r.name][0].wait() for r in roles if not r.server]
                ok = await self._bounded(asyncio.gather(*clients), deadline)
                servers = [procs[r.name][0] for r in roles if r.server]
                wait = min(deadline, time.monotonic() + SERVER_WAIT_S)
                if not await self._bounded(asyncio.gather(*(p.wait() for p in servers)), wait, quiet=True):
                    ok = False
                    for proc in servers:
                        if proc.returncode is None:
                            self.show('runner', f'a server did not stop by itself: SIGINT to pid {proc.pid}')
                            proc.send_signal(signal.SIGINT)
                    await self._bounded(asyncio.gather(*(p.wait() for p in servers)), time.monotonic() + STOP_GRACE_S)
            finally:
                for proc, pipe in procs.values():
                    if proc.returncode is None:
                        proc.kill()  # only processes this runner started
                        await proc.wait()
                    await pipe
            for r in roles:
                code = procs[r.name][0].returncode if r.name in procs else None
                self.out.codes[r.name].append(code)
                ok &= code == 0
            return ok

    async def _bounded(self, aw, deadline: float, quiet: bool = False) -> bool:
        try:
            await asyncio.wait_for(aw, max(0.1, deadline - time.monotonic()))
            return True
        except asyncio.TimeoutError:
            if not quiet:
                self.show('runner', 'time is up')
            return False

    def prepare(self, workdir: Path) -> None:
        """A directory and an empty log per role."""
        for r in self.scenario.roles:
            self.out.lines[r.name], self.out.codes[r.name] = [], []
            self.out.dirs[r.name] = workdir / r.name
            self.out.dirs[r.name].mkdir(parents=True, exist_ok=True)

    async def run(self, workdir: Path) -> Outcome:
        self.prepare(workdir)
        deadline = self.t0 + self.scenario.timeout
        for run in range(self.scenario.runs):
            if run:
                self.show('runner', f'restarting every instance (run {run + 1} of {self.scenario.runs})')
            self.out.ok &= await self._run_once(deadline)
            if not self.out.ok:
                break
        return self.out


def run_scenario(name: str, echo=None, workdir: Path | None = None, **kwargs) -> Outcome:
    """Runs one scenario to the end on a fresh radio; workdir (default: a temporary one) holds
    a directory per role."""
    runner = Runner(SCENARIOS[name], echo, **kwargs)
    if workdir is not None:
        return asyncio.run(runner.run(Path(workdir)))
    with tempfile.TemporaryDirectory(prefix=f'example-{name}-') as tmp:
        return asyncio.run(runner.run(Path(tmp)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('name', nargs='?', choices=sorted(SCENARIOS))
    parser.add_argument('--list', action='store_true', help='list the scenarios')
    parser.add_argument('--micropython', type=Path, default=FIRMWARE)
    args = parser.parse_args()
    if args.list or not args.name:
        for name, s in SCENARIOS.items():
            print(f'{name:8} {s.doc}: ' + ' + '.join(f'examples/{r.script}' for r in s.roles))
        return 0
    if not os.access(args.micropython, os.X_OK):
        print(f'no firmware at {args.micropython} (run: make firmware)', file=sys.stderr)
        return 2
    out = run_scenario(args.name, lambda text: print(text, flush=True), firmware=args.micropython)
    print(f'exit codes: ' + ', '.join(f'{r} {c}' for r, c in out.codes.items()))
    print('PASS' if out.ok else 'FAIL')
    return 0 if out.ok else 1


if __name__ == '__main__':
    sys.exit(main())
