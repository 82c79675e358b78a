"""Rule fitness: score the runs of one simulation batch, seed by seed, against the subject's
empirical BOLD (cmftvb.fitness.score_batch: global FC fit and FCD KS distance, region-wise
errors on the nodes with empirical data, electrophysiological features summarised per role
group; the regime rows of the signals step; the subject's noise ceiling at the run's length).
Outputs: the tidy table (TSV; columns subject, model, preset, G, G_abs, seed, metric, region,
value; G is a fraction of G* under simulation.G_relative, G_abs the absolute coupling) and the
simulated FC used (``cmftvb.io.FC``).
"""

import numpy as np
from _adapter import read_table, run, write_table

from cmftvb import fitness, gstar, io
from cmftvb.connectome import Connectome


def main(snakemake, log):
    w = snakemake.wildcards
    sig, sig_meta = io.load_tagged(snakemake.input.signals, io.SIGNALS)
    emp, _ = io.load_tagged(snakemake.input.empirical, io.EMPIRICAL)
    con = Connectome.load(snakemake.input.connectome)
    features = read_table(snakemake.input.features)
    G, _ = gstar.parse_G_label(w.G)  # the study table's G: absolute or a fraction of G*
    keys = {"subject": w.subject, "model": w.model, "preset": w.preset, "G": G}
    keys[fitness.G_ABS] = float(sig_meta.get("G_abs", G))
    table, fcs = fitness.score_batch(
        sig, features, emp, con, keys=keys, **dict(snakemake.params.items())
    )
    write_table(table, snakemake.output.table)
    seeds = [int(s) for s in sig["seeds"]]
    meta = {
        **keys,
        "seeds": seeds,
        "provenance": io.provenance(snakemake.config, subject=w.subject, seed=seeds),
    }
    arrays = {"fc": fcs, "seeds": np.asarray(seeds), "labels": np.asarray(con.labels)}
    io.save_tagged(snakemake.output.fc, io.FC, arrays, meta)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
