"""One unix firmware subprocess running a MicroPython script; its stdout read as lines.

Runs on the caller's asyncio loop, so the virtual radio (and any Bumble peer) in the same
process keeps serving the firmware's controller while a test waits here. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "build" / "unix" / "micropython"
TIMEOUT = 5.0  # seconds for any single expected reaction


class Firmware:
    def __init__(self, script: str, endpoint: str, name: str = "firmware") -> None:
        self.script, self.endpoint, self.name = script, endpoint, name
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> Firmware:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self) -> None:
        # `make firmware` may be replacing the binary right now: retry briefly.
        for _ in range(50):
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    str(FIRMWARE), "-c", self.script,
                    env={**os.environ, "MICROPYBTUART": self.endpoint},
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"cannot start {FIRMWARE}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._arrived.set()
        self._arrived.set()  # EOF: waiters must notice the exit

    def report(self) -> str:
        code = self.proc.returncode if self.proc else None
        return f"{self.name} (exit {code}) output tail:\n" + "\n".join(self.lines[-30:])

    async def expect(self, pattern: str, since: int = 0, timeout: float = TIMEOUT) -> re.Match:
        """The first line at index >= since that matches pattern (re.search)."""
        regex = re.compile(pattern)

        async def search():
            index = since
            while True:
                while index < len(self.lines):
                    if m := regex.search(self.lines[index]):
                        return m
                    index += 1
                if self._reader.done():
                    raise AssertionError("exited")
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(search(), timeout)
        except (asyncio.TimeoutError, AssertionError) as e:
            raise AssertionError(f"{e or 'timeout'} waiting for {pattern!r}\n{self.report()}") from None

    async def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        """Ends the process we started, by its own handle, and reaps it."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), TIMEOUT)
        await self._reader
