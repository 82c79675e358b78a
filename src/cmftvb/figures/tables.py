"""Selecting what a figure draws from the study's tidy table: checks, chosen G, summaries.

The tidy table is :func:`cmftvb.fitness.run_table`'s (columns
:data:`cmftvb.fitness.TABLE_COLUMNS`: ``subject, model, preset, G, seed, metric, region,
value``; ``region`` is ``'global'`` or a node label). Seeds are averaged within subject before
anything is summarised across subjects (STUDY.md stage 6); confidence intervals are Student-t
95 % intervals across subjects.

The chosen-G rule lives here once (:func:`chosen_g`, :func:`is_chosen`, :func:`at_chosen_g`):
both models are compared at the G chosen by the configured rule (``stats.best_G_rule``), given
as ``{model: G}``, ``{(subject, model): G}`` or the table of :func:`cmftvb.stats.best_g`
(columns ``model, preset, G``, plus ``subject`` for rule ``loso``, where each subject's G is
chosen on the other subjects); ``None`` or an empty table means no G was chosen (a single-G
study) and keeps every row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _sps

from cmftvb import CmftvbError
from cmftvb.fitness import TABLE_COLUMNS

#: Fewest subjects for which a confidence interval is drawn: with n = 2 the 95 % t-interval is
#: ±12.7 SE (t quantile of 1 degree of freedom) and would flatten the data on the axis.
MIN_N_INTERVAL = 3

ChosenG = Mapping[str, float] | pd.DataFrame | None


def check_table(table: Any, what: str, columns: Iterable[str] = TABLE_COLUMNS) -> None:
    """Raise :class:`CmftvbError` unless ``table`` is a non-empty DataFrame with ``columns``."""
    if not isinstance(table, pd.DataFrame):
        raise CmftvbError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CmftvbError(
            f"{what}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, table))})"
        )
    if table.empty:
        raise CmftvbError(f"{what}: the table is empty")


def chosen_g(chosen_G: ChosenG, preset: str | None = None, what: str = "figure") -> dict | None:
    """The chosen G as ``{model: G}``, or ``{(subject, model): G}`` for per-subject choices.

    ``chosen_G``: a mapping of either form, or :func:`cmftvb.stats.best_g`'s table; a table
    with a ``subject`` column (rule ``loso``: each subject's G chosen on the other subjects)
    gives the per-subject form. With a table, ``preset`` picks its rows (when it has a
    ``preset`` column). Returns None when nothing was chosen (``None``, an empty mapping or no
    rows for the preset).
    """
    if chosen_G is None:
        return None
    if isinstance(chosen_G, pd.DataFrame):
        if not {"model", "G"} <= set(chosen_G.columns):
            raise CmftvbError(f"{what}: chosen_G table needs columns model and G")
        c = chosen_G
        if preset is not None and "preset" in c.columns:
            c = c[c["preset"].astype(str) == preset]
        by = ["subject", "model"] if "subject" in c.columns else ["model"]
        if c.duplicated(by).any():
            raise CmftvbError(f"{what}: chosen_G has several rows per {'/'.join(by)}; pass preset=")
        if "subject" in c.columns:
            keys = list(zip(c["subject"].astype(str), c["model"].astype(str), strict=True))
            out = {k: float(g) for k, g in zip(keys, c["G"], strict=True)}
        else:
            out = {str(m): float(g) for m, g in zip(c["model"], c["G"], strict=True)}
    elif isinstance(chosen_G, Mapping):
        out = {
            (str(k[0]), str(k[1])) if isinstance(k, tuple) else str(k): float(g)
            for k, g in chosen_G.items()
        }
    else:
        raise CmftvbError(f"{what}: chosen_G must be {{model: G}} or a best_g table")
    return out or None


def per_subject(chosen: Mapping | None) -> bool:
    """Whether ``chosen`` (from :func:`chosen_g`) holds per-subject choices."""
    return bool(chosen) and any(isinstance(k, tuple) for k in chosen)


def chosen_for(chosen: Mapping | None, model: str, subject: Any = None) -> float | None:
    """The G chosen for ``model`` (for ``subject`` when choices are per subject), or None."""
    if not chosen:
        return None
    if subject is not None and (str(subject), str(model)) in chosen:
        return chosen[(str(subject), str(model))]
    return chosen.get(str(model))


def is_chosen(chosen: Mapping | None, model: str, G: float, subject: Any = None) -> bool:
    """Whether a run of ``model`` at coupling ``G`` (of ``subject``) is at its chosen G.

    ``chosen`` as returned by :func:`chosen_g`; with None every run is kept. Per-subject
    choices need ``subject``; a model (or subject) without a chosen G is left out.
    """
    if chosen is None:
        return True
    g = chosen_for(chosen, model, subject)
    return g is not None and bool(np.isclose(float(G), g))


def _keep(t: pd.DataFrame, chosen: Mapping) -> np.ndarray:
    subj = t["subject"] if "subject" in t.columns else [None] * len(t)
    rows = zip(t["model"], t["G"], subj, strict=True)
    return np.asarray([is_chosen(chosen, m, g, s) for m, g, s in rows], dtype=bool)


def at_chosen_g(table: pd.DataFrame, chosen_G: ChosenG, preset: str | None = None) -> pd.DataFrame:
    """Rows of ``table`` (columns ``model`` and ``G``, and ``subject`` for per-subject choices)
    at the chosen G, as :func:`cmftvb.stats.at_chosen_g` does (see module)."""
    chosen = chosen_g(chosen_G, preset)
    if chosen is None:
        return table
    if per_subject(chosen) and "subject" not in table.columns:
        raise CmftvbError("chosen G is per subject but the table has no subject column")
    return table[_keep(table, chosen)]


def _one_preset(t: pd.DataFrame, preset: str | None, what: str) -> tuple[pd.DataFrame, str]:
    presets = sorted(map(str, t["preset"].unique()))
    if preset is not None:
        if preset not in presets:
            raise CmftvbError(f"{what}: preset {preset!r} not in the table (presets: {presets})")
        return t[t["preset"] == preset], preset
    if len(presets) > 1:
        raise CmftvbError(f"{what}: several presets {presets}; pass preset= to choose one")
    return t, presets[0]


def _one_metric(table: pd.DataFrame, metric: str, what: str) -> pd.DataFrame:
    t = table[table["metric"] == metric]
    if t.empty:
        have = ", ".join(sorted(map(str, table["metric"].unique())))
        raise CmftvbError(f"{what}: metric {metric!r} not in the table (metrics: {have})")
    return t


def select(
    table: pd.DataFrame,
    what: str,
    *,
    metric: str | None = None,
    chosen_G: ChosenG = None,
    preset: str | None = None,
) -> pd.DataFrame:
    """Rows of one metric, one preset and, per model, one G (the chosen one if given).

    Raises when a chosen G was not simulated, or when a model without a chosen G has several.
    """
    t = table if metric is None else _one_metric(table, metric, what)
    t, preset = _one_preset(t, preset, what)
    chosen = chosen_g(chosen_G, preset, what) or {}
    by = ["subject", "model"] if per_subject(chosen) else ["model"]
    for key, sub in t.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        model, subject = str(key[-1]), (key[0] if len(key) > 1 else None)
        g = chosen_for(chosen, model, subject)
        gs = [float(x) for x in np.unique(sub["G"].to_numpy(dtype=float))]
        whose = f"model {model!r}" + (f" of subject {subject}" if subject is not None else "")
        if g is not None and not np.any(np.isclose(gs, g)):
            raise CmftvbError(f"{what}: chosen G {g:g} for {whose} not among its G values {gs}")
        if g is None and len(gs) > 1:
            raise CmftvbError(
                f"{what}: {whose} has several G values {gs} and no chosen G; pass chosen_G="
            )
    if not chosen or not len(t):
        return t
    has = [
        chosen_for(chosen, m, s if per_subject(chosen) else None) is not None
        for m, s in zip(t["model"], t["subject"], strict=True)
    ]
    return t[~np.asarray(has, dtype=bool) | _keep(t, chosen)]


def sweep_rows(
    table: pd.DataFrame, metric: str, region: str, preset: str | None, what: str
) -> tuple[pd.DataFrame, str]:
    """Rows of one metric, region and preset at every G (for curves against G)."""
    t = _one_metric(table, metric, what)
    t = t[t["region"].astype(str) == region]
    if t.empty:
        raise CmftvbError(f"{what}: no rows for metric {metric!r} in region {region!r}")
    return _one_preset(t, preset, what)


def subject_means(t: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Average seeds within subject: one row per (subject, *by)."""
    v = t.assign(value=pd.to_numeric(t["value"], errors="coerce"))
    return v.groupby(["subject", *by], sort=False, as_index=False)["value"].mean()


def mean_ci(x: Any, level: float = 0.95) -> tuple[float, float, int]:
    """Mean, half-width of the Student-t ``level`` interval, and count of finite ``x``.

    The half-width is NaN (no interval drawn) when n < :data:`MIN_N_INTERVAL`.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, 0
    m = float(x.mean())
    if n < MIN_N_INTERVAL:
        return m, math.nan, n
    half = float(_sps.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, half, n


def series_by_group(data: Mapping[Any, Any], what: str, form: str) -> tuple[bool, dict]:
    """Read ``{key: array}`` or ``{group: {key: array}}`` as ``(nested, {group: {key: array}})``.

    The flat form is returned under the group ``""``. ``form`` names the two accepted forms in
    the error raised for a mix of both.
    """
    nested = all(isinstance(v, Mapping) for v in data.values())
    if not nested and any(isinstance(v, Mapping) for v in data.values()):
        raise CmftvbError(f"{what}: give either {form}")
    if nested:
        return True, {str(g): dict(d) for g, d in data.items()}
    return False, {"": dict(data)}
