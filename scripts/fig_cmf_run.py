"""Rule fig_cmf_run: figures of one cMF run (the first subject, first G, first seed of the
preset): population rate traces of one cerebellar-cortex node (article Fig. 5A), coherence
between nodes, electrophysiology to BOLD and un-normalised spectra
(cmftvb.figures.article.cmf_run_figures). The rate traces come from the stored activity or
from a streamed run's excerpt (cmftvb.signals.stream_run.excerpt_view)."""

from _adapter import read_table, run

from cmftvb import figures, io
from cmftvb.connectome import Connectome
from cmftvb.figures import article
from cmftvb.signals.stream_run import excerpt_view


def main(snakemake, log):
    p, i = snakemake.params, snakemake.input
    con = Connectome.load(i.connectome)
    sim, meta = io.load_simulation(i.simulation)
    if meta["format"] == io.SIMULATION_SIGNALS:
        sim = excerpt_view(sim, meta, p.transient_s, i.simulation)
    sig, _ = io.load_npz(i.signals)
    figs = article.cmf_run_figures(
        sim,
        sig,
        read_table(i.features),
        read_table(i.ephys_bold),
        con.labels,
        con.roles,
        rate_traces=p.rate_traces,
        transient_s=p.transient_s,
        where=p.run,
    )
    for name, fig in figs.items():
        figures.save_figure(fig, snakemake.output[name])
        log.info("wrote %s", snakemake.output[name])


run(main, snakemake)  # noqa: F821 - injected by Snakemake
