"""Connectome figures (STUDY.md stage 1 output): log-weights matrix with role blocks."""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from cmftvb.connectome.core import Connectome
from cmftvb.connectome.roles import ROLES
from cmftvb.figures import style


def role_runs(roles: Iterable[str]) -> list[tuple[str, int, int]]:
    """Consecutive runs of equal role: ``(role, start, stop)`` with ``stop`` exclusive."""
    roles = list(roles)
    runs = []
    start = 0
    for i in range(1, len(roles) + 1):
        if i == len(roles) or roles[i] != roles[start]:
            runs.append((str(roles[start]), start, i))
            start = i
    return runs


def connectome_weights(connectome: Connectome, *, title: str | None = None) -> Figure:
    """``log10`` weights ``W[target, source]`` of a connectome, nodes in file order.

    Zero weights are shown blank. Lines separate runs of nodes with the same role and the runs
    are named along both axes (:data:`~cmftvb.figures.style.ROLE_NAMES`); the colour bar gives
    ``log10(weight)`` (weights dimensionless, as normalised in ``meta["preparation"]``); the
    node count per role is written at the bottom. ``title`` defaults to the subject (or
    source) named in the connectome's metadata.
    """
    w = connectome.weights
    with np.errstate(divide="ignore"):
        logw = np.where(w > 0, np.log10(np.where(w > 0, w, 1.0)), np.nan)
    fig = Figure(figsize=(8.0, 7.0), dpi=120)
    ax = fig.subplots()
    if np.isfinite(logw).any():
        lo, hi = np.nanpercentile(logw, 1), np.nanmax(logw)
    else:
        lo, hi = -1.0, 0.0
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    im = ax.imshow(logw, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    runs = role_runs(connectome.roles)
    for _, a, _ in runs[1:]:
        ax.axhline(a - 0.5, color="k", lw=0.6)
        ax.axvline(a - 0.5, color="k", lw=0.6)
    ticks = [(a + b - 1) / 2 for _, a, b in runs]
    names = [style.role_name(r) for r, _, _ in runs]
    ax.set_xticks(ticks, names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, names, fontsize=7)
    ax.set_xlabel(f"source node (N = {connectome.n})")
    ax.set_ylabel("target node")
    ax.set_title(title or str(connectome.meta.get("subject", connectome.meta.get("source", ""))))
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label("log10 weight (normalised, dimensionless)")
    counts = ", ".join(
        f"{style.role_name(r)} {int((connectome.roles == r).sum())}"
        for r in ROLES
        if (connectome.roles == r).any()
    )
    fig.text(0.01, 0.01, counts, fontsize=7)
    fig.tight_layout()
    return fig
