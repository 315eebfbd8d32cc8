"""One unix firmware subprocess running a MicroPython script; its stdout read as lines.

Runs on the caller's asyncio loop, so the virtual radio (and any Bumble peer) in the same
process keeps serving the firmware's controller while a test waits here. Every wait is bounded.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "build" / "unix" / "micropython"
TIMEOUT = 5.0  # seconds for any single expected reaction

# An agent script for Firmware: `agent(handlers)` runs `handlers` (which must define
# `irq(event, data)`, may define more helpers) with `ble` and `sys` in scope, activates BLE,
# prints `READY <addr type> <mac hex>`, then evaluates one expression per stdin line and
# answers `OK <repr>` or `ERR <repr>` (see Firmware.ready and Firmware.call). poll() with a
# timeout keeps the scheduler, and so the BLE irq handler, running between commands.
_AGENT_HEAD = """
import sys, select, bluetooth
ble = bluetooth.BLE()
"""
_AGENT_LOOP = """
ble.irq(irq)
ble.active(True)
print('READY', ble.config('mac')[0], ble.config('mac')[1].hex())
p = select.poll()
p.register(sys.stdin, select.POLLIN)
while True:
    if p.poll(10):
        line = sys.stdin.readline()
        if not line:
            break
        try:
            print('OK', repr(eval(line)))
        except Exception as e:
            print('ERR', repr(e))
"""


def agent(handlers: str) -> str:
    return _AGENT_HEAD + handlers.strip("\n") + "\n" + _AGENT_LOOP


def _allow_core_dump() -> None:
    """In the child before exec: lift the core size limit, so a crash leaves a core file."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def run_bounded(seconds: float):
    """Decorator: runs an async test body on a fresh event loop with an overall bound."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), seconds))

        return wrapper

    return decorate


class Firmware:
    """cwd: the process's working directory (a crash's core file lands there when `core` lets
    it dump one); wrap: a command the firmware runs under (e.g. valgrind); binary: another build."""

    def __init__(self, script: str, endpoint: str, name: str = "firmware", *, cwd=None, wrap=(),
                 core: bool = False, binary=None) -> None:
        self.script, self.endpoint, self.name = script, endpoint, name
        self.cwd, self.wrap, self.core = cwd, list(wrap), core
        self.binary = Path(binary) if binary else FIRMWARE
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
                    *self.wrap, str(self.binary), "-c", self.script,
                    env={**os.environ, "MICROPYBTUART": self.endpoint},
                    cwd=self.cwd, preexec_fn=_allow_core_dump if self.core else None,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"cannot start {self.binary}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._arrived.set()
        self._arrived.set()  # EOF: waiters must notice the exit

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

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

    async def ready(self) -> re.Match:
        """Waits for an agent's READY line; sets addr_type and mac (hex) from it."""
        m = await self.expect(r"^READY (\d) (\w{12})$")
        self.addr_type, self.mac = int(m[1]), m[2]
        return m

    async def call(self, expr: str, timeout: float = TIMEOUT):
        """Evaluates expr in an agent; returns its value (the repr parsed where it is a
        literal, else the repr itself) or fails on an exception there."""
        m = await self._round_trip(expr, timeout)
        assert m[1] == "OK", f"{expr} -> {m[2]}\n{self.report()}"
        try:
            return ast.literal_eval(m[2])
        except (ValueError, SyntaxError):
            return m[2]

    async def call_fails(self, expr: str, timeout: float = TIMEOUT) -> str:
        """Evaluates expr in an agent, which must raise; returns the exception's repr."""
        m = await self._round_trip(expr, timeout)
        assert m[1] == "ERR", f"{expr} -> {m[2]} (expected an exception)\n{self.report()}"
        return m[2]

    async def _round_trip(self, expr: str, timeout: float = TIMEOUT) -> re.Match:
        assert self.alive(), self.report()
        since = len(self.lines)
        await self.send(expr)
        return await self.expect(r"^(OK|ERR) (.*)$", since, timeout)

    async def stop(self) -> None:
        """Ends the process we started, by its own handle, and reaps it."""
        if self.proc is None:
            return
        if self.alive():
            self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), TIMEOUT)
        await self._reader
