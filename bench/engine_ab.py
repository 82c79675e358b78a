"""Side-by-side timing of two checkouts of the engine (before/after a change; not a test).

Usage: .venv/bin/python bench/engine_ab.py --base /tmp/engine-base/src [--new src]
       [--duration MS] [--repeat R]

Times the numba engine of each source tree on the 126-node sample subject, homogeneous and cMF
networks (preset ``corrected``), one seed, dt 0.1 ms, noise 0.001, monitor ``mean`` at 1 ms.
Each timing is a child process (``PYTHONPATH`` set to one tree, numba cache warmed first);
the children of the two trees alternate, and the minimum CPU (process) time over ``--repeat``
runs is reported per simulated second, so that load from other processes hits both alike.
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
import sys, time
from cmftvb.connectome import load_any
from cmftvb.engine import simulate
from cmftvb.network import build_network
conn = load_any(sys.argv[1])
net = build_network(conn, sys.argv[2], "corrected")
kw = dict(dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0, monitor="mean", monitor_period=1.0)
simulate(conn, net, duration=10.0, **kw)  # compile or load the cache
for _ in range(int(sys.argv[4])):
    c0 = time.process_time()
    simulate(conn, net, duration=float(sys.argv[3]), **kw)
    print(time.process_time() - c0)
"""


def child(src: str, model: str, duration: float, n: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(SAMPLE), model, str(duration), str(n)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(v) for v in out.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="src folder of the 'before' tree")
    ap.add_argument("--new", default=str(ROOT / "src"), help="src folder of the 'after' tree")
    ap.add_argument("--duration", type=float, default=3000.0, help="ms per timing run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (each tree once per round)")
    a = ap.parse_args()
    sim_s = a.duration / 1000
    for model in ("homogeneous", "cmf"):
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(a.repeat):
            for name, src in (("before", a.base), ("after", a.new)):
                times[name] += child(src, model, a.duration, 2)
        b, n = min(times["before"]), min(times["after"])
        print(
            f"{model:12s} 1 seed, ms CPU per simulated s (min of {len(times['before'])}): "
            f"before {1000 * b / sim_s:6.0f}, after {1000 * n / sim_s:6.0f} "
            f"(after/before {n / b:.3f})"
        )


if __name__ == "__main__":
    main()
