"""Rule fig_node_curves: single-node input-output curves of the four cerebellar populations
(MODEL.md §2.6) for each configured preset (cmftvb.figures.node_curves)."""

from _adapter import overrides, run

from cmftvb import figures


def main(snakemake, log):
    p = snakemake.params
    curves = figures.rates_by_preset(p.mossy_hz, p.presets, overrides(p.overrides))
    for name, rates in curves.items():
        log.info(
            "%s at mossy %s Hz: %s", name, p.mossy_hz, {k: v.round(2) for k, v in rates.items()}
        )
    rates = curves if len(curves) > 1 else next(iter(curves.values()))
    fig = figures.node_curves(p.mossy_hz, rates, title="Isolated cerebellar node")
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
