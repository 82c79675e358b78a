"""Rule fig_global: paired per-subject FC fit and FCD distance, the G sweep and the region-wise
error per cerebellar lobule, for one preset (cmftvb.figures), both models at the G chosen by
the configured rule (per subject with loso; the best_G table is passed through)."""

from _adapter import read_table, run

from cmftvb import figures


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    table = read_table(snakemake.input.table)
    comparison = read_table(snakemake.input.comparison)
    chosen = read_table(snakemake.input.best_G)  # per subject with rule loso
    log.info("chosen G: %s", figures.chosen_g(chosen, preset))
    out = snakemake.output
    for metric, path in (("fc_fit", out.paired_fc_fit), ("fcd_ks", out.paired_fcd_ks)):
        test = comparison[
            (comparison["preset"] == preset)
            & (comparison["metric"] == metric)
            & (comparison["region"] == "global")
        ]
        fig = figures.paired_fitness(
            table,
            metric,
            chosen_G=chosen,
            preset=preset,
            test=test.iloc[0].to_dict() if len(test) else None,
        )
        figures.save_figure(fig, path)
    rule = snakemake.config["stats"]["best_G_rule"]
    figures.save_figure(
        figures.g_sweep(table, "fc_fit", chosen, preset=preset, rule=rule), out.g_sweep
    )
    figures.save_figure(
        figures.regional_error(table, chosen_G=chosen, preset=preset), out.regional_error
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
