"""Rule signals: the runs of one simulation batch (subject x variant x G x seeds) -> simulated
BOLD at the subject's TR and electrophysiological features, seed by seed
(cmftvb.signals.run_signals; layouts: cmftvb.io.SIGNALS and cmftvb.signals.names).

Outputs: ``npz`` (``cmftvb.io.SIGNALS``), ``features``: the tidy feature table (TSV; columns
seed, metric, region, value), and ``ephys_bold``: the correlation of each population's rate,
through the hemodynamic model, with the BOLD of each cerebellar-cortex node
(cmftvb.signals.ephys_bold_batch; columns seed, region, population, r).
"""

from _adapter import run, write_table

from cmftvb import gstar, io
from cmftvb.connectome import Connectome
from cmftvb.signals import ephys_bold_batch, run_signals


def main(snakemake, log):
    w = snakemake.wildcards
    sim, sim_meta = io.load_simulation_packed(snakemake.input.simulation)
    roles = Connectome.load(snakemake.input.connectome).roles
    params = dict(snakemake.params.items())
    arrays, features = run_signals(sim, roles=roles, **params)
    coupling = ephys_bold_batch(
        sim, arrays["bold"], roles, params["tr_s"],
        monitor_period_ms=params["monitor_period_ms"], bold_model=params["bold_model"],
        bold_transient_s=params["bold_transient_s"],
    )  # fmt: skip
    seeds = [int(s) for s in arrays["seeds"]]
    meta = {
        "subject": w.subject,
        "model": w.model,
        "preset": w.preset,
        "G": gstar.parse_G_label(w.G)[0],  # as in the study table: absolute or fraction of G*
        "G_abs": float(sim_meta["G"]),
        "seeds": seeds,
        "bold_model": snakemake.params.bold_model,
        "units": {"bold": "1", "psd": "normalised to max", "psdabs": "Hz^2/Hz", "rates": "Hz"},
        "provenance": io.provenance(snakemake.config, subject=w.subject, seed=seeds),
    }
    io.save_tagged(snakemake.output.npz, io.SIGNALS, arrays, meta)
    write_table(features, snakemake.output.features)
    write_table(coupling, snakemake.output.ephys_bold)
    log.info("%d feature rows", len(features))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
