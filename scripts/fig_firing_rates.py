"""Rule fig_firing_rates: mean population rates of every node and run (Hz) against the
documented physiological ranges (cmftvb.signals.ephys.physiological_ranges), each model at its
chosen G (all G values when none was chosen; cmftvb.figures.firing_rates)."""

from _adapter import read_table, run

from cmftvb import figures
from cmftvb.signals import ephys


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    best_g = read_table(snakemake.input.best_G)
    rates = figures.rates_at_chosen_g(read_table(snakemake.input.table), best_g, preset)
    log.info("%d rates; chosen G %s", len(rates), figures.chosen_g(best_g, preset))
    fig = figures.firing_rates(
        rates, ephys.physiological_ranges(), title=f"Population rates ({preset} preset)"
    )
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
