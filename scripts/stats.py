"""Rule stats: best G per model, paired comparison homogeneous vs cMF, Markdown summary.

Calls cmftvb.stats: ``best_g`` (rule ``stats.best_G_rule``, from global FC fit only),
``paired_comparison`` (Wilcoxon signed-rank and paired t, effect sizes, bootstrap CI,
Benjamini-Hochberg q) and ``summary_markdown``. Without empirical BOLD there is no FC fit to
choose G by: each G is then compared separately (column ``G``) and the summary says so.
"""

import pandas as pd
from _adapter import run

from cmftvb import io, stats


def write_tsv(df, path):
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan")


def main(snakemake, log):
    p = snakemake.params
    table = pd.read_csv(
        snakemake.input[0], sep="\t", keep_default_na=False, dtype={"subject": str, "region": str}
    )
    table["value"] = pd.to_numeric(table["value"])
    n_subjects = table["subject"].nunique()
    has_fit = ((table.metric == "fc_fit") & (table.region == "global")).any()
    options = {"n_boot": p.n_boot, "seed": p.bootstrap_seed, "alpha": p.alpha}
    if has_fit:
        chosen = stats.best_g(table, rule=p.best_G_rule)
        log.info("best G (%s):\n%s", p.best_G_rule, chosen.to_string(index=False))
        comparison = stats.paired_comparison(table, chosen_G=chosen, **options)
        summary = stats.summary_markdown(comparison, n_subjects, chosen, alpha=p.alpha)
    else:
        log.info("no global FC fit (no empirical BOLD): comparing at every G")
        chosen = pd.DataFrame(columns=["model", "preset", "G", "score", "n_subjects"])
        parts, texts = [], []
        for G, sub in table.groupby("G", sort=True):
            part = stats.paired_comparison(sub, **options)
            parts.append(part.assign(G=G))
            texts.append(f"## G = {G:g}\n\n" + stats.summary_markdown(part, n_subjects))
        comparison = pd.concat(parts, ignore_index=True)
        summary = (
            "No empirical BOLD in this study, so no G could be chosen by FC fit; the models "
            "are compared at every G separately.\n\n" + "\n\n".join(texts)
        )
    write_tsv(chosen, snakemake.output.best_G)
    write_tsv(comparison, snakemake.output.comparison)
    with io.atomic_path(snakemake.output.summary) as tmp:
        tmp.write_text(summary if summary.endswith("\n") else summary + "\n")
    log.info("%d comparisons, %d subjects", len(comparison), n_subjects)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
