"""Rule fig_firing_rates: mean population rates of every node and run (Hz) against the
documented physiological ranges (cmftvb.signals.ephys.physiological_ranges), each model at its
chosen G (all G values when none was chosen)."""

from _adapter import chosen_g, read_table, run

from cmftvb import figures
from cmftvb.signals import ephys


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    table = read_table(snakemake.input.table)
    chosen = chosen_g(snakemake.input.best_G, preset)
    rates = table[(table["preset"] == preset) & table["metric"].str.endswith("_rate_hz")]
    if chosen:
        rates = rates[[chosen.get(m) == g for m, g in zip(rates["model"], rates["G"], strict=True)]]
    rates = rates.assign(
        population=rates["metric"].str.removesuffix("_rate_hz"), rate_hz=rates["value"]
    )
    log.info("%d rates; chosen G %s", len(rates), chosen)
    figures.firing_rates(
        rates[["population", "rate_hz", "model"]],
        ephys.physiological_ranges(),
        snakemake.output.png,
        title=f"Population rates ({preset} preset)",
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
