"""The README's demo (python/demo.py) runs and reports success."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_finds_and_connects():
    r = subprocess.run([sys.executable, str(ROOT / "python" / "demo.py")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "result            : PASS" in r.stdout
    assert "connections       : central 2, peripheral 2" in r.stdout
