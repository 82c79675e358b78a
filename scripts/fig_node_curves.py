"""Rule fig_node_curves: single-node input-output curves of the four cerebellar populations
(MODEL.md §2.6) for each configured preset (cmftvb.models.nodecurve, cmftvb.figures)."""

import numpy as np
from _adapter import overrides, run

from cmftvb import figures
from cmftvb.models import nodecurve, presets

POPULATIONS = ("GrC", "GoC", "MLI", "PC")


def main(snakemake, log):
    p = snakemake.params
    mossy = np.asarray(p.mossy_hz, dtype=float)
    # preset overrides of the study apply to the node too (projection overrides do not)
    pairs = [(k, str(v)) for k, v in overrides(p.overrides) if not k.startswith("projections")]
    curves = {}
    for name in p.presets:
        preset = presets.apply_overrides(presets.load_preset(name), pairs)
        table = nodecurve.node_curve(mossy, preset)
        curves[name] = {pop: table[:, i + 1] for i, pop in enumerate(POPULATIONS)}
        for row in table:
            log.info(
                "%s: mossy %5.1f Hz -> " + " ".join(f"{q} %.2f" for q in POPULATIONS), name, *row
            )
    rates = curves if len(curves) > 1 else next(iter(curves.values()))
    figures.node_curves(mossy, rates, snakemake.output.png, title="Isolated cerebellar node")


run(main, snakemake)  # noqa: F821 - injected by Snakemake
