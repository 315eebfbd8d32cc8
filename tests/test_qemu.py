"""The QEMU firmware (make firmware-qemu): across machines, and on its own.

Across machines, every multi-instance file tests/test_firmware.py runs (MicroPython's
multi_bluetooth and ours) runs again with the Cortex-M3 firmware in QEMU as instance 0
and the unix firmware as the others, then with QEMU as instance 1; MicroPython's files
also run with the Cortex-M7 firmware in both places. On its own, the firmware must time
out on a silent controller, stop any wait on Ctrl-C, and drop controller junk through
the same filter as on unix.
"""

from __future__ import annotations

import asyncio
import errno
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_firmware import FIRMWARE, MPY, PROJECT, ROOT, UPSTREAM

sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(MPY / "tools"))

import pyboard  # noqa: E402
import qemufw  # noqa: E402
from hci_proxy import HciProxy  # noqa: E402
from vradio import VirtualRadio  # noqa: E402

M3, M7 = "MPS2_AN385", "MPS2_AN500"


def run(path: Path, qemu: int, board: str) -> None:
    """Runs one file with instance `qemu` in QEMU; fails with the runner's output."""
    cmd = [
        sys.executable, str(ROOT / "python" / "run_multitests.py"),
        "--micropython", str(FIRMWARE), "--mpy-dir", str(MPY),
        "--qemu", str(qemu), "--qemu-board", board, str(path),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("qemu", [0, 1])
@pytest.mark.parametrize("name", UPSTREAM)
def test_upstream_m3(name, qemu):
    run(MPY / "tests" / "multi_bluetooth" / name, qemu, M3)


@pytest.mark.parametrize("qemu", [0, 1])
@pytest.mark.parametrize("name", PROJECT)
def test_project_m3(name, qemu):
    run(ROOT / "tests" / "multi" / name, qemu, M3)


@pytest.mark.parametrize("qemu", [0, 1])
@pytest.mark.parametrize("name", UPSTREAM)
def test_upstream_m7(name, qemu):
    run(MPY / "tests" / "multi_bluetooth" / name, qemu, M7)


def execute(board: str, endpoint: str | None, script: str, timeout: float = 30) -> str:
    """Runs a script on the firmware in a fresh QEMU; returns what it printed."""
    board_conn = pyboard.Pyboard(qemufw.pyboard_device(board, endpoint))
    try:
        board_conn.enter_raw_repl()
        out, err = board_conn.exec_raw(script, timeout=timeout)
        assert not err, (out + err).decode()
        return out.decode()
    finally:
        board_conn.close()


ACTIVATE = """
import bluetooth, time
b = bluetooth.BLE()
t = time.ticks_ms()
try:
    b.active(1)
    print('active', b.active())
except OSError as e:
    print('OSError', e.errno)
print('ms', time.ticks_diff(time.ticks_ms(), t))
"""


@pytest.mark.parametrize("board", [M3, M7])
def test_silent_controller_times_out(board):
    primary, replica = pty.openpty()
    try:
        out = execute(board, os.ttyname(replica), ACTIVATE).split("\r\n")
    finally:
        os.close(primary)
        os.close(replica)
    assert f"OSError {errno.ETIMEDOUT}" in out, out
    ms = int(next(line for line in out if line.startswith("ms")).split()[1])
    assert 2000 <= ms <= 6000, ms


def read_until(conn: pyboard.Pyboard, marker: bytes, seconds: float) -> bytes:
    data = b""
    deadline = time.monotonic() + seconds
    while marker not in data and time.monotonic() < deadline:
        n = conn.serial.inWaiting()
        data += conn.serial.read(n) if n else b""
        if not n:
            time.sleep(0.01)
    return data


@pytest.mark.parametrize("statement", ["time.sleep(30)", "b.active(1)", "while True: pass"])
def test_ctrl_c_interrupts_waits(statement):
    """Ctrl-C on the REPL ends a sleep, a C-ABI wait for a silent controller, a busy loop."""
    primary, replica = pty.openpty()
    conn = pyboard.Pyboard(qemufw.pyboard_device(M3, os.ttyname(replica)))
    try:
        conn.serial.write(b"\r\x03\x02")  # friendly REPL, nothing running
        read_until(conn, b">>> ", 10)
        conn.serial.write(b"import bluetooth, time; b = bluetooth.BLE()\r")
        read_until(conn, b">>> ", 10)
        conn.serial.write(statement.encode() + b"\r\r")
        time.sleep(0.5)
        started = time.monotonic()
        conn.serial.write(b"\x03")
        out = read_until(conn, b"KeyboardInterrupt", 10)
        elapsed = time.monotonic() - started
    finally:
        conn.close()
        os.close(primary)
        os.close(replica)
    assert b"KeyboardInterrupt" in out, out
    assert elapsed < 2.0, elapsed  # active(1) alone would wait 3 s for the controller


JUNK = b"\x00\xff\xaa\x7f" * 16  # no byte starts an H4 packet

USE_AFTER_JUNK = """
import bluetooth, time, _trouble
b = bluetooth.BLE()
b.active(1)
t = time.ticks_ms()
while _trouble.stats()['hci_junk_bytes'] < %d and time.ticks_diff(time.ticks_ms(), t) < 10000:
    time.sleep_ms(20)
b.gap_advertise(100000, b'\\x02\\x01\\x06')
b.gap_advertise(None)
print('junk', _trouble.stats()['hci_junk_bytes'], 'active', b.active())
""" % len(JUNK)


def test_controller_junk_is_counted_and_survived():
    async def scenario():
        async with VirtualRadio(count=0) as radio, HciProxy(radio) as proxy:
            job = asyncio.create_task(asyncio.to_thread(execute, M3, proxy.endpoint, USE_AFTER_JUNK))
            deadline = time.monotonic() + 20
            while len(proxy.forwarded) < 4 and time.monotonic() < deadline and not job.done():
                await asyncio.sleep(0.05)
            proxy.inject(JUNK)
            return await asyncio.wait_for(job, 40)

    out = asyncio.run(scenario())
    assert f"junk {len(JUNK)} active True" in out, out
