"""Dynamical regime of one run: is the network at a resting, physiological operating point?

A comparison of two network models means little when the baseline runs saturated (Wong-Wang
excitatory rates of tens to hundreds of Hz, S_E near 1). :func:`regime_check` measures, for one
run, from per-node *time-averaged* quantities (post-transient):

- the share of Wong-Wang nodes whose mean excitatory rate r_E (Hz) lies outside a band
  (default 1-10 Hz, the ``r_E`` range of ``signals/physiology.yaml``; resting cortex fires at a
  few Hz, and feedback inhibition control targets about 3 Hz: Deco et al. 2014, J Neurosci
  34:7886);
- the share of Wong-Wang nodes whose mean S_E exceeds 0.9 (NMDA gating saturated; S_E is
  dimensionless in [0, 1]);
- the share of cerebellar (node, population) pairs (GrC, GoC, MLI, PC) whose mean rate (Hz) lies
  outside that population's range in ``signals/physiology.yaml``.

A node whose mean is not finite (a diverged run) counts as outside. The results go into the
study table as rows with region ``"global"`` and the metric names below
(:func:`regime_rows`); :func:`cmftvb.stats.regime_summary` reports them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.signals.ephys import physiological_ranges

__all__ = [
    "CRBL_POPULATIONS",
    "DEFAULT_BAND_HZ",
    "REGIME_CRBL_OUT_OF_RANGE",
    "REGIME_METRICS",
    "REGIME_SE_SATURATED",
    "REGIME_WW_OUT_OF_BAND",
    "SE_SATURATION",
    "regime_check",
    "regime_rows",
]

#: Study-table metric: share (0-1) of Wong-Wang nodes whose mean r_E is outside the band.
REGIME_WW_OUT_OF_BAND = "regime_ww_out_of_band_share"
#: Study-table metric: share (0-1) of Wong-Wang nodes whose mean S_E exceeds SE_SATURATION.
REGIME_SE_SATURATED = "regime_SE_saturated_share"
#: Study-table metric: share (0-1) of cerebellar (node, population) pairs outside their range.
REGIME_CRBL_OUT_OF_RANGE = "regime_crbl_out_of_range_share"
#: The three regime metrics, in report order.
REGIME_METRICS = (REGIME_WW_OUT_OF_BAND, REGIME_SE_SATURATED, REGIME_CRBL_OUT_OF_RANGE)

#: Default band (Hz) of a resting Wong-Wang excitatory rate: physiology.yaml's r_E range.
DEFAULT_BAND_HZ = (1.0, 10.0)
#: Mean S_E above which a node counts as saturated (dimensionless).
SE_SATURATION = 0.9
#: Cerebellar populations checked against physiology.yaml.
CRBL_POPULATIONS = ("GrC", "GoC", "MLI", "PC")


def _vector(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise CmftvbError(f"regime_check: {name} must be 1-D (one mean per node), got {a.shape}")
    return a


def _outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """True where a value is outside [low, high] or not finite."""
    with np.errstate(invalid="ignore"):
        return ~(np.isfinite(values) & (values >= low) & (values <= high))


def regime_check(
    r_E_hz,
    S_E,
    *,
    crbl_rates_hz: Mapping[str, object] | None = None,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    se_saturation: float = SE_SATURATION,
    ranges: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, float]:
    """Regime shares of one run from per-node time-averaged rates and gating.

    ``r_E_hz`` (n_ww,): mean excitatory rate (Hz) of every Wong-Wang node (cerebral and DCN),
    over the post-transient part of the run. ``S_E`` (n_ww,): mean S_E of the same nodes.
    ``crbl_rates_hz``: population name (GrC, GoC, MLI, PC) -> (n_crbl,) mean rates (Hz) of the
    cerebellar-cortex nodes; None or empty for a network without cerebellar mean-field nodes.
    ``band_hz``: (low, high) of the resting r_E band, inclusive. ``se_saturation``: S_E above
    this counts as saturated. ``ranges``: population -> {low_hz, high_hz}; default
    :func:`cmftvb.signals.ephys.physiological_ranges` (``signals/physiology.yaml``).

    Returns ``{REGIME_WW_OUT_OF_BAND: share, REGIME_SE_SATURATED: share}`` plus
    ``REGIME_CRBL_OUT_OF_RANGE`` when cerebellar rates are given; each share is in [0, 1].
    Non-finite means count as outside (and as saturated).
    """
    r = _vector(r_E_hz, "r_E_hz")
    s = _vector(S_E, "S_E")
    if r.shape != s.shape:
        raise CmftvbError(f"regime_check: {r.size} r_E means but {s.size} S_E means")
    if r.size == 0:
        raise CmftvbError("regime_check: no Wong-Wang nodes")
    low, high = (float(v) for v in band_hz)
    if not 0 <= low < high:
        raise CmftvbError(f"regime_check: band_hz must satisfy 0 <= low < high, got {band_hz}")
    with np.errstate(invalid="ignore"):
        saturated = ~(np.isfinite(s) & (s <= se_saturation))
    out = {
        REGIME_WW_OUT_OF_BAND: float(_outside(r, low, high).mean()),
        REGIME_SE_SATURATED: float(saturated.mean()),
    }
    if crbl_rates_hz:
        ranges = physiological_ranges() if ranges is None else ranges
        n_out = n_all = 0
        for pop, values in crbl_rates_hz.items():
            if pop not in ranges:
                raise CmftvbError(
                    f"regime_check: population {pop!r} has no range in physiology.yaml "
                    f"(known: {', '.join(sorted(ranges))})"
                )
            v = _vector(values, f"crbl_rates_hz[{pop!r}]")
            rng = ranges[pop]
            n_out += int(_outside(v, float(rng["low_hz"]), float(rng["high_hz"])).sum())
            n_all += v.size
        if n_all:
            out[REGIME_CRBL_OUT_OF_RANGE] = n_out / n_all
    return out


def regime_rows(check: Mapping[str, float]) -> pd.DataFrame:
    """Rows (metric, region, value) of a :func:`regime_check` result for the study table
    (region ``"global"``; see :func:`cmftvb.fitness.run_table`'s ``extra``)."""
    unknown = set(check) - set(REGIME_METRICS)
    if unknown:
        raise CmftvbError(f"regime_rows: unknown regime metric(s) {sorted(unknown)}")
    rows = [(m, "global", float(check[m])) for m in REGIME_METRICS if m in check]
    return pd.DataFrame(rows, columns=["metric", "region", "value"])
