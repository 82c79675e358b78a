"""Rule fig_connectome: the prepared connectome's log-weights with role blocks
(cmftvb.connectome.plot.plot_connectome), as PNG and SVG."""

from _adapter import run

from cmftvb.connectome import Connectome
from cmftvb.connectome.plot import plot_connectome


def main(snakemake, log):
    con = Connectome.load(snakemake.input[0])
    title = f"Subject {snakemake.wildcards.subject}: prepared connectome ({con.n} nodes)"
    for path in (snakemake.output.png, snakemake.output.svg):
        plot_connectome(con, path, title=title)
        log.info("wrote %s", path)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
