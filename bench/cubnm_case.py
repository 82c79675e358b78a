"""One cuBNM 0.1.0 timing, run by ``bench/peers.py`` with the Python of a separate virtual
environment that has cuBNM (not a test; cuBNM is never installed into the project's venv).

Usage: <cubnm venv>/bin/python bench/cubnm_case.py SC.npz DURATION_MS DELAYS(0|1)

``SC.npz`` holds ``w`` (weights, rows targets) and ``l`` (tract lengths, mm) of the sample
subject, written by the caller. Runs cuBNM's reduced Wong-Wang (``rWWSimGroup``) on the CPU,
one simulation, G 2.0, FIC off, dt 0.1 ms, noise sigma 0.001, speed 3 mm/ms when DELAYS is 1
(else no delays), FC/FCD off, its other parameters at its defaults. Its own differences stay:
Euler integration, its own delay handling, the Balloon-Windkessel BOLD always computed. Prints
one JSON line: CPU and wall seconds of the ``run()`` call (which includes its session set-up).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> None:
    from cubnm import sim

    d = np.load(sys.argv[1])
    dur_s = float(sys.argv[2]) / 1000.0
    delays = sys.argv[3] == "1"
    # cuBNM: rows are sources, columns targets; ours: rows targets
    sc = np.ascontiguousarray(d["w"].T)
    dist = np.ascontiguousarray(d["l"].T) if delays else None
    sg = sim.rWWSimGroup(
        duration=dur_s, TR=1.0, sc=sc, sc_dist=dist, dt="0.1", do_fic=False, force_cpu=True,
        do_fc=False, do_fcd=False, gof_terms=[], bold_remove_s=0, sim_seed=1,
        noise_segment_length=None,
    )  # fmt: skip
    sg.N = 1
    sg.param_lists["G"] = np.array([2.0])
    sg.param_lists["sigma"] = np.full((1, sc.shape[0]), 0.001)
    if delays:
        sg.param_lists["v"] = np.array([3.0])
    sg._set_default_params()  # the rest: cuBNM's defaults
    w0, c0 = time.perf_counter(), time.process_time()
    sg.run()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    finite = bool(np.isfinite(np.asarray(sg.sim_bold)).all())
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "simulated_s": dur_s, "finite": finite}))


if __name__ == "__main__":
    main()
