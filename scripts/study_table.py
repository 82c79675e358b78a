"""Rule study_table: concatenate the per-run fitness tables into the study's tidy table
(cmftvb.fitness.study_table)."""

from _adapter import read_table, run, write_table

from cmftvb import fitness


def main(snakemake, log):
    tables = [read_table(path) for path in snakemake.input]
    table = fitness.study_table(tables)
    log.info(
        "%d runs, %d rows, %d subjects, metrics: %d",
        len(tables),
        len(table),
        table["subject"].nunique(),
        table["metric"].nunique(),
    )
    write_table(table, snakemake.output[0])


run(main, snakemake)  # noqa: F821 - injected by Snakemake
