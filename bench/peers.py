"""Side-by-side timings of the engine, its previous version, tvb-library and cuBNM (not a test).

Usage: .venv/bin/python bench/peers.py [--base SRC] [--cubnm PYTHON] [--repeat R]
       [--duration MS] [--peer-duration MS]

One invocation; every case is a child process run one after the other with one thread
(``NUMBA_NUM_THREADS=OMP_NUM_THREADS=...=1``), on the 126-node sample subject, preset
``corrected``, dt 0.1 ms, noise 0.001, speed 3 mm/ms, G 2.0:

- engine (``bench/case.py``, monitor ``mean`` 4 ms): homogeneous with delays and without (tract
  lengths scaled by 1e-6: every delay 0 steps), cMF with delays, one seed and a batch of 8
  (reported per seed); then, per model, 1 and 8 lanes timed in one process, the two counts
  interleaved (``case.py``'s ``lanes``; a quarter of the duration each), the steadier measure
  of the batch / single ratio on a loaded machine (each call includes the run's set-up, about
  8 ms on the sample subject, mostly :func:`cmftvb.network.expand_edges`);
- ``--base SRC``: the same engine cases with another source tree (e.g. an export of main), the
  two trees alternating round by round;
- tvb-library 2.10: its own ``ReducedWongWangExcInh`` with ``Linear`` coupling, with and without
  delays, and the cMF network through :mod:`cmftvb.engine.tvb` (short runs);
- cuBNM 0.1.0 (``--cubnm``: the Python of a separate venv that has it; ``bench/cubnm_case.py``):
  its CPU build, reduced Wong-Wang, FIC off, with and without delays. Its differences: Euler
  integration, its own delay handling, Balloon-Windkessel BOLD always computed.

Reports the minimum over ``--repeat`` rounds of CPU (process) time per simulated second, the
1-minute load average before and after each case, and ratios. CPU time is the measure on a
shared machine; it still grows with load (shared caches, frequency).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"


def _env(src: Path | None = None) -> dict:
    env = dict(os.environ)
    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    return env


def run_child(argv: list[str], env: dict) -> dict:
    load0 = os.getloadavg()[0]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if p.returncode != 0:
        raise SystemExit(f"{argv[1:3]} failed:\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["load"] = (round(load0, 2), round(os.getloadavg()[0], 2))
    return res


def engine_cases(duration: float, peer: float) -> dict[str, dict]:
    one, eight = [1], list(range(1, 9))
    return {
        "hom_delay": dict(runner="engine", model="homogeneous", duration=duration, seeds=one),
        "hom_nodelay": dict(runner="engine", model="homogeneous", duration=duration, seeds=one,
                            zero_delay=True),
        "cmf_delay": dict(runner="engine", model="cmf", duration=duration, seeds=one),
        "hom_batch8": dict(runner="engine", model="homogeneous", duration=duration / 2,
                           seeds=eight),
        "cmf_batch8": dict(runner="engine", model="cmf", duration=duration / 2, seeds=eight),
    }  # fmt: skip


def peer_cases(peer: float) -> dict[str, dict]:
    return {
        "tvb_hom_delay": dict(runner="tvb_own", model="homogeneous", duration=peer, seeds=[1]),
        "tvb_hom_nodelay": dict(runner="tvb_own", model="homogeneous", duration=peer, seeds=[1],
                                zero_delay=True),
        "tvb_cmf_bridge": dict(runner="tvb_bridge", model="cmf", duration=peer, seeds=[1]),
    }  # fmt: skip


def ms_per_s(r: dict) -> float:
    """Milliseconds of CPU per simulated second and per seed."""
    return 1000.0 * r["cpu_s"] / r["simulated_s"] / len(r.get("seeds", [1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, help="src folder of the 'before' tree")
    ap.add_argument("--cubnm", help="python of a venv with cubnm 0.1.0")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--duration", type=float, default=5000.0, help="ms, engine runs")
    ap.add_argument("--peer-duration", type=float, default=500.0, help="ms, tvb-library runs")
    a = ap.parse_args()
    py = sys.executable
    case = str(ROOT / "bench" / "case.py")
    trees = {"new": ROOT / "src"} | ({"base": a.base} if a.base else {})
    best: dict[str, dict] = {}
    loads: list[float] = []

    def keep(key: str, res: dict) -> None:
        loads.extend(res["load"])
        if key not in best or ms_per_s(res) < ms_per_s(best[key]):
            best[key] = res
        print(f"  {key}: {ms_per_s(res):.0f} ms CPU / simulated s / seed, load {res['load']}",
              file=sys.stderr, flush=True)  # fmt: skip

    for _ in range(a.repeat):
        for cid, spec in engine_cases(a.duration, a.peer_duration).items():
            for tree, src in trees.items():
                keep(f"{tree}:{cid}", run_child([py, case, json.dumps(spec)], _env(src)))
    lanes: dict[str, float] = {}  # "tree:model:count" -> ms CPU per simulated s and seed
    for tree, src in trees.items():
        for model in ("homogeneous", "cmf"):
            spec = dict(runner="engine", model=model, duration=a.duration / 4, seeds=[1],
                        lanes=[1, 8], repeat=a.repeat)  # fmt: skip
            res = run_child([py, case, json.dumps(spec)], _env(src))
            loads.extend(res["load"])
            for n, cpu in res["cpu_s_by_lanes"].items():
                lanes[f"{tree}:{model}:{n}"] = 1000.0 * cpu / res["simulated_s"] / int(n)
            print(f"  {tree}:{model} lanes 1, 8: {lanes[f'{tree}:{model}:1']:.0f}, "
                  f"{lanes[f'{tree}:{model}:8']:.0f} ms CPU / simulated s / seed, "
                  f"load {res['load']}", file=sys.stderr, flush=True)  # fmt: skip
    for cid, spec in peer_cases(a.peer_duration).items():
        keep(cid, run_child([py, case, json.dumps(spec)], _env(ROOT / "src")))
    if a.cubnm:
        import numpy as np

        from cmftvb.connectome import load_any

        con = load_any(SAMPLE)
        with tempfile.TemporaryDirectory() as tmp:
            sc = Path(tmp) / "sc.npz"
            np.savez(sc, w=con.weights, l=con.tract_lengths)
            for _ in range(a.repeat):
                for delays in ("1", "0"):
                    argv = [a.cubnm, str(ROOT / "bench" / "cubnm_case.py"), str(sc),
                            str(a.duration), delays]  # fmt: skip
                    key = "cubnm_delay" if delays == "1" else "cubnm_nodelay"
                    keep(key, run_child(argv, _env()))
    print(json.dumps({k: {"ms": round(ms_per_s(v), 1), "load": v["load"]}
                      for k, v in best.items()} | {"lanes": {k: round(v, 1)
                      for k, v in lanes.items()}}))  # fmt: skip
    ms = {k: ms_per_s(v) for k, v in best.items()}
    print(f"load average (1 min) during the cases: {min(loads):.1f} to {max(loads):.1f}")
    print("| case | ms CPU per simulated s (per seed) |")
    print("|---|---|")
    for k, v in ms.items():
        print(f"| {k} | {v:.0f} |")
    n = "new:"
    ratios = [
        ("engine without / with delays", ms[n + "hom_nodelay"] / ms[n + "hom_delay"]),
        ("engine cMF / homogeneous", ms[n + "cmf_delay"] / ms[n + "hom_delay"]),
        ("engine batch-8 per seed / single, homogeneous",
         ms[n + "hom_batch8"] / ms[n + "hom_delay"]),
        ("engine batch-8 per seed / single, cMF", ms[n + "cmf_batch8"] / ms[n + "cmf_delay"]),
        ("tvb-library own / engine, with delays", ms["tvb_hom_delay"] / ms[n + "hom_delay"]),
        ("tvb-library own / engine, without delays",
         ms["tvb_hom_nodelay"] / ms[n + "hom_nodelay"]),
        ("tvb-library bridge / engine, cMF", ms["tvb_cmf_bridge"] / ms[n + "cmf_delay"]),
    ]  # fmt: skip
    for tree in trees:
        for model in ("homogeneous", "cmf"):
            ratios.append((f"{tree}: batch-8 per seed / single, {model}, one process",
                           lanes[f"{tree}:{model}:8"] / lanes[f"{tree}:{model}:1"]))  # fmt: skip
    if a.base:
        for cid in engine_cases(a.duration, a.peer_duration):
            ratios.append((f"{cid}: new / base", ms[n + cid] / ms["base:" + cid]))
    if a.cubnm:
        ratios += [
            ("cuBNM / engine, with delays", ms["cubnm_delay"] / ms[n + "hom_delay"]),
            ("cuBNM / engine, without delays", ms["cubnm_nodelay"] / ms[n + "hom_nodelay"]),
        ]
    print("\n| ratio | value |\n|---|---|")
    for name, r in ratios:
        print(f"| {name} | {r:.2f} |")


if __name__ == "__main__":
    main()
