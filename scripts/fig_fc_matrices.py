"""Rule fig_fc_matrices: empirical FC and each model's simulated FC (seeds averaged, at the G
chosen by the configured rule; with loso the subject's own) for one subject and preset
(cmftvb.figures.fc_matrices)."""

from _adapter import read_table, run

from cmftvb import figures, io
from cmftvb.connectome import Connectome


def main(snakemake, log):
    w = snakemake.wildcards
    con = Connectome.load(snakemake.input.connectome)
    emp, _ = io.load_npz(snakemake.input.empirical)
    best_g = read_table(snakemake.input.best_G)
    runs = (io.load_npz(path) for path in snakemake.input.fc)
    sim_fcs = figures.mean_fc_by_model(runs, best_g, w.preset)
    log.info("models %s; chosen G %s", sorted(sim_fcs), figures.chosen_g(best_g, w.preset))
    fig = figures.fc_matrices(
        figures.empirical_fc(emp["bold"], con.has_empirical),
        sim_fcs,
        con.labels,
        con.roles,
        has_empirical=con.has_empirical,
        title=f"Subject {w.subject} ({w.preset} preset)",
    )
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
