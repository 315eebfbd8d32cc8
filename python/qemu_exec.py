#!/usr/bin/env python3
"""Run one MicroPython script on the QEMU firmware as if it were the unix one:
`qemu_exec.py [--board B] SCRIPT [ARG...]`, controller from MICROPYBTUART, the
script's output on stdout as it comes, exit status 1 if it raised.

Lets the example runner (python/run_example.py) put a role in QEMU.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import qemufw  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--board', default=qemufw.DEFAULT_BOARD, choices=sorted(qemufw.BOARDS))
    parser.add_argument('--mpy-dir', default=os.path.join(qemufw.ROOT, 'build', 'micropython-1.25.0'))
    parser.add_argument('script')
    parser.add_argument('args', nargs='*')
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(args.mpy_dir, 'tools'))
    import pyboard

    with open(args.script) as f:
        body = f.read()
    argv_list = [os.path.basename(args.script), *args.args]
    script = f'import sys\nsys.argv.clear()\nsys.argv.extend({argv_list!r})\n{body}'

    def out(data: bytes) -> None:
        sys.stdout.buffer.write(data.replace(b'\r', b''))
        sys.stdout.flush()

    board = pyboard.Pyboard(qemufw.pyboard_device(args.board, os.environ.get('MICROPYBTUART')))
    try:
        board.enter_raw_repl()
        board.exec_raw_no_follow(script)
        try:
            _, err = board.follow(None, out)
        except KeyboardInterrupt:
            # As the unix firmware: Ctrl-C reaches the script.
            board.serial.write(b'\x03')
            _, err = board.follow(5, out)
        if err:
            out(err)
        return 1 if err else 0
    finally:
        board.close()


if __name__ == '__main__':
    sys.exit(main())
