"""Statistical comparison of homogeneous vs cMF models (MODEL.md §9, STUDY.md stage 6).

Input: the study's tidy fitness table (columns subject, model, preset, G, seed, metric, region,
value; see :func:`cmftvb.fitness.run_table`).

Procedure
---------
1. Seeds are averaged within subject (:func:`average_seeds`): the subject is the unit of
   replication, seeds are not independent samples.
2. Where a G sweep was run, G is chosen by one rule for both models (:func:`best_g`,
   ``stats.best_G_rule``), from global ``fc_fit`` only and never from the comparison:

   - ``loso`` (default): leave one subject out. Subject s, model m, gets the G with the best
     mean ``fc_fit`` of model m over the *other* subjects, so the G a subject is tested at was
     not chosen on that subject's data (no double dipping). With a single subject there is
     nothing to leave out: the rule falls back to ``in_sample_max_mean_fc_fit`` with a warning.
   - ``fixed``: one given G (``stats.fixed_G``) for every subject and both models.
   - ``in_sample_max_mean_fc_fit``: per model, the G with the best mean ``fc_fit`` over all
     subjects, the same subjects that are then tested (selection and test on the same data;
     kept for comparison with earlier results). ``max_mean_fc_fit`` is its deprecated name.

   Ties go to the smaller G.
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
     ``N_BOOT`` = 10000 resamples of subjects, seeded).
4. Families (column ``family``) and Benjamini-Hochberg q (``scipy.stats.false_discovery_control``)
   within each family of a preset, separately for the Wilcoxon and the t p values:

   - ``primary``: the declared endpoints ``stats.primary`` (at most ``MAX_PRIMARY`` = 4; default
     global ``fc_fit``, global ``fcd_ks`` and, where subjects have empirical BOLD of
     cerebellar-cortex regions, the mean over those regions, per subject, of ``bold_mae`` and of
     ``fc_profile_error``, region ``CRBL_CORTEX_MEAN``);
   - ``secondary:<metric>``: every other comparison of a metric with a declared direction
     (``DIRECTION``), one family per metric over its regions;
   - ``descriptive``: everything else (firing rates ``*_rate_hz``, band features, coherence):
     p values are shown, but there is no q, no significance and no "better" model; column
     ``direction`` says which model is higher, and where ``signals/physiology.yaml`` gives the
     population a range, ``closer_to_target`` names the model whose mean is closer to it.

   A comparison is called significant when its Wilcoxon q < alpha (primary and secondary only).

Direction (declared once, ``DIRECTION``): ``fc_fit`` higher is better; ``fcd_ks``,
``bold_mae`` and ``fc_profile_error`` lower is better. Column ``better`` names the model with
the better mean for those metrics and is empty otherwise.

Diagnostics in the table (regime shares ``regime_*``, :mod:`cmftvb.signals.regime`; the noise
ceiling ``noise_ceiling_fc_fit``, :func:`cmftvb.fitness.noise_ceiling`) are not compared between
models; :func:`summary_markdown` reports them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from cmftvb import CmftvbError
from cmftvb.fitness import NOISE_CEILING_METRIC
from cmftvb.signals import regime as _regime

__all__ = [
    "CRBL_CORTEX_MEAN",
    "DEFAULT_PRIMARY",
    "DIRECTION",
    "G_RULES",
    "HIGHER_IS_BETTER",
    "MAX_PRIMARY",
    "N_BOOT",
    "at_chosen_g",
    "average_seeds",
    "best_g",
    "family_of",
    "paired_comparison",
    "paired_stats",
    "parse_primary",
    "regime_summary",
    "study_design",
    "study_stats",
    "summary_markdown",
]

#: Which way is better, declared once for every fitness metric: "higher" or "lower".
DIRECTION: dict[str, str] = {
    "fc_fit": "higher",
    "fcd_ks": "lower",
    "bold_mae": "lower",
    "fc_profile_error": "lower",
}
HIGHER_IS_BETTER = frozenset(m for m, d in DIRECTION.items() if d == "higher")
#: Region name of the per-subject mean over the cerebellar-cortex regions of a metric.
CRBL_CORTEX_MEAN = "crbl_cortex_mean"
#: Default declared endpoints (``stats.primary``).
DEFAULT_PRIMARY: tuple[dict[str, str], ...] = (
    {"metric": "fc_fit", "region": "global"},
    {"metric": "fcd_ks", "region": "global"},
    {"metric": "bold_mae", "region": CRBL_CORTEX_MEAN},
    {"metric": "fc_profile_error", "region": CRBL_CORTEX_MEAN},
)
MAX_PRIMARY = 4
#: G rules of :func:`best_g`; ``max_mean_fc_fit`` is accepted as a deprecated alias.
G_RULES = ("loso", "fixed", "in_sample_max_mean_fc_fit")
_RULE_ALIASES = {"max_mean_fc_fit": "in_sample_max_mean_fc_fit"}
N_BOOT = 10000
KEYS = ["subject", "model", "preset", "G", "metric", "region"]
_REQUIRED = set(KEYS) | {"value"}
_RATE_SUFFIX = "_rate_hz"


def _check(table: pd.DataFrame, required=_REQUIRED) -> None:
    missing = set(required) - set(table.columns)
    if missing:
        raise CmftvbError(f"fitness table: missing column(s) {sorted(missing)}")


def _is_diagnostic(metric: pd.Series) -> pd.Series:
    return metric.astype(str).str.startswith("regime_") | (metric == NOISE_CEILING_METRIC)


def average_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Mean value over seeds for each subject, model, preset, G, metric and region.

    NaN values are ignored in the mean; column ``n_seeds`` counts the finite values used.
    """
    _check(table)
    g = table.groupby(KEYS, sort=True, dropna=False)["value"]
    out = g.mean().to_frame("value")
    out["n_seeds"] = g.count()
    return out.reset_index()


# ---------------------------------------------------------------------------------------------
# Endpoints and families
# ---------------------------------------------------------------------------------------------


def parse_primary(specs: Iterable[Mapping[str, str]] | None) -> list[tuple[str, str]]:
    """Declared endpoints ``stats.primary`` as (metric, region) pairs, checked.

    Each spec is a mapping with ``metric`` (a key of ``DIRECTION``) and ``region`` (default
    ``"global"``; a region label, or ``CRBL_CORTEX_MEAN`` for the per-subject mean over the
    cerebellar-cortex regions). At most ``MAX_PRIMARY`` endpoints, no duplicates. None gives
    ``DEFAULT_PRIMARY``.
    """
    specs = DEFAULT_PRIMARY if specs is None else list(specs)
    out: list[tuple[str, str]] = []
    for spec in specs:
        if not isinstance(spec, Mapping) or "metric" not in spec:
            raise CmftvbError(f"stats.primary: each endpoint needs a 'metric', got {spec!r}")
        extra = set(spec) - {"metric", "region"}
        if extra:
            raise CmftvbError(f"stats.primary: unknown key(s) {sorted(extra)} in {dict(spec)}")
        metric, region = str(spec["metric"]), str(spec.get("region", "global"))
        if metric not in DIRECTION:
            raise CmftvbError(
                f"stats.primary: metric {metric!r} has no declared direction "
                f"(known: {', '.join(DIRECTION)}); rates and spectra are descriptive only"
            )
        if (metric, region) in out:
            raise CmftvbError(f"stats.primary: endpoint {metric}/{region} declared twice")
        out.append((metric, region))
    if len(out) > MAX_PRIMARY:
        raise CmftvbError(
            f"stats.primary: {len(out)} endpoints declared; at most {MAX_PRIMARY} are allowed"
        )
    return out


def family_of(metric: str, region: str, primary: Iterable[tuple[str, str]]) -> str:
    """``"primary"``, ``"secondary:<metric>"`` or ``"descriptive"`` (see the module docstring)."""
    if (metric, region) in set(primary):
        return "primary"
    if metric in DIRECTION:
        return f"secondary:{metric}"
    return "descriptive"


def _crbl_cortex(regions: Iterable[str]) -> set[str]:
    from cmftvb.connectome import roles

    out = set()
    for r in regions:
        part = roles.crbl_part(str(r)) if r != "global" else None
        if part is not None and part[1] in roles.LOBULES:
            out.add(str(r))
    return out


def add_crbl_cortex_means(table: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """``table`` plus, for each metric of ``metrics``, rows of region ``CRBL_CORTEX_MEAN``: per
    run (subject, model, preset, G, seed) the mean over the cerebellar-cortex regions
    (:func:`cmftvb.connectome.roles.crbl_part`, a lobule) that have a finite value in every run
    of that subject (so both models are averaged over the same regions). Runs without such
    regions (no cerebellar empirical BOLD) get no row."""
    metrics = list(metrics)
    crbl = _crbl_cortex(table["region"].unique())
    sel = table[
        table["metric"].isin(metrics) & table["region"].isin(crbl) & np.isfinite(table["value"])
    ]
    if sel.empty:
        return table
    keys = [c for c in table.columns if c not in ("region", "value")]
    # the same regions in every run of a subject (both models, every seed), so that the paired
    # difference compares means over one region set
    subj = ["subject", "preset", "metric"]
    n_runs = sel.drop_duplicates(keys).groupby(subj).size().rename("n_runs")
    per_region = sel.drop_duplicates([*keys, "region"]).groupby([*subj, "region"]).size()
    full = per_region.rename("n").reset_index().merge(n_runs.reset_index(), on=subj)
    full = full.loc[full["n"] == full["n_runs"], [*subj, "region"]]
    sel = sel.merge(full, on=[*subj, "region"], how="inner")
    means = sel.groupby(keys, dropna=False, sort=True)["value"].mean().reset_index()
    means["region"] = CRBL_CORTEX_MEAN
    return pd.concat([table, means[table.columns]], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Choice of G
# ---------------------------------------------------------------------------------------------


def _canonical_rule(rule: str) -> str:
    if rule in _RULE_ALIASES:
        new = _RULE_ALIASES[rule]
        warnings.warn(
            f"stats.best_G_rule {rule!r} is deprecated: it is the in-sample rule, now named "
            f"{new!r} (selection and test on the same subjects); prefer 'loso'",
            FutureWarning,
            stacklevel=3,
        )
        return new
    if rule not in G_RULES:
        raise CmftvbError(
            f"stats.best_G_rule: unknown rule {rule!r} (known: {', '.join(G_RULES)}; "
            f"deprecated alias: {', '.join(_RULE_ALIASES)})"
        )
    return rule


def _fit_means(table: pd.DataFrame) -> pd.DataFrame:
    """Seed-averaged global fc_fit: one row per (subject, model, preset, G), NaN rows dropped."""
    avg = average_seeds(table)
    fit = avg[(avg.metric == "fc_fit") & (avg.region == "global")]
    return fit[["subject", "model", "preset", "G", "value"]].dropna(subset=["value"])


def _argmax_g(fit: pd.DataFrame, what: str) -> tuple[float, float, int]:
    """(G, mean, n) of the G with the largest mean value over subjects; ties -> smaller G."""
    per_g = fit.groupby("G")["value"].agg(["mean", "count"]).sort_index()
    if per_g.empty or per_g["mean"].isna().all():
        raise CmftvbError(f"best_g: no finite global fc_fit for {what}")
    k = int(np.nanargmax(per_g["mean"].to_numpy()))
    return float(per_g.index[k]), float(per_g["mean"].iloc[k]), int(per_g["count"].iloc[k])


def best_g(table: pd.DataFrame, rule: str = "loso", *, fixed_G: float | None = None):
    """The G at which each model (and, for ``loso``, each subject) is compared.

    ``rule``: ``"loso"``, ``"fixed"`` (needs ``fixed_G``) or ``"in_sample_max_mean_fc_fit"``
    (alias ``"max_mean_fc_fit"``, deprecated); see the module docstring. Seeds are averaged
    within subject first; only global ``fc_fit`` is looked at, one model at a time.

    Returns a DataFrame with columns model, preset, G, score (the mean fc_fit the choice was
    made on; for ``fixed`` the mean over all subjects at that G, NaN without fc_fit),
    n_subjects (subjects in that mean) and rule (the rule applied); ``loso`` adds a first
    column subject (one row per subject, model and preset).
    """
    _check(table)
    rule = _canonical_rule(rule)
    cols = ["model", "preset", "G", "score", "n_subjects", "rule"]
    rows = []
    if rule == "fixed":
        if fixed_G is None:
            raise CmftvbError("stats.fixed_G: required with stats.best_G_rule 'fixed'")
        fit = _fit_means(table)
        for (model, preset), grp in table.groupby(["model", "preset"], sort=True):
            gs = np.unique(grp["G"].to_numpy(float))
            hit = gs[np.isclose(gs, float(fixed_G))]
            if hit.size == 0:
                raise CmftvbError(
                    f"stats.fixed_G: G {fixed_G:g} was not run for model {model} ({preset}); "
                    f"its G values: {[float(g) for g in gs]}"
                )
            f = fit[(fit.model == model) & (fit.preset == preset) & (fit.G == hit[0])]
            score = float(f["value"].mean()) if len(f) else np.nan
            rows.append((model, preset, float(hit[0]), score, int(len(f)), rule))
        return pd.DataFrame(rows, columns=cols)
    fit = _fit_means(table)
    if fit.empty:
        raise CmftvbError("best_g: the table has no global fc_fit rows")
    if rule == "in_sample_max_mean_fc_fit":
        for (model, preset), grp in fit.groupby(["model", "preset"], sort=True):
            g, score, n = _argmax_g(grp, f"model {model} ({preset})")
            rows.append((model, preset, g, score, n, rule))
        return pd.DataFrame(rows, columns=cols)
    # loso
    for (model, preset), grp in table.groupby(["model", "preset"], sort=True):
        f = fit[(fit.model == model) & (fit.preset == preset)]
        subjects = sorted(grp["subject"].astype(str).unique())
        if f["subject"].nunique() < 2:
            warnings.warn(
                f"best_g: rule 'loso' needs at least 2 subjects with fc_fit; model {model} "
                f"({preset}) has {f['subject'].nunique()}: falling back to the in-sample rule "
                "(G chosen on the tested subject itself: the fit at that G is optimistic)",
                UserWarning,
                stacklevel=2,
            )
            g, score, n = _argmax_g(f, f"model {model} ({preset})")
            fallback = "in_sample_max_mean_fc_fit (loso fallback: one subject)"
            rows += [(s, model, preset, g, score, n, fallback) for s in subjects]
            continue
        for s in subjects:
            others = f[f["subject"].astype(str) != s]
            g, score, n = _argmax_g(others, f"model {model} ({preset}) without subject {s}")
            rows.append((s, model, preset, g, score, n, rule))
    return pd.DataFrame(rows, columns=["subject", *cols])


def at_chosen_g(table: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` at the chosen G (``chosen`` as from :func:`best_g`): per (model,
    preset), or per (subject, model, preset) when ``chosen`` has a subject column."""
    _check(table)
    on = ["model", "preset", "G"]
    if "subject" in chosen.columns:
        on = ["subject", *on]
    key = chosen[on].astype({"G": float})
    t = table.astype({"G": float})
    if "subject" in on:
        key = key.astype({"subject": str})
        t = t.astype({"subject": str})
    out = t.merge(key, on=on, how="inner")
    return out[table.columns]


# ---------------------------------------------------------------------------------------------
# Paired tests
# ---------------------------------------------------------------------------------------------


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


def _g_label(values) -> float | str:
    """One G as a number; several (per-subject G of ``loso``) as 'g1;g2;...' (sorted)."""
    gs = np.unique(np.asarray(values, float))
    return float(gs[0]) if gs.size == 1 else ";".join(f"{g:g}" for g in gs)


def _rate_target(metric: str) -> tuple[float, float] | None:
    if not metric.endswith(_RATE_SUFFIX):
        return None
    from cmftvb.signals.ephys import physiological_ranges

    r = physiological_ranges().get(metric.removesuffix(_RATE_SUFFIX))
    return (float(r["low_hz"]), float(r["high_hz"])) if r else None


def _distance(x: float, band: tuple[float, float]) -> float:
    return max(band[0] - x, 0.0, x - band[1])


def paired_comparison(
    table: pd.DataFrame,
    *,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
    chosen_G: pd.DataFrame | None = None,
    primary: Iterable[Mapping[str, str]] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Paired comparison ``model_b - model_a`` across subjects for every metric and region.

    ``table``: the study's fitness table (several seeds allowed: averaged first; diagnostic
    rows ``regime_*`` and ``noise_ceiling_fc_fit`` are left out). If a model has several G
    values for a subject, ``chosen_G`` (from :func:`best_g`) must say which to use.
    ``primary``: the declared endpoints (:func:`parse_primary`; None = ``DEFAULT_PRIMARY``).

    Returns one row per (preset, metric, region) with the columns of :func:`paired_stats` plus
    preset, family, metric, region, G_a, G_b (a number, or 'g1;g2' when G varies by subject),
    q_w, q_t (BH within the family of a preset; NaN for descriptive rows), significant
    (q_w < alpha), direction ('<model_b> higher' / 'lower' / 'equal'), better (model with the
    better mean, declared-direction metrics only, else ''), target ('low-high Hz' for a rate
    with a physiological range, else '') and closer_to_target (the model whose mean is closer
    to that range, 'both within', 'tie' or '').
    """
    _check(table)
    endpoints = parse_primary(primary)
    table = table[~_is_diagnostic(table["metric"])]
    if chosen_G is not None:
        table = at_chosen_g(table, chosen_G)
    crbl_metrics = {m for m, r in endpoints if r == CRBL_CORTEX_MEAN}
    table = add_crbl_cortex_means(table, crbl_metrics)
    avg = average_seeds(table[table.model.isin([model_a, model_b])])
    for (model, preset, subject), grp in avg.groupby(["model", "preset", "subject"]):
        if grp["G"].nunique() > 1:
            raise CmftvbError(
                f"paired_comparison: model {model} ({preset}), subject {subject} has several G "
                f"values {sorted(grp['G'].unique())}; pass chosen_G (see best_g)"
            )
    rows = []
    for (preset, metric, region), grp in avg.groupby(["preset", "metric", "region"], sort=True):
        wide = grp.pivot_table(index="subject", columns="model", values="value", aggfunc="first")
        if model_a not in wide or model_b not in wide:
            continue
        wide = wide[[model_a, model_b]].dropna()
        paired = grp[grp.subject.isin(wide.index)] if len(wide) else grp
        r = paired_stats(
            wide[model_a].to_numpy(), wide[model_b].to_numpy(), n_boot=n_boot, seed=seed
        )
        r.update(
            {
                "preset": preset,
                "family": family_of(metric, region, endpoints),
                "metric": metric,
                "region": region,
                "G_a": _g_label(paired.loc[paired.model == model_a, "G"]),
                "G_b": _g_label(paired.loc[paired.model == model_b, "G"]),
            }
        )
        rows.append(r)
    cols = ["preset", "family", "metric", "region", "G_a", "G_b"]
    out = pd.DataFrame(rows)
    if out.empty:
        raise CmftvbError(
            f"paired_comparison: no (metric, region) has values for both {model_a} and {model_b}"
        )
    out = out[cols + [c for c in out.columns if c not in cols]]
    out["q_w"] = np.nan
    out["q_t"] = np.nan
    inferential = out["family"] != "descriptive"
    for _, idx in out[inferential].groupby(["preset", "family"]).groups.items():
        for p, q in (("p_w", "q_w"), ("p_t", "q_t")):
            pv = out.loc[idx, p]
            fin = pv.notna()
            if fin.any():
                out.loc[pv[fin].index, q] = stats.false_discovery_control(
                    pv[fin].to_numpy(), method="bh"
                )
    out["significant"] = inferential & (out["q_w"] < alpha)
    diff = out["mean_diff"]
    out["direction"] = np.where(
        diff.isna(),
        "",
        np.where(diff > 0, f"{model_b} higher", np.where(diff < 0, f"{model_b} lower", "equal")),
    )
    better = []
    for metric, d in zip(out["metric"], diff, strict=True):
        if metric not in DIRECTION or not np.isfinite(d):
            better.append("")
        elif d == 0:
            better.append("tie")
        else:
            better.append(model_b if (d > 0) == (DIRECTION[metric] == "higher") else model_a)
    out["better"] = better
    targets, closer = [], []
    for r in out.itertuples():
        band = _rate_target(r.metric)
        if band is None or not (np.isfinite(r.mean_a) and np.isfinite(r.mean_b)):
            targets.append("" if band is None else f"{band[0]:g}-{band[1]:g} Hz")
            closer.append("")
            continue
        targets.append(f"{band[0]:g}-{band[1]:g} Hz")
        da, db = _distance(r.mean_a, band), _distance(r.mean_b, band)
        closer.append(
            "both within"
            if da == db == 0
            else "tie"
            if da == db
            else (model_a if da < db else model_b)
        )
    out["target"] = targets
    out["closer_to_target"] = closer
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _fmt(x, nd=3):
    return "NaN" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{nd}g}"


def regime_summary(table: pd.DataFrame, *, max_share: float = 0.0, max_listed: int = 8):
    """Markdown lines on the regime diagnostics (:mod:`cmftvb.signals.regime`) of every run.

    For each preset, model and regime metric: mean and largest share over runs (subject, G,
    seed), and the number of runs whose share exceeds ``max_share``. A line starting with
    ``**Warning**`` lists the runs outside (at most ``max_listed``) when there are any.
    Returns [] when the table has no regime rows.
    """
    reg = table[table["metric"].isin(_regime.REGIME_METRICS)]
    if reg.empty:
        return []
    what = {
        _regime.REGIME_WW_OUT_OF_BAND: (
            "Wong-Wang nodes with mean r_E outside the resting band (default "
            f"{_regime.DEFAULT_BAND_HZ[0]:g}-{_regime.DEFAULT_BAND_HZ[1]:g} Hz)"
        ),
        _regime.REGIME_SE_SATURATED: f"Wong-Wang nodes with mean S_E > {_regime.SE_SATURATION:g}",
        _regime.REGIME_CRBL_OUT_OF_RANGE: (
            "cerebellar populations outside their physiology.yaml range"
        ),
    }
    lines = [
        f"Share of each run's nodes outside the resting regime; a run counts as outside when a "
        f"share exceeds {max_share:g}.",
        "",
        "| preset | model | check | mean share | max share | runs outside |",
        "|---|---|---|---|---|---|",
    ]
    outside = []
    for (preset, model, metric), grp in reg.groupby(["preset", "model", "metric"], sort=True):
        v = grp["value"].astype(float)
        bad = grp[~(v <= max_share)]
        lines.append(
            f"| {preset} | {model} | {what[metric]} | {_fmt(v.mean())} | {_fmt(v.max())} | "
            f"{len(bad)} of {len(grp)} |"
        )
        for r in bad.itertuples():
            outside.append(
                f"{r.subject}/{model}/{preset}/G {float(r.G):g}/seed {r.seed}: "
                f"{metric} = {_fmt(float(r.value))}"
            )
    if outside:
        listed = "; ".join(outside[:max_listed])
        more = f"; and {len(outside) - max_listed} more" if len(outside) > max_listed else ""
        lines += [
            "",
            f"**Warning**: {len(outside)} run check(s) outside the resting regime: the "
            f"comparison involves networks that are not at a physiological operating point "
            f"({listed}{more}).",
        ]
    return lines


def _ceiling_lines(table: pd.DataFrame, chosen_G: pd.DataFrame | None) -> list[str]:
    ceil = table[(table["metric"] == NOISE_CEILING_METRIC) & (table["region"] == "global")]
    if ceil.empty:
        return []
    lines = [
        "The noise ceiling is the fc_fit of segments of each subject's own empirical BOLD, as "
        "long as the simulated post-transient BOLD, against the subject's full session: the "
        "best fit any model can reach at that run length.",
        "",
    ]
    fit = table[(table["metric"] == "fc_fit") & (table["region"] == "global")]
    if chosen_G is not None and len(chosen_G):
        fit = at_chosen_g(fit, chosen_G)
    for preset, c in ceil.groupby("preset", sort=True):
        per_subject = c.groupby("subject")["value"].mean()
        text = (
            f"- `{preset}`: noise ceiling {_fmt(per_subject.mean())} (mean over "
            f"{per_subject.size} subjects; range {_fmt(per_subject.min())}-"
            f"{_fmt(per_subject.max())})"
        )
        f = fit[fit["preset"] == preset]
        if len(f):
            means = f.groupby(["model", "subject"])["value"].mean().groupby("model").mean()
            text += "; fc_fit " + ", ".join(f"{m} {_fmt(v)}" for m, v in means.items())
            text += " (mean over subjects at the chosen G)" if chosen_G is not None else ""
        lines.append(text + ".")
    return lines


def _rule_text(chosen_G: pd.DataFrame | None) -> str:
    if chosen_G is None or not len(chosen_G):
        return "none: no G chosen (no sweep, or no empirical BOLD to choose by)"
    rule = str(chosen_G["rule"].iloc[0]) if "rule" in chosen_G else "in_sample_max_mean_fc_fit"
    if rule == "loso":
        return (
            "loso: each subject's G chosen, per model, by the best mean global fc_fit of the "
            "other subjects (no double dipping)"
        )
    if rule == "fixed":
        return "fixed: one given G for every subject and both models"
    if rule.startswith("in_sample"):
        return (
            f"{rule}: per model, the G with the best mean global fc_fit over the same subjects "
            "that are tested (selection and test on the same data: optimistic)"
        )
    return rule


def _design_lines(
    design: Mapping | None,
    endpoints: list[tuple[str, str]],
    chosen_G: pd.DataFrame | None,
    compared: set[tuple[str, str]],
    diagnostics: set[str],
) -> list[str]:
    d = dict(design or {})
    avail = [f"{m}/{r}" for m, r in endpoints if (m, r) in compared]
    missing = [f"{m}/{r}" for m, r in endpoints if (m, r) not in compared]
    ep = ", ".join(avail) or "none available"
    if missing:
        ep += f" (declared but absent from this study: {', '.join(missing)})"
    lines = [
        "## Design",
        "",
        f"- Primary endpoints (one BH family, at most {MAX_PRIMARY} tests): {ep}.",
        "- Secondary: every other metric with a declared direction, one BH family per metric "
        "over its regions. Descriptive (no q, never better/worse; 'closer to target' where a "
        "physiological range exists): firing rates, band features, coherence.",
        f"- G rule: {_rule_text(chosen_G)}.",
    ]
    fic = d.get("fic")
    if isinstance(fic, Mapping) and fic:
        lines.append(
            "- FIC (feedback inhibition control, Deco et al. 2014): "
            + ", ".join(f"`{p}` {_on_off(v)}" for p, v in fic.items())
            + "."
        )
    elif fic is not None and not isinstance(fic, Mapping):
        lines.append(f"- FIC (feedback inhibition control, Deco et al. 2014): {_on_off(fic)}.")
    else:
        lines.append("- FIC: not stated.")
    noise = d.get("noise_sigma")
    if isinstance(noise, Mapping) and noise:
        lines.append(
            "- Noise: additive, SD per sqrt(ms) "
            + ", ".join(f"`{p}` {_fmt(v)}" for p, v in noise.items())
            + "."
        )
    elif noise is not None and not isinstance(noise, Mapping):
        lines.append(f"- Noise: additive, SD {_fmt(float(noise))} per sqrt(ms).")
    else:
        lines.append("- Noise: not stated.")
    run_s, n_vol = d.get("run_length_s"), d.get("n_volumes")
    if run_s is not None:
        vol = f" ({int(n_vol)} volumes at TR {_fmt(d.get('tr_s'))} s)" if n_vol else ""
        lines.append(f"- Run length: {_fmt(float(run_s))} s of post-transient BOLD{vol}.")
    else:
        lines.append("- Run length: not stated.")
    lines.append(
        "- Noise ceiling: "
        + ("reported below." if NOISE_CEILING_METRIC in diagnostics else "not computed.")
    )
    lines.append(
        "- Regime check: "
        + (
            "reported below."
            if diagnostics & set(_regime.REGIME_METRICS)
            else "not in the study table."
        )
    )
    return lines


def _on_off(v) -> str:
    if v is None:
        return "not a switch of this preset"
    return "on" if bool(v) else "off"


def summary_markdown(
    stats_table: pd.DataFrame,
    n_subjects: int,
    chosen_G: pd.DataFrame | None = None,
    *,
    alpha: float = 0.05,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
    table: pd.DataFrame | None = None,
    primary: Iterable[Mapping[str, str]] | None = None,
    design: Mapping | None = None,
    regime_max_share: float = 0.0,
) -> str:
    """A short Markdown report of :func:`paired_comparison`'s table.

    States n, the tests, the design (``design``: optional keys ``fic`` (bool, or preset ->
    bool/None), ``noise_sigma`` (number or preset -> number), ``run_length_s``, ``n_volumes``,
    ``tr_s``; see :func:`study_design`), the G rule and each model's G; then per preset the
    primary family in full, each secondary family's significant regions and counts, and the
    descriptive metrics by direction (never better/worse). With the study ``table`` it also
    reports the noise ceiling beside fc_fit and the regime check (:func:`regime_summary`,
    with ``regime_max_share``).
    """
    endpoints = parse_primary(primary)
    compared = set(zip(stats_table["metric"], stats_table["region"], strict=True))
    diagnostics = set() if table is None else set(table["metric"])
    lines = [
        f"# {model_b} vs {model_a}: paired comparison",
        "",
        f"- Subjects: n = {n_subjects} (seeds averaged within subject; differences are "
        f"{model_b} - {model_a}).",
        "- Tests: Wilcoxon signed-rank (primary; exact when no ties/zeros), paired t test; "
        "effect sizes Cohen's d_z and rank-biserial r; 95 % percentile bootstrap CI of the mean "
        "difference; Benjamini-Hochberg q within each family of a preset (primary; "
        f"secondary:<metric>). Significant: Wilcoxon q < {alpha}.",
        "- Better (declared once): larger fc_fit; smaller fcd_ks, bold_mae, fc_profile_error. "
        "Rates and spectral features are descriptive.",
    ]
    if chosen_G is not None and len(chosen_G):
        if "subject" in chosen_G.columns:
            desc = "; ".join(
                f"{m} ({p}): " + ", ".join(f"{r.subject} G = {r.G:g}" for r in grp.itertuples())
                for (m, p), grp in chosen_G.groupby(["model", "preset"], sort=True)
            )
            lines.append(f"- G per subject and model (rule `{chosen_G['rule'].iloc[0]}`): {desc}.")
        else:
            desc = ", ".join(
                f"{r.model} ({r.preset}): G = {r.G:g} (mean FC fit {_fmt(r.score)})"
                for r in chosen_G.itertuples()
            )
            rule = chosen_G["rule"].iloc[0] if "rule" in chosen_G else "in_sample_max_mean_fc_fit"
            lines.append(f"- G per model (rule `{rule}`): {desc}.")
    if n_subjects < 6:
        lines.append(
            f"- Note: with n = {n_subjects} the exact two-sided Wilcoxon p cannot go below "
            f"{2 / 2**n_subjects:.3g}; no comparison can be significant at q < {alpha} if that "
            "bound exceeds it."
        )
    lines += [""] + _design_lines(design, endpoints, chosen_G, compared, diagnostics)
    if table is not None:
        ceiling = _ceiling_lines(table, chosen_G)
        if ceiling:
            lines += ["", "## Noise ceiling", ""] + ceiling
        regime = regime_summary(table, max_share=regime_max_share)
        if regime:
            lines += ["", "## Regime check", ""] + regime
    for preset, tab in stats_table.groupby("preset", sort=True):
        if "family" not in tab:
            tab = tab.assign(
                family=[
                    family_of(m, r, endpoints) for m, r in zip(tab.metric, tab.region, strict=True)
                ]
            )
        lines += ["", f"## Preset `{preset}`", ""]
        prim = tab[tab.family == "primary"]
        order = {ep: i for i, ep in enumerate(endpoints)}
        prim = prim.iloc[
            np.argsort([order.get(k, 99) for k in zip(prim.metric, prim.region, strict=True)])
        ]
        lines += [f"### Primary endpoints (family `primary`, {len(prim)} test(s))", ""]
        lines.append(
            "| metric | region | n | mean diff | 95 % CI | d_z | p (Wilcoxon) | q | better |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for r in prim.itertuples():
            lines.append(
                f"| {r.metric} | {r.region} | {r.n} | {_fmt(r.mean_diff)} | [{_fmt(r.ci_low)}, "
                f"{_fmt(r.ci_high)}] | {_fmt(r.d_z)} | {_fmt(r.p_w)} | {_fmt(r.q_w)} | "
                f"{r.better}{' *' if r.significant else ''} |"
            )
        label = [
            f"{m}/{g}" if g != "global" else m
            for m, g in zip(prim.metric, prim.region, strict=True)
        ]
        sig = ", ".join(x for x, s in zip(label, prim.significant, strict=True) if s) or "none"
        ns = ", ".join(x for x, s in zip(label, prim.significant, strict=True) if not s) or "none"
        lines += ["", f"Primary, significant (q < {alpha}): {sig}. Not significant: {ns}."]
        sec = tab[tab.family.str.startswith("secondary:")]
        if len(sec):
            lines += ["", "### Secondary families (BH within each metric)", ""]
        for family, m in sec.groupby("family", sort=True):
            s = m[m.significant]
            lines.append(
                f"- `{family}`: {len(s)} of {len(m)} comparisons significant "
                f"({int((s.better == model_b).sum())} favour {model_b}, "
                f"{int((s.better == model_a).sum())} favour {model_a}); "
                f"{int(m.p_w.isna().sum())} untestable."
            )
            for r in s.itertuples():
                lines.append(
                    f"  - {r.region}: mean diff {_fmt(r.mean_diff)} "
                    f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}], d_z {_fmt(r.d_z)}, "
                    f"q {_fmt(r.q_w)}, better: {r.better}"
                )
        desc = tab[tab.family == "descriptive"]
        if len(desc):
            lines += [
                "",
                "### Descriptive (family `descriptive`: no FDR, no significance, no better/worse)",
                "",
            ]
        for metric, m in desc.groupby("metric", sort=True):
            hi = int((m.direction == f"{model_b} higher").sum())
            lo = int((m.direction == f"{model_b} lower").sum())
            text = (
                f"- `{metric}`: {model_b} higher than {model_a} in {hi}, lower in {lo} of "
                f"{len(m)} regions (mean diff {_fmt(m.mean_diff.mean())})"
            )
            if "target" in m and (m.target != "").any():
                c = m.closer_to_target
                text += (
                    f"; physiological range {m.target.iloc[0]}: closer to it {model_b} in "
                    f"{int((c == model_b).sum())}, {model_a} in {int((c == model_a).sum())}, "
                    f"both within in {int((c == 'both within').sum())}"
                )
            lines.append(text + ".")
        notes = tab[tab.note != ""]
        if len(notes):
            lines += ["", "### Notes", ""]
            for r in notes.itertuples():
                lines.append(f"- {r.metric} / {r.region} ({r.family}): {r.note}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The stats stage in one call
# ---------------------------------------------------------------------------------------------


def _preset_value(preset: Mapping, dotted: str, overrides: Mapping | None):
    if overrides and dotted in overrides:
        return overrides[dotted]
    node = preset
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def study_design(
    *,
    presets: Iterable[str],
    overrides: Mapping | None = None,
    noise_sigma: float | None = None,
    duration_ms: float | None = None,
    bold_transient_s: float | None = None,
    tr_s: float | None = None,
) -> dict:
    """The design facts :func:`summary_markdown` states, from the study config.

    ``presets``: simulated preset names; ``overrides``: ``network.overrides`` (dotted key ->
    value); ``noise_sigma``: ``simulation.noise_sigma`` (None = each preset's
    ``integration.noise_sigma``); run length = ``duration_ms`` / 1000 - ``bold_transient_s``
    (s), volumes = floor(run length / ``tr_s``). FIC per preset from ``wongwang.fic`` (a bool,
    or a mapping whose ``enabled`` is read, default on); None where the preset has no such key.
    """
    from cmftvb.models.presets import load_preset

    fic, noise = {}, {}
    for name in presets:
        p = load_preset(name)
        f = _preset_value(p, "wongwang.fic", overrides)
        if isinstance(f, Mapping):
            f = f.get("enabled", True)
        fic[name] = None if f is None else bool(f)
        ns = noise_sigma
        if ns is None:
            ns = _preset_value(p, "integration.noise_sigma", overrides)
        noise[name] = None if ns is None else float(ns)
    out: dict = {"fic": fic, "noise_sigma": noise, "tr_s": tr_s}
    if duration_ms is not None and bold_transient_s is not None:
        run_s = float(duration_ms) / 1000.0 - float(bold_transient_s)
        out["run_length_s"] = run_s
        if tr_s:
            out["n_volumes"] = int(math.floor(run_s / float(tr_s) + 1e-9))
    return out


def study_stats(
    table: pd.DataFrame,
    *,
    best_G_rule: str = "loso",
    fixed_G: float | None = None,
    primary: Iterable[Mapping[str, str]] | None = None,
    n_boot: int = N_BOOT,
    bootstrap_seed: int = 0,
    alpha: float = 0.05,
    regime_max_share: float = 0.0,
    design: Mapping | None = None,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The stats stage: (best_G table, comparison table, Markdown summary).

    G is chosen by ``best_G_rule`` (:func:`best_g`); without empirical BOLD (no global
    fc_fit) only ``fixed`` can choose, and otherwise every G is compared separately (column
    ``G`` of the comparison; empty best_G table). ``design``: keyword arguments of
    :func:`study_design` (or None). The other options go to :func:`paired_comparison` and
    :func:`summary_markdown`.
    """
    _check(table)
    endpoints = [{"metric": m, "region": r} for m, r in parse_primary(primary)]
    facts = study_design(**design) if design else None
    n_subjects = table["subject"].nunique()
    options = {"n_boot": n_boot, "seed": bootstrap_seed, "alpha": alpha, "primary": endpoints}
    options |= {"model_a": model_a, "model_b": model_b}
    report = {"alpha": alpha, "model_a": model_a, "model_b": model_b, "primary": endpoints}
    report |= {"table": table, "design": facts, "regime_max_share": regime_max_share}
    has_fit = ((table.metric == "fc_fit") & (table.region == "global")).any()
    rule = _canonical_rule(best_G_rule)
    if has_fit or rule == "fixed":
        chosen = best_g(table, rule, fixed_G=fixed_G)
        comparison = paired_comparison(table, chosen_G=chosen, **options)
        summary = summary_markdown(comparison, n_subjects, chosen, **report)
        return chosen, comparison, summary
    chosen = pd.DataFrame(columns=["model", "preset", "G", "score", "n_subjects", "rule"])
    parts, texts = [], []
    for G, sub in table.groupby("G", sort=True):
        part = paired_comparison(sub, **options)
        parts.append(part.assign(G=G))
        texts.append(f"## G = {G:g}\n\n" + summary_markdown(part, n_subjects, **report))
    summary = (
        "No empirical BOLD in this study, so no G could be chosen by FC fit; the models are "
        "compared at every G separately.\n\n" + "\n\n".join(texts)
    )
    return chosen, pd.concat(parts, ignore_index=True), summary
