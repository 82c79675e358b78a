"""Selecting what a figure draws from the study's tidy table: checks, chosen G, summaries.

The tidy table is :func:`cmftvb.fitness.run_table`'s (columns
:data:`cmftvb.fitness.TABLE_COLUMNS`: ``subject, model, preset, G, seed, metric, region,
value``; ``region`` is ``'global'`` or a node label). Seeds are averaged within subject before
anything is summarised across subjects (STUDY.md stage 6); confidence intervals are Student-t
95 % intervals across subjects.

The chosen-G rule lives here once (:func:`chosen_g`, :func:`is_chosen`, :func:`at_chosen_g`):
each model is compared at its own chosen G (issue 4 item 4), given as ``{model: G}`` or as the
table of :func:`cmftvb.stats.best_g` (columns ``model, preset, G``); ``None`` or an empty table
means no G was chosen (a single-G study) and keeps every row.
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
    """``{model: G}`` from a mapping or from :func:`cmftvb.stats.best_g`'s table.

    With a table, ``preset`` picks its rows (when it has a ``preset`` column). Returns None when
    nothing was chosen (``None``, an empty mapping or no rows for the preset).
    """
    if chosen_G is None:
        return None
    if isinstance(chosen_G, pd.DataFrame):
        if not {"model", "G"} <= set(chosen_G.columns):
            raise CmftvbError(f"{what}: chosen_G table needs columns model and G")
        c = chosen_G
        if preset is not None and "preset" in c.columns:
            c = c[c["preset"].astype(str) == preset]
        if c["model"].duplicated().any():
            raise CmftvbError(f"{what}: chosen_G has several rows per model; pass preset=")
        out = {str(m): float(g) for m, g in zip(c["model"], c["G"], strict=True)}
    elif isinstance(chosen_G, Mapping):
        out = {str(m): float(g) for m, g in chosen_G.items()}
    else:
        raise CmftvbError(f"{what}: chosen_G must be {{model: G}} or a best_g table")
    return out or None


def is_chosen(chosen: Mapping[str, float] | None, model: str, G: float) -> bool:
    """Whether a run of ``model`` at coupling ``G`` is at that model's chosen G.

    ``chosen`` as returned by :func:`chosen_g`; with None every run is kept, and a model that
    has no chosen G is left out.
    """
    if chosen is None:
        return True
    g = chosen.get(str(model))
    return g is not None and bool(np.isclose(float(G), g))


def at_chosen_g(table: pd.DataFrame, chosen_G: ChosenG, preset: str | None = None) -> pd.DataFrame:
    """Rows of ``table`` (columns ``model`` and ``G``) at each model's chosen G (see module)."""
    chosen = chosen_g(chosen_G, preset)
    if chosen is None:
        return table
    keep = [is_chosen(chosen, m, g) for m, g in zip(table["model"], table["G"], strict=True)]
    return table[np.asarray(keep, dtype=bool)]


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
    for model, sub in t.groupby("model", sort=False):
        gs = [float(x) for x in np.unique(sub["G"].to_numpy(dtype=float))]
        if model in chosen and not np.any(np.isclose(gs, chosen[model])):
            raise CmftvbError(
                f"{what}: chosen G {chosen[model]:g} for model {model!r} not among its G "
                f"values {gs}"
            )
        if model not in chosen and len(gs) > 1:
            raise CmftvbError(
                f"{what}: model {model!r} has several G values {gs}; pass chosen_G={{model: G}}"
            )
    keep = [
        m not in chosen or is_chosen(chosen, m, g) for m, g in zip(t["model"], t["G"], strict=True)
    ]
    return t[np.asarray(keep, dtype=bool)] if len(t) else t


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
