"""Rule fitness: score one run against the subject's empirical BOLD (cmftvb.fitness).

The simulated BOLD is preprocessed like the empirical BOLD when ``fitness.filter_simulated``
(``preprocess_bold``: detrend, z-score, band-pass); ``run_table`` then gives the global FC fit
and FCD KS distance and the region-wise errors on the nodes with empirical data, with the run's
electrophysiological features appended. A subject without empirical BOLD gets only the
features (and the log says so). Outputs: the tidy table (TSV; columns subject, model, preset,
G, seed, metric, region, value) and the simulated FC used (``fc`` (N, N), ``labels``).
"""

import numpy as np
import pandas as pd
from _adapter import run

from cmftvb import fitness, io
from cmftvb.connectome import Connectome


def main(snakemake, log):
    p = snakemake.params
    w = snakemake.wildcards
    sig, _ = io.load_npz(snakemake.input.signals)
    emp, _ = io.load_npz(snakemake.input.empirical)
    con = Connectome.load(snakemake.input.connectome)
    features = pd.read_csv(snakemake.input.features, sep="\t", keep_default_na=False)
    features["value"] = pd.to_numeric(features["value"])
    tr_s = float(emp["tr_s"])
    sim_bold = sig["bold"]
    if p.filter_simulated:
        sim_bold = fitness.preprocess_bold(
            sim_bold, tr_s, band=tuple(p.bandpass_hz), order=p.filter_order
        )
    keys = {
        "subject": w.subject,
        "model": w.model,
        "preset": w.preset,
        "G": float(w.G),
        "seed": int(w.seed),
    }
    if emp["bold"].shape[0] == 0:
        log.info("no empirical BOLD for %s: electrophysiological features only", w.subject)
        table = features.assign(**keys)[fitness.TABLE_COLUMNS]
    else:
        window = max(2, int(round(p.fcd_window_s / tr_s)))
        step = max(1, int(round(p.fcd_step_s / tr_s)))
        log.info("FCD: window %d volumes, step %d volumes (TR %g s)", window, step, tr_s)
        table = fitness.run_table(
            **keys,
            sim_bold=sim_bold,
            emp_bold=emp["bold"],
            labels=con.labels,
            has_empirical=con.has_empirical,
            fcd_window=window,
            fcd_step=step,
            extra=features,
        )
    for metric in ("fc_fit", "fcd_ks"):
        hit = table[(table.metric == metric) & (table.region == "global")]
        if len(hit):
            log.info("%s = %.4f", metric, float(hit.value.iloc[0]))
    with io.atomic_path(snakemake.output.table) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan")
    io.save_npz(
        snakemake.output.fc,
        {"fc": fitness.fc(sim_bold), "labels": np.asarray(con.labels)},
        {**keys, "provenance": io.provenance(snakemake.config, **keys)},
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
