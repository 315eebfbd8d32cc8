"""The README's demo: the camera's environmental sensor (examples/sensor_peripheral.py) on a
unix firmware instance, on a virtual radio, with a peer that finds it, reads and subscribes.

Usage (repo root, project venv; `make demo` runs the first):
    python python/demo.py           # peer: examples/sensor_central.py on a second firmware
                                    # instance; the sensor drops the link every 6 samples
                                    # and the central has to reconnect
    python python/demo.py --phone   # peer: a Bumble host playing a phone app (python/phone.py)
Every line the two sides print is shown as it comes, then a summary. Exit status 0 only if the
peer received the readings it wanted and every value it got is one the sensor sent, in order.
Everything started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_example import EXAMPLES, FIRMWARE, SERVER_WAIT_S, Role, Runner, Scenario  # noqa: E402

READINGS = 16  # the central's (or phone's) goal
PHONE_READINGS = 10
SENSOR = Role('sensor', 'sensor_peripheral.py', ('500', '6', '3'), server=True)  # 0.5 s samples, drop every 6, stop 3 s after the last peer
CENTRAL = Role('central', 'sensor_central.py', (str(READINGS),), delay=0.5)
TIMEOUT_S = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--phone', action='store_true', help='a Bumble "phone app" is the peer')
    parser.add_argument('--micropython', type=Path, default=FIRMWARE)
    parser.add_argument('--qemu', metavar='BOARD', nargs='?', const='MPS2_AN385',
                        help='the sensor runs on the QEMU firmware of BOARD (make firmware-qemu)')
    return parser.parse_args()


def found(pattern: str, lines: list[str]) -> list[tuple]:
    return [m.groups() for line in lines if (m := re.search(pattern, line))]


def in_order(part: list, whole: list) -> bool:
    """part is a subsequence of whole: values may be missed, never invented or reordered."""
    rest = iter(whole)
    return all(any(x == y for y in rest) for x in part)


def centi(value) -> int:
    """A reading in 0.01 units, from the text the firmware printed or the phone's float."""
    return round(float(value) * 100)


def sensor_samples(lines: list[str]) -> tuple[list[int], list[int]]:
    samples = found(r'^sample \d+ temp=(\S+) hum=(\S+)$', lines)
    return [centi(t) for t, _ in samples], [centi(h) for _, h in samples]


class QemuSensorRunner(Runner):
    """The sensor role on the QEMU firmware (python/qemu_exec.py), the others on unix."""

    def __init__(self, *args, board: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.board = board

    async def start(self, role: Role, endpoint: str):
        if role.name != SENSOR.name:
            return await super().start(role, endpoint)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).with_name('qemu_exec.py')), '--board', self.board,
            str(EXAMPLES / role.script), *role.args,
            cwd=self.out.dirs[role.name], env=dict(os.environ, MICROPYBTUART=endpoint),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return proc, asyncio.create_task(self._pipe(role.name, proc))


def central_demo(firmware: Path, workdir: Path, qemu: str | None = None) -> bool:
    scenario = Scenario('sensor and central', [SENSOR, CENTRAL], timeout=TIMEOUT_S)
    if qemu:
        runner = QemuSensorRunner(scenario, echo, firmware, board=qemu)
        print(f'demo: the sensor on the QEMU firmware ({qemu}), the central on unix', flush=True)
    else:
        runner = Runner(scenario, echo, firmware)
    print('demo: a virtual radio with 2 controllers; the sensor on one, the central on the other', flush=True)
    out = asyncio.run(runner.run(workdir))
    temps, hums = sensor_samples(out.lines['sensor'])
    central = out.lines['central']
    got = found(r'^notify \d+ temp=(\S+) hum=(\S+)$', central)
    reads = found(r'^read temp=(\S+) hum=(\S+)$', central)
    matches = in_order([centi(t) for t, _ in got], temps) and in_order([centi(h) for _, h in got], hums)
    drops = len(found(r'^(dropping the link)', out.lines['sensor']))
    reconnects = len(found(r'^(link lost) ', central))
    ok = out.ok and len(got) == READINGS and matches and reconnects >= 1
    summary([
        ('samples sent', f'{len(temps)} (sensor, every 0.5 s)'),
        ('readings received', f'{len(got)} notifications of {READINGS} wanted, {len(reads)} reads (central)'),
        ('values check', 'every value received was sent, in order' if matches else 'MISMATCH'),
        ('link drops', f'{drops} by the sensor, {reconnects} reconnects by the central'),
        ('exit codes', ', '.join(f'{r} {c[0] if c else None}' for r, c in out.codes.items())),
    ], ok)
    return ok


async def run_phone(runner: Runner, firmware_role: Role, workdir: Path) -> dict | None:
    from phone import phone_app  # Bumble, only for this variant
    from vradio import VirtualRadio

    runner.prepare(workdir)
    async with VirtualRadio(count=1) as radio:
        phone = radio.add_host_device('phone', 'F1:F2:F3:F4:F5:F6')
        await phone.power_on()
        proc, pipe = await runner.start(firmware_role, radio.endpoints[0])
        seen = None
        try:
            await asyncio.sleep(0.5)  # the sensor on air
            try:
                seen = await asyncio.wait_for(
                    phone_app(phone, PHONE_READINGS, lambda s: runner.show('phone', s)), TIMEOUT_S)
            except (asyncio.TimeoutError, StopIteration, KeyError) as e:
                runner.show('phone', f'failed: {e!r}')
            try:
                await asyncio.wait_for(proc.wait(), SERVER_WAIT_S)
            except asyncio.TimeoutError:
                runner.show('demo', f'the sensor did not stop by itself: SIGINT to pid {proc.pid}')
                proc.send_signal(signal.SIGINT)
                await asyncio.wait_for(proc.wait(), 3)
        finally:
            if proc.returncode is None:
                proc.kill()  # only the process this demo started
                await proc.wait()
            await pipe
        runner.out.codes['sensor'].append(proc.returncode)
        return seen


def phone_demo(firmware: Path, workdir: Path) -> bool:
    sensor = Role('sensor', 'sensor_peripheral.py', ('500', '0', '3'), server=True)
    runner = Runner(Scenario('sensor and phone', [sensor], timeout=TIMEOUT_S), echo, firmware)
    print('demo: a virtual radio with the sensor on one controller and a phone app '
          '(a Bumble host) on another', flush=True)
    seen = asyncio.run(run_phone(runner, sensor, workdir)) or {'reads': [], 'temps': [], 'hums': []}
    temps, hums = sensor_samples(runner.out.lines['sensor'])
    matches = in_order([centi(t) for t in seen['temps']], temps) and in_order([centi(h) for h in seen['hums']], hums)
    code = runner.out.codes['sensor'][0]
    ok = code == 0 and len(seen['temps']) >= PHONE_READINGS and matches and len(seen['reads']) == 1
    summary([
        ('samples sent', f'{len(temps)} (sensor, every 0.5 s)'),
        ('readings received', f'{len(seen["temps"])} temperature and {len(seen["hums"])} humidity '
                              f'notifications, {len(seen["reads"])} read (phone)'),
        ('values check', 'every value received was sent, in order' if matches else 'MISMATCH'),
        ('exit codes', f'sensor {code}'),
    ], ok)
    return ok



def echo(text: str) -> None:
    print(text, flush=True)


def summary(rows: list[tuple[str, str]], ok: bool) -> None:
    print('\n=== demo summary ===')
    for label, value in rows:
        print(f'{label:18}: {value}')
    print(f'{"result":18}: {"PASS" if ok else "FAIL"}', flush=True)


def main() -> int:
    args = parse_args()
    if not os.access(args.micropython, os.X_OK):
        print(f'demo: no firmware at {args.micropython} (run: make firmware)', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='demo-') as tmp:
        if args.phone:
            ok = phone_demo(args.micropython, Path(tmp))
        else:
            ok = central_demo(args.micropython, Path(tmp), args.qemu)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
