"""Checks of the fitness table and seed averaging (the subject is the unit of replication)."""

from __future__ import annotations

import pandas as pd

from cmftvb import CmftvbError
from cmftvb.fitness import NOISE_CEILING_METRIC

KEYS = ["subject", "model", "preset", "G", "metric", "region"]
_REQUIRED = set(KEYS) | {"value"}


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
