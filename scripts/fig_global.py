"""Rule fig_global: paired per-subject FC fit and FCD distance, the G sweep and the region-wise
error per cerebellar lobule, for one preset (cmftvb.figures), each model at its chosen G."""

from _adapter import chosen_g, read_table, run

from cmftvb import figures


def test_row(comparison, preset, metric):
    rows = comparison[
        (comparison["preset"] == preset)
        & (comparison["metric"] == metric)
        & (comparison["region"] == "global")
    ]
    return rows.iloc[0].to_dict() if len(rows) else None


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    table = read_table(snakemake.input.table)
    comparison = read_table(snakemake.input.comparison)
    chosen = chosen_g(snakemake.input.best_G, preset)
    log.info("chosen G: %s", chosen)
    out = snakemake.output
    for metric, path in (("fc_fit", out.paired_fc_fit), ("fcd_ks", out.paired_fcd_ks)):
        figures.paired_fitness(
            table,
            metric,
            path,
            chosen_G=chosen,
            preset=preset,
            test=test_row(comparison, preset, metric),
        )
    figures.g_sweep(
        table,
        "fc_fit",
        chosen,
        out.g_sweep,
        preset=preset,
        rule=snakemake.config["stats"]["best_G_rule"],
    )
    figures.regional_error(table, out.regional_error, chosen_G=chosen, preset=preset)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
