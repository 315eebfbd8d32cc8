"""Seeded fuzz of aioble's advertising-data decoding on the firmware (fuzz/aioble_scanresult.py).

TROUBLE_FUZZ_SEED picks another seed, TROUBLE_FUZZ_S the seconds (3 by default); the seed is
in the output of a failure, so it can be replayed.
"""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "build" / "unix" / "micropython"


def test_scanresult_decoders_on_random_payloads():
    seed = os.environ.get("TROUBLE_FUZZ_SEED", "1")
    seconds = os.environ.get("TROUBLE_FUZZ_S", "3")
    r = subprocess.run(
        [str(FIRMWARE), str(ROOT / "fuzz" / "aioble_scanresult.py"), seed, seconds],
        capture_output=True, text=True, timeout=float(seconds) + 60,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    m = re.search(r"aioble ScanResult: (\d+) cases, (\d+) failed", out)
    assert m, out
    assert int(m.group(2)) == 0, out
    assert int(m.group(1)) > 1000, out
