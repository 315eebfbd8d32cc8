"""CLI: python -m vradio --count 2 --transport pty --latency-ms 5 [--btsnoop-dir DIR]."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading

from vradio.radio import DEFAULT_LATENCY_MS, VirtualRadio


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog='python -m vradio',
        description='Run N virtual BLE controllers on one link. Prints one line '
        '"READY {json}" when the endpoints can be opened; stops on SIGTERM, SIGINT '
        'or end of standard input.',
    )
    parser.add_argument('--count', type=int, default=2, help='number of controllers')
    parser.add_argument(
        '--transport',
        default='pty',
        help="'pty' or 'tcp-server:HOST:PORT' (controller i listens on PORT+i; 0 = any)",
    )
    parser.add_argument('--latency-ms', type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument('--btsnoop-dir', help='write controllerN.btsnoop HCI logs here')
    parser.add_argument(
        '--ignore-stdin',
        action='store_true',
        help='keep running at end of standard input (e.g. when started with </dev/null)',
    )
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    return parser.parse_args(argv)


def watch_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` when stdin ends, so a parent that dies takes the radio with it."""

    def wait() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside the buffered reader
        # holds its lock, and interpreter shutdown then aborts.
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, name='stdin-eof', daemon=True).start()


async def run(args: argparse.Namespace) -> None:
    """Start the radio, announce it and serve until told to stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with VirtualRadio(
        count=args.count,
        transport=args.transport,
        latency_ms=args.latency_ms,
        btsnoop_dir=args.btsnoop_dir,
    ) as radio:
        sys.stdout.write('READY ' + json.dumps(radio.ready_info()) + '\n')
        sys.stdout.flush()
        if not args.ignore_stdin:
            watch_stdin_eof(loop, stop)
        await stop.wait()


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    asyncio.run(run(args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
