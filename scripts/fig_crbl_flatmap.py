"""Rule fig_crbl_flatmap: one metric per cerebellar-cortex region on the SUIT flatmap
(cmftvb.figures.article.fig_flatmap_regions; surfaces read from SUITPy's files). With
cerebellar BOLD: bold_mae or fc_profile_error, group mean per model at the chosen G, their
difference and one subject. Otherwise PC_rate_hz or PC_dominant_hz of the cMF runs: group mean
and one subject (cmftvb.signals.article.flatmap_panels)."""

import pandas as pd
from _adapter import chosen_g, read_table, run

from cmftvb import figures
from cmftvb.connectome import Connectome
from cmftvb.figures import article as fa
from cmftvb.signals.article import DIFFERENCE, flatmap_panels

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
        t, best = t[t["preset"] == w.preset], chosen_g(i.best_G, w.preset)
    else:  # per-node features of the cMF runs, keyed by subject
        keyed = zip(p.feature_subjects, i.features, strict=True)
        t = pd.concat([read_table(f).assign(subject=s) for s, f in keyed], ignore_index=True)
        t, best = t.assign(model="cmf"), None
    panels = flatmap_panels(t, w.metric, p.subjects[0], best)
    log.info("%s: panels %s", w.metric, {k: len(v) for k, v in panels.items()})
    title = f"{w.metric} per cerebellar region on the SUIT flatmap ({w.preset})"
    fig = fa.fig_flatmap_regions(
        panels, con.labels, con.roles, con.centres, units=UNITS[w.metric], title=title,
        difference_panels=[DIFFERENCE],
    )  # fmt: skip
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
