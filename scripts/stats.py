"""Rule stats: G chosen by one rule for both models, paired comparison homogeneous vs cMF in
declared FDR families, and a Markdown summary that states the design.

One package call, cmftvb.stats.study_stats: best_G (stats.best_G_rule: loso, fixed or the
in-sample rule), paired_comparison (Wilcoxon signed-rank and paired t, effect sizes, bootstrap
CI; Benjamini-Hochberg q within the primary family of stats.primary and within each secondary
metric; rates and spectral features descriptive) and summary_markdown (design, noise ceiling,
regime check, input shares, results). Without empirical BOLD only the fixed rule can choose a
G; otherwise each G is compared separately (column ``G``) and the summary says so.
"""

from _adapter import read_table, run, write_table

from cmftvb import io, stats


def main(snakemake, log):
    p = snakemake.params
    table = read_table(snakemake.input[0])
    # the rule names its params after study_stats's keywords (tests/test_architecture.py)
    shares = read_table(snakemake.input.shares[0]) if snakemake.input.shares else None
    chosen, comparison, summary = stats.study_stats(table, input_shares=shares, **snakemake.params)
    log.info("G (%s):\n%s", p.best_G_rule, chosen.to_string(index=False))
    write_table(chosen, snakemake.output.best_G)
    write_table(comparison, snakemake.output.comparison)
    with io.atomic_path(snakemake.output.summary) as tmp:
        tmp.write_text(summary if summary.endswith("\n") else summary + "\n")
    log.info(
        "%d comparisons (%s), %d subjects",
        len(comparison),
        comparison["family"].value_counts().to_dict(),
        table["subject"].nunique(),
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
