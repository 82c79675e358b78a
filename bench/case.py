"""One benchmark case, run in its own process by ``bench/run_all.py`` (not a test).

Usage: .venv/bin/python bench/case.py '<json spec>'

Spec keys: ``runner`` (``engine``, ``tvb_own``: tvb-library's ReducedWongWangExcInh,
``tvb_bridge``: tvb-library through :mod:`cmftvb.engine.tvb`), ``model`` (``homogeneous`` /
``cmf``), ``duration`` (ms), ``seeds`` (list), ``repeat`` (how many times the timed call is
made, one after the other, e.g. 8 single-seed runs), ``cpu`` (core to pin the process to, or
null), ``lanes`` (optional list of lane counts: time one call per count, seeds 1..n, the counts
interleaved ``repeat`` times; reports the minimum CPU seconds of each), ``zero_delay`` (true:
every tract length scaled by 1e-6, so that every delay rounds to 0 steps: no delays).

Every case runs on the 126-node sample subject, preset ``corrected``, dt 0.1 ms, noise
sigma 0.001 per sqrt(ms), speed 3 mm/ms, monitor ``mean`` with a 4 ms period (what the workflow
uses). A 10 ms warm-up call first loads numba caches and imports tvb-library; it is not timed
(it is included in the peak memory).

Prints one JSON line: wall and CPU seconds of the timed calls, simulated seconds, peak resident
memory of the process (``getrusage(RUSAGE_SELF).ru_maxrss``, MiB, read right after the timed
calls), the size of the result as held in memory (MiB) and versions.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(spec["cpu"])})
    import numpy as np

    from cmftvb.connectome import load_any
    from cmftvb.engine import simulate
    from cmftvb.network import build_network

    con = load_any(SAMPLE)
    if spec.get("zero_delay"):
        import dataclasses

        # lengths scaled by 1e-6 (at most 2e-4 mm): every delay rounds to 0 steps (an all-zero
        # lengths matrix is refused by the reader as missing lengths)
        con = dataclasses.replace(con, tract_lengths=con.tract_lengths * 1e-6)
    net = build_network(con, spec["model"], "corrected")
    if spec["runner"] == "engine":
        run = simulate
    else:
        from cmftvb.engine import tvb

        run = tvb.simulate_tvb_homogeneous if spec["runner"] == "tvb_own" else tvb.simulate_tvb

    def call(duration, seeds):
        return run(
            con, net, duration=duration, dt=0.1, seeds=seeds, noise_sigma=0.001, speed=3.0,
            monitor="mean", monitor_period=4.0, subject="bench",
        )  # fmt: skip

    call(12.0, spec["seeds"][:1])  # warm-up: numba caches, tvb-library import
    if spec.get("lanes"):  # cost against the number of lanes, side by side in this process
        cpu_by_lanes = {str(n): float("inf") for n in spec["lanes"]}
        for _ in range(int(spec.get("repeat", 1))):
            for n in spec["lanes"]:  # interleaved, so that load changes hit every count
                c0 = time.process_time()
                call(float(spec["duration"]), list(range(1, n + 1)))
                cpu_by_lanes[str(n)] = min(cpu_by_lanes[str(n)], time.process_time() - c0)
        print(json.dumps({**spec, "cpu_s_by_lanes": cpu_by_lanes,
                          "simulated_s": float(spec["duration"]) / 1000.0}))  # fmt: skip
        return
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(int(spec.get("repeat", 1))):
        res = call(float(spec["duration"]), spec["seeds"])
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    # peak memory first: the checks below build padded (S, T, N) arrays the run itself did not
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    compact = getattr(res.variables, "_compact", None)
    held = [res.time_ms] + ([compact] if compact is not None else list(res.variables.values()))
    if not any(np.shares_memory(res.bold_input, a) for a in held):  # the engine's is a view
        held.append(res.bold_input)
    output_mib = sum(a.nbytes for a in held) / 2**20
    build = getattr(res.variables, "build", res.variables.__getitem__)
    finite = True
    for name in list(res.variables):
        v = build(name)
        finite &= bool(np.isfinite(v[~np.isnan(v)]).all())
        del v
    out = {
        **spec,
        "wall_s": wall,
        "cpu_s": cpu,
        "simulated_s": float(spec["duration"]) / 1000.0 * int(spec.get("repeat", 1)),
        "peak_rss_mib": peak_mib,
        "output_mib": output_mib,
        "finite": finite,
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
        "python": platform.python_version(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
