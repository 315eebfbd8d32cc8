"""The README's demo (python/demo.py) in both variants runs and reports success, with the
readings it promises: the firmware central against the firmware sensor (with reconnects), and
the Bumble "phone app" against the firmware sensor."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo(*args: str) -> str:
    r = subprocess.run([sys.executable, str(ROOT / "python" / "demo.py"), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("result            : PASS"), r.stdout
    assert "values check      : every value received was sent, in order" in r.stdout, r.stdout
    return r.stdout


def test_demo_sensor_and_central():
    out = demo()
    assert "readings received : 16 notifications of 16 wanted" in out, out
    drops, reconnects = map(int, re.search(r"link drops +: (\d+) by the sensor, (\d+) reconnects", out).groups())
    # The last drop may coincide with the central's last reading; then it has nothing to redo.
    assert reconnects >= 1 and drops in (reconnects, reconnects + 1), out
    assert len(re.findall(r"\[central\] notify \d+ temp=", out)) == 16, out


def test_demo_phone_variant():
    out = demo("--phone")
    assert re.search(r"readings received : (\d+) temperature and \d+ humidity notifications, 1 read", out), out
    assert "[phone] subscribed to both" in out, out
    assert len(re.findall(r"\[phone\] notified temperature ", out)) >= 10, out
