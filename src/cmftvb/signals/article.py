"""Workflow glue of the article's analyses (issue 12): from the workflow's files (a packed
simulation batch, the signals' feature tables, the study table) to the inputs of
:mod:`cmftvb.signals.analyses` and :mod:`cmftvb.figures.article`.

Units: rates in Hz, time in ms, as the names say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.signals import analyses
from cmftvb.signals import names as nm
from cmftvb.signals.run import padded

__all__ = [
    "DIFFERENCE",
    "flatmap_panels",
    "group_means",
    "input_shares_of_batch",
    "rate_traces_of_batch",
]


def _variables(sim: Mapping[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Every monitored variable of lane ``k`` as (T, N), NaN where a node lacks it."""
    return {
        var: padded(sim, var, k)
        for var in sim
        if nm.nodes_key(var) in sim and not var.startswith("nodes_")
    }


def input_shares_of_batch(
    sim: Mapping[str, np.ndarray],
    connectome: Any,
    network: Any,
    *,
    monitor_period_ms: float,
    transient_s: float = 2.0,
    lane: int = 0,
) -> pd.DataFrame:
    """The article's Table 5 at a simulated steady state: :func:`analyses.input_shares` with
    the rates and Wong-Wang states averaged over lane ``lane`` of a packed batch after
    ``transient_s`` (:func:`analyses.simulation_means`). Raises :class:`CmftvbError` if the
    network has no cerebellar mean-field node."""
    variables = _variables(sim, lane)
    skip = int(round(float(transient_s) * 1000.0 / float(monitor_period_ms)))
    n_time = next(iter(variables.values())).shape[0]
    if skip >= n_time:
        raise CmftvbError(f"input shares: the run ({n_time} samples) is shorter than its transient")
    state, rates = analyses.simulation_means(variables, network.node_model, skip=skip)
    return analyses.input_shares(connectome, network, rates, state)


def rate_traces_of_batch(
    sim: Mapping[str, np.ndarray],
    roles: Sequence[str],
    *,
    label: str = "CrusII",
    side: str = "L",
    seconds: float = 3.0,
    transient_s: float = 2.0,
    lane: int = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    """GrC, GoC, MLI, PC rates (Hz) of one cerebellar-cortex node (:func:`analyses.find_node`)
    over ``seconds`` s from ``transient_s`` s, lane ``lane`` of a packed batch.

    Returns ``(time_ms (T,), {population: (T,) Hz}, node label)``; the rates are the stored
    means over the monitor period (e.g. 4 ms), not instantaneous values.
    """
    labels = [str(s) for s in sim["labels"]]
    node = analyses.find_node(labels, roles, label, side)
    t = np.asarray(sim["time_ms"], dtype=np.float64)
    sel = (t >= t[0] + 1000.0 * transient_s) & (t < t[0] + 1000.0 * (transient_s + seconds))
    rates = {}
    for pop in analyses.POPS:
        if pop in sim and node in set(np.asarray(sim[nm.nodes_key(pop)]).tolist()):
            rates[pop] = padded(sim, pop, lane)[sel, node] * 1000.0  # kHz -> Hz
    return t[sel], rates, labels[node]


def group_means(
    table: pd.DataFrame,
    metric: str,
    by: Iterable[str] = ("model",),
    best_g: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Per region, the mean of ``metric`` over subjects (seeds averaged within subject first)
    for each group of ``by`` (columns of ``table``, the study's tidy table or a features
    table with those columns added). With ``best_g`` (model -> G), only runs at that G.
    Returns columns ``*by, region, value`` (NaN values dropped first)."""
    by = list(by)
    t = table[(table["metric"] == metric) & np.isfinite(table["value"])]
    if best_g is not None and "G" in t:
        keep = [best_g.get(str(m)) == float(g) for m, g in zip(t["model"], t["G"], strict=True)]
        t = t[np.asarray(keep, dtype=bool)]
    keys = [*by, "region"]
    if "subject" in t:
        t = t.groupby([*keys, "subject"], sort=False)["value"].mean().reset_index()
    return t.groupby(keys, sort=False)["value"].mean().reset_index()


#: Name of the model-difference panel of :func:`flatmap_panels`.
DIFFERENCE = "cMF - homogeneous"


def flatmap_panels(
    table: pd.DataFrame, metric: str, subject: str, best_g: Mapping[str, float] | None = None
) -> dict[str, dict[str, float]]:
    """Panels of a cerebellar flatmap: panel name -> {region: value}.

    From ``table`` (tidy, with columns subject, model, metric, region, value; G and seed
    optional): per model the group mean (:func:`group_means`, at ``best_g`` when given), then
    :data:`DIFFERENCE` (cMF minus homogeneous, regions both have) when both models are there,
    then each model's value for ``subject``. Homogeneous panels come before cMF ones.
    """

    def by_model(t):
        return {
            str(m): dict(zip(g["region"], g["value"], strict=True))
            for m, g in t.groupby("model", sort=True)
        }

    order = {"homogeneous": 0, "cmf": 1}
    means = by_model(group_means(table, metric, ["model"], best_g))
    one = by_model(group_means(table[table["subject"] == subject], metric, ["model"], best_g))
    panels = {f"{m}: group mean": means[m] for m in sorted(means, key=lambda m: order.get(m, 2))}
    if {"cmf", "homogeneous"} <= set(means):
        a, b = means["cmf"], means["homogeneous"]
        panels[DIFFERENCE] = {r: a[r] - b[r] for r in a if r in b}
    for m in sorted(one, key=lambda m: order.get(m, 2)):
        panels[f"{m}: subject {subject}"] = one[m]
    return panels
