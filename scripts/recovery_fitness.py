"""Rule recovery_fitness: score one fitting run (its signals, unchanged) against one
generator's synthetic BOLD of the same subject at each truncation length, every node scored
and, for the cerebral-only scope, the cerebellar nodes masked (cmftvb.recovery.score_synthetic).
Output: a tidy table (the study table's columns plus generator and length_s, NaN = full)."""

from _adapter import run, write_table

from cmftvb import gstar, io
from cmftvb.connectome import Connectome
from cmftvb.recovery.workflow import score_synthetic


def main(snakemake, log):
    w, p = snakemake.wildcards, snakemake.params
    sig, _ = io.load_tagged(snakemake.input.signals, io.SIGNALS)
    syn, syn_meta = io.load_npz(snakemake.input.synthetic)
    con = Connectome.load(snakemake.input.connectome)
    G, _ = gstar.parse_G_label(w.G)
    table = score_synthetic(
        sig,
        syn["bold"],
        con,
        keys={"subject": w.subject, "model": w.model, "preset": w.preset, "G": G},
        generator=w.generator,
        lengths_s=p.lengths_s,
        keep_group="cerebral" if p.cerebral_scope else None,
        **p.fitness,
    )
    write_table(table, snakemake.output[0])
    log.info("generator %s: %d rows", syn_meta["generator"]["model"], len(table))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
