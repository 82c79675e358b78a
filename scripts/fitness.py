"""Rule fitness: score the runs of one simulation batch, seed by seed, against the subject's
empirical BOLD (cmftvb.fitness).

The simulated BOLD is preprocessed like the empirical BOLD when ``fitness.filter_simulated``
(``preprocess_bold``: detrend, z-score, band-pass); ``run_table`` then gives the global FC fit
and FCD KS distance and the region-wise errors on the nodes with empirical data, with the run's
electrophysiological features appended (per-node rates as they are; every other feature
averaged over the nodes of each role group: cerebral, crbl_cortex, dcn). A subject without
empirical BOLD gets only the features (and the log says so). Outputs: the tidy table (TSV;
columns subject, model, preset, G, seed, metric, region, value) and the simulated FC used
(``fc`` (S, N, N), ``seeds``, ``labels``).
"""

import numpy as np
import pandas as pd
from _adapter import read_table, run

from cmftvb import fitness, io
from cmftvb.connectome import ROLE_GROUPS, Connectome

#: Role groups over which per-node electrophysiological features are averaged for the study
#: table (docs/ARCHITECTURE.md "Node roles"); mean rates stay per node.
FEATURE_GROUPS = ("cerebral", "crbl_cortex", "dcn")


def summarise_features(features, labels, roles):
    """Per-node features -> the study table's rows: ``*_rate_hz`` per node, every other
    feature averaged over the nodes of each role group (region = the group's name)."""
    per_node = features[features["metric"].str.endswith("_rate_hz")]
    rest = features[~features["metric"].str.endswith("_rate_hz")]
    role_of = dict(zip(map(str, labels), map(str, roles), strict=True))
    group_of = {role: group for group in FEATURE_GROUPS for role in ROLE_GROUPS[group]}
    grouped = rest.assign(region=[group_of[role_of[r]] for r in rest["region"]])
    means = grouped.groupby(["metric", "region"], sort=True)["value"].mean().reset_index()
    return pd.concat([means, per_node[["metric", "region", "value"]]], ignore_index=True)


def main(snakemake, log):
    p = snakemake.params
    w = snakemake.wildcards
    sig, _ = io.load_npz(snakemake.input.signals)
    emp, _ = io.load_npz(snakemake.input.empirical)
    con = Connectome.load(snakemake.input.connectome)
    features = read_table(snakemake.input.features)
    tr_s = float(emp["tr_s"])
    seeds = [int(s) for s in sig["seeds"]]
    tables, fcs = [], []
    for k, seed in enumerate(seeds):
        sim_bold = sig["bold"][k]
        if p.filter_simulated:
            sim_bold = fitness.preprocess_bold(
                sim_bold, tr_s, band=tuple(p.bandpass_hz), order=p.filter_order
            )
        keys = {
            "subject": w.subject,
            "model": w.model,
            "preset": w.preset,
            "G": float(w.G),
            "seed": seed,
        }
        extra = summarise_features(features[features["seed"] == seed], con.labels, con.roles)
        if emp["bold"].shape[0] == 0:
            log.info("no empirical BOLD for %s: electrophysiological features only", w.subject)
            table = extra.assign(**keys)[fitness.TABLE_COLUMNS]
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
                extra=extra,
            )
        for metric in ("fc_fit", "fcd_ks"):
            hit = table[(table.metric == metric) & (table.region == "global")]
            if len(hit):
                log.info("seed %d: %s = %.4f", seed, metric, float(hit.value.iloc[0]))
        tables.append(table)
        fcs.append(fitness.fc(sim_bold))
    with io.atomic_path(snakemake.output.table) as tmp:
        pd.concat(tables, ignore_index=True).to_csv(
            tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan"
        )
    meta = {
        "subject": w.subject,
        "model": w.model,
        "preset": w.preset,
        "G": float(w.G),
        "seeds": seeds,
        "provenance": io.provenance(snakemake.config, subject=w.subject, seed=seeds),
    }
    io.save_npz(
        snakemake.output.fc,
        {"fc": np.stack(fcs), "seeds": np.asarray(seeds), "labels": np.asarray(con.labels)},
        meta,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
