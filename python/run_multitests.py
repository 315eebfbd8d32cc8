#!/usr/bin/env python3
"""Run MicroPython multi-instance Bluetooth tests, each file on a fresh virtual radio.

usage: run_multitests.py --micropython BINARY --mpy-dir MICROPYTHON_TREE
                         [--latency-ms 5] [--timeout 120] [--btsnoop-dir DIR]
                         [--qemu INDEX [--qemu-board BOARD]]
                         [--instance-firmware INDEX=BINARY] TESTFILE...

Every instance is the unix firmware, except with --qemu, where instance INDEX
is the QEMU firmware of BOARD (make firmware-qemu), driven as a board through
tools/pyboard.py, and with --instance-firmware, where instance INDEX is another
unix binary (make firmware-min); a file with fewer instances runs all on unix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import qemufw  # noqa: E402

INSTANCE_RE = re.compile(r'def instance([0-9]+)\(\):')  # the stock runner's own rule


def count_instances(path: str) -> int:
    """How many instances the stock runner will start for this file."""
    with open(path) as f:
        numbers = [int(m.group(1)) for line in f if (m := INSTANCE_RE.match(line))]
    return max(numbers) + 1 if numbers else 0


def stop(proc: subprocess.Popen, group: bool = False) -> None:
    """Terminate a child we started (and its process group if it has its own), then reap."""
    if proc.poll() is None:
        for sig, wait_s in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                if group:
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
    elif group:
        # The runner may be gone while instances it started still run in its group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for stream in (proc.stdin, proc.stdout):
        if stream:
            stream.close()


def start_radio(
    count: int, latency_ms: float, btsnoop_dir: str | None, deadline: float, transport: str = 'pty'
):
    """Start `python -m vradio`; return (process, [endpoints: pty paths or host:port])."""
    command = [
        sys.executable,
        '-m',
        'vradio',
        '--count',
        str(count),
        '--latency-ms',
        str(latency_ms),
        '--transport',
        transport,
    ]
    if btsnoop_dir:
        command += ['--btsnoop-dir', btsnoop_dir]
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (HERE, env.get('PYTHONPATH')) if p)
    # stdin stays a pipe we hold: if this driver dies, the radio sees EOF and exits.
    radio = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    line = b''
    while not line.endswith(b'\n'):
        ready, _, _ = select.select([radio.stdout], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(radio.stdout.fileno(), 4096) if ready else b''
        if not chunk:
            stop(radio)
            raise RuntimeError(f'virtual radio did not become ready: {line!r}')
        line += chunk
    if not line.startswith(b'READY '):
        stop(radio)
        raise RuntimeError(f'unexpected line from virtual radio: {line!r}')
    controllers = json.loads(line[len(b'READY ') :])['controllers']
    return radio, [c['endpoint'] for c in controllers]


def instance_firmware(specs: list[str]) -> dict[int, str]:
    """{index: absolute binary path} from INDEX=BINARY arguments."""
    out = {}
    for spec in specs:
        index, _, path = spec.partition('=')
        out[int(index)] = os.path.abspath(path)
    return out


def run_file(test_file: str, args) -> tuple[str, str]:
    """Run one test file; returns (PASS|FAIL|SKIP, runner output)."""
    count = count_instances(test_file)
    if count == 0:
        return 'FAIL', f'{test_file}: no instanceN() functions\n'
    deadline = time.monotonic() + args.timeout
    snoop_dir = None
    if args.btsnoop_dir:
        snoop_dir = os.path.join(
            args.btsnoop_dir, os.path.splitext(os.path.basename(test_file))[0]
        )
    try:
        radio, endpoints = start_radio(count, args.latency_ms, snoop_dir, deadline)
    except RuntimeError as error:
        return 'FAIL', f'{error}\n'
    try:
        command = [sys.executable, 'run-multitests.py']
        for index, endpoint in enumerate(endpoints):
            if index == getattr(args, 'qemu', None):
                report = None
                if getattr(args, 'qemu_report_dir', None):
                    os.makedirs(args.qemu_report_dir, exist_ok=True)
                    name = os.path.splitext(os.path.basename(test_file))[0]
                    report = os.path.join(args.qemu_report_dir, f'{name}.txt')
                device = qemufw.pyboard_device(args.qemu_board, endpoint, report, getattr(args, 'qemu_elf', None))
                command += ['-i', 'pyb:' + device]
            elif index in (getattr(args, 'instance_firmware', None) or {}):
                command += ['-i', f'exec:{args.instance_firmware[index]},MICROPYBTUART={endpoint}']
            else:
                command += ['-i', f'micropython,MICROPYBTUART={endpoint}']
        command.append(test_file)
        env = dict(os.environ, MICROPY_MICROPYTHON=args.micropython)
        # Own process group, so a timeout also ends the instances the runner started.
        runner = subprocess.Popen(
            command,
            cwd=os.path.join(args.mpy_dir, 'tests'),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = runner.communicate(timeout=max(1.0, deadline - time.monotonic()))
            text = output.decode(errors='replace')
        except subprocess.TimeoutExpired:
            stop(runner, group=True)
            return 'FAIL', f'timeout after {args.timeout} s\n'
        stop(runner, group=True)
    finally:
        stop(radio)
    if runner.returncode != 0:
        return 'FAIL', text
    if re.search(r': skip$', text, re.MULTILINE):
        return 'SKIP', text
    if re.search(r': pass$', text, re.MULTILINE):
        return 'PASS', text
    return 'FAIL', text


def main(argv=None) -> int:
    """Run every file, print PASS/FAIL lines and the summary; non-zero exit on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--micropython', required=True, help='MicroPython unix binary')
    parser.add_argument('--mpy-dir', required=True, help='MicroPython source tree')
    parser.add_argument('--latency-ms', type=float, default=5.0)
    parser.add_argument('--timeout', type=float, default=120.0, help='seconds per test file')
    parser.add_argument('--btsnoop-dir', help='keep HCI logs per test file and controller')
    parser.add_argument('--qemu', type=int, metavar='INDEX', help='instance INDEX runs in QEMU')
    parser.add_argument('--qemu-board', default=qemufw.DEFAULT_BOARD, choices=sorted(qemufw.BOARDS))
    parser.add_argument('--qemu-report-dir', help="keep the QEMU firmware's UART2 figures here")
    parser.add_argument(
        '--instance-firmware', action='append', default=[], metavar='INDEX=BINARY',
        help='instance INDEX runs this unix binary instead (a build with other parts)',
    )
    parser.add_argument('files', nargs='+', metavar='TESTFILE')
    args = parser.parse_args(argv)
    args.micropython = os.path.abspath(args.micropython)
    args.mpy_dir = os.path.abspath(args.mpy_dir)
    args.instance_firmware = instance_firmware(args.instance_firmware)
    if args.btsnoop_dir:
        args.btsnoop_dir = os.path.abspath(args.btsnoop_dir)
    if args.qemu_report_dir:
        args.qemu_report_dir = os.path.abspath(args.qemu_report_dir)

    results = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
    for test_file in args.files:
        started = time.monotonic()
        verdict, output = run_file(os.path.abspath(test_file), args)
        results[verdict] += 1
        print(f'{verdict} {test_file} ({time.monotonic() - started:.1f} s)', flush=True)
        if verdict == 'FAIL':
            print(output, end='' if output.endswith('\n') else '\n', flush=True)
    summary = f"{results['PASS']} passed, {results['FAIL']} failed"
    if results['SKIP']:
        summary += f", {results['SKIP']} skipped"
    print(summary)
    return 1 if results['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
