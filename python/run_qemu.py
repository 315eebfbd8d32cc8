#!/usr/bin/env python3
"""Start the QEMU firmware with its REPL on this terminal and UART1 on a fresh
virtual controller; stop the controller when QEMU ends (Ctrl-A X, or
machine.reset()).

usage: run_qemu.py [--board MPS2_AN385|MPS2_AN500] [--transport pty|tcp]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import qemufw  # noqa: E402
from run_multitests import start_radio, stop  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--board', default=qemufw.DEFAULT_BOARD, choices=sorted(qemufw.BOARDS))
    parser.add_argument('--transport', default='pty', choices=('pty', 'tcp'))
    parser.add_argument('--btsnoop-dir', help='keep the controller\'s HCI log here')
    args = parser.parse_args(argv)
    transport = 'pty' if args.transport == 'pty' else 'tcp-server:127.0.0.1:0'
    radio, endpoints = start_radio(
        1, 5.0, args.btsnoop_dir, time.monotonic() + 10.0, transport=transport
    )
    try:
        print(f'controller on {endpoints[0]}; quit with Ctrl-A X or machine.reset()', flush=True)
        return subprocess.call(qemufw.command(args.board, endpoints[0], console='mon:stdio'))
    finally:
        stop(radio)


if __name__ == '__main__':
    sys.exit(main())
