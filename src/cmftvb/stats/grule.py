"""Choice of G: leave one subject out, fixed, or in-sample (see :mod:`cmftvb.stats`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.stats.tables import _check, average_seeds

#: G rules of :func:`best_g`; ``max_mean_fc_fit`` is accepted as a deprecated alias.
G_RULES = ("loso", "fixed", "in_sample_max_mean_fc_fit")
_RULE_ALIASES = {"max_mean_fc_fit": "in_sample_max_mean_fc_fit"}


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
