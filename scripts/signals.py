"""Rule signals: the runs of one simulation batch (subject x variant x G x seeds) -> simulated
BOLD at the subject's TR and electrophysiological features, seed by seed, from the signals
streamed during the run or from the stored activity (simulation.store;
cmftvb.signals.run.signals_of_simulation; layouts: cmftvb.io.SIGNALS and cmftvb.signals.names).

Outputs: ``npz`` (``cmftvb.io.SIGNALS``), ``features``: the tidy feature table (TSV; columns
seed, metric, region, value), and ``ephys_bold``: the correlation of each population's rate,
through the hemodynamic model, with the BOLD of each cerebellar-cortex node
(cmftvb.signals.run.ephys_bold_rows; columns seed, region, population, r).
"""

from _adapter import run, write_table

from cmftvb import gstar, io
from cmftvb.connectome import Connectome
from cmftvb.signals.run import signals_of_simulation


def main(snakemake, log):
    w = snakemake.wildcards
    where = snakemake.input.simulation
    sim, sim_meta = io.load_simulation(where)
    roles = Connectome.load(snakemake.input.connectome).roles
    params = dict(snakemake.params.items())
    arrays, features, coupling = signals_of_simulation(
        sim, sim_meta, roles=roles, where=where, **params
    )
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
