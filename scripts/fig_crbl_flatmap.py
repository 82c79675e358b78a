"""Rule fig_crbl_flatmap: one metric per cerebellar-cortex region on the SUIT flatmap
(cmftvb.figures.article.fig_flatmap_regions; surfaces read from SUITPy's files). With
cerebellar BOLD: bold_mae or fc_profile_error, group mean per model at the chosen G, their
difference and one subject. Otherwise PC_rate_hz or PC_dominant_hz of the cMF runs: group mean
and one subject."""

import pandas as pd
from _adapter import chosen_g, read_table, run

from cmftvb import figures
from cmftvb.connectome import Connectome
from cmftvb.figures import article as fa
from cmftvb.signals.article import group_means

UNITS = {
    "bold_mae": "BOLD MAE (z units)",
    "fc_profile_error": "FC-profile error (1 - r)",
    "PC_rate_hz": "PC rate (Hz)",
    "PC_dominant_hz": "PC dominant frequency (Hz)",
}


def main(snakemake, log):
    w, p, i = snakemake.wildcards, snakemake.params, snakemake.input
    con = Connectome.load(i.connectome)
    if w.metric in ("bold_mae", "fc_profile_error"):
        t = read_table(i.table)
        t = t[t["preset"] == w.preset]
        best = chosen_g(i.best_G, w.preset)
    else:  # per-node features of the cMF runs, keyed by subject
        parts = [
            read_table(f).assign(subject=s) for s, f in zip(p.subjects, i.features, strict=True)
        ]
        t = pd.concat(parts, ignore_index=True).assign(model="cmf")
        best = None
    panels = {}
    for (model,), g in group_means(t, w.metric, ["model"], best).groupby(["model"]):
        panels[f"{model}: group mean"] = dict(zip(g["region"], g["value"], strict=True))
    one = group_means(t[t["subject"] == p.subjects[0]], w.metric, ["model"], best)
    for (model,), g in one.groupby(["model"]):
        panels[f"{model}: subject {p.subjects[0]}"] = dict(
            zip(g["region"], g["value"], strict=True)
        )
    if {"cmf: group mean", "homogeneous: group mean"} <= set(panels):
        a, b = panels["cmf: group mean"], panels["homogeneous: group mean"]
        panels["cmf - homogeneous"] = {r: a[r] - b[r] for r in a if r in b}
    log.info("%s: panels %s", w.metric, {k: len(v) for k, v in panels.items()})
    title = f"{w.metric} per cerebellar region on the SUIT flatmap ({w.preset})"
    fig = fa.fig_flatmap_regions(
        panels, con.labels, con.roles, con.centres, units=UNITS[w.metric], title=title
    )
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
