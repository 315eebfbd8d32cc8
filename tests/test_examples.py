"""Every app in examples/ against its peer on a fresh virtual radio (python/run_example.py),
checked on what the instances print: values that crossed the radio match what the sender
printed, counts, checksums, reconnects, bonds. Each scenario bounds itself (60-90 s at most);
together they take about a minute.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from run_example import run_scenario  # noqa: E402


def run(name: str, **kwargs):
    log = []
    out = run_scenario(name, log.append, **kwargs)
    transcript = "\n".join(log[-60:])
    assert out.ok, f"{name} failed, exit codes {out.codes}:\n{transcript}"
    return out, transcript


def found(pattern: str, lines: list[str]) -> list[tuple]:
    return [m.groups() for line in lines if (m := re.search(pattern, line))]


def is_subsequence(part: list, whole: list) -> bool:
    rest = iter(whole)
    return all(any(x == y for y in rest) for x in part)


def test_sensor_central_reads_subscribes_and_reconnects():
    out, log = run("sensor")
    sensor, central = out.lines["sensor"], out.lines["central"]
    samples = found(r"^sample \d+ temp=(\S+) hum=(\S+)$", sensor)
    notified = found(r"^notify \d+ temp=(\S+) hum=(\S+)$", central)
    assert len(notified) == 20, log
    # In order, none invented: each characteristic's values are a subsequence of the samples.
    assert is_subsequence([t for t, _ in notified], [t for t, _ in samples]), log
    assert is_subsequence([h for _, h in notified], [h for _, h in samples]), log
    reads = found(r"^read temp=(\S+) hum=(\S+)$", central)
    assert reads and all(t in {s[0] for s in samples} for t, _ in reads), log
    # The sensor dropped the link every 8 samples; the central came back each time.
    (readings, connections, reconnects), = found(r"^SUMMARY readings=(\d+) connections=(\d+) reconnects=(\d+)", central)
    (drops,), = found(r"^SUMMARY samples=\d+ connections=\d+ drops=(\d+)", sensor)
    assert int(reconnects) >= 1 and int(drops) >= 1, log
    assert int(connections) == int(reconnects) + 1 == len(reads), log
    assert len(found(r"^(connected) ", sensor)) == int(connections), log


def test_beacon_values_heard_by_observer():
    out, log = run("beacon")
    sent = dict(found(r"^beacon seq=(\d+) temp=(\S+)$", out.lines["beacon"]))
    heard = found(r"name=(\S+) connectable=(\S+) seq=(\d+) temp=(\S+)", out.lines["observer"])
    assert len(heard) >= 6, log
    assert all(name == "cam-beacon" and conn == "False" for name, conn, _, _ in heard), log
    assert all(sent.get(seq) == temp for _, _, seq, temp in heard), log
    assert len({seq for _, _, seq, _ in heard}) == len(heard), log


def test_control_captures_every_command_and_on_read_decides():
    out, log = run("control")
    sent = found(r"^sent (.+?)( \(no response\))?$", out.lines["client"])
    received = found(r"^command \d+ ok: (.+)$", out.lines["camera"])
    # capture=True: every write, in order, including the burst without response.
    assert [s for s, _ in sent] == [r for r, in received] and len(received) == 16, log
    statuses = found(r"^status (==|!=.*?) (.+)$", out.lines["client"])
    assert [s for _, s in statuses] == [
        "shots=3 exposure=80 reads=1", "GattError 0x02",
        "shots=3 exposure=80 reads=3", "shots=8 exposure=17 reads=4",
    ], log
    assert all(verdict == "==" for verdict, _ in statuses), log
    assert len(found(r"^(status read refused) \(privacy on\)$", out.lines["camera"])) == 1, log
    assert found(r"^SUMMARY commands=(\d+) shots=(\d+) exposure=(\d+) reads=(\d+)$", out.lines["camera"]) == [
        ("16", "8", "17", "4")
    ], log


def test_hub_serves_three_centrals_at_once():
    out, log = run("hub")
    hub = out.lines["hub"]
    assert found(r"^SUMMARY connections=(\d+) peak_viewers=(\d+) hellos=(\d+)$", hub) == [("3", "3", "3")], log
    assert sorted(n for n, in found(r"^hello from (viewer\d) at ", hub)) == ["viewer1", "viewer2", "viewer3"], log
    for i in (1, 2, 3):
        (ticks, peak), = found(rf"^SUMMARY viewer{i} ticks=(\d+) max_viewers=(\d+)$", out.lines[f"viewer{i}"])
        assert peak == "3" and int(ticks) >= 5, log


def test_relay_is_central_and_peripheral_at_once():
    out, log = run("relay")
    samples = [t for t, in found(r"^sample \d+ temp=(\S+) ", out.lines["sensor"])]
    forwarded = [t for t, in found(r"^forward temp=(\S+)$", out.lines["relay"])]
    shown = [t for t, in found(r"^notify \d+ temp=(\S+) ", out.lines["display"])]
    assert len(shown) == 10, log
    # Two hops, in order: sensor -> relay -> display.
    assert is_subsequence(forwarded, samples) and is_subsequence(shown, forwarded), log
    assert found(r"^(both roles at once)", out.lines["relay"]), log
    assert found(r"^SUMMARY forwarded=\d+ displays=(\d+) both_roles=(\w+)$", out.lines["relay"]) == [("1", "True")], log


def test_frames_arrive_whole_over_l2cap():
    out, log = run("frames")
    sent = found(r"^sent frame seq=(\d+) bytes=(\d+) crc=(\w+) ", out.lines["camera"])
    got = found(r"^frame seq=(\d+) 160x120 bytes=(\d+) crc=(\w+) computed=(\w+) (\w+),", out.lines["viewer"])
    assert [s for s, _, _ in sent] == ["0", "1", "2"], log
    assert [(s, n, c) for s, n, c, _, _ in got] == sent, log
    assert all(n == "19200" and crc == computed and verdict == "ok" for _, n, crc, computed, verdict in got), log
    assert len({c for _, _, c in sent}) == 3, log  # every frame differs


def test_bond_survives_a_restart(tmp_path):
    out, log = run("bond", workdir=tmp_path)
    for role in ("camera", "phone"):
        assert out.codes[role] == [0, 0], log
        start = [d for d, in found(r"^secrets file at start: (\w+)$", out.lines[role])]
        end = [d for d, in found(r"^secrets file at end: (\w+)$", out.lines[role])]
        # First run: no bond, then one saved; after the restart: loaded, and not rewritten
        # (re-encryption with the bond hands no new keys over).
        assert start[0] == "none" and end[0] != "none", log
        assert start[1] == end[0] and end[1] == end[0], log
        assert (tmp_path / role / "ble_secrets.json").exists()
    phone = out.lines["phone"]
    assert found(r"^setup read refused: ATT error (0x\w+)$", phone) == [("0x0f",), ("0x0f",)], log
    assert found(r"encrypted=(\w+) bonded=(\w+)", phone) == [("1", "1"), ("1", "1")], log
    assert found(r"^setup value: (.+)$", phone) == [("ssid=camnet psk=0451",)] * 2, log
    camera = out.lines["camera"]
    assert len(found(r"^(setup read refused): link not encrypted$", camera)) == 2, log
    assert len(found(r"^(setup read allowed)", camera)) == 2, log


def test_gap_low_level_pair_connects_twice():
    out, log = run("gap")
    central, peripheral = out.lines["central"], out.lines["peripheral"]
    assert found(r"FOUND (\S+) at ", central) == [("trouble-demo",)], log
    assert found(r"SUMMARY devices=\d+ connections=(\d+)/(\d+)", central) == [("2", "2")], log
    assert len(found(r"(CENTRAL_CONNECT) ", peripheral)) == 2, log
    assert found(r"done: (\d+) connections, (\d+) disconnects", peripheral) == [("2", "2")], log
