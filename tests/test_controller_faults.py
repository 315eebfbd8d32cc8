"""The firmware with no controller, a silent one, or one that dies mid-session:
every call returns or raises within a bounded time; nothing hangs or crashes."""

import os
import pty
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "build" / "unix" / "micropython"

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


def run(script, env, timeout=20):
    r = subprocess.run([str(FIRMWARE), "-c", script], env={**os.environ, **env},
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout.split("\n")


def test_no_controller_configured():
    env = dict(os.environ)
    env.pop("MICROPYBTUART", None)
    r = subprocess.run([str(FIRMWARE), "-c", ACTIVATE], env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "OSError 19" in r.stdout  # ENODEV, as an unusable transport


def test_missing_device():
    code, out = run(ACTIVATE, {"MICROPYBTUART": str(ROOT / "build" / "no-such-tty")})
    assert code == 0 and "OSError 19" in out


def test_silent_controller_times_out():
    # The stack sleeps while it waits: trouble's transmit task, started before the controller
    # had answered, used to spin on trouble's initialisation flag, a core at 100 % throughout.
    master, slave = pty.openpty()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        code, out = run(ACTIVATE, {"MICROPYBTUART": os.ttyname(slave)})
    finally:
        os.close(master)
        os.close(slave)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert code == 0 and "OSError 110" in out  # ETIMEDOUT
    ms = int(next(l for l in out if l.startswith("ms")).split()[1])
    assert 2000 <= ms <= 6000, ms
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    assert cpu < 0.2 * ms / 1000, f"{cpu:.2f} s of CPU in {ms} ms of waiting"


MID_SESSION = """
import bluetooth, time, sys
b = bluetooth.BLE()
b.active(1)
print('up', b.active())
sys.stdout.flush()
time.sleep(2)  # the radio is killed meanwhile
for call in (lambda: b.gap_advertise(100_000, b'\\x02\\x01\\x06'), lambda: b.gap_scan(100),
             lambda: b.gap_connect(0, b'\\x01\\x02\\x03\\x04\\x05\\x06', 200), lambda: b.gap_advertise(None)):
    try:
        call()
    except OSError as e:
        pass
time.sleep(1)
b.active(0)
print('down', b.active())
"""


def test_controller_dies_mid_session():
    radio = subprocess.Popen([sys.executable, "-m", "vradio", "--count", "1"], cwd=ROOT / "python",
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = radio.stdout.readline()
        endpoint = line.split('"endpoint": "', 1)[1].split('"', 1)[0]
        fw = subprocess.Popen([str(FIRMWARE), "-c", MID_SESSION], env={**os.environ, "MICROPYBTUART": endpoint},
                              stdout=subprocess.PIPE, text=True)
        assert fw.stdout.readline().strip() == "up True"
        radio.terminate()
        radio.wait(10)
        out, _ = fw.communicate(timeout=20)
        assert fw.returncode == 0
        assert "down False" in out
    finally:
        for p in (radio,):
            if p.poll() is None:
                p.kill()
