"""Peak memory of a cMF run with and without a chunk sink (issue 15 item 1); not a test.

Usage: .venv/bin/python bench/sink_memory.py            (runs every case, writes bench/SINK.md)
       .venv/bin/python bench/sink_memory.py '<json>'   (one case, prints one JSON line)

Each case runs in its own child process on the 126-node sample subject, as ``bench/case.py``
prepares it: model ``cmf``, preset ``corrected``, one seed, dt 0.1 ms, noise sigma 0.001 per
sqrt(ms), speed 3 mm/ms, monitor ``mean`` with a 4 ms period (what the workflow uses). A 12 ms
warm-up call first loads the numba caches (included in the peak). ``sink``: true hands the
samples to a sink that only counts them (:func:`cmftvb.engine.simulate`'s ``sink``), false
keeps them in the result. Peak resident memory: ``getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on
Linux), read right after the run.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"
CASES = [
    {"duration_s": d, "sink": s} for d in (60, 240) for s in (True, False)
]  # fmt: skip


def one(spec: dict) -> dict:
    from cmftvb.connectome import load_any
    from cmftvb.engine import simulate
    from cmftvb.network import build_network

    con = load_any(SAMPLE)
    net = build_network(con, "cmf", "corrected")

    def call(duration_ms, sink=None):
        return simulate(
            con, net, duration=duration_ms, dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0,
            monitor="mean", monitor_period=4.0, subject="bench", sink=sink,
        )  # fmt: skip

    call(12.0)  # warm-up: numba caches
    seen = {"samples": 0, "calls": 0, "max_chunk": 0}

    def count(first, chunk):
        assert first == seen["samples"]
        seen["samples"] += chunk.time_ms.size
        seen["calls"] += 1
        seen["max_chunk"] = max(seen["max_chunk"], chunk.time_ms.size)

    w0 = time.perf_counter()
    res = call(spec["duration_s"] * 1000.0, count if spec["sink"] else None)
    wall = time.perf_counter() - w0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    held = res.time_ms.nbytes + res.variables._compact.nbytes
    samples = seen["samples"] if spec["sink"] else res.time_ms.size
    return {**spec, "wall_s": wall, "peak_rss_mib": peak, "held_mib": held / 2**20,
            "samples": samples, "sink_calls": seen["calls"],
            "chunk_samples": seen["max_chunk"]}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(one(json.loads(sys.argv[1]))))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    load0 = os.getloadavg()
    rows = []
    for spec in CASES:
        out = subprocess.run(
            [sys.executable, __file__, json.dumps(spec)], env=env, check=True,
            capture_output=True, text=True,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    load1 = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    lines = [
        "# Peak memory with a chunk sink (issue 15 item 1)",
        "",
        "Written by `bench/sink_memory.py` (each case in its own process; see its docstring).",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; commit {commit}"
        + (" (src modified)" if dirty else ""),
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average (1/5/15 min) {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} before, "
        f"{load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} after (shared machine: wall times "
        "are indicative only)",
        "- Case: cMF, sample subject 103818 (126 nodes), one seed, dt 0.1 ms, monitor mean 4 ms",
        "",
        "| simulated s | sink | samples | sink calls | samples per call | result held MiB "
        "| peak RSS MiB | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['duration_s']} | {'counting' if r['sink'] else 'none'} | {r['samples']} "
            f"| {r['sink_calls'] or '-'} | {r['chunk_samples'] or '-'} | {r['held_mib']:.1f} "
            f"| {r['peak_rss_mib']:.0f} | {r['wall_s']:.1f} |"
        )
    peak = {(r["duration_s"], r["sink"]): r["peak_rss_mib"] for r in rows}
    lines += [
        "",
        f"- Growth of peak RSS from 60 s to 240 s: with the sink "
        f"{peak[(240, True)] - peak[(60, True)]:+.1f} MiB, without "
        f"{peak[(240, False)] - peak[(60, False)]:+.1f} MiB.",
        "",
    ]
    (ROOT / "bench" / "SINK.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
