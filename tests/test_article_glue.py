"""Workflow glue of the article's analyses (cmftvb.signals.article, fig_flatmap_regions): from a
packed simulation batch and tidy tables to the analyses' inputs, checked against the analyses
called directly on values built here."""

from __future__ import annotations

import io as _io

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cmftvb import CmftvbError
from cmftvb.connectome import Connectome
from cmftvb.figures import article as FA
from cmftvb.network import build_network
from cmftvb.signals import analyses as A
from cmftvb.signals import article as SA

LABELS = ["Precentral_L", "Precentral_R", "Left_CrusI", "Vermis_VI", "Left_CrusII"]
ROLES = ["cortex", "cortex", "crbl_hemisphere", "crbl_vermis", "crbl_hemisphere"]
DT_MS = 4.0


def small() -> Connectome:
    W = np.zeros((5, 5))
    W[2, 0], W[3, 1], W[4, 0], W[4, 1] = 0.02, 0.03, 0.01, 0.015  # mossy
    W[2, 3], W[3, 2], W[3, 4], W[4, 3] = 0.5, 0.5, 0.3, 0.3  # parallel fibres
    W[0, 1] = W[1, 0] = 0.4
    W[0, 2] = 0.05
    L = np.where(W > 0, 30.0, 0.0)
    return Connectome(weights=W, tract_lengths=L, labels=LABELS)


def packed(rates_khz, s_e, s_i, *, seconds=4.0, transient_s=2.0, wiggle=None):
    """A packed batch (one seed): constant values after ``transient_s``, 10x them before."""
    T = int(seconds * 1000 / DT_MS)
    before = np.arange(T) < int(transient_s * 1000 / DT_MS)
    f = np.where(before, 10.0, 1.0)[:, None]
    sim = {"labels": np.array(LABELS), "seeds": np.array([3]), "time_ms": np.arange(T) * DT_MS,
           "bold_input": np.zeros((1, T, 5), np.float32)}  # fmt: skip
    for name, vals, nodes in (("S_E", s_e, [0, 1]), ("S_I", s_i, [0, 1])):
        sim[name] = (f * np.asarray(vals)[None, :])[None]
        sim[f"nodes_{name}"] = np.array(nodes)
    for v, pop in enumerate(A.POPS):
        a = f * rates_khz[:, v][None, :]
        if wiggle is not None:
            a = a + wiggle[v]
        sim[pop] = a[None]
        sim[f"nodes_{pop}"] = np.array([2, 3, 4])
    return sim


def test_input_shares_of_batch_uses_the_means_after_the_transient():
    con = small()
    net = build_network(con, "cmf", "corrected")
    rng = np.random.default_rng(1)
    rates_khz = rng.uniform(0.001, 0.1, (3, 4))
    s_e, s_i = np.array([0.2, 0.4]), np.array([0.1, 0.05])
    got = SA.input_shares_of_batch(
        packed(rates_khz, s_e, s_i), con, net, monitor_period_ms=DT_MS, transient_s=2.0
    )
    rates_hz = np.full((5, 4), np.nan)
    rates_hz[2:] = rates_khz * 1000.0
    state = {"S_E": np.r_[s_e, np.nan, np.nan, np.nan], "S_I": np.r_[s_i, np.nan, np.nan, np.nan]}
    want = A.input_shares(con, net, rates_hz, state)
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    mossy = got[got["input"] == "mossy"]
    assert mossy["share"].sum() == pytest.approx(1.0)
    with pytest.raises(CmftvbError, match="shorter than its transient"):
        SA.input_shares_of_batch(
            packed(rates_khz, s_e, s_i), con, net, monitor_period_ms=DT_MS, transient_s=5.0
        )


def test_rate_traces_of_batch_picks_the_node_and_window():
    rates_khz = np.tile(np.array([[0.01, 0.002, 0.03, 0.05]]), (3, 1))
    T = 1000
    wiggle = [np.sin(np.arange(T) / 7.0)[:, None] * (k + 1) * 1e-3 for k in range(4)]
    sim = packed(rates_khz, [0.2, 0.3], [0.1, 0.1], wiggle=wiggle)
    t, rates, label = SA.rate_traces_of_batch(
        sim, ROLES, label="crusii", side="L", seconds=1.0, transient_s=2.0
    )
    assert label == "Left_CrusII"
    np.testing.assert_allclose(t, np.arange(500, 750) * DT_MS)
    for pop in A.POPS:  # node 4 is the third of nodes_<pop>, kHz -> Hz
        np.testing.assert_allclose(rates[pop], sim[pop][0, 500:750, 2] * 1000.0)
    with pytest.raises(CmftvbError, match="match label"):
        SA.rate_traces_of_batch(sim, ROLES, label="CrusII", side="R")


def test_group_means_average_seeds_within_subject_first():
    rows = []
    for subject, seeds in (("a", [1.0, 3.0, 5.0]), ("b", [10.0])):
        for k, v in enumerate(seeds):
            for model, g in (("cmf", 1.0), ("cmf", 2.0)):
                rows.append({"subject": subject, "model": model, "G": g, "seed": k,
                             "metric": "m", "region": "R1", "value": v + g})  # fmt: skip
    t = pd.DataFrame(rows)
    got = SA.group_means(t, "m", ["model"], best_g={"cmf": 2.0})
    # subject a: mean 3 + 2 = 5; subject b: 12 -> 8.5 (not the mean over the 4 runs, 7.75)
    assert got.to_dict("records") == [{"model": "cmf", "region": "R1", "value": 8.5}]
    got = SA.group_means(t, "m", ["model"])
    assert got["value"].item() == pytest.approx((4.5 + 11.5) / 2)


def _texts(fig: Figure) -> str:
    FigureCanvasAgg(fig).print_png(_io.BytesIO())
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_flatmap_regions_values_reach_faces(monkeypatch):
    centres = np.array(
        [[-40, 20, 0], [40, 20, 0], [-20, -70, -30], [0, -70, -30], [-30, -80, -45.0]]
    )
    # three vertices around Left_CrusII's centre, three in the vermis: two faces
    mid = np.array([[-30, -80, -44], [-31, -79, -45], [-29, -81, -46],
                    [1, -70, -30], [-1, -71, -30], [0, -69, -31.0]])  # fmt: skip
    surfaces = {"flat": mid[:, :2], "faces": np.array([[0, 1, 2], [3, 4, 5]]), "mid": mid}
    panels = {"cmf": {"Left_CrusII": 7.0, "Vermis_VI": 2.0}}
    fig = FA.fig_flatmap_regions(panels, LABELS, ROLES, centres, units="Hz", surfaces=surfaces)
    _texts(fig)
    arrays = [c.get_array() for c in fig.axes[0].collections if c.get_array() is not None]
    assert any(np.allclose(np.asarray(a), [7.0, 2.0]) for a in arrays)
    # without SUITPy the image says so
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "SUITPy" else real(name, *a)
    )
    fig = FA.fig_flatmap_regions(panels, LABELS, ROLES, centres, units="Hz")
    assert "SUITPy" in _texts(fig)
    # no cerebellar-cortex value at all: said in words
    fig = FA.fig_flatmap_regions({"x": {}}, LABELS, ROLES, centres, units="Hz", surfaces=surfaces)
    assert "no cerebellar-cortex values" in _texts(fig)


def test_cmf_run_figures_from_a_batch():
    from cmftvb.signals import ephys_bold_batch, run_signals

    rng = np.random.default_rng(5)
    seconds = 30.0
    T = int(seconds * 1000 / DT_MS)
    wiggle = [1e-3 * rng.standard_normal((T, 3)) for _ in range(4)]
    sim = packed(rng.uniform(0.005, 0.05, (3, 4)), [0.2, 0.3], [0.1, 0.1], seconds=seconds,
                 wiggle=wiggle)  # fmt: skip
    sim["r_E"] = (3.0 + rng.standard_normal((1, T, 2))).astype(np.float32)
    sim["nodes_r_E"] = np.array([0, 1])
    sim["bold_input"] = (0.5 + 0.1 * rng.standard_normal((1, T, 5))).astype(np.float32)
    opts = {"monitor_period_ms": DT_MS, "bold_transient_s": 0.0, "ephys_transient_s": 2.0}
    sig, feats = run_signals(sim, 0.72, roles=ROLES, **opts)
    eb = ephys_bold_batch(sim, sig["bold"], ROLES, 0.72, monitor_period_ms=DT_MS)
    assert set(eb["population"]) == set(A.POPS) and len(eb) == 4 * 3
    rt = {"label": "CrusII", "side": "L", "seconds": 3.0, "inset_ms": 50.0}
    figs = FA.cmf_run_figures(sim, sig, feats, eb, LABELS, ROLES, rate_traces=rt,
                              transient_s=2.0, where="test run")  # fmt: skip
    assert set(figs) == {"rate_traces", "node_coherence", "ephys_bold", "rhythm_spectra"}
    for fig in figs.values():
        _texts(fig)
    assert "Left_CrusII" in figs["rate_traces"].get_suptitle()
    assert "seed 3" in figs["node_coherence"].get_suptitle()
    # the node-coherence panel holds the summary computed by the signals step
    grid = figs["node_coherence"].axes[0].images[0].get_array()
    want = feats[feats["metric"] == "coh_nodes_crbl_crbl_alpha"]["value"].item()
    assert np.isclose(np.asarray(grid)[0, list(sig["nodecoh_bands"]).index("alpha")], want)


def test_flatmap_panels_order_difference_and_subject():
    rows = []
    for subject, shift in (("a", 0.0), ("b", 2.0)):
        for model, base in (("homogeneous", 1.0), ("cmf", 1.5)):
            for region in ("Left_CrusII", "Vermis_VI"):
                value = base + shift
                rows.append({"subject": subject, "model": model, "G": 1.0, "seed": 1,
                             "metric": "bold_mae", "region": region, "value": value})  # fmt: skip
    panels = SA.flatmap_panels(pd.DataFrame(rows), "bold_mae", "b")
    assert list(panels) == ["homogeneous: group mean", "cmf: group mean", SA.DIFFERENCE,
                            "homogeneous: subject b", "cmf: subject b"]  # fmt: skip
    assert panels["cmf: group mean"] == {"Left_CrusII": 2.5, "Vermis_VI": 2.5}
    assert panels[SA.DIFFERENCE] == {"Left_CrusII": 0.5, "Vermis_VI": 0.5}
    assert panels["homogeneous: subject b"]["Vermis_VI"] == 3.0
    # one model only: no difference panel
    cmf = pd.DataFrame(rows).query("model == 'cmf'")
    assert SA.DIFFERENCE not in SA.flatmap_panels(cmf, "bold_mae", "a")


def test_flatmap_difference_panel_has_its_own_centred_scale():
    xy = np.array([[0, 0], [1, 0], [0, 1.0]])
    vals = {"a": np.array([10.0, 11, 12]), "d": np.array([-1.0, 0.5, 0.2])}
    fig = FA.fig_crbl_flatmap(xy, np.array([[0, 1, 2]]), vals, units="Hz", difference_panels=["d"])
    _texts(fig)
    clims = [ax.collections[-1].get_clim() for ax in fig.axes[:2]]
    assert clims[0] == (10.0, 12.0) and clims[1] == (-1.0, 1.0)
    assert len(fig.axes) == 4  # two panels, two colour bars
