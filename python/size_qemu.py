#!/usr/bin/env python3
"""Size and memory of the QEMU firmware, measured on the linked images (make size).

For each board: text/data/bss of the firmware with and without the backend (the
difference is what the backend costs), the deepest stack use while MicroPython's
multi_bluetooth files run with the firmware as instance 0 and as instance 1, and
the heap in use after active(True) and per connection (tests/size/qemu_heap.py).

Then a table of the builds with MicroPython's optional parts left out (make
size builds them for one board at build/qemu-<variant>-<board>): flash (text +
data) and static RAM (data + bss) the backend costs, heap per connection and
per open L2CAP channel (tests/size/qemu_l2cap_heap.py), with NimBLE's figures.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import qemufw  # noqa: E402
import run_multitests  # noqa: E402


def sizes(elf: str) -> tuple[int, int, int]:
    """text, data, bss of an ELF image (arm-none-eabi-size, Berkeley format)."""
    out = subprocess.run(['arm-none-eabi-size', elf], capture_output=True, text=True, check=True)
    text, data, bss = out.stdout.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def run_args(args, board: str, qemu: int, report_dir: str | None, elf: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        micropython=os.path.abspath(args.micropython), mpy_dir=os.path.abspath(args.mpy_dir),
        latency_ms=5.0, timeout=120.0, btsnoop_dir=None, qemu=qemu, qemu_board=board,
        qemu_report_dir=report_dir, qemu_elf=elf,
    )


# The builds of the table: name, what is left out (make size's variants).
VARIANTS = [
    ('all', 'everything'),
    ('no-l2cap', 'no L2CAP channels'),
    ('no-pairing', 'no pairing and bonding'),
    ('peripheral-server', 'peripheral + GATT server only'),
]
# MicroPython's NimBLE backend on a Cortex-M7 port, every part, binding included, as issue
# 10 quotes it. It can't be measured here: this MicroPython tree has no lib/mynewt-nimble.
NIMBLE = ('NimBLE (quoted, not built here)', 87 * 1024, 13824, None, None)


def metric(args, board: str, elf: str, name: str, pattern: str) -> str:
    """One OUTPUT_METRIC figure of tests/size/<name> run with `elf` as instance 0."""
    path = os.path.join(ROOT, 'tests', 'size', name)
    verdict, text = run_multitests.run_file(path, run_args(args, board, 0, None, elf))
    m = re.search(pattern, text)
    return m.group(1) if verdict == 'PASS' and m else 'failed'


def table(args, board: str) -> None:
    """The optional parts' table for `board`."""
    bare = sizes(os.path.join(ROOT, 'build', f'qemu-bare-{board}', 'firmware.elf'))
    rows = []
    for variant, label in VARIANTS:
        name = f'qemu-{board}' if variant == 'all' else f'qemu-{variant}-{board}'
        elf = os.path.join(ROOT, 'build', name, 'firmware.elf')
        if not os.path.exists(elf):
            rows.append((label, None, None, 'not built', 'not built'))
            continue
        text, data, bss = (a - b for a, b in zip(sizes(elf), bare))
        conn = metric(args, board, elf, 'qemu_heap.py', r'heap per connection: (\d+), ')
        chan = '-'
        if variant in ('all', 'no-pairing'):  # the builds with L2CAP channels
            chan = metric(args, board, elf, 'qemu_l2cap_heap.py', r'heap per open L2CAP channel: (-?\d+) bytes')
        rows.append((label, text + data, data + bss, conn, chan))
    rows.append(NIMBLE)
    print(f'{board}: what the backend costs per build (bytes; heap measured in QEMU)')
    print(f'  {"build":32} {"flash":>8} {"static RAM":>11} {"heap/conn":>10} {"heap/L2CAP chan":>16}')
    for label, flash, ram, conn, chan in rows:
        def cell(v):
            return '-' if v is None else str(v)
        print(f'  {label:32} {cell(flash):>8} {cell(ram):>11} {cell(conn):>10} {cell(chan):>16}')
    sys.stdout.flush()


def stack_peak(args, board: str) -> tuple[int, int, int]:
    """Deepest stack use over the upstream files, QEMU as instance 0 then 1; (bytes, runs, failed)."""
    from test_firmware import UPSTREAM

    peak = runs = failed = 0
    with tempfile.TemporaryDirectory() as reports:
        for qemu in (0, 1):
            for name in UPSTREAM:
                path = os.path.join(args.mpy_dir, 'tests', 'multi_bluetooth', name)
                sub = os.path.join(reports, f'{qemu}')
                verdict, _ = run_multitests.run_file(path, run_args(args, board, qemu, sub))
                runs += 1
                failed += verdict == 'FAIL'
                report = os.path.join(sub, os.path.splitext(name)[0] + '.txt')
                if os.path.exists(report):
                    for line in open(report):
                        if line.startswith('stack_peak '):
                            peak = max(peak, int(line.split()[1]))
    return peak, runs, failed


def heap(args, board: str) -> list[str]:
    """The heap figures tests/size/qemu_heap.py reports (its OUTPUT_METRIC lines)."""
    path = os.path.join(ROOT, 'tests', 'size', 'qemu_heap.py')
    verdict, text = run_multitests.run_file(path, run_args(args, board, 0, None))
    if verdict != 'PASS':
        return [f'(heap measurement failed: {text.strip().splitlines()[-1:]})']
    return [m.group(1) for m in re.finditer(r'qemu_heap\.py: (.*)', text)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--micropython', default=os.path.join(ROOT, 'build', 'unix', 'micropython'))
    parser.add_argument('--mpy-dir', default=os.path.join(ROOT, 'build', 'micropython-1.25.0'))
    parser.add_argument('--boards', default=','.join(qemufw.BOARDS))
    parser.add_argument('--no-stack', action='store_true', help='skip the suite run for the stack')
    parser.add_argument('--table-board', default='MPS2_AN500', help="the board of the optional parts' table")
    parser.add_argument('--table-only', action='store_true', help='print only that table')
    args = parser.parse_args(argv)
    if args.table_only:
        table(args, args.table_board)
        return 0
    for board in args.boards.split(','):
        with_bt = sizes(qemufw.firmware(board))
        bare = sizes(os.path.join(ROOT, 'build', f'qemu-bare-{board}', 'firmware.elf'))
        print(f'{board} ({qemufw.BOARDS[board]}) firmware, bytes:')
        print(f'  {"":18} {"text":>8} {"data":>8} {"bss":>8}')
        print(f'  {"without backend":18} {bare[0]:8} {bare[1]:8} {bare[2]:8}')
        print(f'  {"with backend":18} {with_bt[0]:8} {with_bt[1]:8} {with_bt[2]:8}')
        diff = [a - b for a, b in zip(with_bt, bare)]
        print(f'  {"backend costs":18} {diff[0]:8} {diff[1]:8} {diff[2]:8}')
        for line in heap(args, board):
            print(f'  {line}')
        if not args.no_stack:
            peak, runs, failed = stack_peak(args, board)
            print(f'  stack high-water over {runs} runs of multi_bluetooth ({failed} failed): {peak} bytes')
        sys.stdout.flush()
    table(args, args.table_board)
    return 0


if __name__ == '__main__':
    sys.exit(main())
