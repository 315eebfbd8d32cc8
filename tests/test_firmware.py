"""Multi-instance tests of the unix firmware over the virtual radio.

MicroPython's own tests/multi_bluetooth files run unmodified; the project's
files in tests/multi cover what they don't. Each file gets a fresh radio
(python/run_multitests.py); a file passes when its output matches its .exp.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MPY = Path(os.environ.get("MICROPY_DIR", ROOT / "build" / "micropython-1.25.0"))
FIRMWARE = ROOT / "build" / "unix" / "micropython"

# Upstream files this backend is expected to pass (stress_deepsleep_reconnect
# needs a board that reboots; it is the only one left out).
UPSTREAM = [
    "ble_gap_advertise.py",
    "ble_gap_connect.py",
    "ble_characteristic.py",
    "ble_descriptor.py",
    "ble_gap_device_name.py",
    "ble_gatt_data_transfer.py",
    "ble_gattc_discover_services.py",
    "ble_gap_pair.py",
    "ble_gap_pair_bond.py",
    "ble_irq_calls.py",
    "ble_l2cap.py",
    "ble_mtu.py",
    "ble_mtu_peripheral.py",
    "ble_subscribe.py",
    "perf_gatt_char_write.py",
    "perf_gatt_notify.py",
    "perf_l2cap.py",
    "stress_log_filesystem.py",
]
PROJECT = sorted(p.name for p in (ROOT / "tests" / "multi").glob("*.py"))


def run(path: Path) -> None:
    """Runs one test file and fails with the runner's output if it fails."""
    cmd = [
        sys.executable, str(ROOT / "python" / "run_multitests.py"),
        "--micropython", str(FIRMWARE), "--mpy-dir", str(MPY), str(path),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", UPSTREAM)
def test_upstream(name):
    run(MPY / "tests" / "multi_bluetooth" / name)


@pytest.mark.parametrize("name", PROJECT)
def test_project(name):
    run(ROOT / "tests" / "multi" / name)
