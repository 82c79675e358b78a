"""Rule openloop: the open-loop cerebellum (the authors' own validation): the cerebellum-only
connectome with the cerebellar mean field in every node (cmftvb.signals.analyses.run_openloop),
its rates, un-normalised spectra and coherence between nodes saved to an npz, its rhythm table
to a TSV, and the figure (cmftvb.figures.article.fig_openloop)."""

import numpy as np
from _adapter import run, write_table

from cmftvb import figures, io
from cmftvb.connectome import load_any
from cmftvb.figures import article as fa
from cmftvb.signals.analyses import run_openloop


def main(snakemake, log):
    p = snakemake.params
    con = load_any(snakemake.input.zip)
    log.info("open loop: %d nodes, preset %s, %g ms", con.n, p.preset, p.duration_ms)
    res = run_openloop(
        con,
        p.preset,
        duration_ms=float(p.duration_ms),
        seed=int(p.seed),
        monitor_period_ms=float(p.monitor_period_ms),
        transient_s=float(p.transient_s),
        nperseg=int(p.nperseg),
        noverlap=int(p.noverlap),
        coherence_pop=p.coherence_pop,
    )
    arrays = {
        "labels": res["labels"],
        "time_s": res["time_s"],
        "freqs_hz": res["freqs_hz"],
        "coherence": res["coherence"],
        "coherence_bands": np.asarray(res["coherence_bands"]),
        **{f"rate_{k}": v for k, v in res["rates"].items()},
        **{f"psd_{k}": v for k, v in res["psd"].items()},
    }
    meta = {
        "preset": p.preset,
        "seed": int(p.seed),
        "duration_ms": float(p.duration_ms),
        "coherence_pop": p.coherence_pop,
        "units": {"rate": "Hz", "psd": "Hz^2/Hz"},
    }
    io.save_npz(snakemake.output.npz, arrays, meta)
    write_table(res["rhythms"], snakemake.output.rhythms)
    log.info("coherence (%s):\n%s", p.coherence_pop, res["coherence_summary"].to_string())
    figures.save_figure(fa.fig_openloop(res, band=p.band), snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
