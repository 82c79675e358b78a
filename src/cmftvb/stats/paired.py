"""Paired tests, bootstrap CI and Benjamini-Hochberg q within families."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from cmftvb import CmftvbError
from cmftvb.stats.endpoints import (
    CRBL_CORTEX_MEAN,
    DIRECTION,
    add_crbl_cortex_means,
    family_of,
    parse_primary,
)
from cmftvb.stats.grule import at_chosen_g
from cmftvb.stats.tables import _check, _is_diagnostic, average_seeds

N_BOOT = 10000

_RATE_SUFFIX = "_rate_hz"


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
    avg = _paired_table(table, endpoints, chosen_G, model_a, model_b)
    out = _test_each(avg, endpoints, model_a, model_b, n_boot=n_boot, seed=seed)
    _add_bh_q(out, alpha)
    _add_direction(out, model_a, model_b)
    _add_target(out, model_a, model_b)
    return out


def _paired_table(table, endpoints, chosen_G, model_a, model_b) -> pd.DataFrame:
    """Seed-averaged rows of the two models, diagnostics out, at the chosen G, with the
    cerebellar-cortex means of the endpoints that need them; one G per subject and model."""
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
    return avg


def _test_each(avg, endpoints, model_a, model_b, *, n_boot: int, seed: int) -> pd.DataFrame:
    """:func:`paired_stats` for every (preset, metric, region) with both models."""
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
    return out[cols + [c for c in out.columns if c not in cols]]


def _add_bh_q(out: pd.DataFrame, alpha: float) -> None:
    """Columns q_w, q_t (BH within each (preset, family), descriptive rows NaN), significant."""
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


def _add_direction(out: pd.DataFrame, model_a: str, model_b: str) -> None:
    """Columns direction (which model is higher) and better (declared-direction metrics)."""
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


def _add_target(out: pd.DataFrame, model_a: str, model_b: str) -> None:
    """Columns target (physiological range of a rate) and closer_to_target."""
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


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
