"""Rule study_table: concatenate the per-run fitness tables into the study's tidy table."""

import pandas as pd
from _adapter import run

from cmftvb import io
from cmftvb.fitness import TABLE_COLUMNS


def main(snakemake, log):
    tables = [
        pd.read_csv(path, sep="\t", keep_default_na=False, dtype={"subject": str, "region": str})
        for path in snakemake.input
    ]
    table = pd.concat(tables, ignore_index=True)[TABLE_COLUMNS]
    table["value"] = pd.to_numeric(table["value"])
    table = table.sort_values(TABLE_COLUMNS[:-1], kind="stable").reset_index(drop=True)
    log.info(
        "%d runs, %d rows, %d subjects, metrics: %d",
        len(tables),
        len(table),
        table["subject"].nunique(),
        table["metric"].nunique(),
    )
    with io.atomic_path(snakemake.output[0]) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan")


run(main, snakemake)  # noqa: F821 - injected by Snakemake
