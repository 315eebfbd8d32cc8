#!/usr/bin/env python3
"""Run multi-instance test files again and again, to find the ones that fail only sometimes.

usage: repeat_tests.py --micropython BINARY --mpy-dir TREE [-n 30] [--only PATTERN]
                       [--busy K] [--stop-on-fail] [--btsnoop-dir DIR]
                       [--instance-firmware INDEX=BINARY] [FILE...]

Every project file (tests/multi) and every upstream file the suite runs is run
N times in a row, each time on a fresh virtual radio. --only keeps the files
whose name contains one of the comma-separated patterns; FILEs replace the
suite's list (tests/multi_min, with --instance-firmware 0=build/unix-min/micropython).
--busy K starts K busy loops for the whole run (a machine with its cores
taken), and stops them at the end. Prints a line per failed run with its output, a table of failures
per file, and "N passed, N failed" (runs); exits non-zero if any run failed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

import run_multitests  # noqa: E402


def busy_loop() -> None:
    """Keeps one core busy until terminated."""
    while True:
        pass


def test_files(mpy_dir: str, only: list[str]) -> list[str]:
    """The files the test suite runs (upstream names from tests/test_firmware.py)."""
    from test_firmware import UPSTREAM  # the one list of upstream files

    files = [os.path.join(mpy_dir, "tests", "multi_bluetooth", n) for n in UPSTREAM]
    project = os.path.join(ROOT, "tests", "multi")
    files += sorted(os.path.join(project, n) for n in os.listdir(project) if n.endswith(".py"))
    if only:
        files = [f for f in files if any(p in os.path.basename(f) for p in only)]
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--micropython", required=True)
    parser.add_argument("--mpy-dir", required=True)
    parser.add_argument("-n", type=int, default=30, help="runs per file")
    parser.add_argument("--only", default="", help="comma-separated name patterns")
    parser.add_argument("--busy", type=int, default=0, help="busy loops to run meanwhile")
    parser.add_argument("--stop-on-fail", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--btsnoop-dir")
    parser.add_argument("--qemu", type=int, help="instance INDEX runs on the QEMU firmware")
    parser.add_argument("--qemu-board", default="MPS2_AN385")
    parser.add_argument("--instance-firmware", action="append", default=[], metavar="INDEX=BINARY")
    parser.add_argument("files", nargs="*", help="these test files instead of the suite's")
    args = parser.parse_args(argv)
    args.micropython = os.path.abspath(args.micropython)
    args.mpy_dir = os.path.abspath(args.mpy_dir)
    args.instance_firmware = run_multitests.instance_firmware(args.instance_firmware)
    only = [p for p in args.only.split(",") if p]
    files = [os.path.abspath(f) for f in args.files] or test_files(args.mpy_dir, only)
    if not files:
        print("no test file matches", args.only)
        return 2

    loops = [multiprocessing.Process(target=busy_loop, daemon=True) for _ in range(args.busy)]
    for p in loops:
        p.start()
    failures: dict[str, int] = {}
    passed = failed = 0
    started = time.monotonic()
    try:
        for path in files:
            name = os.path.basename(path)
            for i in range(args.n):
                run_args = argparse.Namespace(**vars(args))
                if args.btsnoop_dir:
                    run_args.btsnoop_dir = os.path.join(os.path.abspath(args.btsnoop_dir), f"{name}.{i}")
                verdict, output = run_multitests.run_file(path, run_args)
                if verdict == "FAIL":
                    failed += 1
                    failures[name] = failures.get(name, 0) + 1
                    print(f"FAIL {name} run {i + 1}/{args.n}", flush=True)
                    print(output, end="" if output.endswith("\n") else "\n", flush=True)
                    if args.stop_on_fail:
                        break
                else:
                    passed += 1
            print(f"{name}: {args.n - failures.get(name, 0)}/{args.n}", flush=True)
            if failures and args.stop_on_fail:
                break
    finally:
        for p in loops:
            p.terminate()
            p.join()
    print(f"{len(files)} files, {time.monotonic() - started:.0f} s, busy loops: {args.busy}")
    for name, n in sorted(failures.items()):
        print(f"  {name}: {n} failed")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
