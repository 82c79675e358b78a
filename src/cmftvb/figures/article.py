"""Figures of the article's cerebellar analyses (issue 12; data from
:mod:`cmftvb.signals.analyses`).

Every function takes arrays or tidy tables and returns a :class:`~matplotlib.figure.Figure`
built without pyplot (no global state; render with Agg). Axes state units in parentheses;
colours follow the project's Okabe-Ito palette (populations: GrC bluish green, GoC orange, MLI
sky blue, PC reddish purple). Where the data needed is missing (no cerebellar mean-field node,
no cerebellar BOLD) a figure says so in words instead of drawing nothing
(:func:`message_figure`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cmftvb import CmftvbError

__all__ = [
    "POPULATION_COLORS",
    "cmf_run_figures",
    "fig_crbl_flatmap",
    "fig_ephys_bold",
    "fig_flatmap_regions",
    "fig_input_shares",
    "fig_node_coherence",
    "fig_openloop",
    "fig_rate_traces",
    "fig_rhythm_spectra",
    "message_figure",
    "suit_surfaces",
    "vertex_nodes",
    "vertex_values",
]

#: Population colours (Okabe & Ito 2008), as in the project's other figures.
POPULATION_COLORS = {
    "GrC": "#009E73",
    "GoC": "#E69F00",
    "MLI": "#56B4E9",
    "PC": "#CC79A7",
    "r_E": "#000000",
    "r_I": "#7F7F7F",
}
_POPS = ("GrC", "GoC", "MLI", "PC")


def _figure(w: float, h: float) -> Figure:
    return Figure(figsize=(w, h), layout="constrained")


def message_figure(title: str, message: str) -> Figure:
    """A figure that states, in words, why there is nothing to draw."""
    fig = _figure(6.0, 2.0)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    return fig


# ---------------------------------------------------------------------------------------------
# Input shares (Table 5)
# ---------------------------------------------------------------------------------------------


def fig_input_shares(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Bars: each network input's share per population (``share`` of
    :func:`cmftvb.signals.analyses.input_shares`), the article's Table 5 as black ticks."""
    need = {"population", "input", "share"}
    if not need <= set(table.columns):
        raise CmftvbError(f"input shares figure: table lacks {sorted(need - set(table.columns))}")
    fig = _figure(7.0, 3.2)
    inputs = [c for c in ("mossy", "parallel") if c in set(table["input"])]
    axes = fig.subplots(1, len(inputs), squeeze=False)[0]
    for ax, c in zip(axes, inputs, strict=True):
        t = table[table["input"] == c].set_index("population").reindex(_POPS)
        x = np.arange(len(_POPS))
        ax.bar(x, t["share"].fillna(0.0), color=[POPULATION_COLORS[p] for p in _POPS])
        if "article_share" in t:
            ax.scatter(x, t["article_share"], marker="_", s=400, color="k", label="article")
        ax.set_xticks(x, _POPS)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{c}-fibre input")
        ax.set_ylabel("share of the input (unitless)")
    if "article_share" in table:
        axes[-1].legend(loc="upper right", frameon=False)
    fig.suptitle(
        title or "Share of the network's input per population (synaptic events, steady state)"
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Node coherence
# ---------------------------------------------------------------------------------------------


def fig_node_coherence(
    bands: Sequence[str],
    M: np.ndarray,
    labels: Sequence[str],
    roles: Sequence[str],
    summary: pd.DataFrame,
    *,
    band: str = "alpha",
    title: str | None = None,
) -> Figure:
    """Left: mean coherence per band and pair group (``summary`` of
    :func:`cmftvb.signals.analyses.node_coherence`); right: the cerebellar-cortex x
    (cerebellar-cortex and cerebral) coherence matrix of one ``band``."""
    from cmftvb.connectome import roles as croles

    M = np.asarray(M, dtype=float)
    bands = list(bands)
    if band not in bands:
        raise CmftvbError(f"node coherence figure: band {band!r} not in {bands}")
    cb = croles.indices(roles, "crbl_cortex")
    if cb.size == 0:
        return message_figure("Coherence between nodes", "no cerebellar-cortex nodes")
    groups = [g for g in ("crbl_crbl", "crbl_cerebral")]
    grid = np.full((len(groups), len(bands)), np.nan)
    vals = dict(zip(summary["metric"], summary["value"], strict=True))
    for i, g in enumerate(groups):
        for j, b in enumerate(bands):
            grid[i, j] = vals.get(f"coh_nodes_{g}_{b}", np.nan)
    fig = _figure(11.0, 4.6)
    a1, a2 = fig.subplots(1, 2, width_ratios=[1, 2.2])
    im = a1.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    a1.set_xticks(range(len(bands)), bands, rotation=45)
    a1.set_yticks(range(len(groups)), ["crbl-crbl", "crbl-cerebral"])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                a1.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w", size=8)
    a1.set_xlabel("frequency band")
    floor = vals.get("coh_nodes_floor")
    a1.set_title(
        "mean over node pairs" + (f"\n(independent signals: {floor:.3f})" if floor else "")
    )
    fig.colorbar(im, ax=a1, label="coherence (unitless)", shrink=0.8)
    b = bands.index(band)
    ce = croles.indices(roles, "cerebral")
    cols = np.r_[cb, ce]
    im2 = a2.imshow(M[b][np.ix_(cb, cols)], vmin=0, vmax=1, cmap="viridis", aspect="auto")
    a2.set_yticks(range(cb.size), [str(labels[k]) for k in cb], fontsize=6)
    a2.set_xticks([cb.size / 2, cb.size + ce.size / 2], ["cerebellar cortex", "cerebral"])
    a2.axvline(cb.size - 0.5, color="w", lw=1)
    a2.set_xlabel("node (grouped by role)")
    a2.set_title(f"{band} band: cerebellar-cortex node x node")
    fig.colorbar(im2, ax=a2, label="coherence (unitless)", shrink=0.8)
    fig.suptitle(title or "Magnitude-squared coherence between nodes (Welch, band means)")
    return fig


# ---------------------------------------------------------------------------------------------
# Electrophysiology to BOLD
# ---------------------------------------------------------------------------------------------


def fig_ephys_bold(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Population x region heatmap of the correlation between each population's rate (through
    the hemodynamic model) and the node's BOLD (:func:`~cmftvb.signals.analyses.
    ephys_bold_coupling`)."""
    if table is None or len(table) == 0:
        return message_figure(
            "Electrophysiology to BOLD", "no cerebellar mean-field node: nothing to correlate"
        )
    pops = [p for p in (*_POPS, "r_E", "r_I") if p in set(table["population"])]
    pops += sorted(set(table["population"]) - set(pops))
    regions = list(dict.fromkeys(table["region"]))
    grid = table.pivot_table(index="population", columns="region", values="r", aggfunc="mean")
    grid = grid.reindex(index=pops, columns=regions)
    fig = _figure(max(6.0, 0.3 * len(regions) + 2.5), 3.4)
    ax = fig.add_subplot()
    im = ax.imshow(grid.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r", aspect="auto")
    ax.set_yticks(range(len(pops)), pops)
    ax.set_xticks(range(len(regions)), regions, rotation=90, fontsize=7)
    ax.set_xlabel("cerebellar-cortex region")
    ax.set_ylabel("population")
    fig.colorbar(im, ax=ax, label="Pearson r (unitless)")
    fig.suptitle(title or "Population rate through the hemodynamic model vs the node's BOLD")
    return fig


# ---------------------------------------------------------------------------------------------
# Rhythms
# ---------------------------------------------------------------------------------------------


def fig_rhythm_spectra(
    freqs_hz,
    spectra: Mapping[str, Mapping[str, np.ndarray]],
    *,
    rhythms: pd.DataFrame | None = None,
    fmax: float = 100.0,
    title: str | None = None,
) -> Figure:
    """Un-normalised spectra, one panel per population, one curve per condition.

    ``spectra``: condition (e.g. ``"corrected, mossy 4 Hz"``) -> {population: (F,) PSD in
    Hz^2/Hz}. ``rhythms`` (optional, :func:`~cmftvb.signals.analyses.rhythm_table` rows with
    ``condition`` and ``channel`` = population): peaks with ``has_peak`` are marked.
    """
    f = np.asarray(freqs_hz, dtype=float)
    sel = (f > 0) & (f <= fmax)
    fig = _figure(10.0, 6.0)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    conds = list(spectra)
    styles = ["-", "--", "-.", ":"]
    greys = np.linspace(0.0, 0.6, max(len(conds), 1))
    for ax, pop in zip(axes, _POPS, strict=True):
        for k, cond in enumerate(conds):
            if pop not in spectra[cond]:
                continue
            P = np.asarray(spectra[cond][pop], dtype=float)
            ax.semilogy(f[sel], np.maximum(P[sel], 1e-30), ls=styles[k % 4],
                        color=str(greys[k]), label=cond)  # fmt: skip
            if rhythms is not None:
                r = rhythms[(rhythms["condition"] == cond) & (rhythms["channel"] == pop)]
                for _, row in r[r["has_peak"]].iterrows():
                    i = int(np.argmin(np.abs(f - row["peak_hz"])))
                    ax.plot(f[i], P[i], "v", color=POPULATION_COLORS[pop], ms=8)
        ax.set_title(pop, color=POPULATION_COLORS[pop])
        ax.set_ylabel("PSD (Hz²/Hz)")
    for ax in axes[2:]:
        ax.set_xlabel("frequency (Hz)")
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(title or "Un-normalised Welch spectra (▼: band peak, rhythm_table has_peak)")
    return fig


# ---------------------------------------------------------------------------------------------
# Population rate traces (Fig. 5A)
# ---------------------------------------------------------------------------------------------


def fig_rate_traces(
    time_ms,
    rates_hz: Mapping[str, np.ndarray],
    label: str,
    ranges: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    inset_ms: float = 50.0,
    inset_start_ms: float | None = None,
    title: str | None = None,
) -> Figure:
    """GrC, GoC, MLI, PC rates (Hz) of one node over time, one panel each, the physiological
    range (``ranges``: :func:`cmftvb.signals.ephys.physiological_ranges`) shaded, and an inset
    of ``inset_ms`` ms starting at ``inset_start_ms`` (default: the middle of the trace)."""
    t = np.asarray(time_ms, dtype=float)
    pops = [p for p in _POPS if p in rates_hz]
    if not pops:
        return message_figure("Population rates", f"{label}: no cerebellar population rates")
    if t.size < 2:
        raise CmftvbError("rate traces: need at least two samples")
    t0 = (t[0] + t[-1]) / 2 if inset_start_ms is None else float(inset_start_ms)
    win = (t >= t0) & (t <= t0 + inset_ms)
    fig = _figure(9.0, 1.9 * len(pops) + 0.6)
    axes = fig.subplots(len(pops), 1, sharex=True, squeeze=False)[:, 0]
    for ax, pop in zip(axes, pops, strict=True):
        y = np.asarray(rates_hz[pop], dtype=float)
        if y.shape != t.shape:
            raise CmftvbError(f"rate traces: {pop} has shape {y.shape}, time has {t.shape}")
        color = POPULATION_COLORS[pop]
        r = (ranges or {}).get(pop)
        if r is not None:
            lab = f"physiological range {r['low_hz']:g}-{r['high_hz']:g} Hz"
            ax.axhspan(r["low_hz"], r["high_hz"], color=color, alpha=0.12, lw=0, label=lab)
        ax.plot(t / 1000.0, y, color=color, lw=0.8)
        ax.set_ylabel(f"{pop} (Hz)")
        if r is not None:
            ax.legend(loc="upper right", fontsize=7, frameon=False)
        if win.sum() >= 2:
            ins = ax.inset_axes([0.02, 0.55, 0.22, 0.4])
            ins.plot(t[win] - t0, y[win], color=color, lw=1.0)
            ins.set_xlabel(f"ms after {t0 / 1000:g} s", fontsize=6, labelpad=0)
            ins.tick_params(labelsize=6)
            ax.axvspan(t0 / 1000.0, (t0 + inset_ms) / 1000.0, color="k", alpha=0.15, lw=0)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(title or f"Population rates of {label} (inset: {inset_ms:g} ms)")
    return fig


# ---------------------------------------------------------------------------------------------
# Open loop
# ---------------------------------------------------------------------------------------------


def fig_openloop(result: Mapping[str, Any], *, band: str = "alpha", title: str | None = None):
    """Open-loop cerebellum (:func:`cmftvb.signals.analyses.run_openloop`): left, each
    population's rate over time (mean over nodes, shaded min-max over nodes); middle,
    un-normalised spectra (mean over nodes); right, coherence between nodes of
    ``result["coherence_pop"]`` in one band."""
    t = np.asarray(result["time_s"], dtype=float)
    f = np.asarray(result["freqs_hz"], dtype=float)
    fig = _figure(14.0, 4.2)
    a1, a2, a3 = fig.subplots(1, 3, width_ratios=[1.3, 1, 1])
    for pop in _POPS:
        r = np.asarray(result["rates"][pop], dtype=float)
        c = POPULATION_COLORS[pop]
        a1.fill_between(t, r.min(axis=1), r.max(axis=1), color=c, alpha=0.2, lw=0)
        a1.plot(t, r.mean(axis=1), color=c, lw=0.8, label=pop)
        P = np.asarray(result["psd"][pop], dtype=float).mean(axis=1)
        sel = f > 0
        a2.semilogy(f[sel], np.maximum(P[sel], 1e-30), color=c, label=pop)
    a1.set_xlabel("time (s)")
    a1.set_ylabel("rate (Hz)")
    a1.set_title("rates (line: mean over nodes; band: range)")
    a1.legend(frameon=False, fontsize=8)
    a2.set_xlabel("frequency (Hz)")
    a2.set_ylabel("PSD (Hz²/Hz)")
    a2.set_title("Welch spectra, mean over nodes")
    bands = list(result["coherence_bands"])
    if band not in bands:
        raise CmftvbError(f"open-loop figure: band {band!r} not in {bands}")
    M = np.asarray(result["coherence"])[bands.index(band)]
    labels = [str(s) for s in result["labels"]]
    im = a3.imshow(M, vmin=0, vmax=1, cmap="viridis")
    a3.set_xticks(range(len(labels)), labels, rotation=90, fontsize=5)
    a3.set_yticks(range(len(labels)), labels, fontsize=5)
    a3.set_title(f"{result['coherence_pop']} coherence, {band} band")
    fig.colorbar(im, ax=a3, label="coherence (unitless)", shrink=0.8)
    fig.suptitle(title or "Open-loop cerebellum: cerebellar mean field in every cortex node")
    return fig


# ---------------------------------------------------------------------------------------------
# Cerebellar flatmap (Fig. 5B/C)
# ---------------------------------------------------------------------------------------------


def fig_crbl_flatmap(
    vertices_xy: np.ndarray,
    faces: np.ndarray,
    vertex_values: Mapping[str, np.ndarray],
    *,
    units: str,
    cmap: str = "viridis",
    symmetric: bool = False,
    borders: np.ndarray | None = None,
    title: str | None = None,
    difference_panels: Sequence[str] = (),
) -> Figure:
    """One flatmap panel per entry of ``vertex_values`` (name -> (V,) values, NaN = no node),
    drawn with ``tripcolor`` on the flat surface (``vertices_xy`` (V, 2), ``faces`` (F, 3)).
    A face is coloured by the mean of its vertices; faces with a NaN vertex are grey.
    ``symmetric``: a colour range centred on 0 (differences). ``borders`` (B, 2): lobule
    border points drawn as small dots (:func:`suit_surfaces`). ``difference_panels``: names of
    panels (e.g. model differences) drawn on their own colour range, centred on 0 (RdBu_r), with
    their own colour bar."""
    from matplotlib.tri import Triangulation

    xy = np.asarray(vertices_xy, dtype=float)
    tri = np.asarray(faces, dtype=int)
    names = list(vertex_values)
    if not names:
        return message_figure("Cerebellar flatmap", "no values to draw")
    diff = [n for n in names if n in set(difference_panels)]
    plain = [n for n in names if n not in set(diff)]

    def value_range(group, centred):
        v = np.concatenate([np.asarray(vertex_values[n], dtype=float) for n in group])
        v = v[np.isfinite(v)]
        if v.size == 0:
            return None
        if centred:
            m = float(np.max(np.abs(v))) or 1.0
            return -m, m
        lo, hi = float(v.min()), float(v.max())
        return (lo, hi if hi > lo else lo + 1.0)

    ranges = {}
    if plain:
        ranges.update(dict.fromkeys(plain, (value_range(plain, symmetric), cmap)))
    if diff:
        ranges.update(dict.fromkeys(diff, (value_range(diff, True), "RdBu_r")))
    if all(r is None for r, _ in ranges.values()):
        return message_figure("Cerebellar flatmap", "no finite values to draw")
    fig = _figure(4.2 * len(names) + 1.0 + (1.0 if diff and plain else 0.0), 4.0)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    images = {}
    for ax, name in zip(axes, names, strict=True):
        (lims, cm) = ranges[name]
        lims = lims or (0.0, 1.0)
        v = np.asarray(vertex_values[name], dtype=float)
        fv = v[tri].mean(axis=1)
        ok = np.isfinite(fv)
        T = Triangulation(xy[:, 0], xy[:, 1], tri)
        T.set_mask(~ok)
        Tg = Triangulation(xy[:, 0], xy[:, 1], tri)
        Tg.set_mask(ok)
        if (~ok).any():
            ax.tripcolor(Tg, np.zeros(tri.shape[0]), cmap="Greys", vmin=-4, vmax=1)
        im = ax.tripcolor(T, np.where(ok, fv, 0.0), cmap=cm, vmin=lims[0], vmax=lims[1])
        images.setdefault(name in set(diff), (im, []))[1].append(ax)
        if borders is not None:
            ax.plot(borders[:, 0], borders[:, 1], ".", color="k", ms=0.6)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(name)
    for is_diff, (im, axs) in images.items():
        label = f"difference, {units}" if is_diff else units
        fig.colorbar(im, ax=axs, label=label, shrink=0.8)
    fig.suptitle(title or "SUIT cerebellar flatmap (node value at the nearest node centre)")
    return fig


def suit_surfaces(space: str = "FSL") -> dict[str, np.ndarray]:
    """The SUIT cerebellar flatmap and its 3-D surface, read with nibabel from the files that
    SUITPy 2.1.2 ships (``SUITPy/surfaces``), without importing SUITPy (its dependencies are
    not needed for this).

    Returns ``flat`` (V, 2) flatmap coordinates, ``faces`` (F, 3), ``borders`` (B, 2) points
    of the lobule borders on the flatmap (SUITPy's ``borders.txt``), and ``mid`` (V, 3) the
    midpoint of the pial and white surfaces in ``space`` (``FSL``: MNI152NLin6Asym as FSL
    uses it, mm; also ``SPM``, ``SUIT``, ``MNISymC``). Raises :class:`CmftvbError` if SUITPy
    is not installed (``pip install --no-deps suitpy==2.1.2``).
    """
    import importlib.util
    from pathlib import Path

    import nibabel as nib

    spec = importlib.util.find_spec("SUITPy")
    if spec is None or not spec.submodule_search_locations:
        raise CmftvbError(
            "cerebellar flatmap: the SUITPy package is not installed "
            "(pip install --no-deps suitpy==2.1.2)"
        )
    d = Path(next(iter(spec.submodule_search_locations))) / "surfaces"
    flat, faces = nib.load(d / "FLAT.surf.gii").agg_data()
    pial = nib.load(d / f"PIAL_{space}.surf.gii").agg_data()[0]
    white = nib.load(d / f"WHITE_{space}.surf.gii").agg_data()[0]
    borders = np.loadtxt(d / "borders.txt", delimiter=",")[:, :2]
    return {
        "borders": borders,
        "flat": np.asarray(flat[:, :2], dtype=float),
        "faces": np.asarray(faces, dtype=int),
        "mid": (np.asarray(pial, dtype=float) + np.asarray(white, dtype=float)) / 2.0,
    }


def vertex_nodes(
    mid_mm: np.ndarray,
    centres_mm: np.ndarray,
    parts: Sequence[str],
    *,
    vermis_halfwidth_mm: float = 4.0,
    max_distance_mm: float = 25.0,
) -> np.ndarray:
    """Node index of every surface vertex, -1 where none (documented mapping).

    A vertex at 3-D position ``mid_mm`` (MNI mm, :func:`suit_surfaces`) belongs to the vermis
    when ``|x| <= vermis_halfwidth_mm``, else to the left (x < 0) or right hemisphere; it takes
    the value of the nearest node centre (Euclidean, ``centres_mm`` (K, 3)) among the nodes of
    the same part (``parts`` (K,): ``L``, ``R`` or ``V``, as
    :func:`cmftvb.connectome.roles.crbl_part`), provided that centre is within
    ``max_distance_mm``. A part without nodes (e.g. a vermis with no vermal nodes) stays -1.
    """
    mid = np.asarray(mid_mm, dtype=float)
    c = np.asarray(centres_mm, dtype=float)
    parts = np.asarray([str(p) for p in parts])
    vpart = np.where(np.abs(mid[:, 0]) <= vermis_halfwidth_mm, "V",
                     np.where(mid[:, 0] < 0, "L", "R"))  # fmt: skip
    out = np.full(mid.shape[0], -1, dtype=int)
    for part in ("L", "R", "V"):
        nodes = np.flatnonzero((parts == part) & np.all(np.isfinite(c), axis=1))
        verts = np.flatnonzero(vpart == part)
        if nodes.size == 0 or verts.size == 0:
            continue
        d = np.linalg.norm(mid[verts, None, :] - c[None, nodes, :], axis=2)
        best = np.argmin(d, axis=1)
        ok = d[np.arange(verts.size), best] <= max_distance_mm
        out[verts[ok]] = nodes[best[ok]]
    return out


def vertex_values(vertex_node: np.ndarray, node_values) -> np.ndarray:
    """Values on the surface: ``node_values[vertex_node]`` (:func:`vertex_nodes`), NaN where a
    vertex has no node (-1)."""
    vn = np.asarray(vertex_node, dtype=int)
    vals = np.asarray(node_values, dtype=float)
    if vn.size and vn.max() >= vals.size:
        raise CmftvbError(f"flatmap: vertex maps to node {vn.max()}, only {vals.size} values")
    return np.where(vn >= 0, vals[np.maximum(vn, 0)], np.nan)


def fig_flatmap_regions(
    panels: Mapping[str, Mapping[str, float]],
    labels: Sequence[str],
    roles: Sequence[str],
    centres_mm: np.ndarray,
    *,
    units: str,
    symmetric: bool = False,
    cmap: str = "viridis",
    title: str = "Cerebellar flatmap",
    surfaces: Mapping[str, np.ndarray] | None = None,
    difference_panels: Sequence[str] = (),
) -> Figure:
    """Region values on the SUIT flatmap (:func:`fig_crbl_flatmap`).

    ``panels``: panel name -> {region label: value}; ``labels``, ``roles``, ``centres_mm``
    (N, 3, MNI mm): the connectome's. Each surface vertex takes the value of the nearest
    cerebellar-cortex node centre of its part (:func:`vertex_nodes`). ``surfaces``: as
    :func:`suit_surfaces` (read from SUITPy when None); ``difference_panels`` as for
    :func:`fig_crbl_flatmap`. Without SUITPy, without
    cerebellar-cortex nodes or without values, the figure says so in words.
    """
    from cmftvb.connectome import roles as croles

    if surfaces is None:
        try:
            surfaces = suit_surfaces()
        except CmftvbError as exc:
            return message_figure(title, str(exc))
    cb = croles.indices(roles, "crbl_cortex")
    if cb.size == 0:
        return message_figure(title, "no cerebellar-cortex nodes")
    cb_labels = [str(labels[k]) for k in cb]
    parts = [(croles.crbl_part(lab) or ("?",))[0] for lab in cb_labels]
    vn = vertex_nodes(surfaces["mid"], np.asarray(centres_mm, dtype=float)[cb], parts)
    values = {}
    for name, by_region in panels.items():
        node_vals = np.array([by_region.get(lab, np.nan) for lab in cb_labels], dtype=float)
        values[name] = vertex_values(vn, node_vals)
    if not any(np.isfinite(v).any() for v in values.values()):
        return message_figure(title, "no cerebellar-cortex values to draw")
    return fig_crbl_flatmap(
        surfaces["flat"], surfaces["faces"], values, units=units, cmap=cmap,
        symmetric=symmetric, borders=surfaces.get("borders"), title=title,
        difference_panels=difference_panels,
    )  # fmt: skip


def cmf_run_figures(
    sim: Mapping[str, np.ndarray],
    signals: Mapping[str, np.ndarray],
    features: pd.DataFrame,
    ephys_bold: pd.DataFrame,
    labels: Sequence[str],
    roles: Sequence[str],
    *,
    rate_traces: Mapping[str, Any],
    transient_s: float,
    where: str,
) -> dict[str, Figure]:
    """The figures of one cMF run (workflow rule fig_cmf_run), from its files: the packed
    simulation ``sim``, its signals arrays and feature table, its electrophysiology-to-BOLD
    table (:func:`cmftvb.signals.ephys_bold_batch`). Each figure shows the batch's first seed.

    Returns ``rate_traces`` (:func:`fig_rate_traces` of the node ``rate_traces["label"]``,
    ``["side"]``, ``["seconds"]`` s from ``transient_s``, inset ``["inset_ms"]``),
    ``node_coherence`` (:func:`fig_node_coherence`), ``ephys_bold`` (:func:`fig_ephys_bold`)
    and ``rhythm_spectra`` (:func:`fig_rhythm_spectra`, mean over the cMF nodes). ``where``
    names the run in the titles.
    """
    from cmftvb.signals import ephys
    from cmftvb.signals import names as nm
    from cmftvb.signals.article import rate_traces_of_batch

    seed = int(np.atleast_1d(sim["seeds"])[0])
    where = f"{where} (seed {seed})"
    rt = rate_traces
    t, rates, label = rate_traces_of_batch(
        sim, roles, label=rt["label"], side=rt["side"], seconds=float(rt["seconds"]),
        transient_s=float(transient_s),
    )  # fmt: skip
    out = {
        "rate_traces": fig_rate_traces(
            t,
            rates,
            label,
            ephys.physiological_ranges(),
            inset_ms=float(rt["inset_ms"]),
            title=f"Population rates of {label}, {where}",
        )  # fmt: skip
    }
    glob = features[(features["seed"] == seed) & (features["region"] == "global")]
    if nm.NODE_COHERENCE in signals:
        bands = [str(b) for b in signals[nm.NODE_COHERENCE_BANDS]]
        out["node_coherence"] = fig_node_coherence(
            bands, signals[nm.NODE_COHERENCE][0], labels, roles, glob,
            title=f"Coherence between nodes, {where}",
        )  # fmt: skip
    else:
        out["node_coherence"] = message_figure(
            "Coherence between nodes", "no coherence between nodes in this run's signals"
        )
    eb = ephys_bold[ephys_bold["seed"] == seed] if len(ephys_bold) else ephys_bold
    out["ephys_bold"] = fig_ephys_bold(
        eb, title=f"Population rate through the hemodynamics vs BOLD, {where}"
    )
    spectra = {
        pop: np.asarray(signals[nm.psdabs_key(pop)][0]).mean(axis=0)
        for pop in _POPS
        if nm.psdabs_key(pop) in signals
    }
    out["rhythm_spectra"] = fig_rhythm_spectra(
        signals["freqs_hz"], {f"{where}, mean over nodes": spectra}
    )
    return out
