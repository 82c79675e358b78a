"""Tests of cmftvb.figures: files written, units on axes, values drawn, bad input rejected.

Every figure function returns a matplotlib Figure (checked for all of :data:`figures.FIGURES`);
:func:`figures.save_figure` writes it as PNG + SVG, both or neither.

Each figure is built from small synthetic inputs whose drawn content is known independently
(seed means computed here with numpy, FC fit with numpy's corrcoef, spectral peaks placed at
known frequencies), and the layout is checked for the overlaps that were seen by eye (figure
title vs legend, footnote vs axis labels).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage
from scipy import signal, stats

from cmftvb import CmftvbError, figures
from cmftvb import stats as cstats
from cmftvb.connectome import load_any
from cmftvb.connectome import roles as croles
from cmftvb.figures import fitness as ffit
from cmftvb.figures import style
from cmftvb.fitness import NOISE_CEILING_METRIC
from cmftvb.signals import ephys

UNIT = re.compile(r"\([^()]*\b(Hz|unitless|z-score units|ms|s)\b[^()]*\)", re.S)
#: Labels of categorical axes (tick labels name the categories; no unit applies).
CATEGORICAL = {"network model", "lobule (anterior → posterior)", "all nodes and runs"}

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _check_files(paths, stem):
    png, svg = paths
    assert png.suffix == ".png" and svg.suffix == ".svg"
    assert png.with_suffix("") == stem.with_suffix("") or png.stem == stem.name
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    root = ET.fromstring(svg.read_text())  # well-formed XML
    assert root.tag.endswith("svg")
    # no temporary files left beside the outputs
    assert not [p for p in png.parent.iterdir() if p.name.startswith(".")]
    return svg.read_text()


def _data_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() == style.DATA_AXES and ax.get_visible()]


def _assert_units(fig):
    """Every data panel has x and y labels with a unit, itself or on its row/column."""
    axes = _data_axes(fig)
    assert axes, "no data axes tagged"
    for ax in axes:
        for lab in (ax.get_xlabel(), ax.get_ylabel()):
            if lab and lab not in CATEGORICAL:
                assert UNIT.search(lab), f"label without unit: {lab!r}"
    for ax in axes:
        spec = ax.get_subplotspec()
        col = [
            a
            for a in axes
            if a.get_subplotspec().colspan.start == spec.colspan.start
            and a.get_subplotspec().get_gridspec() is spec.get_gridspec()
        ]
        row = [
            a
            for a in axes
            if a.get_subplotspec().rowspan.start == spec.rowspan.start
            and a.get_subplotspec().get_gridspec() is spec.get_gridspec()
        ]
        assert any(a.get_xlabel() for a in col), f"no x label in column of {ax.get_title()!r}"
        assert any(a.get_ylabel() for a in row), f"no y label in row of {ax.get_title()!r}"


def _assert_no_overlap(fig):
    """Figure legends, panel titles, the footnote and axis labels do not overlap."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    boxes = []
    for leg in fig.legends:
        boxes.append(("legend", leg.get_window_extent(r)))
    if fig._supxlabel is not None and fig._supxlabel.get_text():
        boxes.append(("footnote", fig._supxlabel.get_window_extent(r)))
    if fig._suptitle is not None and fig._suptitle.get_text():
        boxes.append(("footnote suptitle", fig._suptitle.get_window_extent(r)))
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if ax.get_title():
            boxes.append((f"title {ax.get_title()!r}", ax.title.get_window_extent(r)))
        if ax.get_xlabel():
            boxes.append((f"xlabel of {ax.get_title()!r}", ax.xaxis.label.get_window_extent(r)))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (na, a), (nb, b) = boxes[i], boxes[j]
            if na.startswith("legend") or nb.startswith("legend") or "footnote" in (na, nb):
                assert not a.overlaps(b), f"{na} overlaps {nb}"
    # and everything lies inside the canvas
    W, H = fig.bbox.width, fig.bbox.height
    for name, b in boxes:
        assert b.x0 >= -1 and b.y0 >= -1 and b.x1 <= W + 1 and b.y1 <= H + 1, f"{name} cut off"


def _saved_and_drawn(make, stem):
    """Save ``make()``'s figure at ``stem`` (files checked by :func:`_check_files`) and draw it
    again, checked for units and overlaps; returns (the SVG text, the new figure)."""
    svg = _check_files(figures.save_figure(make(), stem), stem)
    fig = make()
    _assert_units(fig)
    _assert_no_overlap(fig)
    return svg, fig


def test_overlap_check_detects_title_under_legend():
    """The layout check fails on the overlap first seen by eye (suptitle + outside legend)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(6, 3), layout="constrained")
    fig.subplots()
    fig.suptitle("A title that the legend covers")
    fig.legend(handles=[Line2D([], [], label="a")], loc="outside upper center")
    with pytest.raises(AssertionError, match="overlaps"):
        _assert_no_overlap(fig)


def _texts(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.get_xticklabels()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
    if fig._supxlabel is not None:
        out.append(fig._supxlabel.get_text())
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# synthetic inputs
# ---------------------------------------------------------------------------------------------

LABELS = [
    "Precentral_L",
    "Precentral_R",
    "Frontal_Sup_L",
    "Frontal_Sup_R",
    "Left-Thalamus-Proper",
    "Left-Caudate",
    "Brain-Stem",
    "Occipital_Mid_L",
    "Left_I_IV",
    "Left_CrusI",
    "Vermis_VI",
    "Right_CrusI",
    "Left_Dentate",
]


@pytest.fixture(scope="module")
def fc_inputs():
    rng = np.random.default_rng(3)
    n = len(LABELS)
    roles = croles.annotate(LABELS)
    has = ~np.isin(roles, ["crbl_hemisphere", "crbl_vermis", "dcn"])

    def rand_fc(k):
        x = rng.standard_normal((200, n)) + k * rng.standard_normal((200, 1))
        return np.corrcoef(x.T)

    emp = rand_fc(0.8)
    emp[~has] = np.nan
    emp[:, ~has] = np.nan
    sims = {"homogeneous": rand_fc(0.5), "cmf": rand_fc(0.7)}
    return emp, sims, roles, has


def _table(n_subj=5, gs=(1.0, 2.0), seeds=(0, 1), regions=("global",), rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    rows = []
    for s in range(n_subj):
        for m, off in (("homogeneous", 0.0), ("cmf", 0.05)):
            for g in gs:
                for seed in seeds:
                    for reg in regions:
                        metrics = (
                            ("fc_fit", "fcd_ks")
                            if reg == "global"
                            else (
                                "bold_mae",
                                "fc_profile_error",
                            )
                        )
                        for met in metrics:
                            v = 0.3 + off + 0.02 * g + rng.normal(0, 0.03)
                            rows.append((f"s{s}", m, "corrected", g, seed, met, reg, v))
    return pd.DataFrame(
        rows, columns=["subject", "model", "preset", "G", "seed", "metric", "region", "value"]
    )


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------


def test_figure_paths_keep_dotted_names():
    assert figures.figure_paths("a/fc_G2.0") == (
        Path("a/fc_G2.0.png"),
        Path("a/fc_G2.0.svg"),
    )
    assert figures.figure_paths("a/x.svg")[0].name == "x.png"
    assert figures.figure_paths("a/x.PNG")[1].name == "x.svg"


def test_save_is_deterministic(tmp_path, fc_inputs):
    emp, sims, roles, _ = fc_inputs
    p1 = figures.save_figure(figures.fc_matrices(emp, sims, LABELS, roles), tmp_path / "a" / "fc")
    p2 = figures.save_figure(
        figures.fc_matrices(emp, sims, LABELS, roles), tmp_path / "b" / "fc.png"
    )
    for a, b in zip(p1, p2, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between identical runs"


# ---------------------------------------------------------------------------------------------
# 1. FC matrices
# ---------------------------------------------------------------------------------------------


def test_fc_matrices(tmp_path, fc_inputs):
    emp, sims, roles, has = fc_inputs
    paths = figures.save_figure(figures.fc_matrices(emp, sims, LABELS, roles), tmp_path / "fc")
    svg = _check_files(paths, tmp_path / "fc")
    assert "FC (Pearson r, unitless)" in svg

    fig = figures.fc_matrices(emp, sims, LABELS, roles)
    _assert_no_overlap(fig)
    text = _texts(fig)
    # the FC fit in each title equals an independent Pearson r on the nodes with data
    idx = np.flatnonzero(has)
    iu = np.triu_indices(idx.size, 1)
    for m, name in (("homogeneous", "homogeneous"), ("cmf", "cMF")):
        r = np.corrcoef(sims[m][np.ix_(idx, idx)][iu], emp[np.ix_(idx, idx)][iu])[0, 1]
        assert f"{name}\nFC fit r = {r:.3f}" in text
    # the figure says which nodes lack empirical data
    n_missing = int((~has).sum())
    assert f"{n_missing} nodes" in text and "no empirical BOLD" in text
    assert "no empirical data" in text  # legend entry
    # the empirical panel is NaN (drawn grey) exactly on rows of nodes without data
    ax_emp = next(ax for ax in fig.axes if ax.get_title().startswith("empirical"))
    im = next(c for c in ax_emp.get_children() if isinstance(c, AxesImage))
    arr = np.ma.filled(np.ma.asarray(im.get_array()).astype(float), np.nan)
    order = np.argsort([list(style.ROLE_COLORS).index(r) for r in roles], kind="stable")
    missing_rows = np.isnan(arr).all(axis=1)
    np.testing.assert_array_equal(missing_rows, ~has[order])
    # one shared colour scale, symmetric around 0
    clims = {
        c.get_clim()
        for ax in fig.axes
        for c in ax.get_children()
        if isinstance(c, AxesImage) and c.get_cmap().name.startswith("RdBu")
    }
    assert len(clims) == 1 and next(iter(clims))[0] == -next(iter(clims))[1]


def test_fc_matrices_invalid(fc_inputs):
    emp, sims, roles, _ = fc_inputs
    with pytest.raises(CmftvbError, match="not square"):
        figures.fc_matrices(emp[:, :-1], sims, LABELS, roles)
    with pytest.raises(CmftvbError, match="simulated FC of 'cmf'"):
        figures.fc_matrices(emp, {"cmf": sims["cmf"][:-1, :-1]}, LABELS, roles)
    with pytest.raises(CmftvbError, match="labels"):
        figures.fc_matrices(emp, sims, LABELS[:-1], roles)
    with pytest.raises(CmftvbError, match="unknown node role"):
        figures.fc_matrices(emp, sims, LABELS, ["cortex"] * len(LABELS[:-1]) + ["x"])


# ---------------------------------------------------------------------------------------------
# 2. paired fitness
# ---------------------------------------------------------------------------------------------


def test_paired_fitness(tmp_path):
    tab = _table()
    chosen = {"homogeneous": 1.0, "cmf": 2.0}
    comp = cstats.paired_comparison(
        tab,
        chosen_G=pd.DataFrame(
            {"model": list(chosen), "preset": "corrected", "G": list(chosen.values())}
        ),
        n_boot=200,
    )
    row = comp[(comp.metric == "fc_fit") & (comp.region == "global")].iloc[0]
    svg, fig = _saved_and_drawn(
        lambda: figures.paired_fitness(tab, "fc_fit", chosen_G=chosen, test=row),
        tmp_path / "paired",
    )
    assert "FC fit (Pearson r, unitless)" in svg and "Wilcoxon" in svg
    ax = _data_axes(fig)[0]
    # the dots are the seed means per subject at each model's chosen G (computed here)
    pts = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(pts) == 2
    for k, (m, g) in enumerate(chosen.items()):
        sel = tab[(tab.model == m) & (tab.G == g) & (tab.metric == "fc_fit")]
        expect = {s: sel[sel.subject == s].value.to_numpy().mean() for s in sel.subject.unique()}
        got = pts[k].get_offsets()[:, 1]
        np.testing.assert_allclose(np.sort(got), np.sort(list(expect.values())), rtol=1e-12)
    # one grey line per subject
    assert sum(1 for ln in ax.lines if ln.get_color() == "#9E9E9E") == 5
    text = _texts(fig)
    assert f"p = {ffit._num(row.p_w)}" in text and "n = 5 paired subjects" in text


def test_paired_fitness_invalid():
    tab = _table()
    with pytest.raises(CmftvbError, match="several G values"):
        figures.paired_fitness(tab, "fc_fit")
    with pytest.raises(CmftvbError, match="metric 'nope'"):
        figures.paired_fitness(tab, "nope", chosen_G={"cmf": 1, "homogeneous": 1})
    with pytest.raises(CmftvbError, match="chosen G 3"):
        figures.paired_fitness(tab, "fc_fit", chosen_G={"cmf": 3, "homogeneous": 1})
    with pytest.raises(CmftvbError, match="missing column"):
        figures.paired_fitness(tab.drop(columns="seed"), "fc_fit")
    with pytest.raises(CmftvbError, match="test row"):
        figures.paired_fitness(tab, "fc_fit", chosen_G={"cmf": 1, "homogeneous": 1}, test={"x": 1})


# ---------------------------------------------------------------------------------------------
# 3. region-wise error
# ---------------------------------------------------------------------------------------------

CRBL = ["Right_X", "Left_I_IV", "Vermis_IX", "Left_CrusII", "Vermis_VI", "Right_I_IV"]


def test_regional_error(tmp_path):
    regions = ("global", "Precentral_L", "Left_Dentate", *CRBL)
    tab = _table(n_subj=4, gs=(1.0,), regions=regions)
    svg, fig = _saved_and_drawn(lambda: figures.regional_error(tab), tmp_path / "reg")
    assert "BOLD MAE" in svg and "FC-profile error" in svg
    axes = _data_axes(fig)
    assert len(axes) == 6  # 2 metrics x (left, vermis, right)
    titles = [ax.get_title() for ax in axes[:3]]
    assert titles == ["left hemisphere", "vermis", "right hemisphere"]
    # lobules in anatomical order; vermis has only VI..X
    ticks = [[t.get_text() for t in ax.get_xticklabels()] for ax in axes[:3]]
    assert ticks[0] == list(croles.LOBULES) and ticks[2] == list(croles.LOBULES)
    assert ticks[1] == list(croles.VERMIS_LOBULES)
    # the cMF mean at Left_I_IV (BOLD MAE) sits at x = 0 + offset with the subjects' mean
    sel = tab[(tab.model == "cmf") & (tab.region == "Left_I_IV") & (tab.metric == "bold_mae")]
    expect = sel.groupby("subject").value.mean().mean()
    ys = [
        ln.get_ydata()[0]
        for ln in axes[0].lines
        if len(ln.get_xdata()) == 1 and abs(ln.get_xdata()[0] - 0.175) < 1e-9
    ]
    assert any(abs(y - expect) < 1e-12 for y in ys)
    # the DCN and cerebral rows are not drawn: only the 6 cortex labels' lobules have points
    n_points = sum(
        len(c.get_offsets()) for ax in axes for c in ax.collections if isinstance(c, PathCollection)
    )
    assert n_points == 2 * len(CRBL) * 4 * 2  # metrics x regions x subjects x models


def test_regional_error_without_cerebellar_data_says_so(tmp_path):
    tab = _table(n_subj=3, gs=(1.0,), regions=("global", "Precentral_L"))
    paths = figures.save_figure(figures.regional_error(tab), tmp_path / "reg")
    svg = _check_files(paths, tmp_path / "reg")
    assert "no empirical BOLD for any cerebellar-cortex node" in svg
    fig = figures.regional_error(tab)
    assert "not available" in _texts(fig)


def test_regional_error_invalid():
    with pytest.raises(CmftvbError, match="missing column"):
        figures.regional_error(pd.DataFrame({"region": ["Left_X"]}))
    with pytest.raises(CmftvbError, match="empty"):
        figures.regional_error(_table().iloc[:0])


# ---------------------------------------------------------------------------------------------
# 4-5. spectra and coherence
# ---------------------------------------------------------------------------------------------

FS = 250.0
PEAKS = {"GrC": 10.0, "GoC": 6.0, "MLI": 20.0, "PC": 40.0, "r_E": 2.0, "r_I": 3.0}


@pytest.fixture(scope="module")
def spectra():
    rng = np.random.default_rng(5)
    t = np.arange(0, 40, 1 / FS)
    out = {}
    for p, f0 in PEAKS.items():
        x = 3 * np.sin(2 * np.pi * f0 * t) + rng.standard_normal((3, t.size))
        f, pxx = signal.welch(x, FS, nperseg=500, noverlap=250)
        out[p] = pxx
    return f, out


def test_population_spectra(tmp_path, spectra):
    f, psd = spectra
    svg, fig = _saved_and_drawn(lambda: figures.population_spectra(f, psd), tmp_path / "spec")
    assert "frequency (Hz)" in svg
    for sym in "δθαβγ":
        assert sym in svg
    for ax in _data_axes(fig):
        line = max(ax.lines, key=lambda ln: len(ln.get_xdata()))
        x, y = line.get_xdata(), line.get_ydata()
        assert ax.get_xscale() == "log"
        # normalised median spectrum peaks at the planted frequency (0.5 Hz resolution)
        assert abs(x[np.argmax(y)] - PEAKS[ax.get_title()]) <= 0.5
        assert 0.9 <= y.max() <= 1.0 + 1e-12
    # nested: models overlaid in their fixed colours
    fig = figures.population_spectra(
        f, {"homogeneous": {"r_E": psd["r_E"]}, "cmf": {"r_E": psd["r_E"], "PC": psd["PC"]}}
    )
    colors = {ln.get_color() for ax in _data_axes(fig) for ln in ax.lines}
    assert {figures.MODEL_COLORS["homogeneous"], figures.MODEL_COLORS["cmf"]} <= colors


def test_population_spectra_accepts_welch_psd_layout():
    """ephys.welch_psd returns (F, channels): it plugs in without transposing."""
    rng = np.random.default_rng(2)
    t = np.arange(0, 20, 1 / FS)
    x = np.stack([np.sin(2 * np.pi * 25 * t) + 0.5 * rng.standard_normal(t.size)] * 3, axis=1)
    f, P = ephys.welch_psd(x, FS)
    assert P.shape == (f.size, 3)
    fig = figures.population_spectra(f, {"PC": P})
    line = _data_axes(fig)[0].lines[0]
    assert abs(line.get_xdata()[np.argmax(line.get_ydata())] - 25.0) <= 0.5


def test_population_spectra_invalid(spectra):
    f, psd = spectra
    with pytest.raises(CmftvbError, match="'GrC' has shape"):
        figures.population_spectra(f[:-1], psd)
    with pytest.raises(CmftvbError, match="strictly increasing"):
        figures.population_spectra(f[::-1], psd)
    with pytest.raises(CmftvbError, match="band 'delta'"):
        figures.population_spectra(f, psd, bands={"delta": (4, 0.5)})
    with pytest.raises(CmftvbError, match="no spectra"):
        figures.population_spectra(f, {})


def test_coherence_plot(tmp_path):
    rng = np.random.default_rng(9)
    t = np.arange(0, 40, 1 / FS)
    common = np.sin(2 * np.pi * 12 * t)
    a = common + 0.3 * rng.standard_normal(t.size)
    b = common + 0.3 * rng.standard_normal(t.size)
    c = rng.standard_normal(t.size)
    f, cab = signal.coherence(a, b, FS, nperseg=500)
    _, cac = signal.coherence(a, c, FS, nperseg=500)
    coh = {("GrC", "PC"): cab, ("GrC", "noise"): cac}
    svg, fig = _saved_and_drawn(lambda: figures.coherence_plot(f, coh), tmp_path / "coh")
    assert "magnitude-squared coherence" in svg and "GrC – PC" in svg
    ax = _data_axes(fig)[0]
    lines = {ln.get_label(): ln for ln in ax.lines}
    x, y = lines["GrC – PC"].get_xdata(), lines["GrC – PC"].get_ydata()
    assert abs(x[np.argmax(y)] - 12.0) <= 0.5 and y.max() > 0.9
    assert ax.get_ylim() == (0, 1.02)

    with pytest.raises(CmftvbError, match="outside"):
        figures.coherence_plot(f, {("a", "b"): cab * 2})
    with pytest.raises(CmftvbError, match="has shape"):
        figures.coherence_plot(f, {("a", "b"): cab[:-2]})


def test_coherence_plot_panels_per_pair():
    """Per-model input (or many pairs): one panel per pair, models in their fixed colours."""
    f = np.linspace(0, 125, 251)
    base = np.clip(0.5 + 0.3 * np.cos(f / 20), 0, 1)
    coh = {
        "homogeneous": {("S_E", "S_I"): base},
        "cmf": {("S_E", "S_I"): base * 0.5, ("GrC", "PC"): np.stack([base, base * 0.9])},
    }
    fig = figures.coherence_plot(f, coh)
    _assert_units(fig)
    _assert_no_overlap(fig)
    axes = _data_axes(fig)
    assert [ax.get_title() for ax in axes] == ["S_E – S_I", "GrC – PC"]
    colors = [ln.get_color() for ln in axes[0].lines]
    assert colors == [figures.MODEL_COLORS["homogeneous"], figures.MODEL_COLORS["cmf"]]
    flat = {f"pair {k}": base for k in range(figures.MAX_OVERLAID + 1)}
    assert len(_data_axes(figures.coherence_plot(f, flat))) == figures.MAX_OVERLAID + 1
    assert len(_data_axes(figures.coherence_plot(f, dict(list(flat.items())[:2])))) == 1
    with pytest.raises(CmftvbError, match="either"):
        figures.coherence_plot(f, {"cmf": {("a", "b"): base}, ("a", "b"): base})


# ---------------------------------------------------------------------------------------------
# 6. firing rates
# ---------------------------------------------------------------------------------------------


def test_firing_rates(tmp_path):
    rt = pd.DataFrame(
        {
            "population": ["GrC"] * 4 + ["r_E"] * 4 + ["r_E"] * 4,
            "model": ["cmf"] * 8 + ["homogeneous"] * 4,
            "rate_hz": [1.0, 2.0, 3.0, 20.0, 2, 3, 4, 5, 2, 3, 40, 50],
        }
    )
    ranges = {"GrC": (0.1, 10.0, "Chadderton et al. 2004"), "r_E": (1.0, 10.0)}
    svg, fig = _saved_and_drawn(lambda: figures.firing_rates(rt, ranges), tmp_path / "rates")
    assert "firing rate (Hz)" in svg and "Chadderton et al. 2004" in svg
    axes = {ax.get_title(): ax for ax in _data_axes(fig)}
    ticks = {k: [t.get_text() for t in ax.get_xticklabels()] for k, ax in axes.items()}
    # GrC: only cMF has it; 3 of 4 values inside 0.1-10 Hz
    assert ticks["GrC"] == ["cMF\n75 % in range"]
    assert ticks["r_E"] == ["homogeneous\n50 % in range", "cMF\n100 % in range"]


def test_firing_rates_with_signals_table(tmp_path):
    """The ranges of cmftvb.signals.ephys and its rate_summary() table plug in directly."""
    rng = np.random.default_rng(1)
    rates = np.abs(rng.normal([2, 10, 12, 60], [0.2, 1, 1, 5], size=(500, 4)))
    summ = ephys.rate_summary(rates, ["GrC", "GoC", "MLI", "PC"])
    phys = ephys.physiological_ranges()
    fig = figures.firing_rates(summ, phys)
    _assert_units(fig)
    text = _texts(fig)
    for pop in ("GrC", "GoC", "MLI", "PC"):
        lo, hi = phys[pop]["low_hz"], phys[pop]["high_hz"]
        assert f"{pop} {lo:g}–{hi:g} Hz" in text
    assert "Chadderton et al. 2004" in text and "Häusser & Clark 1997" in text
    paths = figures.save_figure(figures.firing_rates(summ, phys), tmp_path / "r")
    _check_files(paths, tmp_path / "r")


def test_firing_rates_leave_out_gating_variables():
    rt = pd.DataFrame(
        {"population": ["PC", "PC", "S_E", "S_I"], "rate_hz": [50.0, 60.0, 0.2, 0.04]}
    )
    fig = figures.firing_rates(rt, {"PC": (30, 100)})
    assert [ax.get_title() for ax in _data_axes(fig)] == ["PC"]
    assert "Not shown: S_E, S_I" in " ".join(_texts(fig).split())
    with pytest.raises(CmftvbError, match="only gating variables"):
        figures.firing_rates(rt[rt.population != "PC"], {})


def test_firing_rates_invalid():
    rt = pd.DataFrame({"population": ["GrC"], "rate_hz": [-1.0]})
    with pytest.raises(CmftvbError, match="negative"):
        figures.firing_rates(rt, {})
    with pytest.raises(CmftvbError, match="missing column"):
        figures.firing_rates(rt.rename(columns={"rate_hz": "x"}), {})
    rt = pd.DataFrame({"population": ["GrC"], "rate_hz": [1.0]})
    with pytest.raises(CmftvbError, match="low <= high"):
        figures.firing_rates(rt, {"GrC": (5, 1)})


# ---------------------------------------------------------------------------------------------
# 7. node curves
# ---------------------------------------------------------------------------------------------


def test_node_curves(tmp_path):
    mf = np.linspace(0, 80, 41)
    cur = {"GrC": 0.12 * mf, "GoC": mf, "MLI": 11 + 0.2 * mf, "PC": 55 + 0.6 * mf}
    ref = {"PC": ([4, 10, 20, 40, 60], [55.8, 57.06, 63.17, 78.48, 90.93])}
    paths = figures.save_figure(figures.node_curves(mf, cur, reference=ref), tmp_path / "nc")
    svg = _check_files(paths, tmp_path / "nc")
    assert "mossy-fibre input (Hz)" in svg and "steady-state rate (Hz)" in svg

    fig = figures.node_curves(mf, {"a": cur, "b": cur}, reference=ref)
    _assert_units(fig)
    _assert_no_overlap(fig)
    axes = _data_axes(fig)
    assert [ax.get_title() for ax in axes] == ["GrC", "GoC", "MLI", "PC"]
    for ax in axes:
        # validity limit drawn at 70 Hz
        assert any(
            np.allclose(ln.get_xdata(), [70, 70]) and ln.get_linestyle() == ":" for ln in ax.lines
        )
    assert "validity limit (70 Hz)" in _texts(fig)
    pc = axes[3]
    refs = [ln for ln in pc.lines if ln.get_marker() == "o"]
    np.testing.assert_array_equal(refs[0].get_ydata(), ref["PC"][1])


def test_node_curves_show_the_validity_limit_when_inputs_stop_short():
    mf = np.array([0.0, 20.0, 40.0, 60.0])
    fig = figures.node_curves(mf, {"PC": 55 + 0.6 * mf})
    ax = _data_axes(fig)[0]
    assert ax.get_xlim()[1] > 70


def test_node_curves_invalid():
    mf = np.linspace(0, 70, 8)
    with pytest.raises(CmftvbError, match="'PC' have shape"):
        figures.node_curves(mf, {"PC": np.zeros(7)})
    with pytest.raises(CmftvbError, match="increasing"):
        figures.node_curves(mf[::-1], {"PC": np.zeros(8)})


# ---------------------------------------------------------------------------------------------
# 8. G sweep
# ---------------------------------------------------------------------------------------------


def test_g_sweep(tmp_path):
    tab = _table(n_subj=4, gs=(0.5, 1.0, 2.0))
    chosen = cstats.best_g(tab, "in_sample_max_mean_fc_fit")  # the stats table plugs in directly
    paths = figures.save_figure(
        figures.g_sweep(tab, "fc_fit", chosen, rule="max mean FC fit"), tmp_path / "gs"
    )
    svg = _check_files(paths, tmp_path / "gs")
    assert "global coupling G (unitless)" in svg

    fig = figures.g_sweep(tab, "fc_fit", chosen)
    _assert_units(fig)
    _assert_no_overlap(fig)
    ax = _data_axes(fig)[0]
    for _, row in chosen.iterrows():
        name = figures.MODEL_NAMES[row.model]
        star = next(ln for ln in ax.lines if ln.get_label() == f"{name}: chosen G = {row.G:g}")
        assert star.get_xdata()[0] == row.G
        # the star sits on the mean over subjects of the seed means, computed here
        sel = tab[(tab.model == row.model) & (tab.G == row.G) & (tab.metric == "fc_fit")]
        expect = sel.groupby("subject").value.mean().mean()
        assert star.get_ydata()[0] == pytest.approx(expect, rel=1e-12)
        assert expect == pytest.approx(row.score, rel=1e-12)


def test_g_sweep_relative_axis_names_g_star():
    """Runs given as fractions of G* (G_abs != G) get a G / G* axis; absolute runs do not."""
    tab = _table(n_subj=3, gs=(0.5, 0.9))
    relative = tab.assign(G_abs=tab["G"].astype(float) * 0.48)
    ax = _data_axes(figures.g_sweep(relative, "fc_fit", None))[0]
    assert ax.get_xlabel().startswith("G / G*")
    ax = _data_axes(figures.g_sweep(tab.assign(G_abs=tab["G"]), "fc_fit", None))[0]
    assert ax.get_xlabel() == "global coupling G (unitless)"


def _per_subject_best(tab):
    """A hand-made best_G table (rule loso form) with different G for different subjects."""
    subjects = sorted(tab.subject.unique())
    gs = sorted(tab.G.unique())
    rows = []
    for i, s in enumerate(subjects):
        rows.append((s, "homogeneous", "corrected", gs[i % len(gs)]))
        rows.append((s, "cmf", "corrected", gs[(i + 1) % len(gs)]))
    return pd.DataFrame(rows, columns=["subject", "model", "preset", "G"])


def test_paired_fitness_per_subject_chosen_g():
    tab = _table(n_subj=5, gs=(0.5, 1.0, 2.0))
    best = _per_subject_best(tab)
    fig = figures.paired_fitness(tab, "fc_fit", chosen_G=best, preset="corrected")
    ax = _data_axes(fig)[0]
    pts = [c for c in ax.collections if c.get_offsets().shape[0] == 5]
    assert len(pts) == 2
    for k, model in enumerate(["homogeneous", "cmf"]):
        got = pts[k].get_offsets()[:, 1]
        b = best[best.model == model].set_index("subject").G
        expect = [
            tab[(tab.subject == s) & (tab.model == model) & (tab.G == b[s])]
            .query("metric == 'fc_fit'")
            .value.mean()
            for s in sorted(b.index)
        ]
        assert np.allclose(np.sort(got), np.sort(expect), rtol=1e-12)
        assert not np.allclose(np.sort(got), np.sort(expect) + 1e-3)
    assert "per subject" in _texts(fig)
    # the table filter agrees with cmftvb.stats.at_chosen_g, per subject
    got = figures.at_chosen_g(tab, best, "corrected")
    expect = cstats.at_chosen_g(tab, best)
    key = ["subject", "model", "G", "seed", "metric"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expect.sort_values(key).reset_index(drop=True),
    )
    chosen = figures.chosen_g(best, "corrected")
    g0 = best.iloc[0]
    assert figures.is_chosen(chosen, g0.model, g0.G, subject=g0.subject)
    assert not figures.is_chosen(chosen, g0.model, g0.G + 0.1, subject=g0.subject)
    assert not figures.is_chosen(chosen, g0.model, g0.G)  # per subject: subject needed
    bad = best.assign(G=best.G.where(best.index != 0, 9.0))
    with pytest.raises(CmftvbError, match="not among its G values"):
        figures.paired_fitness(tab, "fc_fit", chosen_G=bad)


def test_g_sweep_loso(tmp_path):
    tab = _table(n_subj=5, gs=(0.5, 1.0, 2.0))
    best = _per_subject_best(tab)
    fig = figures.g_sweep(tab, "fc_fit", best, rule="loso")
    _assert_units(fig)
    ax = _data_axes(fig)[0]
    for model, sub in best.groupby("model"):
        name = figures.MODEL_NAMES[model]
        counts = sub.G.value_counts().sort_index()
        summary = ", ".join(f"{g:g} ({n})" for g, n in counts.items())
        assert f"{name}: chosen G (subjects) {summary}" in [ln.get_label() for ln in ax.lines]
        for g, n in counts.items():
            gid = f"chosen {model} G={g:g} n={n}/{len(sub)}"
            star = next(ln for ln in ax.lines if ln.get_gid() == gid)
            sel = tab[(tab.model == model) & (tab.G == g) & (tab.metric == "fc_fit")]
            assert star.get_xdata()[0] == g
            expect = sel.groupby("subject").value.mean().mean()
            assert star.get_ydata()[0] == pytest.approx(expect, rel=1e-12)
    assert "rule loso" in " ".join(_texts(fig).split())
    # the stats table with rule loso plugs in directly
    paths = figures.save_figure(
        figures.g_sweep(tab, "fc_fit", cstats.best_g(tab), rule="loso"), tmp_path / "gl"
    )
    _check_files(paths, tmp_path / "gl")


def test_paired_fitness_noise_ceiling():
    tab = _table(n_subj=4, gs=(1.0,))
    rng = np.random.default_rng(3)
    ceil = tab[tab.metric == "fc_fit"].assign(metric=NOISE_CEILING_METRIC)
    ceil = ceil.assign(value=0.6 + rng.normal(0, 0.05, len(ceil)))
    fig = figures.paired_fitness(pd.concat([tab, ceil]), "fc_fit")
    ax = _data_axes(fig)[0]
    line = next(ln for ln in ax.lines if ln.get_label() == figures.CEILING_LABEL)
    per = ceil.groupby("subject").value.mean()
    assert line.get_ydata()[0] == pytest.approx(per.mean(), rel=1e-12)
    ticks = next(ln for ln in ax.lines if ln.get_label() == "_noise ceiling per subject")
    assert np.allclose(np.sort(ticks.get_ydata()), np.sort(per.to_numpy()), rtol=1e-12)
    assert "noise ceiling" in _texts(fig).lower()
    # not drawn for other metrics, nor without ceiling rows
    for fig in (
        figures.paired_fitness(pd.concat([tab, ceil]), "fcd_ks"),
        figures.paired_fitness(tab, "fc_fit"),
    ):
        labels = [ln.get_label() for ln in _data_axes(fig)[0].lines]
        assert figures.CEILING_LABEL not in labels


def test_g_sweep_without_choice_and_single_subject(tmp_path):
    """No G chosen (single-G study) and n = 1: drawn without stars or intervals, and said so."""
    tab = _table(n_subj=1, gs=(2.0,))
    fig = figures.g_sweep(tab, "fc_fit", None)
    _assert_units(fig)
    ax = _data_axes(fig)[0]
    assert not [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert "n = 1: no interval" in " ".join(_texts(fig).split())
    assert not ax.collections  # no interval band
    paths = figures.save_figure(figures.g_sweep(tab, "fc_fit", None), tmp_path / "g1")
    _check_files(paths, tmp_path / "g1")


def test_g_sweep_invalid():
    tab = _table(n_subj=3, gs=(0.5, 1.0))
    with pytest.raises(CmftvbError, match="was not simulated"):
        figures.g_sweep(tab, "fc_fit", {"cmf": 7.0})
    with pytest.raises(CmftvbError, match="names model 'x'"):
        figures.g_sweep(tab, "fc_fit", {"x": 1.0})
    with pytest.raises(CmftvbError, match="metric 'r'"):
        figures.g_sweep(tab, "r", {"cmf": 1.0})
    two = pd.concat([tab, tab.assign(preset="published")])
    with pytest.raises(CmftvbError, match="several presets"):
        figures.g_sweep(two, "fc_fit", {"cmf": 1.0})


def test_mean_ci_equals_scipy_t_interval():
    x = np.array([0.21, 0.25, 0.19, 0.30, 0.27, np.nan])
    m, half, n = figures.mean_ci(x)
    ok = x[np.isfinite(x)]
    lo, hi = stats.t.interval(0.95, ok.size - 1, loc=ok.mean(), scale=stats.sem(ok))
    assert n == 5 and m == pytest.approx(ok.mean(), rel=1e-14)
    assert (m - half, m + half) == pytest.approx((lo, hi), rel=1e-12)
    assert np.isnan(figures.mean_ci([1.0])[1])
    assert np.isnan(figures.mean_ci([1.0, 2.0])[1])  # n = 2: not drawn (MIN_N_INTERVAL)


def test_metric_label_units():
    for m in ("fc_fit", "fcd_ks", "bold_mae", "fc_profile_error", "peak_hz", "delay_ms", "x"):
        assert UNIT.search(figures.metric_label(m)), m
    assert figures.metric_label("peak_hz") == "peak (Hz)"


# ---------------------------------------------------------------------------------------------
# every figure returns a Figure; the saver writes both files or neither
# ---------------------------------------------------------------------------------------------


def _small_inputs(name, fc_inputs, spectra, sample_zip):
    """Small arguments for each figure function of figures.FIGURES."""
    emp, sims, roles, _ = fc_inputs
    f, psd = spectra
    tab = _table(n_subj=3, gs=(1.0,))
    mf = np.linspace(0, 70, 8)
    return {
        "connectome_weights": lambda: ((load_any(sample_zip),), {}),
        "fc_matrices": lambda: ((emp, sims, LABELS, roles), {}),
        "paired_fitness": lambda: ((tab, "fc_fit"), {}),
        "g_sweep": lambda: ((tab, "fc_fit", None), {}),
        "regional_error": lambda: ((_table(n_subj=3, gs=(1.0,), regions=("global", *CRBL)),), {}),
        "population_spectra": lambda: ((f, {"PC": psd["PC"]}), {}),
        "coherence_plot": lambda: ((f, {("a", "b"): np.full(f.size, 0.5)}), {}),
        "firing_rates": lambda: (
            (pd.DataFrame({"population": ["PC", "PC"], "rate_hz": [40.0, 60.0]}), {}),
            {},
        ),
        "node_curves": lambda: ((mf, {"PC": 55 + 0.6 * mf}), {}),
    }[name]()


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_every_figure_returns_a_figure(name, fc_inputs, spectra, sample_zip):
    from matplotlib.figure import Figure

    args, kwargs = _small_inputs(name, fc_inputs, spectra, sample_zip)
    fig = figures.FIGURES[name](*args, **kwargs)
    assert isinstance(fig, Figure)
    assert fig.axes, f"{name} drew no axes"


def test_figures_registry_lists_every_public_figure_function():
    """FIGURES holds each theme module's public functions that return a Figure."""
    import inspect

    from cmftvb.figures import connectome, ephys, fc, fitness, single_node

    found = {
        n
        for mod in (connectome, ephys, fc, fitness, single_node)
        for n, fn in inspect.getmembers(mod, inspect.isfunction)
        if fn.__module__ == mod.__name__
        and not n.startswith("_")
        and inspect.signature(fn).return_annotation in ("Figure", "matplotlib.figure.Figure")
    }
    assert found == set(figures.FIGURES)


def test_save_figure_writes_both_or_neither(tmp_path, monkeypatch):
    """A failure while rendering the SVG leaves no PNG, no SVG and no temporary file, and
    keeps files of an earlier run untouched."""
    fig = figures.node_curves(np.linspace(0, 70, 8), {"PC": np.linspace(55, 90, 8)})
    png, svg = figures.save_figure(fig, tmp_path / "nc")
    before = png.read_bytes(), svg.read_bytes()
    real = fig.savefig

    def failing(fname, *args, format=None, **kwargs):
        if format == "svg":
            Path(fname).write_text("<svg partial")
            raise RuntimeError("disk full")
        return real(fname, *args, format=format, **kwargs)

    monkeypatch.setattr(fig, "savefig", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        figures.save_figure(fig, tmp_path / "nc")
    assert (png.read_bytes(), svg.read_bytes()) == before
    with pytest.raises(RuntimeError, match="disk full"):
        figures.save_figure(fig, tmp_path / "new" / "nc")
    assert not list((tmp_path / "new").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nc.png", "nc.svg", "new"]


def test_save_figure_rejects_what_is_not_a_figure(tmp_path):
    with pytest.raises(CmftvbError, match="expected a matplotlib Figure"):
        figures.save_figure([1, 2], tmp_path / "x")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# connectome
# ---------------------------------------------------------------------------------------------


def test_connectome_weights(tmp_path, sample_zip):
    c = load_any(sample_zip)
    paths = figures.save_figure(figures.connectome_weights(c), tmp_path / "c")
    svg = _check_files(paths, tmp_path / "c")
    assert "DCN" in svg and "log10 weight" in svg
    assert [r for r, _, _ in figures.role_runs(c.roles)][-3:] == [
        "crbl_vermis",
        "dcn",
        "crbl_hemisphere",
    ]
    assert figures.role_runs(["a", "a", "b", "a"]) == [("a", 0, 2), ("b", 2, 3), ("a", 3, 4)]
    # the image is log10 of the weights, zero weights blank (NaN)
    fig = figures.connectome_weights(c, title="T")
    im = next(a for a in fig.axes[0].get_children() if isinstance(a, AxesImage))
    arr = np.ma.filled(np.ma.asarray(im.get_array()).astype(float), np.nan)
    w = c.weights
    np.testing.assert_allclose(arr[w > 0], np.log10(w[w > 0]), rtol=1e-12)
    assert np.isnan(arr[w == 0]).all()
    # the node count per role is written under the figure with the display names
    counts = fig.texts[0].get_text()
    assert f"DCN {int((c.roles == 'dcn').sum())}" in counts


# ---------------------------------------------------------------------------------------------
# from the workflow's files to a figure's inputs
# ---------------------------------------------------------------------------------------------


def test_chosen_g_rule():
    best = pd.DataFrame(
        {
            "model": ["cmf", "homogeneous", "cmf"],
            "preset": ["corrected", "corrected", "published"],
            "G": [2.0, 1.0, 3.0],
        }
    )
    assert figures.chosen_g(best, "corrected") == {"cmf": 2.0, "homogeneous": 1.0}
    assert figures.chosen_g({"cmf": 2}) == {"cmf": 2.0}
    assert figures.chosen_g(None) is None and figures.chosen_g(best.iloc[:0], "x") is None
    with pytest.raises(CmftvbError, match="several rows per model"):
        figures.chosen_g(best)
    chosen = figures.chosen_g(best, "corrected")
    assert figures.is_chosen(chosen, "cmf", 2.0) and not figures.is_chosen(chosen, "cmf", 1.0)
    assert not figures.is_chosen(chosen, "other", 2.0)
    assert figures.is_chosen(None, "cmf", 7.0)
    # the table filter agrees with cmftvb.stats.at_chosen_g
    tab = _table(n_subj=2, gs=(1.0, 2.0, 3.0))
    got = figures.at_chosen_g(tab, best, "corrected")
    expect = cstats.at_chosen_g(tab, best[best.preset == "corrected"])
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expect.sort_index().reset_index(drop=True)
    )
    assert figures.at_chosen_g(tab, best.iloc[:0]) is tab


def test_empirical_and_mean_fc_from_run_files():
    rng = np.random.default_rng(4)
    has = np.array([True, False, True, True, False])
    bold = rng.standard_normal((50, 3))
    fc = figures.empirical_fc(bold, has)
    np.testing.assert_allclose(
        fc[np.ix_(has, has)][np.triu_indices(3, 1)],
        np.corrcoef(bold.T)[np.triu_indices(3, 1)],
        rtol=1e-12,
    )
    assert np.isnan(fc[~has]).all() and np.isnan(fc[:, ~has]).all()
    runs = [
        ({"fc": rng.standard_normal((2, 5, 5))}, {"model": m, "G": g})
        for m in ("homogeneous", "cmf")
        for g in (1.0, 2.0)
    ]
    got = figures.mean_fc_by_model(runs, {"homogeneous": 1.0, "cmf": 2.0})
    np.testing.assert_allclose(got["homogeneous"], runs[0][0]["fc"].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got["cmf"], runs[3][0]["fc"].mean(axis=0), rtol=1e-12)
    both = figures.mean_fc_by_model(runs[:2])  # no G chosen: every seed of every G
    stack = np.concatenate([runs[0][0]["fc"], runs[1][0]["fc"]])
    np.testing.assert_allclose(both["homogeneous"], stack.mean(axis=0), rtol=1e-12)


def test_spectra_by_model_from_signal_files():
    rng = np.random.default_rng(6)
    f = np.linspace(0, 50, 11)

    def run(model, G, pops):
        arrays = {"freqs_hz": f, "coh_freqs_hz": f, "coh_nodes_r_E": rng.random((2, 4, 11))}
        arrays |= {f"psd_{p}": rng.random((2, 3, 11)) for p in pops}
        arrays["coh_S_E__S_I"] = rng.random((2, 3, 11))
        return arrays, {"model": model, "G": G}

    runs = [
        run("cmf", 1.0, ["PC", "r_E"]),
        run("cmf", 2.0, ["PC"]),
        run("homogeneous", 1.0, ["r_E"]),
    ]
    freqs, psd, coh_f, coh = figures.spectra_by_model(runs, {"cmf": 1.0, "homogeneous": 1.0})
    np.testing.assert_array_equal(freqs, f)
    np.testing.assert_array_equal(coh_f, f)
    assert {m: sorted(d) for m, d in psd.items()} == {"cmf": ["PC", "r_E"], "homogeneous": ["r_E"]}
    # seeds and nodes become rows: (2 seeds x 3 nodes, F)
    np.testing.assert_array_equal(psd["cmf"]["PC"], runs[0][0]["psd_PC"].reshape(6, 11))
    assert sorted(coh) == ["S_E-S_I (cMF)", "S_E-S_I (homogeneous)"]  # node coherence left out
    _, all_g, _, _ = figures.spectra_by_model(runs)
    assert all_g["cmf"]["PC"].shape == (12, 11)


def test_rates_at_chosen_g():
    tab = pd.DataFrame(
        {
            "subject": "s0",
            "model": ["cmf", "cmf", "cmf", "homogeneous"],
            "preset": ["corrected", "corrected", "published", "corrected"],
            "G": [1.0, 2.0, 1.0, 1.0],
            "seed": 0,
            "metric": ["PC_rate_hz", "PC_rate_hz", "PC_rate_hz", "r_E_rate_hz"],
            "region": "x",
            "value": [50.0, 60.0, 70.0, 3.0],
        }
    )
    got = figures.rates_at_chosen_g(tab, {"cmf": 2.0, "homogeneous": 1.0}, "corrected")
    assert got.to_dict("list") == {
        "population": ["PC", "r_E"],
        "rate_hz": [60.0, 3.0],
        "model": ["cmf", "homogeneous"],
    }
    assert len(figures.rates_at_chosen_g(tab, None, "corrected")) == 3


def test_rates_by_preset_applies_preset_overrides_only():
    """Preset overrides reach the node, projection overrides do not (they would raise)."""
    from cmftvb.models import nodecurve, presets

    mossy = [10.0, 40.0]
    pairs = [("crbl.alpha.PC", 2.5), ("projections.crbl_to_dcn.weight", 9.0)]
    got = figures.rates_by_preset(mossy, ["corrected"], pairs)
    preset = presets.apply_overrides(presets.load_preset("corrected"), [("crbl.alpha.PC", "2.5")])
    table = nodecurve.node_curve(np.array(mossy), preset)
    assert list(got) == ["corrected"] and list(got["corrected"]) == ["GrC", "GoC", "MLI", "PC"]
    np.testing.assert_array_equal(got["corrected"]["PC"], table[:, 4])
    plain = figures.rates_by_preset(mossy, ["corrected"])
    assert not np.allclose(plain["corrected"]["PC"], got["corrected"]["PC"])


def test_node_curves_mark_multistable_inputs():
    from cmftvb.figures.single_node import multistable_by_preset

    mf = np.array([0.0, 4.0, 40.0])
    multi = multistable_by_preset(mf, ["published"])
    # issue 12: the published node is bistable at 4 Hz (from silence: GrC 44.4, MLI 172.2, PC
    # 132.6 Hz; from the authors' start: GrC 8.69, MLI 30.71, PC 120.7 Hz), not at 0 or 40 Hz
    assert [m for m, _ in multi["published"]] == [4.0]
    states = multi["published"][0][1]
    np.testing.assert_allclose(
        states[np.argsort(states[:, 0])][:, [0, 2, 3]],
        [[8.69, 30.71, 120.72], [44.42, 172.19, 132.65]],
        atol=0.01,
    )
    rates = figures.rates_by_preset(mf, ["published"])["published"]
    fig = figures.node_curves(mf, rates, multistable={"": multi["published"]})
    _assert_units(fig)
    pc = _data_axes(fig)[3]
    marks = [ln for ln in pc.lines if ln.get_marker() == "D"]
    assert len(marks) == 1 and np.allclose(
        sorted(marks[0].get_ydata()), [120.72, 132.65], atol=0.01
    )
    assert "several stable states" in _texts(fig)
