"""Rule fig_connectome: the prepared connectome's log-weights with role blocks
(cmftvb.figures.connectome_weights), as PNG and SVG."""

from _adapter import run

from cmftvb import figures
from cmftvb.connectome import Connectome


def main(snakemake, log):
    con = Connectome.load(snakemake.input[0])
    title = f"Subject {snakemake.wildcards.subject}: prepared connectome ({con.n} nodes)"
    for path in figures.save_figure(
        figures.connectome_weights(con, title=title), snakemake.output.png
    ):
        log.info("wrote %s", path)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
