"""Rule fig_input_shares: the input shares of one preset (mean over subjects and G of
results/study/input_shares.tsv) against the article's Table 5
(cmftvb.figures.article.fig_input_shares)."""

from _adapter import read_table, run

from cmftvb import figures
from cmftvb.figures import article


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    t = read_table(snakemake.input.table)
    t = t[t["preset"] == preset]
    cols = ["population", "input"]
    mean = t.groupby(cols, sort=False)[["share", "article_share"]].mean().reset_index()
    log.info("mean shares:\n%s", mean.to_string(index=False))
    n = t["subject"].nunique()
    title = f"Share of the network's input per population ({preset}; mean of {n} subject(s))"
    figures.save_figure(article.fig_input_shares(mean, title=title), snakemake.output.png)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
