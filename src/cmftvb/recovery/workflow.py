"""Workflow steps of model recovery (issue 11; rules recovery_fitness and recovery).

:func:`score_synthetic` scores one fitting run (its signals) against one generator's synthetic
BOLD (:mod:`cmftvb.signals.synthetic`) at each truncation length (:func:`length_volumes`), every
node scored and, for a cerebral-only scope, the cerebellar nodes masked
(:func:`cmftvb.recovery.masked_run_table`); :func:`recovery_tables` turns the stacked tables
into the confusion and power tables (:func:`cmftvb.recovery.confusion`,
:func:`cmftvb.recovery.power`) of both scopes. Lengths in s; BOLD dimensionless.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.recovery import (
    DEFAULT_ENDPOINTS,
    Endpoint,
    confusion,
    masked_run_table,
    power,
)

__all__ = ["FULL", "length_volumes", "recovery_tables", "score_synthetic"]

#: Value of ``length_s`` for the whole run (no truncation) in tables and configs.
FULL = "full"


def length_volumes(lengths_s: Sequence[float | str], available: int, tr_s: float):
    """``(length_s, volumes)`` per truncation length: ``round(length_s / tr_s)`` volumes (a
    length longer than the ``available`` volumes is a :class:`CmftvbError`), ``"full"`` ->
    (``available * tr_s`` rounded to ms, ``available``): tables state the full length in s."""
    out = []
    for length in lengths_s:
        if length == FULL:
            out.append((round(int(available) * tr_s, 3), int(available)))
            continue
        n = int(round(float(length) / tr_s))
        if n > available:
            raise CmftvbError(
                f"length {length} s needs {n} volumes at TR {tr_s} s, the runs have {available} "
                "(lengthen the runs or drop the length)"
            )
        out.append((float(length), n))
    return out


def score_synthetic(
    signals: Mapping,
    synthetic: np.ndarray,
    connectome,
    *,
    keys: Mapping,
    generator: str,
    lengths_s: Sequence[float | str],
    keep_group: str | None,
    bandpass_hz,
    filter_order: int,
    filter_simulated: bool,
    fcd_window_s: float,
    fcd_step_s: float,
) -> pd.DataFrame:
    """Score each seed of a fitting run against a generator's synthetic BOLD at each length.

    ``signals``: arrays of a :data:`cmftvb.io.SIGNALS` file (``bold`` (S, T, N), ``seeds``,
    ``tr_s`` in s); ``synthetic``: the generator's raw BOLD (T', N) on every node at the same
    TR. Both are cut to the first ``volumes`` of each length (:func:`length_volumes`, available =
    the shorter of the two), then the synthetic BOLD is preprocessed like real BOLD
    (:func:`cmftvb.fitness.preprocess_bold`) and the simulated one too when
    ``filter_simulated``. Rows: :func:`cmftvb.fitness.run_table` with every node scored, plus,
    when ``keep_group`` names a role group (``cerebral``), the same on those nodes only under
    :data:`MASKED_METRICS` names (:func:`masked_run_table`); columns ``generator`` and
    ``length_s`` (the full run's length in s for ``"full"``) added.
    """
    from cmftvb import fitness
    from cmftvb.connectome.roles import ROLE_GROUPS

    tr_s = float(signals["tr_s"])
    syn = np.asarray(synthetic, dtype=np.float64)
    sim_all = np.asarray(signals["bold"], dtype=np.float64)
    N = sim_all.shape[2]
    if syn.ndim != 2 or syn.shape[1] != N:
        raise CmftvbError(f"synthetic BOLD has shape {syn.shape}; expected (T, {N})")
    window, step = fitness.fcd_steps(tr_s, fcd_window_s, fcd_step_s)
    every = np.ones(N, dtype=bool)
    keep = None
    if keep_group is not None:
        keep = np.isin(np.asarray(connectome.roles), ROLE_GROUPS[keep_group])
    band = tuple(bandpass_hz)
    frames = []
    for length, n in length_volumes(lengths_s, min(sim_all.shape[1], syn.shape[0]), tr_s):
        emp = fitness.preprocess_bold(syn[:n], tr_s, band=band, order=filter_order)
        for k, seed in enumerate(int(s) for s in signals["seeds"]):
            sim = sim_all[k, :n]
            if filter_simulated:
                sim = fitness.preprocess_bold(sim, tr_s, band=band, order=filter_order)
            kw = dict(
                **keys,
                seed=seed,
                sim_bold=sim,
                emp_bold=emp,
                labels=connectome.labels,
                has_empirical=every,
                fcd_window=window,
                fcd_step=step,
            )
            parts = [fitness.run_table(**kw)]
            if keep is not None:
                parts.append(masked_run_table(keep=keep, **kw))
            frames.append(pd.concat(parts, ignore_index=True).assign(length_s=length))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "generator", str(generator))
    return out


def recovery_tables(
    table: pd.DataFrame,
    *,
    region_roles: Mapping[str, str],
    endpoints: Sequence[str | Endpoint] = DEFAULT_ENDPOINTS,
    keep_group: str | None = "cerebral",
    n_subjects: Sequence[int] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    test: str = "wilcoxon",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(confusion, power) of a stacked table of :func:`score_synthetic` rows (columns
    ``generator`` and ``length_s``): :func:`confusion` and :func:`power` with every node scored
    (scope ``all``) and, when ``keep_group`` is given, with only the regions of that role group
    (scope ``<keep_group>``, e.g. ``cerebral``: a cohort without cerebellar BOLD). ``n_subjects``
    None or empty: 3 .. cohort size (2 .. size for a cohort smaller than 3)."""
    from cmftvb.connectome.roles import ROLE_GROUPS

    scopes: list[tuple[str, Collection[str] | None]] = [("all", None)]
    if keep_group is not None:
        kept = {r for r, role in region_roles.items() if role in ROLE_GROUPS[keep_group]}
        scopes.append((keep_group, kept))
    size = int(table["subject"].nunique())
    ns = list(n_subjects) if n_subjects else list(range(min(3, size), size + 1))
    common = dict(endpoints=endpoints, alpha=alpha, region_roles=region_roles, test=test)
    conf, pw = [], []
    for scope, kept in scopes:
        conf.append(confusion(table, keep_regions=kept, scope=scope, **common))
        pw.append(
            power(
                table,
                n_subjects=ns,
                n_resamples=n_resamples,
                seed=seed,
                keep_regions=kept,
                scope=scope,
                **common,
            )
        )
    return pd.concat(conf, ignore_index=True), pd.concat(pw, ignore_index=True)
