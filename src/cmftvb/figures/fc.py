"""Functional-connectivity figures: empirical and simulated FC matrices side by side."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cmftvb import CmftvbError, fitness
from cmftvb.figures import style
from cmftvb.figures.tables import ChosenG, chosen_g, is_chosen

_ROLE_ORDER = list(style.ROLE_COLORS)


def empirical_fc(bold: np.ndarray, has_empirical: Sequence[bool]) -> np.ndarray:
    """Empirical FC (N, N) of all N nodes from BOLD (T, k) of the k nodes with data.

    ``has_empirical`` (N,) marks the nodes with data, in the column order of ``bold``; the
    rows and columns of the other nodes are NaN. FC as :func:`cmftvb.fitness.fc`.
    """
    has = np.asarray(has_empirical, dtype=bool)
    idx = np.flatnonzero(has)
    out = np.full((has.size, has.size), np.nan)
    out[np.ix_(idx, idx)] = fitness.fc(bold)
    return out


def mean_fc_by_model(
    runs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    chosen_G: ChosenG = None,
    preset: str | None = None,
) -> dict[str, np.ndarray]:
    """Model -> simulated FC (N, N) averaged over every seed of its runs at its chosen G.

    ``runs``: (arrays, meta) pairs as read by :func:`cmftvb.io.load_npz` from the fitness
    stage's ``fc.npz`` files (``arrays["fc"]`` (S, N, N), one matrix per seed; ``meta`` has
    ``model`` and ``G``, and ``subject`` for per-subject choices: each subject at its own
    chosen G). Runs at other G values are skipped (see
    :func:`cmftvb.figures.tables.is_chosen`).
    """
    chosen = chosen_g(chosen_G, preset, "fc_matrices")
    fcs: dict[str, list[np.ndarray]] = {}
    for arrays, meta in runs:
        if is_chosen(chosen, meta["model"], float(meta["G"]), meta.get("subject")):
            fcs.setdefault(str(meta["model"]), []).extend(arrays["fc"])
    return {m: np.nanmean(np.stack(v), axis=0) for m, v in fcs.items()}


def _check_inputs(emp_fc, sim_fcs, labels, roles, has_empirical) -> tuple:
    what = "fc_matrices"
    emp = np.asarray(emp_fc, dtype=float)
    if emp.ndim != 2 or emp.shape[0] != emp.shape[1]:
        raise CmftvbError(f"{what}: empirical FC is not square (shape {emp.shape})")
    n = emp.shape[0]
    if len(labels) != n or len(roles) != n:
        raise CmftvbError(
            f"{what}: {n} nodes in the FC but {len(labels)} labels and {len(roles)} roles"
        )
    if not sim_fcs:
        raise CmftvbError(f"{what}: no simulated FC given")
    sims = {}
    for model, m in sim_fcs.items():
        a = np.asarray(m, dtype=float)
        if a.shape != (n, n):
            raise CmftvbError(
                f"{what}: simulated FC of {model!r} has shape {a.shape}, expected {(n, n)}"
            )
        sims[str(model)] = a
    unknown = sorted({str(r) for r in roles} - set(_ROLE_ORDER))
    if unknown:
        raise CmftvbError(f"{what}: unknown node role(s) {unknown} (roles: {_ROLE_ORDER})")
    if has_empirical is None:
        off = emp.copy()
        np.fill_diagonal(off, np.nan)
        has = np.isfinite(off).any(axis=1)
    else:
        has = np.asarray(has_empirical, dtype=bool)
        if has.shape != (n,):
            raise CmftvbError(f"{what}: has_empirical has shape {has.shape}, expected ({n},)")
    if has.sum() < 3:
        raise CmftvbError(f"{what}: fewer than 3 nodes have empirical data; no FC fit possible")
    return emp, sims, has


def _role_strips(ax, role_idx: np.ndarray, n: int) -> None:
    """Role strips along the left and top edges (they show small blocks that text cannot)."""
    role_cmap = ListedColormap([style.ROLE_COLORS[r] for r in _ROLE_ORDER])
    strip_w = max(1.0, n / 30)
    lim = {"cmap": role_cmap, "vmin": -0.5, "vmax": len(_ROLE_ORDER) - 0.5}
    left = (-0.5 - 1.3 * strip_w, -0.5 - 0.3 * strip_w, n - 0.5, -0.5)
    top = (-0.5, n - 0.5, -0.5 - 0.3 * strip_w, -0.5 - 1.3 * strip_w)
    ax.imshow(role_idx[:, None], extent=left, interpolation="nearest", **lim)
    ax.imshow(role_idx[None, :], extent=top, interpolation="nearest", **lim)
    ax.set_xlim(-0.5 - 1.4 * strip_w, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5 - 1.4 * strip_w)


def _matrix_frame(ax, name: str, miss, boundaries, role_idx: np.ndarray) -> None:
    """No-data shading (simulated panels), role-block lines and strips, no ticks or spines."""
    n = role_idx.size
    if name != "empirical" and miss.any():
        nodata_overlay = np.zeros((n, n, 4))
        nodata_overlay[miss] = (0.45, 0.45, 0.45, 0.55)
        ax.imshow(nodata_overlay, interpolation="nearest")
    for b in boundaries:
        ax.axhline(b - 0.5, color="white", lw=0.9)
        ax.axvline(b - 0.5, color="white", lw=0.9)
    _role_strips(ax, role_idx, n)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel("source node (grouped by role)")


def _fc_note(has: np.ndarray, roles_arr: np.ndarray) -> str:
    note = (
        f"Nodes grouped by role (coloured strips; white lines separate role blocks; diagonal "
        "left white). "
        f"FC fit = Pearson r between upper triangles of simulated and empirical FC over the "
        f"{int(has.sum())} nodes with empirical BOLD."
    )
    if (~has).any():
        lacking = pd.Series(roles_arr[~has]).value_counts()
        parts = ", ".join(f"{c} {style.role_name(r)}" for r, c in lacking.items())
        note += (
            f" {int((~has).sum())} nodes ({parts}) have no empirical BOLD: grey in the empirical "
            "panel, shaded in the simulated panels, and excluded from the fit."
        )
    return note


@style.styled
def fc_matrices(
    emp_fc: np.ndarray,
    sim_fcs: Mapping[str, np.ndarray],
    labels: Sequence[str],
    roles: Sequence[str],
    *,
    has_empirical: Sequence[bool] | None = None,
    fit_r: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Empirical and simulated FC matrices side by side, on one colour scale (Pearson r).

    ``emp_fc`` (N, N): the subject's empirical FC; rows of nodes without empirical BOLD may be
    NaN (see :func:`empirical_fc`). ``sim_fcs``: model name -> simulated FC (N, N), shown
    homogeneous then cMF (see :func:`mean_fc_by_model`). ``labels``/``roles`` (N,): node
    labels and roles (ARCHITECTURE.md "Node roles"); nodes are grouped by role and role blocks
    are marked. ``has_empirical`` (N,) bool marks nodes with empirical data (default: nodes
    whose empirical row has a finite off-diagonal entry). Panel titles give the global FC fit
    (MODEL.md §9, :func:`cmftvb.fitness.fc_fit`) unless ``fit_r`` supplies it. Nodes without
    empirical data are grey in the empirical panel, shaded in the simulated ones, and the
    figure says so.
    """
    emp, sims, has = _check_inputs(emp_fc, sim_fcs, labels, roles, has_empirical)
    n = emp.shape[0]
    roles_arr = np.asarray([str(r) for r in roles])
    order = np.argsort([_ROLE_ORDER.index(r) for r in roles_arr], kind="stable")
    rk, has_o = roles_arr[order], has[order]
    emp_o = emp[np.ix_(order, order)].copy()
    emp_o[~has_o, :] = np.nan
    emp_o[:, ~has_o] = np.nan
    models = style.models_in(sims)
    panels = [("empirical", emp_o)] + [(m, sims[m][np.ix_(order, order)].copy()) for m in models]
    diag = np.arange(n)
    for name, mat in panels:  # the diagonal (r = 1) is drawn white so it does not set the scale
        mat[diag, diag] = np.where(has_o | (name != "empirical"), 0.0, np.nan)
    fit_r = fit_r or {}
    fits = {
        m: float(fit_r[m]) if m in fit_r else float(fitness.fc_fit(sims[m], emp, has))
        for m in models
    }
    offdiag = ~np.eye(n, dtype=bool)
    vals = np.concatenate([np.abs(p[offdiag]) for _, p in panels])
    vals = vals[np.isfinite(vals)]
    vmax = float(min(1.0, max(0.1, math.ceil((vals.max() if vals.size else 1.0) * 10) / 10)))

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad=style.NODATA_GREY)
    fig = style.new_figure(4.0 * len(panels) + 1.2, 5.6)
    axes = fig.subplots(1, len(panels))
    boundaries = np.flatnonzero(rk[1:] != rk[:-1]) + 1
    role_idx = np.array([_ROLE_ORDER.index(r) for r in rk])
    miss = ~has_o[:, None] | ~has_o[None, :]
    im = None
    for ax, (name, mat) in zip(axes, panels, strict=True):
        im = ax.imshow(mat, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        _matrix_frame(ax, name, miss, boundaries, role_idx)
        if name == "empirical":
            ax.set_ylabel("target node (grouped by role)")
            ax.set_title(f"empirical\n{int(has.sum())} of {n} nodes with BOLD")
        else:
            r_txt = f"{fits[name]:.3f}" if math.isfinite(fits[name]) else "n/a"
            ax.set_title(f"{style.model_name(name)}\nFC fit r = {r_txt}")
            ax.title.set_color(style.model_color(name))
    cb = fig.colorbar(im, ax=list(axes), shrink=0.75, pad=0.02)
    cb.set_label("FC (Pearson r, unitless)")
    present = [r for r in _ROLE_ORDER if r in set(rk)]
    handles = [Patch(color=style.ROLE_COLORS[r], label=style.role_name(r)) for r in present]
    if (~has).any():
        handles.append(
            Patch(facecolor=style.NODATA_GREY, edgecolor="#666666", label="no empirical data")
        )
    style.title_legend(
        fig,
        handles,
        title,
        ncol=min(len(handles), 8),
        fontsize=10.5,
        handlelength=1.2,
        columnspacing=1.0,
    )
    style.footnote(fig, _fc_note(has, roles_arr))
    return fig
