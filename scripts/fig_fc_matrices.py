"""Rule fig_fc_matrices: empirical FC and each model's simulated FC (seeds averaged, at the
model's chosen G) for one subject and preset (cmftvb.figures.fc_matrices)."""

import numpy as np
from _adapter import chosen_g, run

from cmftvb import figures, fitness, io
from cmftvb.connectome import Connectome


def main(snakemake, log):
    w = snakemake.wildcards
    con = Connectome.load(snakemake.input.connectome)
    emp, _ = io.load_npz(snakemake.input.empirical)
    idx = np.flatnonzero(con.has_empirical)
    emp_fc = np.full((con.n, con.n), np.nan)
    emp_fc[np.ix_(idx, idx)] = fitness.fc(emp["bold"])
    chosen = chosen_g(snakemake.input.best_G, w.preset)
    runs = {}
    for path in snakemake.input.fc:
        arrays, meta = io.load_npz(path)
        model, G = meta["model"], float(meta["G"])
        if chosen is not None and chosen.get(model) != G:
            continue
        runs.setdefault(model, []).extend(arrays["fc"])  # one (N, N) matrix per seed
    sim_fcs = {m: np.nanmean(np.stack(fcs), axis=0) for m, fcs in runs.items()}
    log.info("runs per model: %s; chosen G %s", {m: len(v) for m, v in runs.items()}, chosen)
    figures.fc_matrices(
        emp_fc,
        sim_fcs,
        con.labels,
        con.roles,
        snakemake.output.png,
        has_empirical=con.has_empirical,
        title=f"Subject {w.subject} ({w.preset} preset)",
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
