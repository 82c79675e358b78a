"""Side-by-side timing of two checkouts of the engine (before/after a change; not a test).

Usage: .venv/bin/python bench/engine_ab.py --base /tmp/engine-base/src [--new src]
       [--duration MS] [--repeat R] [--runs K] [--cases hom,hom0,hom8,cmf,cmf8]

Times the numba engine of each source tree on the 126-node sample subject, homogeneous and cMF
networks (preset ``corrected``), dt 0.1 ms, noise 0.001, monitor ``mean`` at 1 ms. Cases:
``hom`` homogeneous, one seed; ``hom0`` the same without delays (tract lengths x 1e-6: every
delay 0 steps, the dense zero-delay path); ``hom8`` homogeneous, a batch of 8 seeds (reported
per seed); ``cmf`` and ``cmf8`` the cMF network, one seed and a batch of 8. Batches simulate
half the duration. Each timing is a child process (``PYTHONPATH`` set to one tree, numba cache
warmed first); the children of the two trees alternate, and the minimum CPU (process) time
over ``--repeat`` rounds of ``--runs`` runs each is reported per simulated second and per
seed, so that load from other processes hits both alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"

CHILD = """
import dataclasses, sys, time
from cmftvb.connectome import load_any
from cmftvb.engine import simulate
from cmftvb.network import build_network
conn = load_any(sys.argv[1])
if sys.argv[6] == "0":  # no delays: every delay rounds to 0 steps
    conn = dataclasses.replace(conn, tract_lengths=conn.tract_lengths * 1e-6)
net = build_network(conn, sys.argv[2], "corrected")
seeds = list(range(1, int(sys.argv[5]) + 1))
kw = dict(dt=0.1, seeds=seeds, noise_sigma=0.001, speed=3.0, monitor="mean", monitor_period=1.0)
simulate(conn, net, duration=10.0, **kw)  # compile or load the cache
for _ in range(int(sys.argv[4])):
    c0 = time.process_time()
    simulate(conn, net, duration=float(sys.argv[3]), **kw)
    print(time.process_time() - c0)
"""


#: case: (model, seeds, delays on)
CASES = {
    "hom": ("homogeneous", 1, True),
    "hom0": ("homogeneous", 1, False),
    "hom8": ("homogeneous", 8, True),
    "cmf": ("cmf", 1, True),
    "cmf8": ("cmf", 8, True),
}


def child(src: str, case: str, duration: float, n: int) -> list[float]:
    """CPU seconds of ``n`` runs of ``case`` with the tree ``src``, per seed."""
    model, lanes, delays = CASES[case]
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    argv = [sys.executable, "-c", CHILD, str(SAMPLE), model, str(duration), str(n), str(lanes),
            "1" if delays else "0"]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return [float(v) / lanes for v in out.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="src folder of the 'before' tree")
    ap.add_argument("--new", default=str(ROOT / "src"), help="src folder of the 'after' tree")
    ap.add_argument("--duration", type=float, default=3000.0, help="ms per timing run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (each tree once per round)")
    ap.add_argument("--runs", type=int, default=2, help="timed runs per child")
    ap.add_argument("--cases", default="hom,cmf", help=f"comma-separated, of {', '.join(CASES)}")
    a = ap.parse_args()
    cases = a.cases.split(",")
    for c in cases:
        if c not in CASES:
            raise SystemExit(f"--cases: unknown case {c!r}; choose from {', '.join(CASES)}")
    best: dict[tuple[str, str], float] = {}
    for _ in range(a.repeat):  # rounds: every case, each tree, then again
        for case in cases:
            dur = a.duration / 2 if CASES[case][1] > 1 else a.duration
            for name, src in (("before", a.base), ("after", a.new)):
                ms = [1000 * t / (dur / 1000) for t in child(src, case, dur, a.runs)]
                best[name, case] = min([best.get((name, case), float("inf")), *ms])
    print(f"ms CPU per simulated s and seed (min of {a.runs * a.repeat} runs per tree):")
    for case in cases:
        b, n = best["before", case], best["after", case]
        print(f"{case:5s} before {b:6.1f}, after {n:6.1f} (after/before {n / b:.3f})")
    for tree in ("before", "after"):
        ratios = [
            f"{c} / {one} {best[tree, c] / best[tree, one]:.3f}"
            for c, one in (("hom0", "hom"), ("hom8", "hom"), ("cmf8", "cmf"))
            if c in cases and one in cases
        ]
        if ratios:
            print(f"{tree}: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
