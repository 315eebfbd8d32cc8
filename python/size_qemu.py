#!/usr/bin/env python3
"""Size and memory of the QEMU firmware, measured on the linked images (make size).

For each board: text/data/bss of the firmware with and without the backend (the
difference is what the backend costs), the deepest stack use while MicroPython's
multi_bluetooth files run with the firmware as instance 0 and as instance 1, and
the heap in use after active(True) and per connection (tests/size/qemu_heap.py).
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


def run_args(args, board: str, qemu: int, report_dir: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        micropython=os.path.abspath(args.micropython), mpy_dir=os.path.abspath(args.mpy_dir),
        latency_ms=5.0, timeout=120.0, btsnoop_dir=None, qemu=qemu, qemu_board=board,
        qemu_report_dir=report_dir,
    )


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
    args = parser.parse_args(argv)
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
