"""Rule fig_node_curves: single-node input-output curves of the four cerebellar populations
(MODEL.md §2.6) for each configured preset (cmftvb.figures.node_curves), inputs with more than
one stable state marked (cmftvb.figures.single_node.multistable_by_preset)."""

from _adapter import overrides, run

from cmftvb import figures
from cmftvb.figures.single_node import multistable_by_preset


def main(snakemake, log):
    p = snakemake.params
    curves = figures.rates_by_preset(p.mossy_hz, p.presets, overrides(p.overrides))
    for name, rates in curves.items():
        log.info(
            "%s at mossy %s Hz: %s", name, p.mossy_hz, {k: v.round(2) for k, v in rates.items()}
        )
    multi = multistable_by_preset(p.mossy_hz, p.presets, overrides(p.overrides))
    for name, found in multi.items():
        log.info("%s: several stable states at mossy %s Hz", name, [m for m, _ in found])
    rates = curves if len(curves) > 1 else next(iter(curves.values()))
    if len(curves) == 1:
        multi = {"": next(iter(multi.values()))}
    fig = figures.node_curves(
        p.mossy_hz, rates, title="Isolated cerebellar node", multistable=multi
    )
    figures.save_figure(fig, snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
