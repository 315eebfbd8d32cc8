"""GAP demo on the virtual radio: examples/gap_peripheral.py and examples/gap_central.py
run on two unix firmware instances, each on its own controller of one link.

Usage (from the repo root, with the project venv): python python/demo.py
Exit status 0 only if the central reports RESULT OK.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_DIR = ROOT / 'python'
EXAMPLES = ROOT / 'examples'
TIMEOUT_S = 60
PERIPHERAL_RUN_S = 30  # the peripheral's own bound; the central finishes well inside it
CONNECTIONS = 2  # the central's connect/disconnect cycles; the peripheral stops after them


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--micropython', default=str(ROOT / 'build/unix/micropython'))
    parser.add_argument('--latency-ms', type=float, default=5.0)
    parser.add_argument('--timeout', type=float, default=TIMEOUT_S, help='seconds for the whole demo')
    return parser.parse_args()


class Demo:
    """The processes this demo started (by PID) and the lines they printed."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.lines: queue.Queue = queue.Queue()
        self.log: dict[str, list[str]] = {}
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, **kwargs
        )
        self.procs[name] = proc
        self.log[name] = []
        # One reader thread per process: interleaving comes from the shared queue,
        # so neither process can block the other's output.
        threading.Thread(target=self._read, args=(name, proc), daemon=True).start()
        return proc

    def _read(self, name: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.put((time.monotonic(), name, line.rstrip('\n')))
        self.lines.put((time.monotonic(), name, None))  # end of output

    def pump(self, until, deadline: float) -> bool:
        """Print lines as they come until `until(name, line)` is true; False on deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                stamp, name, line = self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is not None:
                self.log[name].append(line)
                # Firmware lines carry the script's own clock; ours is the one to trust
                # when comparing the two sides, so strip theirs.
                text = re.sub(r'^\s*\d+\.\d+ ', '', line)
                print(f'{stamp - self.t0:7.2f} [{name}] {text}', flush=True)
            if until(name, line):
                return True

    def stop(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> int:
    args = parse_args()
    if not os.access(args.micropython, os.X_OK):
        print(f'demo: no firmware at {args.micropython} (run: make firmware)', file=sys.stderr)
        return 2
    demo = Demo()
    deadline = demo.t0 + args.timeout
    ok = False
    try:
        # stdin=PIPE: if this script dies, the radio sees end of input and stops itself.
        demo.start(
            'radio',
            [sys.executable, '-m', 'vradio', '--count', '2', '--latency-ms', str(args.latency_ms)],
            cwd=PYTHON_DIR,
            stdin=subprocess.PIPE,
        )
        ready = {}

        def radio_ready(name, line):
            if name == 'radio' and line and line.startswith('READY '):
                ready.update(json.loads(line[6:]))
            return bool(ready) or (name == 'radio' and line is None)

        if not demo.pump(radio_ready, min(deadline, time.monotonic() + 15)) or not ready:
            print('demo: virtual radio did not come up', file=sys.stderr)
            return 1
        ports = [c['endpoint'] for c in ready['controllers']]

        def firmware(name, port, script, *argv):
            env = dict(os.environ, MICROPYBTUART=port)
            return demo.start(name, [args.micropython, str(EXAMPLES / script), *argv], cwd=ROOT, env=env)

        firmware('peripheral', ports[0], 'gap_peripheral.py', str(PERIPHERAL_RUN_S), str(CONNECTIONS))
        # Start the central once the peripheral is on air, so its scan finds it at once.
        demo.pump(lambda n, l: n == 'peripheral' and (l is None or 'advertising' in l), deadline)
        firmware('central', ports[1], 'gap_central.py')

        finished = set()

        def both_done(name, line):
            if line is None and name in ('peripheral', 'central'):
                finished.add(name)
            return len(finished) == 2

        if not demo.pump(both_done, deadline):
            # stdout, so the notice lands in order among the streamed lines.
            print(f'{time.monotonic() - demo.t0:7.2f} [demo] timed out after {args.timeout:.0f} s, stopping the firmware', flush=True)
        for name in ('central', 'peripheral'):
            demo.stop(name)
        ok = demo.procs['central'].returncode == 0 and any('RESULT OK' in l for l in demo.log['central'])
    finally:
        for name in [n for n in ('central', 'peripheral') if n in demo.procs]:
            demo.stop(name)
        if 'radio' in demo.procs:
            demo.stop('radio')  # SIGTERM: the radio's documented clean stop
    summarize(demo, ok)
    return 0 if ok else 1


def summarize(demo: Demo, ok: bool) -> None:
    central = demo.log.get('central', [])
    peripheral = demo.log.get('peripheral', [])

    def count(lines, word):
        return sum(word in line for line in lines)

    found = next((l.split('FOUND ', 1)[1] for l in central if 'FOUND ' in l), 'no')
    rc = {n: p.returncode for n, p in demo.procs.items()}
    print()
    print('=== demo summary ===')
    print(f'peer found        : {found}')
    print(f'connections       : central {count(central, "PERIPHERAL_CONNECT")}, '
          f'peripheral {count(peripheral, "CENTRAL_CONNECT")}')
    print(f'disconnects       : central {count(central, "PERIPHERAL_DISCONNECT")}, '
          f'peripheral {count(peripheral, "CENTRAL_DISCONNECT")}')
    print(f'exit codes        : central {rc.get("central")}, peripheral {rc.get("peripheral")}')
    print(f'result            : {"PASS" if ok else "FAIL"}')


if __name__ == '__main__':
    sys.exit(main())
