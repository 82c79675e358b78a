"""Smoke test of an installed cmftvb (CI, on the Python versions other than the test one).

Run with the interpreter of the environment to check, from outside the checkout:
``VENV/bin/python .ci/smoke.py``. It checks that ``cmftvb node-curve`` reproduces two rows of
the single-node table (docs/MODEL.md, "Checks of one node") and that a 1-s simulation of a
five-node network (two cerebral regions, two cerebellar-cortex lobules, one deep nucleus) runs
and writes finite activity. Exit status 0 on success; prints what failed otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cmftvb(*args: str) -> str:
    exe = Path(sys.executable).with_name("cmftvb")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"smoke: cmftvb {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def main() -> int:
    import numpy as np

    from cmftvb.connectome import Connectome
    from cmftvb.io import load_npz

    t0 = time.perf_counter()
    # node-curve: first order, corrected preset, mossy 4 and 20 Hz (docs/MODEL.md table)
    rows = [line.split("\t") for line in cmftvb("node-curve", "--mossy", "4", "20").split("\n")]
    got = np.array([[float(v) for v in r[1:]] for r in rows[1:] if len(r) == 5])
    want = np.array([[0.09, 4.45, 11.18, 55.80], [2.06, 20.56, 13.95, 63.17]])
    if got.shape != want.shape or not np.allclose(got, want, atol=0.01, rtol=0):
        sys.exit(f"smoke: node-curve gave {got}, expected {want}")
    t1 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="cmftvb-smoke-"))
    try:
        labels = ["Precentral_L", "Precentral_R", "Left_CrusI", "Vermis_VI", "Left_Dentate"]
        w = np.random.default_rng(1).uniform(0.05, 0.5, (5, 5))
        np.fill_diagonal(w, 0.0)
        lengths = np.full((5, 5), 40.0)
        np.fill_diagonal(lengths, 0.0)
        Connectome(weights=w, tract_lengths=lengths, labels=np.array(labels)).to_tvb_zip(
            work / "tiny.zip"
        )
        out = work / "sim.npz"
        cmftvb(
            "simulate", str(work / "tiny.zip"), "--model", "cmf", "--duration", "1000",
            "--monitor", "mean", "--monitor-period", "4", "--seed", "1", "--out", str(out),
            "--quiet",
        )  # fmt: skip
        arrays, _ = load_npz(out)
        for name in ("S_E", "GrC", "PC"):
            a = arrays[name]
            if a.shape != (250, 5):
                sys.exit(f"smoke: {name} has shape {a.shape}, expected (250, 5)")
        # S_E lives in the Wong-Wang nodes (cerebral, DCN), GrC in the cerebellar cortex;
        # each array is NaN in the nodes whose model lacks the variable
        if not (np.isfinite(arrays["S_E"][:, [0, 1, 4]]).all()):
            sys.exit("smoke: S_E of the Wong-Wang nodes is not finite")
        if not (np.isfinite(arrays["GrC"][:, [2, 3]]).all()):
            sys.exit("smoke: GrC of the cerebellar-cortex nodes is not finite")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t2 = time.perf_counter()
    print(
        f"smoke: Python {sys.version.split()[0]}: node-curve ok ({t1 - t0:.0f} s), "
        f"1-s simulation ok ({t2 - t1:.0f} s, compilation included)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
