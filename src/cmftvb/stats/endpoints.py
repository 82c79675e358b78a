"""Declared directions, primary endpoints, families and the cerebellar-cortex means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from cmftvb import CmftvbError

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
