"""Rule fig_recovery: power and false-positive curves of the primary family vs subjects and run
length, and the confusion heatmap (cmftvb.figures.recovery.make_recovery)."""

from _adapter import read_table, run

from cmftvb import figures
from cmftvb.figures.recovery import make_recovery


def table(path):
    t = read_table(path)
    t["length_s"] = t["length_s"].astype(float)  # seconds (the full run too)
    return t


def main(snakemake, log):
    fig = make_recovery(
        table(snakemake.input.power),
        table(snakemake.input.confusion),
        alpha=snakemake.params.alpha,
    )
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
