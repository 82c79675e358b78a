"""Rule fig_cmf_run: figures of one cMF run (the first subject, first G, first seed of the
preset): population rate traces of one cerebellar-cortex node (article Fig. 5A), coherence
between nodes, electrophysiology to BOLD and un-normalised spectra (cmftvb.figures.article)."""

import numpy as np
from _adapter import read_table, run

from cmftvb import figures, io
from cmftvb.connectome import Connectome
from cmftvb.figures import article as fa
from cmftvb.signals import ephys
from cmftvb.signals import names as nm
from cmftvb.signals.article import rate_traces_of_batch


def main(snakemake, log):
    p, i, out = snakemake.params, snakemake.input, snakemake.output
    con = Connectome.load(i.connectome)
    sim, _ = io.load_simulation_packed(i.simulation)
    rt = p.rate_traces
    where = f"{p.run} (seed {int(sim['seeds'][0])})"
    t, rates, label = rate_traces_of_batch(
        sim, con.roles, label=rt["label"], side=rt["side"], seconds=rt["seconds"],
        transient_s=p.transient_s,
    )  # fmt: skip
    fig = fa.fig_rate_traces(t, rates, label, ephys.physiological_ranges(),
                             inset_ms=rt["inset_ms"], title=f"Population rates of {label}, {where}")  # fmt: skip
    figures.save_figure(fig, out.rate_traces)
    sig, _ = io.load_npz(i.signals)
    feats = read_table(i.features)
    feats = feats[(feats["seed"] == feats["seed"].iloc[0]) & (feats["region"] == "global")]
    if nm.NODE_COHERENCE in sig:
        bands = [str(b) for b in sig[nm.NODE_COHERENCE_BANDS]]
        fig = fa.fig_node_coherence(bands, sig[nm.NODE_COHERENCE][0], con.labels, con.roles,
                                    feats, title=f"Coherence between nodes, {where}")  # fmt: skip
    else:
        fig = fa.message_figure("Coherence between nodes", "a node has neither signal")
    figures.save_figure(fig, out.node_coherence)
    eb = read_table(i.ephys_bold)
    eb = eb[eb["seed"] == eb["seed"].min()] if len(eb) else eb
    fig = fa.fig_ephys_bold(eb, title=f"Population rate through the hemodynamics vs BOLD, {where}")
    figures.save_figure(fig, out.ephys_bold)
    spectra = {f"{where}, mean over nodes": {
        pop: sig[nm.psdabs_key(pop)][0].mean(axis=0)
        for pop in fa._POPS if nm.psdabs_key(pop) in sig}}  # fmt: skip
    fig = fa.fig_rhythm_spectra(sig["freqs_hz"], spectra)
    figures.save_figure(fig, out.rhythm_spectra)
    log.info("node %s; populations %s; %d samples", label, sorted(rates), np.size(t))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
