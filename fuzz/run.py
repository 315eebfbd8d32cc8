#!/usr/bin/env python3
"""Runs the built fuzz targets one after another, one worker each, and prints per target:
executions, wall time, coverage (libFuzzer's edges and features) and crashes.

  python3 fuzz/run.py --seconds 60 [--runs N] [--only a,b] [--replay]

Each target starts from its seed corpus (fuzz/corpus/<t>, read only) plus what earlier runs
found (build/fuzz/corpus/<t>, where new inputs go). A crash stops that target; its input is
saved under build/fuzz/artifacts/<t>/ and the exit status is 1. Full logs: build/fuzz/logs/.
--replay only runs every corpus input once (no fuzzing).
"""
import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "fuzz" / "target" / "x86_64-unknown-linux-gnu" / "release"
WORK = ROOT / "build" / "fuzz"
TARGETS = [
    "hci_h4", "adv_report", "smp_gate", "l2cap_reassembly", "l2cap_signal",
    "l2cap_channels", "att_pdu", "att_server", "att_client", "bond_record",
]
# Longest input for the targets that read a sequence of operations: libFuzzer would grow
# them to 4096 bytes, hundreds of operations per run, where a few dozen reach every state.
MAX_LEN = {"smp_gate": 1024, "l2cap_reassembly": 512, "l2cap_channels": 1024, "att_server": 1024}


def run(target, seconds, runs, replay):
    corpus, seeds = WORK / "corpus" / target, ROOT / "fuzz" / "corpus" / target
    artifacts, log = WORK / "artifacts" / target, WORK / "logs" / f"{target}.log"
    for d in (corpus, artifacts, log.parent):
        d.mkdir(parents=True, exist_ok=True)
    cmd = [str(BIN / target), "-print_final_stats=1", f"-artifact_prefix={artifacts}/", "-rss_limit_mb=2048"]
    if target in MAX_LEN:
        cmd += [f"-max_len={MAX_LEN[target]}"]
    if replay:
        cmd += ["-runs=0"]
    else:
        cmd += [f"-max_total_time={seconds}"] + ([f"-runs={runs}"] if runs else [])
    cmd += [str(corpus), str(seeds)]
    before = set(artifacts.iterdir())
    start = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - start
    text = log.read_text(errors="replace")
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", text)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
    crashes = sorted(set(artifacts.iterdir()) - before)
    return {
        "execs": int(execs[-1]) if execs else 0,
        "wall": wall,
        "cov": cov[-1] if cov else ("?", "?"),
        "crashes": crashes,
        "rc": rc,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--runs", type=int, default=0, help="stop after this many executions")
    ap.add_argument("--only", default="")
    ap.add_argument("--replay", action="store_true")
    a = ap.parse_args()
    targets = [t for t in TARGETS if not a.only or t in a.only.split(",")]
    failed = 0
    for t in targets:
        r = run(t, a.seconds, a.runs, a.replay)
        bad = r["rc"] != 0 or r["crashes"]
        failed += bool(bad)
        print(
            f"{t:18} {r['execs']:>11} execs  {r['wall']:7.1f} s  cov {r['cov'][0]:>5} ft {r['cov'][1]:>5}  "
            f"crashes {len(r['crashes']) if r['crashes'] else int(r['rc'] != 0)}"
            + (f"  -> {', '.join(str(p.relative_to(ROOT)) for p in r['crashes'])}" if r["crashes"] else "")
            + (f"  (exit {r['rc']}, see build/fuzz/logs/{t}.log)" if r["rc"] else ""),
            flush=True,
        )
    print(f"fuzz: {len(targets) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
