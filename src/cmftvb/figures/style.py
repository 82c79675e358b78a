"""The house style of every figure: palette, display names, rc settings and layout helpers.

Written once here and read by every theme module of :mod:`cmftvb.figures`:

* Colours are colour-blind safe. The two models keep the same colours in every figure
  (:data:`MODEL_COLORS`, Okabe & Ito 2008: blue = homogeneous, vermillion = cMF); populations
  use the remaining Okabe-Ito colours (:data:`POPULATION_COLORS`); node roles use Tol's 'muted'
  scheme (:data:`ROLE_COLORS`); FC matrices use the diverging ``RdBu_r`` map.
* Display names of models, node roles and metrics (with their units) live in
  :data:`MODEL_NAMES`, :data:`ROLE_NAMES` and :data:`METRIC_LABELS`.
* Axes state units in parentheses; quantities without a physical unit say ``unitless``.
* Figures are :class:`~matplotlib.figure.Figure` objects built without pyplot (no global state,
  no GUI backend), inside the rc settings :data:`RC` (applied by :func:`styled`).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from cmftvb.connectome.roles import ROLES

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
SERIES_COLORS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#882255", "#7F7F7F")
#: Line styles for overlaid variants.
SERIES_STYLES = ("-", "--", "-.", ":")
#: Node-role colours (Tol 'muted', colour-blind safe), in the order of the roles contract.
_TOL_MUTED = ("#332288", "#88CCEE", "#44AA99", "#999933", "#CC6677", "#DDCC77", "#882255")
ROLE_COLORS = dict(zip(ROLES, _TOL_MUTED, strict=True))
#: Display names of the node roles (ARCHITECTURE.md "Node roles").
ROLE_NAMES = {
    "cortex": "cortex",
    "thalamus": "thalamus",
    "subcortical": "subcortical",
    "brainstem": "brain stem",
    "crbl_hemisphere": "crbl hemisphere",
    "crbl_vermis": "vermis",
    "dcn": "DCN",
}
#: Colour of matrix cells without data.
NODATA_GREY = "#BDBDBD"
#: Greek symbols of the frequency bands (MODEL.md §8).
BAND_SYMBOLS = {"delta": "δ", "theta": "θ", "alpha": "α", "beta": "β", "gamma": "γ"}

#: Axis labels (with units) of the study's metrics; unknown metrics fall back to
#: :func:`metric_label`'s suffix rule.
METRIC_LABELS = {
    "fc_fit": "FC fit (Pearson r, unitless)",
    "fcd_ks": "FCD KS distance (unitless)",
    "bold_mae": "BOLD MAE (z-score units)",
    "fc_profile_error": "FC-profile error (1 − r, unitless)",
}

#: Matplotlib rc settings of every figure (and of saving: deterministic SVG ids, text as text).
RC = {
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

#: Axes label marking panels whose axes carry units (tests use it).
DATA_AXES = "cmftvb:data"


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


def model_name(model: str) -> str:
    """Display name of a model (unknown names are shown as given)."""
    return MODEL_NAMES.get(model, model)


def role_name(role: str) -> str:
    """Display name of a node role (unknown roles are shown as given)."""
    return ROLE_NAMES.get(role, role)


def model_color(model: str, k: int = 0) -> str:
    """Fixed colour of a model; the ``k``-th series colour for other names."""
    return MODEL_COLORS.get(model, SERIES_COLORS[k % len(SERIES_COLORS)])


def pop_color(pop: str, k: int = 0) -> str:
    """Fixed colour of a population; the ``k``-th series colour for other names."""
    return POPULATION_COLORS.get(pop, SERIES_COLORS[k % len(SERIES_COLORS)])


def ordered(values: Iterable[str], order: Iterable[str], *, sort_rest: bool = False) -> list[str]:
    """Distinct ``values`` as text, those in ``order`` first (in that order), then the rest."""
    vals = list(dict.fromkeys(map(str, values)))
    order = tuple(order)
    rest = [v for v in vals if v not in order]
    return [o for o in order if o in vals] + (sorted(rest) if sort_rest else rest)


def models_in(values: Iterable[str]) -> list[str]:
    """Distinct model names: homogeneous, cMF, then others sorted."""
    return ordered(values, MODEL_ORDER, sort_rest=True)


def pops_in(keys: Iterable[str]) -> list[str]:
    """Distinct population names in display order, unknown ones after in given order."""
    return ordered(keys, POPULATION_ORDER)


def styled(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a figure builder inside the house style (rc parameters are read at draw time)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, **kw: Any) -> Figure:
    """A figure drawn without pyplot (no global state), laid out with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained", **kw)


def panel_grid(fig: Figure, n: int, ncol: int, **kw: Any) -> list:
    """``n`` panels on a grid of ``ncol`` columns, as a flat list; unused cells are hidden."""
    nrow = -(-n // ncol)
    axes = list(fig.subplots(nrow, ncol, squeeze=False, **kw).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def title_legend(fig: Figure, handles: list, title: str | None, **kw: Any) -> None:
    """Figure title with a legend row under it.

    Constrained layout does not stack a suptitle and an 'outside' figure legend (they
    overlap), so the title is drawn as the legend's title instead.
    """
    opts = {"ncol": max(1, len(handles)), "frameon": False, "loc": "outside upper center"}
    opts.update(kw)
    fig.legend(
        handles=handles,
        title=title,
        title_fontproperties={"size": RC["figure.titlesize"]},
        **opts,
    )


def mark_data(ax) -> None:
    """Tag ``ax`` as a data panel (its axes carry units; tests check them)."""
    ax.set_label(DATA_AXES)


def wrap(text: str, width: int = 110) -> str:
    """Wrap each paragraph of ``text`` to ``width`` characters, words kept whole."""
    return "\n".join(
        textwrap.fill(p, width, break_on_hyphens=False, break_long_words=False)
        for p in text.split("\n")
    )


def footnote(fig: Figure, text: str) -> None:
    """Explanatory note under the axes, inside the saved image (constrained layout keeps room).

    Wrapped to the figure's width (about 12 characters per inch at 10 pt).
    """
    width = max(40, int(12 * fig.get_figwidth()))
    fig.supxlabel(wrap(text, width), fontsize=10, ha="center", color="#333333")
