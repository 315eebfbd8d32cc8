"""Random calls of the `bluetooth` API on both ends of a live link (issue 12, F), bounded.

A few short runs of python/apifuzz.py: each end of a live link makes random calls for a few
seconds (wrong types, stale and unknown handles, empty to 600-byte buffers, calls from the IRQ
handler); the only allowed results are documented exceptions, and afterwards the link must
come back and carry a read, a write, a notification and L2CAP data. The master seed is printed
(and can be fixed with APIFUZZ_SEED) so a failure replays with the seeds the report names.
`make soak` runs the long version.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("APIFUZZ_RUNS", "3"))
SECONDS = float(os.environ.get("APIFUZZ_SECONDS", "3"))


def test_random_api_calls_on_both_ends_of_a_link():
    seed = os.environ.get("APIFUZZ_SEED", hex(int(time.time() * 1000) & 0xFFFFFFFF))
    cmd = [sys.executable, str(ROOT / "python" / "apifuzz.py"), "--runs", str(RUNS),
           "--seconds", str(SECONDS), "--master-seed", seed]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUNS * (SECONDS + 90) + 60)
    assert r.returncode == 0, f"master seed {seed}\n" + r.stdout[-20000:] + r.stderr[-5000:]
    assert f"{RUNS} runs: ok {RUNS}" in r.stdout, r.stdout
