"""Rule prepare_empirical: a subject's empirical BOLD, preprocessed (detrend, z-score,
band-pass ``fitness.bandpass_hz``) on the nodes of the prepared connectome that have data
(cmftvb.fitness.prepare_empirical), saved as ``cmftvb.io.EMPIRICAL`` with the TR.
"""

from _adapter import run

from cmftvb import fitness, io
from cmftvb.connectome import Connectome


def main(snakemake, log):
    p = snakemake.params
    subject = snakemake.wildcards.subject
    files = {k: v for k, v in snakemake.input.items() if k != "connectome"}
    arrays, meta = fitness.prepare_empirical(
        p.source,
        subject,
        files,
        Connectome.load(snakemake.input.connectome),
        tr_s=p.tr_s,
        bandpass_hz=p.bandpass_hz,
        filter_order=p.filter_order,
    )
    meta["provenance"] = io.provenance(snakemake.config, subject=subject)
    io.save_tagged(snakemake.output.empirical, io.EMPIRICAL, arrays, meta)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
