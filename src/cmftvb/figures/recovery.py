"""Figure of model recovery and power (issue 11): ``results/figures/recovery.png`` (+ .svg).

:func:`make_recovery` draws, from the tables of :func:`cmftvb.recovery.power` and
:func:`cmftvb.recovery.confusion`:

- one panel per (generator, scope): power (solid) and false-positive rate (dashed) of the
  primary family against the number of subjects, one colour per run length (``length_s``; "full"
  when the table has none), Clopper-Pearson 95 % bands, and the 80 % power and 5 %
  false-positive levels as grey lines;
- a confusion heatmap: rows generator x scope, columns endpoint, cell = fraction of subjects in
  which the endpoint favours the generating model (at the longest run length), annotated with
  that fraction and a star where the paired test across subjects is significant for the
  generator (``x`` where it is significant for the other model); blank where the endpoint is
  not in scope (e.g. cerebellar endpoints with the cerebellum masked).

Returns a :class:`matplotlib.figure.Figure` (no pyplot state); save it with
:func:`cmftvb.figures.save_figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cmftvb import CmftvbError

__all__ = ["make_recovery"]

_POWER_COLS = {"generator", "scope", "endpoint", "n_subjects", "power", "false_positive"}
_CONF_COLS = {"generator", "scope", "endpoint", "model", "fraction", "significant", "better"}


def _check(table: pd.DataFrame, cols: set[str], what: str) -> None:
    missing = cols - set(table.columns)
    if missing:
        raise CmftvbError(f"{what}: missing column(s) {sorted(missing)}")


def _lengths(t: pd.DataFrame) -> list:
    """Truncation lengths (s) in the table, ascending, NaN (the full run) last."""
    if "length_s" not in t.columns or t["length_s"].isna().all():
        return [np.nan]
    out = sorted(t["length_s"].dropna().unique())
    return out + [np.nan] if t["length_s"].isna().any() else out


def _at_length(t: pd.DataFrame, length) -> pd.DataFrame:
    if "length_s" not in t.columns:
        return t
    if isinstance(length, float) and np.isnan(length):
        return t[t["length_s"].isna()]
    return t[t["length_s"] == length]


def make_recovery(
    power_table: pd.DataFrame,
    confusion_table: pd.DataFrame,
    *,
    endpoint: str = "family",
    power_target: float = 0.8,
    alpha: float = 0.05,
    title: str | None = "Model recovery on a synthetic cohort",
) -> Figure:
    """Power / false-positive curves and the confusion heatmap (module docstring)."""
    _check(power_table, _POWER_COLS, "power table")
    _check(confusion_table, _CONF_COLS, "confusion table")
    pw = power_table[power_table["endpoint"] == endpoint]
    if pw.empty:
        raise CmftvbError(f"power table: no rows of endpoint {endpoint!r}")
    panels = list(pw.groupby(["generator", "scope"], sort=True).groups)
    n_pan = len(panels)
    fig = Figure(figsize=(4.0 * n_pan + 1.0, 7.4), layout="constrained")
    gs = fig.add_gridspec(2, n_pan, height_ratios=[1.0, 0.9])
    lengths = _lengths(pw)
    colors = [f"C{i}" for i in range(len(lengths))]
    first = None
    for i, (gen, scope) in enumerate(panels):
        ax = fig.add_subplot(gs[0, i], sharey=first)
        first = first or ax
        sub = pw[(pw["generator"] == gen) & (pw["scope"] == scope)]
        for length, color in zip(lengths, colors, strict=True):
            t = _at_length(sub, length).sort_values("n_subjects")
            if t.empty:
                continue
            lab = "full run" if np.isnan(length) else f"{length:g} s"
            x = t["n_subjects"].to_numpy()
            ax.plot(x, t["power"], "-o", color=color, ms=3, label=f"{lab}: power")
            ax.plot(x, t["false_positive"], "--", color=color, label=f"{lab}: false positive")
            if {"power_low", "power_high"} <= set(t.columns):
                ax.fill_between(x, t["power_low"], t["power_high"], color=color, alpha=0.15)
            if {"fp_low", "fp_high"} <= set(t.columns):
                ax.fill_between(x, t["fp_low"], t["fp_high"], color=color, alpha=0.08)
        ax.axhline(power_target, color="0.5", lw=0.8)
        ax.axhline(alpha, color="0.5", lw=0.8, ls=":")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("subjects")
        ax.set_title(f"generator {gen}, {scope} nodes scored", fontsize=9)
        if i == 0:
            ax.set_ylabel(f"probability ({endpoint})")
            ax.legend(fontsize=7, loc="center right")

    ax = fig.add_subplot(gs[1, :])
    conf = confusion_table
    if "length_s" in conf.columns and conf["length_s"].notna().any():
        conf = _at_length(conf, _lengths(conf)[-1])  # the full run, else the longest length
    rows = list(conf.groupby(["generator", "scope"], sort=True).groups)
    cols = list(dict.fromkeys(conf["endpoint"]))
    M = np.full((len(rows), len(cols)), np.nan)
    marks = np.full(M.shape, "", dtype=object)
    for r, (gen, scope) in enumerate(rows):
        for c, ep in enumerate(cols):
            t = conf[
                (conf["generator"] == gen) & (conf["scope"] == scope) & (conf["endpoint"] == ep)
            ]
            if t.empty:
                continue
            hit = t[t["model"] == gen]
            M[r, c] = float(hit["fraction"].iloc[0]) if not hit.empty else 0.0
            if bool(t["significant"].iloc[0]):
                marks[r, c] = "*" if t["better"].iloc[0] == gen else "x"
    im = ax.imshow(np.ma.masked_invalid(M), cmap="RdBu", vmin=0, vmax=1, aspect="auto")
    for r in range(M.shape[0]):
        for c in range(M.shape[1]):
            if np.isfinite(M[r, c]):
                ax.text(c, r, f"{M[r, c]:.2f}{marks[r, c]}", ha="center", va="center", fontsize=8)
            else:
                ax.text(c, r, "n/a", ha="center", va="center", fontsize=7, color="0.5")
    ax.set_xticks(range(len(cols)), cols, fontsize=8, rotation=15)
    ax.set_yticks(range(len(rows)), [f"{g} ({s})" for g, s in rows], fontsize=8)
    ax.set_xlabel("primary endpoint (* significant for the generator, x for the other model)")
    fig.colorbar(im, ax=ax, label="fraction of subjects favouring the generator", shrink=0.9)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
