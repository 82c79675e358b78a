"""Rule input_shares: the share of the network's mossy- and parallel-fibre input per cerebellar
population (the article's Table 5) at the simulated steady state of every cMF run (time means
of the first seed of the first batch, per subject x preset x G;
cmftvb.signals.article.input_shares_of_batch; from a streamed run's time means,
cmftvb.signals.stream_run.means_view, or from the stored activity). Output: a tidy TSV
(subject, preset, G, seed, then the columns of cmftvb.signals.analyses.input_shares)."""

from pathlib import Path

import pandas as pd
from _adapter import run, write_table

from cmftvb import gstar, io
from cmftvb.connectome import Connectome
from cmftvb.network import NetworkSpec
from cmftvb.signals.article import input_shares_of_batch
from cmftvb.signals.stream_run import means_view


def main(snakemake, log):
    p, i = snakemake.params, snakemake.input
    tables = []
    for (subject, preset, G), sim_path, net_path, con_path in zip(
        p.runs, i.simulations, i.networks, i.connectomes, strict=True
    ):
        sim, meta = io.load_simulation(sim_path)
        transient_s = p.transient_s
        if meta["format"] == io.SIMULATION_SIGNALS:  # time means after the transient
            sim, transient_s = means_view(sim, meta, p.transient_s, sim_path), 0.0
        net = NetworkSpec.from_json(Path(net_path).read_text(), where=net_path)
        t = input_shares_of_batch(
            sim,
            Connectome.load(con_path),
            net,
            monitor_period_ms=p.monitor_period_ms,
            transient_s=transient_s,
        )
        G_value = gstar.parse_G_label(G)[0]  # as the study table: absolute or a fraction of G*
        keys = {"subject": subject, "preset": preset, "G": G_value, "seed": int(sim["seeds"][0])}
        tables.append(t.assign(**keys)[[*keys, *t.columns]])
        log.info(
            "%s %s G=%s: mossy shares %s",
            subject,
            preset,
            G,
            t[t["input"] == "mossy"]["share"].round(3).tolist(),
        )
    write_table(pd.concat(tables, ignore_index=True), snakemake.output.table)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
