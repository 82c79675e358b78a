"""Electrophysiology-like figures: population spectra, coherence spectra, firing rates.

Spectra and coherence use a log frequency axis with the frequency bands of MODEL.md §8
(:data:`cmftvb.signals.ephys.BANDS`) shaded; firing rates are drawn against the documented
physiological ranges (:func:`cmftvb.signals.ephys.physiological_ranges`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cmftvb import CmftvbError
from cmftvb.figures import style
from cmftvb.figures.tables import (
    ChosenG,
    at_chosen_g,
    check_table,
    chosen_g,
    is_chosen,
    series_by_group,
)
from cmftvb.signals.ephys import BANDS  # frequency bands of MODEL.md §8 (Hz), one definition

#: Most coherence spectra overlaid on one axes; more (or a {model: {pair: ...}} input) are drawn
#: as one panel per pair.
MAX_OVERLAID = 4

# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def spectra_by_model(
    runs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    chosen_G: ChosenG = None,
    preset: str | None = None,
) -> tuple[np.ndarray | None, dict, np.ndarray | None, dict]:
    """Inputs of :func:`population_spectra` and :func:`coherence_plot` from signal files.

    ``runs``: (arrays, meta) pairs as read by :func:`cmftvb.io.load_npz` from the signals
    stage's files (``freqs_hz``; per-seed ``psd_<population>`` and ``coh_<a>__<b>`` arrays
    (S, k, F) with ``coh_freqs_hz``; ``meta`` has ``model``, ``G`` and, for per-subject
    choices, ``subject``). Runs at other than their chosen G are skipped. Every seed and node
    is one curve. Returns ``(freqs,
    {model: {population: (curves, F)}}, coh_freqs, {"a-b (model)": (curves, F)})``.
    """
    chosen = chosen_g(chosen_G, preset, "spectra")
    psd: dict[str, dict[str, list]] = {}
    coh: dict[str, list] = {}
    freqs = coh_freqs = None
    for arrays, meta in runs:
        model = str(meta["model"])
        if not is_chosen(chosen, model, float(meta["G"]), meta.get("subject")):
            continue
        freqs = arrays["freqs_hz"]
        for key, value in arrays.items():
            if key.startswith("psd_"):
                curves = psd.setdefault(model, {}).setdefault(key[4:], [])
            elif key.startswith("coh_") and "__" in key and not key.startswith("coh_nodes_"):
                a, b = key[4:].split("__")
                curves = coh.setdefault(f"{a}-{b} ({style.model_name(model)})", [])
                coh_freqs = arrays["coh_freqs_hz"]
            else:
                continue
            curves.append(value.reshape(-1, value.shape[-1]))
    psd_out = {m: {p: np.vstack(v) for p, v in pops.items()} for m, pops in psd.items()}
    return freqs, psd_out, coh_freqs, {k: np.vstack(v) for k, v in coh.items()}


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


def _spectral_inputs(freqs, series, bands, what: str, form: str, kind: str = "spectra"):
    """Checked ``(freqs, bands, nested, {group: {key: curves}})`` of a spectral figure."""
    f = _freqs(freqs, what)
    bands = _check_bands(bands, what)
    if not series:
        raise CmftvbError(f"{what}: no {kind} given")
    return (f, bands, *series_by_group(series, what, form))


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


def _band_text(bands: Mapping[str, tuple[float, float]], unit_each: bool) -> str:
    unit = " Hz" if unit_each else ""
    return ", ".join(
        f"{style.BAND_SYMBOLS.get(b, b)} {lo:g}–{hi:g}{unit}" for b, (lo, hi) in bands.items()
    )


# ---------------------------------------------------------------------------------------------
# Frequency axes
# ---------------------------------------------------------------------------------------------


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
            style.BAND_SYMBOLS.get(name, name),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=12,
            color="#333333",
        )


def _freq_axis(ax, freqs: np.ndarray, fmax: float | None, bands: Mapping) -> tuple[float, float]:
    """Log frequency axis over the positive frequencies up to ``fmax``, bands shaded."""
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


def _freq_panels(fig: Figure, names: list[str], f, fmax, bands, ylabel: str) -> list:
    """One log-frequency panel per name on a grid of up to 3 columns, labelled at the edges."""
    ncol = min(3, len(names))
    axes = style.panel_grid(fig, len(names), ncol, sharex=True)
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        style.mark_data(ax)
        _freq_axis(ax, f, fmax, bands)
        ax.set_title(name, pad=22)
        if i % ncol == 0:
            ax.set_ylabel(ylabel)
        if i >= len(names) - ncol:
            ax.set_xlabel("frequency (Hz)")
            ax.xaxis.set_tick_params(labelbottom=True)
    return axes


def _grid_size(n: int, width: float, height: float, pad_w: float, pad_h: float) -> tuple:
    ncol = min(3, n)
    return width * ncol + pad_w, height * math.ceil(n / ncol) + pad_h


def _model_handles(models: list[str]) -> list[Line2D]:
    return [
        Line2D([], [], color=style.model_color(m, k), lw=2, label=style.model_name(m))
        for k, m in enumerate(models)
        if m
    ]


def _keep(f: np.ndarray, fmax: float | None) -> np.ndarray:
    keep = f > 0
    if fmax:
        keep &= f <= fmax
    return keep


class SpectralOptions(TypedDict, total=False):
    """Keywords shared by :func:`population_spectra` and :func:`coherence_plot`: ``bands``
    name -> (low, high) Hz, shaded (default δ θ α β γ of MODEL.md §8); ``fmax`` the highest
    frequency drawn, Hz (default 100; None: all); ``title`` (default: the figure's own)."""

    bands: Mapping[str, tuple[float, float]]
    fmax: float | None
    title: str | None


_SPECTRAL_DEFAULTS: SpectralOptions = {"bands": BANDS, "fmax": 100.0, "title": None}


@dataclasses.dataclass(frozen=True)
class _Spectral:
    """Checked inputs of a spectral figure: frequencies (Hz), bands, ``fmax``, ``title``, the
    mask of drawn frequencies, whether the data are per model, the data and the models."""

    f: np.ndarray
    bands: dict
    fmax: float | None
    title: str | None
    keep: np.ndarray
    nested: bool
    data: dict
    models: list[str]


def _spectral(freqs, series, opts: SpectralOptions, what: str, form: str, kind: str = "spectra"):
    """:class:`_Spectral` of a figure ``what`` from its arguments and its :class:`SpectralOptions`
    (an unknown keyword is a TypeError, as for any function)."""
    for name in opts:
        if name not in _SPECTRAL_DEFAULTS:
            raise TypeError(f"{what}() got an unexpected keyword argument {name!r}")
    o = {**_SPECTRAL_DEFAULTS, **opts}
    f, bands, nested, data = _spectral_inputs(freqs, series, o["bands"], what, form, kind)
    models = style.models_in(data) if nested else [""]
    return _Spectral(f, bands, o["fmax"], o["title"], _keep(f, o["fmax"]), nested, data, models)


# ---------------------------------------------------------------------------------------------
# Population spectra
# ---------------------------------------------------------------------------------------------


@style.styled
def population_spectra(
    freqs: np.ndarray,
    psd_by_population: Mapping[str, Any],
    *,
    logy: bool = False,
    **options: Unpack[SpectralOptions],
) -> Figure:
    """Normalised Welch spectra per population, frequency bands shaded (MODEL.md §8).

    ``freqs`` (F,) in Hz; ``psd_by_population``: population (GrC, GoC, MLI, PC, r_E, r_I, ...)
    -> PSD (F,), (nodes, F) or (F, nodes) (the layout of :func:`cmftvb.signals.ephys.welch_psd`),
    in any unit; or model -> {population -> PSD} to overlay models in their fixed colours
    (see :func:`spectra_by_model`). Each spectrum is divided by its maximum over the plotted
    range (0 < f <= ``fmax``); with several nodes the median and interquartile range are drawn.
    ``options``: ``bands``, ``fmax``, ``title`` (:class:`SpectralOptions`). Log frequency axis.
    """
    what, form = "population_spectra", "{population: psd} or {model: {population: psd}}"
    sp = _spectral(freqs, psd_by_population, options, what, form)
    f, keep, data, models = sp.f, sp.keep, sp.data, sp.models
    pops = style.pops_in(p for d in data.values() for p in d)
    if not pops:
        raise CmftvbError(f"{what}: no spectra given")
    fig = style.new_figure(*_grid_size(len(pops), 4.3, 3.3, 0.6, 1.3))
    ylabel = "normalised PSD\n(PSD / max, unitless)"
    axes = _freq_panels(fig, pops, f, sp.fmax, sp.bands, ylabel)
    for i, (ax, pop) in enumerate(zip(axes, pops, strict=True)):
        for k, m in enumerate(models):
            if pop not in data[m]:
                continue
            c = _curve(data[m][pop], f.size, what, pop if not m else f"{m}/{pop}")[:, keep]
            peak = np.nanmax(c, axis=1, keepdims=True)
            if np.any(~np.isfinite(peak)) or np.any(peak <= 0):
                raise CmftvbError(
                    f"{what}: spectrum {pop!r} is not positive anywhere (cannot normalise)"
                )
            color = style.model_color(m, k) if m else style.pop_color(pop, i)
            # with several models the first is drawn wider, so identical curves stay visible
            lw = 3.2 if sp.nested and k == 0 and len(models) > 1 else 1.8
            _plot_band(ax, f[keep], c / peak, color, style.model_name(m) if m else pop, lw=lw)
        if logy:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1.08)
    handles = _model_handles(models) if sp.nested else []
    style.title_legend(
        fig, handles, sp.title or "Population spectra (Welch PSD, each normalised to its maximum)"
    )
    multi = any(np.ndim(v) == 2 and np.shape(v)[0] > 1 for d in data.values() for v in d.values())
    note = f"Bands shaded (Hz): {_band_text(sp.bands, False)} (MODEL.md §8)."
    if multi:
        note += " Lines: median over nodes; shading: interquartile range."
    style.footnote(fig, note)
    return fig


# ---------------------------------------------------------------------------------------------
# Coherence
# ---------------------------------------------------------------------------------------------


def _pair_label(pair: Any) -> str:
    if isinstance(pair, tuple | list) and len(pair) == 2:
        return f"{pair[0]} – {pair[1]}"
    return str(pair)


def _coherence_curves(f: np.ndarray, data: dict, models: list[str], keep, what: str) -> dict:
    """(model, pair) -> curves (k, F kept), checked to lie in [0, 1]."""
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
    return curves


_COH_YLABEL = "magnitude-squared coherence\n(unitless, 0–1)"
_COH_TITLE = "Coherence between populations / nodes"


def _coherence_overlaid(f, fmax, bands, pairs, curves, keep, title) -> Figure:
    """Up to :data:`MAX_OVERLAID` pairs on one axes, legend at the right."""
    fig = style.new_figure(9.0, 4.8)
    ax = fig.subplots()
    style.mark_data(ax)
    _freq_axis(ax, f, fmax, bands)
    for k, pair in enumerate(pairs):
        color = style.SERIES_COLORS[k % len(style.SERIES_COLORS)]
        _plot_band(ax, f[keep], curves[("", pair)], color, _pair_label(pair))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel(_COH_YLABEL)
    fig.legend(loc="outside right upper", frameon=False, title="pair")
    ax.set_title(title or _COH_TITLE, pad=18)
    return fig


def _coherence_panels(f, fmax, bands, pairs, models, curves, keep, title, nested) -> Figure:
    """One panel per pair, models overlaid in their fixed colours."""
    fig = style.new_figure(*_grid_size(len(pairs), 4.3, 3.1, 0.6, 1.6))
    axes = _freq_panels(fig, [_pair_label(p) for p in pairs], f, fmax, bands, _COH_YLABEL)
    for ax, pair in zip(axes, pairs, strict=True):
        for k, m in enumerate(models):
            if (m, pair) in curves:
                color = style.model_color(m, k) if m else "#000000"
                lw = 3.2 if nested and k == 0 and len(models) > 1 else 1.8
                _plot_band(ax, f[keep], curves[(m, pair)], color, style.model_name(m), lw=lw)
        ax.set_ylim(0, 1.02)
    style.title_legend(fig, _model_handles(models), title or _COH_TITLE)
    return fig


@style.styled
def coherence_plot(
    freqs: np.ndarray,
    coh: Mapping[Any, Any],
    **options: Unpack[SpectralOptions],
) -> Figure:
    """Magnitude-squared coherence spectra with frequency bands shaded (MODEL.md §8).

    ``freqs`` (F,) Hz; ``coh``: pair (a tuple such as ``("GrC", "PC")`` or text) -> coherence
    (F,), (k, F) or (F, k) with values in [0, 1] (k nodes or node pairs: median and
    interquartile range drawn); or model -> {pair -> coherence} to compare models in their
    fixed colours. Up to :data:`MAX_OVERLAID` pairs share one axes; more pairs, or the
    per-model form, get one panel per pair. ``options``: ``bands``, ``fmax``, ``title``
    (:class:`SpectralOptions`).
    """
    what, form = "coherence_plot", "{pair: coherence} or {model: {pair: ...}}"
    sp = _spectral(freqs, coh, options, what, form, "coherence spectra")
    pairs = list(dict.fromkeys(p for m in sp.models for p in sp.data[m]))
    if not pairs:
        raise CmftvbError(f"{what}: no coherence spectra given")
    curves = _coherence_curves(sp.f, sp.data, sp.models, sp.keep, what)
    if not sp.nested and len(pairs) <= MAX_OVERLAID:
        fig = _coherence_overlaid(sp.f, sp.fmax, sp.bands, pairs, curves, sp.keep, sp.title)
    else:
        fig = _coherence_panels(
            sp.f, sp.fmax, sp.bands, pairs, sp.models, curves, sp.keep, sp.title, sp.nested
        )
    note = f"Bands shaded: {_band_text(sp.bands, True)}."
    if any(c.shape[0] > 1 for c in curves.values()):
        note += " Lines: median over nodes or node pairs; shading: interquartile range."
    style.footnote(fig, note)
    return fig


# ---------------------------------------------------------------------------------------------
# Firing rates against physiological ranges
# ---------------------------------------------------------------------------------------------


def rates_at_chosen_g(table: pd.DataFrame, chosen_G: ChosenG, preset: str) -> pd.DataFrame:
    """Mean population rates (Hz) of one preset from the study's tidy table, for
    :func:`firing_rates`: columns ``population, rate_hz, model``, one row per node and run.

    Rate metrics are named ``<population>_rate_hz``; each model is kept at its chosen G (all G
    values when none was chosen; see :mod:`cmftvb.figures.tables`).
    """
    rates = table[(table["preset"] == preset) & table["metric"].str.endswith("_rate_hz")]
    rates = at_chosen_g(rates, chosen_G, preset)
    rates = rates.assign(
        population=rates["metric"].str.removesuffix("_rate_hz"), rate_hz=rates["value"]
    )
    return rates[["population", "rate_hz", "model"]]


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


def _rate_boxes(ax, x, data: list[np.ndarray], colors: list[str], jitter) -> None:
    """Box (quartiles) and jittered dots per model."""
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
        dx = jitter.uniform(-0.16, 0.16, v.size)
        ax.scatter(x[j] + dx, v, s=14, color=colors[j], alpha=0.85, lw=0, zorder=3)


def _rate_panel(ax, sub, pop, i, models, rng, model_col, n_models, jitter) -> None:
    """One population: the range shaded, boxes and dots per model, share in range per tick."""
    present, data, colors = [], [], []
    for k, m in enumerate(models):
        v = (sub[sub[model_col].astype(str) == m] if m else sub)["_rate"].dropna().to_numpy()
        if v.size:  # a model without this population (homogeneous has no GrC) is left out
            present.append(m)
            data.append(v)
            colors.append(style.model_color(m, k) if m else style.pop_color(pop, i))
    top = max([float(np.max(v)) for v in data] + [0.0])
    if pop in rng:
        lo, hi, _src = rng[pop]
        ax.axhspan(lo, hi, color="#009E73", alpha=0.18, lw=0, zorder=0)
        ax.axhline(lo, color="#009E73", lw=0.8, zorder=0)
        ax.axhline(hi, color="#009E73", lw=0.8, zorder=0)
        top = max(top, hi)
    x = np.arange(len(present))
    _rate_boxes(ax, x, data, colors, jitter)
    ax.set_ylim(0, 1.12 * top if top > 0 else 1.0)
    pad = 0.5 * (n_models - len(present))  # keep box widths equal across panels
    ax.set_xlim(-0.6 - pad, max(len(present), 1) - 0.4 + pad)
    ticks = []
    for m, v in zip(present, data, strict=True):
        tick = style.model_name(m) if m else ""
        if pop in rng:
            lo, hi, _ = rng[pop]
            tick += f"\n{np.mean((v >= lo) & (v <= hi)) * 100:.0f} % in range"
        ticks.append(tick.strip("\n"))
    ax.set_xticks(x, ticks, fontsize=10.5)
    ax.set_title(pop if pop in rng else f"{pop} (no range given)")


def _rates_note(rng: dict, pops: list[str], gating: list[str]) -> str:
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
    if not srcs:
        return note + "No physiological ranges given."
    return note + "Ranges: " + "; ".join(srcs) + "."


@style.styled
def firing_rates(
    rates_table: pd.DataFrame,
    ranges: Mapping[str, Any],
    *,
    population_col: str = "population",
    rate_col: str | None = None,
    model_col: str = "model",
    title: str | None = None,
) -> Figure:
    """Firing rates per population (Hz) as box + dot plots against physiological ranges.

    ``rates_table``: one row per observation (node, run, ...) with columns ``population``, a
    rate in Hz (``rate_col``; default ``rate_hz``, else ``mean_hz`` as written by
    :func:`cmftvb.signals.ephys.rate_summary`) and optionally ``model`` (models then sit side by
    side in their fixed colours; see :func:`rates_at_chosen_g`). ``ranges``: population ->
    (low_hz, high_hz[, source]) or the mapping of
    :func:`cmftvb.signals.ephys.physiological_ranges` (``low_hz``, ``high_hz``, ``sources``).
    Each range is shaded, its sources are cited under the figure, and each box's tick label
    gives the share of values inside the range. Wong-Wang gating variables (``S_E``, ``S_I``:
    unitless, not rates) are left out, and the figure says so.
    """
    what = "firing_rates"
    if rate_col is None:  # rate_summary() gives mean_hz; per-sample tables rate_hz
        rate_col = "rate_hz" if "rate_hz" in getattr(rates_table, "columns", ()) else "mean_hz"
    check_table(rates_table, what, (population_col, rate_col))
    rng = _check_ranges(ranges, what)
    t = rates_table.assign(_rate=pd.to_numeric(rates_table[rate_col], errors="coerce"))
    if t["_rate"].isna().all():
        raise CmftvbError(f"{what}: column {rate_col!r} has no numeric values")
    if (t["_rate"] < 0).any():
        raise CmftvbError(f"{what}: negative firing rates in column {rate_col!r}")
    has_model = model_col in t.columns
    models = style.models_in(t[model_col]) if has_model else [""]
    pops = style.pops_in(t[population_col].astype(str))
    gating = [p for p in pops if p in style.GATING_VARIABLES]
    pops = [p for p in pops if p not in style.GATING_VARIABLES]
    if not pops:
        raise CmftvbError(
            f"{what}: no firing-rate populations in the table (only gating variables {gating})"
        )
    ncol = min(len(pops), 6 if len(models) == 1 else 3)
    panel_w = 1.4 + 1.3 * len(models)
    fig = style.new_figure(panel_w * ncol + 0.8, 3.8 * math.ceil(len(pops) / ncol) + 1.6)
    axes = style.panel_grid(fig, len(pops), ncol)
    jitter = np.random.default_rng(0)  # fixed: identical figures on reruns
    for i, (ax, pop) in enumerate(zip(axes, pops, strict=True)):
        style.mark_data(ax)
        sub = t[t[population_col].astype(str) == pop]
        _rate_panel(ax, sub, pop, i, models, rng, model_col, len(models), jitter)
        if i % ncol == 0:
            ax.set_ylabel("firing rate (Hz)")
        if i >= len(pops) - ncol:
            ax.set_xlabel("network model" if has_model else "all nodes and runs")
    handles = [Patch(color="#009E73", alpha=0.3, label="physiological range")]
    _title = title or "Firing rates per population against physiological ranges"
    style.title_legend(fig, handles, _title)
    style.footnote(fig, _rates_note(rng, pops, gating))
    return fig
