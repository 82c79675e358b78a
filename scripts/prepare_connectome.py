"""Rule prepare_connectome: load a subject's connectome (demo, sample or user cohort) and prepare
it (cmftvb.connectome.sources.prepare_subject: roles, normalisation, appended and prewired
cerebellum). Which reader is used follows the config (cohort.source, cohort.connectome_format);
the empirical BOLD is prepared apart (rule prepare_empirical).
"""

from _adapter import run

from cmftvb import io
from cmftvb.connectome.sources import prepare_subject


def main(snakemake, log):
    p = snakemake.params
    subject = snakemake.wildcards.subject
    prepared = prepare_subject(
        p.source,
        subject,
        dict(snakemake.input.items()),
        p.prepare,
        has_bold=p.has_bold,
        connectome_format=p.connectome_format,
        sample_sha256=p.sample_sha256,
    )
    prepared.meta["provenance"] = io.provenance(snakemake.config, subject=subject)
    prepared.save(snakemake.output.connectome)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
