"""Statistical comparison of homogeneous vs cMF models (MODEL.md §9, STUDY.md stage 6).

Input: the study's tidy fitness table (columns subject, model, preset, G, seed, metric, region,
value; see :func:`cmftvb.fitness.run_table`).

Procedure
---------
1. Seeds are averaged within subject (:func:`average_seeds`): the subject is the unit of
   replication, seeds are not independent samples.
2. Where a G sweep was run, each model gets its own G by :func:`best_g`: the G with the best
   mean global FC fit over subjects for that model (and preset). The rule looks at one model at
   a time and never at the comparison between models.
3. For every preset, metric and region, subjects with values for both models are paired and the
   difference ``d = cMF - homogeneous`` is tested (:func:`paired_comparison`):
   - Wilcoxon signed-rank test (the primary test; ``scipy.stats.wilcoxon``, zero differences
     discarded): exact null distribution when there are no ties or zeros and n <= 50;
     with ties or zeros, an exhaustive permutation null for n <= 13, the normal approximation
     otherwise (column ``wilcoxon_method``);
   - paired t test (``scipy.stats.ttest_rel``), reported alongside;
   - effect sizes: Cohen's d_z = mean(d) / SD(d) (ddof 1) and the matched-pairs rank-biserial
     correlation r = (R+ - R-) / (R+ + R-) (Kerby 2014, Compr Psychol 3:11);
   - a percentile bootstrap 95 % CI of the mean difference (``scipy.stats.bootstrap``,
     ``N_BOOT`` = 10000 resamples of subjects, seeded);
   - Benjamini-Hochberg q values (``scipy.stats.false_discovery_control``) across all metrics
     and regions within a preset, separately for the Wilcoxon and the t p values.
   A comparison is called significant when the Wilcoxon q < 0.05.

Direction: for ``fc_fit`` (and any metric in ``HIGHER_IS_BETTER``) larger is better; for error
metrics (``fcd_ks``, ``bold_mae``, ``fc_profile_error``) smaller is better. Column ``better``
names the model with the better mean.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from cmftvb import CmftvbError

__all__ = [
    "HIGHER_IS_BETTER",
    "N_BOOT",
    "at_chosen_g",
    "average_seeds",
    "best_g",
    "paired_comparison",
    "paired_stats",
    "summary_markdown",
]

HIGHER_IS_BETTER = {"fc_fit"}
N_BOOT = 10000
KEYS = ["subject", "model", "preset", "G", "metric", "region"]
_REQUIRED = set(KEYS) | {"value"}


def _check(table: pd.DataFrame, required=_REQUIRED) -> None:
    missing = set(required) - set(table.columns)
    if missing:
        raise CmftvbError(f"fitness table: missing column(s) {sorted(missing)}")


def average_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Mean value over seeds for each subject, model, preset, G, metric and region.

    NaN values are ignored in the mean; column ``n_seeds`` counts the finite values used.
    """
    _check(table)
    g = table.groupby(KEYS, sort=True, dropna=False)["value"]
    out = g.mean().to_frame("value")
    out["n_seeds"] = g.count()
    return out.reset_index()


def best_g(table: pd.DataFrame, rule: str = "max_mean_fc_fit") -> pd.DataFrame:
    """Each model's own best G.

    ``rule="max_mean_fc_fit"`` (the only rule): seeds averaged within subject, then for every
    (model, preset) the G whose global ``fc_fit`` has the largest mean over subjects; ties go to
    the smaller G. Returns a DataFrame with columns model, preset, G, score, n_subjects.
    """
    if rule != "max_mean_fc_fit":
        raise CmftvbError(f"best_g: unknown rule {rule!r} (known: 'max_mean_fc_fit')")
    avg = average_seeds(table)
    fit = avg[(avg.metric == "fc_fit") & (avg.region == "global")]
    if fit.empty:
        raise CmftvbError("best_g: the table has no global fc_fit rows")
    per_g = fit.groupby(["model", "preset", "G"])["value"].agg(["mean", "count"]).reset_index()
    rows = []
    for (model, preset), grp in per_g.groupby(["model", "preset"], sort=True):
        grp = grp.sort_values("G")
        if grp["mean"].isna().all():
            raise CmftvbError(f"best_g: fc_fit of model {model} ({preset}) is NaN at every G")
        i = grp["mean"].to_numpy()
        k = int(np.nanargmax(i))
        row = grp.iloc[k]
        rows.append(
            {
                "model": model,
                "preset": preset,
                "G": float(row["G"]),
                "score": float(row["mean"]),
                "n_subjects": int(row["count"]),
            }
        )
    return pd.DataFrame(rows)


def at_chosen_g(table: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` at each (model, preset)'s chosen G (``chosen`` as from :func:`best_g`)."""
    _check(table)
    key = chosen[["model", "preset", "G"]]
    out = table.merge(key, on=["model", "preset", "G"], how="inner")
    return out[table.columns]


def _wilcoxon_method(d: np.ndarray):
    nz = d[d != 0]
    ties = np.unique(np.abs(nz)).size < nz.size
    zeros = nz.size < d.size
    if not ties and not zeros and nz.size <= 50:
        return "exact", "exact"
    if nz.size <= 13:
        return stats.PermutationMethod(n_resamples=np.inf), "permutation"
    return "asymptotic", "asymptotic"


def paired_stats(a, b, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Paired statistics of ``d = b - a`` for matched arrays ``a``, ``b`` (one value per subject).

    Returns a dict with n, mean_a, mean_b, mean_diff, sd_diff, ci_low, ci_high, t, p_t, W,
    p_w, wilcoxon_method, d_z, rank_biserial and note. Undefined quantities are NaN and
    ``note`` says why (n < 2; all differences zero; constant differences).
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise CmftvbError(f"paired_stats: a and b must be 1-D and equal, got {a.shape}, {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    d = b - a
    n = d.size
    nan = np.nan
    res = {
        "n": n,
        "mean_a": a.mean() if n else nan,
        "mean_b": b.mean() if n else nan,
        "mean_diff": d.mean() if n else nan,
        "sd_diff": d.std(ddof=1) if n >= 2 else nan,
        "ci_low": nan,
        "ci_high": nan,
        "t": nan,
        "p_t": nan,
        "W": nan,
        "p_w": nan,
        "wilcoxon_method": "",
        "d_z": nan,
        "rank_biserial": nan,
        "note": "",
    }
    if n < 2:
        res["note"] = f"n={n} < 2 paired subjects: no test"
        return res
    if np.all(d == 0):
        res["note"] = "all differences zero: no test"
        res["ci_low"] = res["ci_high"] = 0.0
        return res
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    r_plus, r_minus = ranks[nz > 0].sum(), ranks[nz < 0].sum()
    res["rank_biserial"] = (r_plus - r_minus) / (r_plus + r_minus)
    method, label = _wilcoxon_method(d)
    w = stats.wilcoxon(d, method=method)
    res["W"], res["p_w"], res["wilcoxon_method"] = float(w.statistic), float(w.pvalue), label
    if res["sd_diff"] == 0:
        res["note"] = "differences constant: t, d_z and bootstrap CI undefined"
        return res
    t = stats.ttest_rel(b, a)
    res["t"], res["p_t"] = float(t.statistic), float(t.pvalue)
    res["d_z"] = d.mean() / res["sd_diff"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        ci = stats.bootstrap(
            (d,),
            np.mean,
            n_resamples=n_boot,
            confidence_level=0.95,
            method="percentile",
            rng=np.random.default_rng(seed),
        ).confidence_interval
    res["ci_low"], res["ci_high"] = float(ci.low), float(ci.high)
    return res


def paired_comparison(
    table: pd.DataFrame,
    *,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
    chosen_G: pd.DataFrame | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Paired comparison ``model_b - model_a`` across subjects for every metric and region.

    ``table``: the study's fitness table (several seeds allowed: averaged first). If a model has
    several G values, ``chosen_G`` (from :func:`best_g`) must say which to use. Returns one row
    per (preset, metric, region) with the columns of :func:`paired_stats` plus preset, metric,
    region, G_a, G_b, q_w, q_t, significant (q_w < alpha) and better.
    """
    _check(table)
    if chosen_G is not None:
        table = at_chosen_g(table, chosen_G)
    avg = average_seeds(table[table.model.isin([model_a, model_b])])
    for (model, preset), grp in avg.groupby(["model", "preset"]):
        if grp["G"].nunique() > 1:
            raise CmftvbError(
                f"paired_comparison: model {model} ({preset}) has several G values "
                f"{sorted(grp['G'].unique())}; pass chosen_G (see best_g)"
            )
    rows = []
    for (preset, metric, region), grp in avg.groupby(["preset", "metric", "region"], sort=True):
        wide = grp.pivot_table(index="subject", columns="model", values="value", aggfunc="first")
        if model_a not in wide or model_b not in wide:
            continue
        wide = wide[[model_a, model_b]].dropna()
        ga = grp.loc[grp.model == model_a, "G"].iloc[0]
        gb = grp.loc[grp.model == model_b, "G"].iloc[0]
        r = paired_stats(
            wide[model_a].to_numpy(), wide[model_b].to_numpy(), n_boot=n_boot, seed=seed
        )
        r.update({"preset": preset, "metric": metric, "region": region, "G_a": ga, "G_b": gb})
        rows.append(r)
    cols = ["preset", "metric", "region", "G_a", "G_b"]
    out = pd.DataFrame(rows)
    if out.empty:
        raise CmftvbError(
            f"paired_comparison: no (metric, region) has values for both {model_a} and {model_b}"
        )
    out = out[cols + [c for c in out.columns if c not in cols]]
    out["q_w"] = np.nan
    out["q_t"] = np.nan
    for _, idx in out.groupby("preset").groups.items():
        for p, q in (("p_w", "q_w"), ("p_t", "q_t")):
            pv = out.loc[idx, p]
            fin = pv.notna()
            if fin.any():
                out.loc[pv[fin].index, q] = stats.false_discovery_control(
                    pv[fin].to_numpy(), method="bh"
                )
    out["significant"] = out["q_w"] < alpha
    higher = out["metric"].isin(HIGHER_IS_BETTER)
    diff = out["mean_diff"]
    better = np.where(diff == 0, "tie", np.where((diff > 0) == higher, model_b, model_a)).astype(
        object
    )
    better[diff.isna().to_numpy()] = ""
    out["better"] = better
    return out


def _fmt(x, nd=3):
    return "NaN" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{nd}g}"


def summary_markdown(
    stats_table: pd.DataFrame,
    n_subjects: int,
    chosen_G: pd.DataFrame | None = None,
    *,
    alpha: float = 0.05,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
) -> str:
    """A short Markdown report of :func:`paired_comparison`'s table.

    States n, the tests, each model's G and rule, then per preset the global metrics in full and
    every regional comparison that is significant (Wilcoxon q < alpha), and counts of those that
    are not.
    """
    lines = [
        f"# {model_b} vs {model_a}: paired comparison",
        "",
        f"- Subjects: n = {n_subjects} (seeds averaged within subject; differences are "
        f"{model_b} - {model_a}).",
        "- Tests: Wilcoxon signed-rank (primary; exact when no ties/zeros), paired t test; "
        "effect sizes Cohen's d_z and rank-biserial r; 95 % percentile bootstrap CI of the mean "
        f"difference; Benjamini-Hochberg q across all metrics and regions of a preset. "
        f"Significant: Wilcoxon q < {alpha}.",
        "- Better: larger fc_fit; smaller fcd_ks, bold_mae, fc_profile_error.",
    ]
    if chosen_G is not None and len(chosen_G):
        desc = ", ".join(
            f"{r.model} ({r.preset}): G = {r.G:g} (mean FC fit {r.score:.3f})"
            for r in chosen_G.itertuples()
        )
        lines.append(f"- G per model, chosen by best mean global FC fit over subjects: {desc}.")
    if n_subjects < 6:
        lines.append(
            f"- Note: with n = {n_subjects} the exact two-sided Wilcoxon p cannot go below "
            f"{2 / 2**n_subjects:.3g}; no comparison can be significant at q < {alpha} if that "
            "bound exceeds it."
        )
    for preset, tab in stats_table.groupby("preset", sort=True):
        lines += ["", f"## Preset `{preset}`", "", "### Global metrics", ""]
        lines.append("| metric | n | mean diff | 95 % CI | d_z | p (Wilcoxon) | q | better |")
        lines.append("|---|---|---|---|---|---|---|---|")
        glob = tab[tab.region == "global"]
        for r in glob.itertuples():
            lines.append(
                f"| {r.metric} | {r.n} | {_fmt(r.mean_diff)} | [{_fmt(r.ci_low)}, "
                f"{_fmt(r.ci_high)}] | {_fmt(r.d_z)} | {_fmt(r.p_w)} | {_fmt(r.q_w)} | "
                f"{r.better}{' *' if r.significant else ''} |"
            )
        sig_g = ", ".join(glob.metric[glob.significant]) or "none"
        ns_g = ", ".join(glob.metric[~glob.significant]) or "none"
        lines += ["", f"Significant (q < {alpha}): {sig_g}. Not significant: {ns_g}."]
        reg = tab[tab.region != "global"]
        lines += ["", "### Regional metrics", ""]
        for metric, m in reg.groupby("metric", sort=True):
            sig = m[m.significant]
            lines.append(
                f"- `{metric}`: {len(sig)} of {len(m)} regions significant "
                f"({int((sig.better == model_b).sum())} favour {model_b}, "
                f"{int((sig.better == model_a).sum())} favour {model_a}); "
                f"{int(m.p_w.isna().sum())} untestable."
            )
            for r in sig.itertuples():
                lines.append(
                    f"  - {r.region}: mean diff {_fmt(r.mean_diff)} "
                    f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}], d_z {_fmt(r.d_z)}, "
                    f"q {_fmt(r.q_w)}, better: {r.better}"
                )
        notes = tab[tab.note != ""]
        if len(notes):
            lines += ["", "### Notes", ""]
            for r in notes.itertuples():
                lines.append(f"- {r.metric} / {r.region}: {r.note}")
    return "\n".join(lines) + "\n"
