"""Quick timing of the numba engine on the 126-node sample subject (not a test).

Usage: .venv/bin/python bench/engine_quick.py [--duration MS] [--layout L] [--memory]

Reports wall and CPU (process) time per simulated second for the homogeneous and cMF networks,
one seed and a batch of 8 seeds, dt 0.1 ms, monitor ``mean`` at 1 ms; minimum over
``--repeat`` runs. CPU time is the better
measure on a shared machine (other processes inflate wall time). ``--memory`` also runs a long
simulation in a subprocess and reports its peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"


def run(conn, net, duration, seeds, monitor_period=1.0, layout="auto"):
    from cmftvb.engine import simulate

    w0, c0 = time.perf_counter(), time.process_time()
    simulate(
        conn, net, duration=duration, dt=0.1, seeds=seeds, noise_sigma=0.001, speed=3.0,
        monitor="mean", monitor_period=monitor_period, lane_layout=layout,
    )  # fmt: skip
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=2000.0, help="ms per timing run")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (the minimum is kept)")
    ap.add_argument("--memory", type=float, default=0.0, help="ms of a memory run (0: skip)")
    ap.add_argument("--model", default="cmf", help="model of the memory run")
    ap.add_argument("--layout", default="auto", help="lane_layout of the 8-seed batch")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    from cmftvb.connectome import load_any
    from cmftvb.network import build_network

    conn = load_any(SAMPLE)
    if a.child:
        net = build_network(conn, a.model, "corrected")
        run(conn, net, a.memory, [1], monitor_period=4.0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{peak:.0f}")
        return
    sim_s = a.duration / 1000
    for model in ("homogeneous", "cmf"):
        net = build_network(conn, model, "corrected")
        run(conn, net, 10.0, [1])  # compile / load the cache
        t1 = [run(conn, net, a.duration, [1]) for _ in range(a.repeat)]
        t8 = [run(conn, net, a.duration, list(range(8)), layout=a.layout) for _ in range(a.repeat)]
        w1, c1 = min(t[0] for t in t1), min(t[1] for t in t1)
        w8, c8 = min(t[0] for t in t8), min(t[1] for t in t8)
        print(
            f"{model:12s} 1 seed: {1000 * w1 / sim_s:6.0f} ms wall, {1000 * c1 / sim_s:6.0f} ms CPU"
            f" per simulated s | 8 seeds: {1000 * w8 / sim_s:6.0f} ms wall, "
            f"{1000 * c8 / sim_s:6.0f} ms CPU (CPU ratio 8/1 = {c8 / c1:.2f})"
        )
    if a.memory:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--memory", str(a.memory), "--model", a.model],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(
            f"{a.model} {a.memory / 1000:g} s, 1 seed, monitor mean 4 ms: peak RSS "
            f"{out.stdout.strip()} MiB"
        )


if __name__ == "__main__":
    main()
