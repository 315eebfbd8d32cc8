"""The build without MicroPython's optional parts of the bluetooth module (make firmware-min:
no central role, no GATT client, no L2CAP channels, no pairing and bonding).

It runs as instance 0 of the upstream files whose instance 0 needs only the peripheral role
and the GATT server, with the full firmware as the other instances, and of tests/multi_min,
which checks what it left out and how a full peer asking for that is refused. A Bumble peer
then asks it to pair and to encrypt with a key it never had: the spec's refusals (Pairing
Failed with Pairing Not Supported, LTK Negative Reply) come, and the link keeps working.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from test_firmware import FIRMWARE, MPY, ROOT
from test_hostile_peers import (
    PIN_OR_KEY_MISSING,
    SMP_PAIRING_FAILED,
    Link,
    encrypt_with_an_unknown_key,
    pairing_request,
    smp_answer,
)
from test_interop_gap import run_async, session

MIN = ROOT / "build" / "unix-min" / "micropython"
PAIRING_NOT_SUPPORTED = 0x05  # SMP Pairing Failed reason (Vol 3 Part H §3.5.5)

# Upstream files whose instance 0 uses only what the build keeps.
SERVER_ONLY = [
    "ble_gap_advertise.py",
    "ble_gap_connect.py",
    "ble_characteristic.py",
    "ble_descriptor.py",
    "ble_gap_device_name.py",
    "ble_gatt_data_transfer.py",
    "ble_irq_calls.py",
    "ble_mtu.py",
    "ble_subscribe.py",
    "perf_gatt_char_write.py",
    "stress_log_filesystem.py",
]
FILES = [MPY / "tests" / "multi_bluetooth" / n for n in SERVER_ONLY] + sorted(
    (ROOT / "tests" / "multi_min").glob("*.py")
)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_min_build_as_instance0(path):
    cmd = [
        sys.executable, str(ROOT / "python" / "run_multitests.py"),
        "--micropython", str(FIRMWARE), "--mpy-dir", str(MPY),
        "--instance-firmware", f"0={MIN}", str(path),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@run_async
async def test_pairing_request_is_refused_and_the_link_lives():
    async with session(binary=MIN) as (radio, fw, device):
        link = await Link.open(fw, device)
        for auth_req in (0x01, 0x0D):  # bonding; bonding, MITM and Secure Connections
            answer = await smp_answer(device, link.connection, pairing_request(auth_req))
            assert answer == bytes([SMP_PAIRING_FAILED, PAIRING_NOT_SUPPORTED]), answer.hex()
        await link.works()
        assert not link.connection.is_encrypted


@run_async
async def test_encryption_with_an_unknown_key_gets_a_negative_reply():
    # Without pairing the build has no keys: the controller's LE Long Term Key Request is
    # answered with LTK Negative Reply, so the peer's encryption fails with PIN or Key
    # Missing and the link stays up, unencrypted.
    async with session(binary=MIN) as (radio, fw, device):
        link = await Link.open(fw, device)
        assert await encrypt_with_an_unknown_key(link) == PIN_OR_KEY_MISSING
        await link.works()
        assert not link.connection.is_encrypted
