"""Why model recovery fails on the demo connectomes (issue 11; a measurement, not a test).

Usage (after ``snakemake --cores 2 --configfile configs/recovery.yaml``):
    .venv/bin/python bench/recovery_why.py [--results results] [--out bench/RECOVERY.md]

Reads the synthetic BOLD (``results/synthetic/{generator}/{subject}.npz``: ``clean`` = before
measurement noise, ``bold`` = with it), the fits' BOLD (``results/signals/...``, one seed) and
the prepared connectomes, and measures, per generator:

1. the mean |r| between cerebellar-cortex nodes of the clean BOLD, against the same between
   the cerebellar nodes of two different subjects (independent noise: chance level at this
   length);
2. the std of the clean BOLD of cerebellar-cortex and cerebral nodes (what z-scoring removes);
3. in how many subjects the generating model's normalised BOLD spectrum (Welch, 64 volumes,
   0.01-0.3 Hz, series band-passed 0.01-0.1 Hz as the fitness stage does, or raw) is closer
   (mean |log ratio| over cerebellar-cortex nodes) to the generated BOLD than the other model's.

Writes a Markdown table (``--out``) and prints it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import signal

from cmftvb import fitness
from cmftvb.connectome.roles import ROLE_GROUPS

MODELS = ("homogeneous", "cmf")


def mean_abs_offdiag(c: np.ndarray) -> float:
    return float(np.mean(np.abs(c[~np.eye(c.shape[0], dtype=bool)])))


def norm_spectrum(b: np.ndarray, tr_s: float, bandpass: bool) -> np.ndarray:
    if bandpass:
        b = fitness.preprocess_bold(b, tr_s, band=(0.01, 0.1), order=4)
    b = signal.detrend(b, axis=0)
    b = b / b.std(axis=0)
    f, p = signal.welch(b, fs=1.0 / tr_s, nperseg=64, axis=0)
    p = p[(f > 0.01) & (f < 0.3)]
    return p / p.sum(axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--out", default="bench/RECOVERY.md")
    a = ap.parse_args()
    res = Path(a.results)
    subjects = sorted(p.stem for p in (res / "synthetic" / "cmf").glob("*.npz"))
    if len(subjects) < 2:
        raise SystemExit(
            f"{res}/synthetic/cmf holds {len(subjects)} subjects; run the recovery study"
        )
    lines = [
        f"# Why recovery fails: {len(subjects)} subjects of {res}",
        "",
        "| generator | mean abs r, cerebellar cortex (clean BOLD) | chance (two subjects) "
        "| std clean BOLD, cerebellar cortex | std clean BOLD, cerebral | generator's spectrum "
        "closer, band-passed | the same, raw |",
        "|---|---|---|---|---|---|---|",
    ]
    for gen in MODELS:
        fc_abs, chance, sd_c, sd_cer = [], [], [], []
        closer = {True: 0, False: 0}
        for k, s in enumerate(subjects):
            con = np.load(res / "connectomes" / f"{s}.npz", allow_pickle=True)
            crbl = np.flatnonzero(np.isin(con["roles"], ROLE_GROUPS["crbl_cortex"]))
            cer = np.flatnonzero(np.isin(con["roles"], ROLE_GROUPS["cerebral"]))
            z = np.load(res / "synthetic" / gen / f"{s}.npz", allow_pickle=True)
            clean, bold, tr = z["clean"], z["bold"], float(z["tr_s"])
            fc_abs.append(mean_abs_offdiag(np.corrcoef(clean[:, crbl].T)))
            other = np.load(res / "synthetic" / gen / f"{subjects[k - 1]}.npz")["clean"][:, crbl]
            cross = np.corrcoef(clean[:, crbl].T, other.T)[: crbl.size, crbl.size :]
            chance.append(float(np.mean(np.abs(cross))))
            sd_c.append(float(clean[:, crbl].std(axis=0).mean()))
            sd_cer.append(float(clean[:, cer].std(axis=0).mean()))
            for bp in (True, False):
                emp = norm_spectrum(bold[:, crbl], tr, bp)
                err = {}
                for m in MODELS:
                    sig = np.load(res / "signals" / s / f"{m}-corrected" / "Gr0.7" / "seeds1.npz")
                    sim = sig["bold"][0][: bold.shape[0], crbl]
                    err[m] = float(np.mean(np.abs(np.log(norm_spectrum(sim, tr, bp) / emp))))
                closer[bp] += err[gen] < min(v for m, v in err.items() if m != gen)
        n = len(subjects)
        lines.append(
            f"| {gen} | {min(fc_abs):.3f}-{max(fc_abs):.3f} | {min(chance):.3f}-{max(chance):.3f} "
            f"| {np.mean(sd_c):.3g} | {np.mean(sd_cer):.3g} | {closer[True]}/{n} "
            f"| {closer[False]}/{n} |"
        )
    text = "\n".join(lines) + "\n"
    Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
