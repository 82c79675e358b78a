"""Rule recovery: model recovery and power on the synthetic cohort (cmftvb.recovery): the
stacked per-run recovery tables, then the confusion table (generator x endpoint x winner, with
the paired tests) and the power table (power and false positives vs subjects and run length),
each for every node scored and for the cerebral-only scope."""

import pandas as pd
from _adapter import read_table, run, write_table

from cmftvb.connectome import Connectome
from cmftvb.recovery.workflow import recovery_tables


def main(snakemake, log):
    p = snakemake.params
    table = pd.concat([read_table(f) for f in snakemake.input.tables], ignore_index=True)
    table["length_s"] = table["length_s"].astype(float)  # seconds (the full run too)
    write_table(table, snakemake.output.table)
    region_roles = {}
    for path in snakemake.input.connectomes:
        con = Connectome.load(path)
        region_roles.update(zip(map(str, con.labels), map(str, con.roles), strict=True))
    confusion, power = recovery_tables(
        table,
        region_roles=region_roles,
        endpoints=p.endpoints,
        keep_group="cerebral" if p.cerebral_scope else None,
        n_subjects=p.n_subjects,
        n_resamples=p.n_resamples,
        seed=p.seed,
        alpha=p.alpha,
        test=p.test,
    )
    write_table(confusion, snakemake.output.confusion)
    write_table(power, snakemake.output.power)
    log.info("confusion: %d rows; power: %d rows", len(confusion), len(power))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
