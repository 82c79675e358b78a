"""Tests of cmftvb.signals.analyses and cmftvb.figures_article (issue 12).

References are independent of the code under test: hand-assembled coupling sums (numpy),
MODEL.md §2.6's published single-node steady states, population sizes and convergences typed
from MODEL.md §2.2/§2.5, analytic coherence of a shared source in noise, the analytic spectral
peak of an AR(2) process, Parseval's theorem for a sinusoid, the empirical degrees of freedom of
Welch estimates, scipy's pearsonr, and a Jacobian by numpy finite differences.
"""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import signal, stats

from cmftvb import CmftvbError
from cmftvb.connectome import Connectome, load_any
from cmftvb.figures import article as FA
from cmftvb.models import crbl
from cmftvb.models.presets import load_preset
from cmftvb.network import build_network
from cmftvb.signals import analyses as A
from cmftvb.signals import bold as sbold
from cmftvb.signals import ephys

FS = 250.0
# MODEL.md §2.6: isolated node, mossy 4 Hz, corrected parameters (GrC, GoC, MLI, PC in Hz)
MODEL_26_AT_4HZ = (0.09, 4.45, 11.18, 55.80)

# ---------------------------------------------------------------------------------------------
# a small connectome: 2 cerebral nodes, 3 cerebellar-cortex nodes
# ---------------------------------------------------------------------------------------------

LABELS = ["Precentral_L", "Precentral_R", "Left_CrusI", "Vermis_VI", "Left_CrusII"]


def _small(pf: bool = True, mossy: bool = True) -> Connectome:
    W = np.zeros((5, 5))
    if mossy:
        W[2, 0], W[3, 1], W[4, 0], W[4, 1] = 0.02, 0.03, 0.01, 0.015  # cerebral -> crbl cortex
    if pf:
        W[2, 3], W[3, 2], W[3, 4], W[4, 3] = 0.5, 0.5, 0.3, 0.3  # parallel fibres
    W[0, 1] = W[1, 0] = 0.4
    W[0, 2] = 0.05  # crbl cortex -> cerebral
    L = np.where(W > 0, 30.0, 0.0)
    return Connectome(weights=W, tract_lengths=L, labels=LABELS)


def _render(fig: Figure) -> bytes:
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


# ---------------------------------------------------------------------------------------------
# 1. input shares
# ---------------------------------------------------------------------------------------------


def _inputs_case(preset: str, seed: int):
    """The small cMF network under ``preset`` and a random S_E at its two Wong-Wang nodes and
    GrC at its three cerebellar nodes (NaN elsewhere); the generator goes on."""
    con = _small()
    net = build_network(con, "cmf", preset)
    rng = np.random.default_rng(seed)
    s_e = np.r_[rng.uniform(0.1, 0.6, 2), np.full(3, np.nan)]
    grc = np.r_[np.full(2, np.nan), rng.uniform(0.001, 0.01, 3)]
    return con, net, rng, s_e, grc


def test_network_inputs_equal_hand_sums():
    con, net, rng, s_e, grc = _inputs_case("corrected", 3)
    pc = np.r_[np.full(2, np.nan), rng.uniform(0.03, 0.08, 3)]
    state = {"S_E": s_e, "S_I": np.r_[0.1, 0.1, np.nan, np.nan, np.nan], "GrC": grc, "PC": pc}
    got = A.network_inputs(con, net, state)
    W = con.weights
    cb, ce = [2, 3, 4], [0, 1]
    np.testing.assert_allclose(got["mf"][cb], W[np.ix_(cb, ce)] @ s_e[ce], rtol=1e-14)
    np.testing.assert_allclose(got["pf"][cb], W[np.ix_(cb, cb)] @ grc[cb], rtol=1e-14)
    # Wong-Wang targets: cortico-cortical S_E plus the cerebellar output (PC, sign +1)
    want = W[np.ix_(ce, ce)] @ s_e[ce] + W[np.ix_(ce, cb)] @ pc[cb]
    np.testing.assert_allclose(got["I_coupling"][ce], want, rtol=1e-14)
    with pytest.raises(CmftvbError, match="not finite"):
        A.network_inputs(con, net, {**state, "S_E": np.full(5, np.nan)})


def test_network_inputs_published_routing():
    # MODEL.md §6.6: one sum c0 = W (S_E or GrC) reaches cerebellar nodes as mossy and again as
    # parallel-fibre input, and Wong-Wang nodes as coupling
    con, net, _, s_e, grc = _inputs_case("published", 8)
    got = A.network_inputs(con, net, {"S_E": s_e, "GrC": grc})
    c0 = np.where(np.isnan(s_e), grc, s_e)
    want = con.weights @ c0
    np.testing.assert_allclose(got["mf"][2:], want[2:], rtol=1e-14)
    np.testing.assert_allclose(got["pf"][2:], want[2:], rtol=1e-14)
    np.testing.assert_allclose(got["I_coupling"][:2], want[:2], rtol=1e-14)


def test_isolated_node_steady_state_matches_model_table():
    con = _small(pf=False, mossy=False)
    net = build_network(con, "cmf", "corrected")
    ss = A.crbl_steady_state(con, net, extra_mossy_hz=4.0)
    assert np.all(np.isnan(ss[:2]))
    for k in (2, 3, 4):
        np.testing.assert_allclose(ss[k], MODEL_26_AT_4HZ, atol=0.01)


def test_coupled_steady_state_is_a_fixed_point_of_the_transfer_functions():
    con = _small()
    net = build_network(con, "cmf", "corrected")
    s_e = np.array([0.3, 0.5, np.nan, np.nan, np.nan])
    state = {"S_E": s_e, "S_I": np.array([0.1, 0.1, np.nan, np.nan, np.nan])}
    ss = A.crbl_steady_state(con, net, state, extra_mossy_hz=10.0)
    cb = [2, 3, 4]
    W = con.weights
    mf = W[np.ix_(cb, [0, 1])] @ s_e[:2] + 10e-3
    pf = W[np.ix_(cb, cb)] @ (ss[cb, 0] * 1e-3)
    r = ss[cb] * 1e-3
    F = crbl.transfer_nodes(r[:, 0], r[:, 1], r[:, 2], r[:, 3], mf, pf, crbl.pack(net.params))
    np.testing.assert_allclose(F.T, r, rtol=1e-8, atol=1e-12)
    # parallel fibres make the nodes differ
    assert np.ptp(ss[cb, 3]) > 1e-3


def test_input_shares_against_circuit_numbers():
    con = _small()
    net = build_network(con, "cmf", "corrected")
    rng = np.random.default_rng(1)
    rates = np.full((5, 4), np.nan)
    rates[2:] = rng.uniform(1.0, 60.0, (3, 4))
    s_e = np.array([0.2, 0.4, np.nan, np.nan, np.nan])
    t = A.input_shares(con, net, rates, {"S_E": s_e}).set_index(["population", "input"])
    for c in ("mossy", "parallel"):
        assert t.xs(c, level="input")["share"].sum() == pytest.approx(1.0, abs=1e-12)
    # MODEL.md §2.2 / §2.5: N_GrC 28615, N_GoC 70, N_MLI 446, N_PC 99; K mf->GrC 4,
    # mf->GoC 35, GrC->GoC 501.98, GrC->MLI 243.96, GrC->PC 374.5. Same rate on every route
    # of one input, so the shares are the synapse-count shares.
    mossy = np.array([4 * 28615, 35 * 70])
    par = np.array([501.98 * 70, 243.96 * 446, 374.5 * 99])
    assert t.loc[("GrC", "mossy"), "share"] == pytest.approx(mossy[0] / mossy.sum(), rel=1e-12)
    assert t.loc[("GoC", "mossy"), "share"] == pytest.approx(mossy[1] / mossy.sum(), rel=1e-12)
    for pop, v in zip(("GoC", "MLI", "PC"), par / par.sum(), strict=True):
        assert t.loc[(pop, "parallel"), "share"] == pytest.approx(v, rel=1e-12)
    assert t.loc[("MLI", "mossy"), "share"] == 0.0
    # rates: hand-computed mean network input of the three cerebellar nodes (Hz)
    W = con.weights
    mf = W[2:, :2] @ s_e[:2] * 1e3
    pf = W[2:, 2:] @ rates[2:, 0]
    assert t.loc[("GrC", "mossy"), "rate_hz"] == pytest.approx(mf.mean(), rel=1e-12)
    assert t.loc[("PC", "parallel"), "rate_hz"] == pytest.approx(pf.mean(), rel=1e-12)
    # summed mean conductance, MODEL.md §2.3: N Q K tau nu (nS, nu in kHz)
    g = 28615 * 0.23 * 4 * 1.9 * (mf * 1e-3).sum()
    assert t.loc[("GrC", "mossy"), "conductance_ns"] == pytest.approx(g, rel=1e-12)
    # the article's Table 5 mossy split (0.97 / 0.03) within rounding to two decimals
    assert t.loc[("GrC", "mossy"), "share"] == pytest.approx(0.97, abs=0.01)
    assert t.loc[("GoC", "parallel"), "population_share"] == pytest.approx(
        501.98 * pf.sum() / (501.98 * pf.sum() + 35 * mf.sum())
    )


def test_simulation_means():
    rng = np.random.default_rng(0)
    T, models = 50, ["wongwang", "crbl", "wongwang"]
    v = {k: rng.uniform(size=(T, 3)) for k in ("S_E", "S_I", *A.POPS)}
    for k in ("S_E", "S_I"):
        v[k][:, 1] = np.nan
    for k in A.POPS:
        v[k][:, [0, 2]] = np.nan
    state, rates = A.simulation_means(v, models, skip=10)
    assert state["S_E"][0] == pytest.approx(v["S_E"][10:, 0].mean())
    assert np.isnan(state["S_I"][1]) and np.isnan(rates[0]).all()
    assert rates[1, 3] == pytest.approx(1e3 * v["PC"][10:, 1].mean())


def test_input_routes_follow_switches():
    pub = {(r["population"], r["input"]): r for r in A.input_routes(load_preset("published"))}
    assert pub[("GoC", "parallel")]["synapse"] == "mf_GoC"
    assert pub[("MLI", "parallel")]["conductance_factor"] == 2.0
    cor = {(r["population"], r["input"]): r for r in A.input_routes(load_preset("corrected"))}
    assert cor[("GoC", "parallel")]["synapse"] == "GrC_GoC"
    assert cor[("PC", "parallel")]["conductance_factor"] == 1.0


# ---------------------------------------------------------------------------------------------
# 2. node coherence
# ---------------------------------------------------------------------------------------------


def test_node_coherence_matches_analytic_msc():
    # x = s + n with unit-variance white s and n: MSC = (1 / (1 + 1))^2 = 0.25 at every f
    rng = np.random.default_rng(0)
    T = int(200 * FS)
    s = rng.standard_normal(T)
    X = np.c_[s + rng.standard_normal(T), s + rng.standard_normal(T),
              s + rng.standard_normal(T), rng.standard_normal(T)]  # fmt: skip
    roles = ["crbl_hemisphere", "crbl_vermis", "cortex", "cortex"]
    bands, M, summary = A.node_coherence(X, roles, fs_hz=FS)
    vals = dict(zip(summary["metric"], summary["value"], strict=True))
    # Welch MSC of independent signals has a bias of about 1/K (K = 199 segments)
    for b in bands:
        assert vals[f"coh_nodes_crbl_crbl_{b}"] == pytest.approx(0.25, abs=0.03)
        # pairs: (c1, e1) and (c2, e1) at 0.25, (c1, e2) and (c2, e2) at 0
        assert vals[f"coh_nodes_crbl_cerebral_{b}"] == pytest.approx(0.125, abs=0.03)
    # independent signals: the mean MSC is the floor, about 1/K (K = 199 segments)
    Y = rng.standard_normal((T, 40))
    _, _, s2 = A.node_coherence(Y, ["crbl_vermis"] * 20 + ["cortex"] * 20, fs_hz=FS)
    v2 = s2.set_index("metric")["value"]
    assert v2["coh_nodes_floor"] == pytest.approx(1.0 / 199)
    for b in bands:
        assert v2[f"coh_nodes_crbl_cerebral_{b}"] == pytest.approx(v2["coh_nodes_floor"], rel=0.1)
    f, C = signal.coherence(X[:, 0], X[:, 2], fs=FS, nperseg=500, noverlap=250)
    m = (f >= 8) & (f < 13)
    assert M[bands.index("alpha"), 0, 2] == pytest.approx(C[m].mean(), rel=1e-12)
    assert set(summary["region"]) == {"global"}


def test_node_signal_matrix_picks_variables():
    T = 10
    pc = np.full((T, 3), np.nan)
    pc[:, 1] = 1.0
    re = np.full((T, 3), np.nan)
    re[:, [0, 2]] = 2.0
    X = A.node_signal_matrix({"PC": pc, "r_E": re}, ["wongwang", "crbl", "wongwang"])
    np.testing.assert_array_equal(X[0], [2.0, 1.0, 2.0])
    with pytest.raises(CmftvbError, match="GrC"):
        A.node_signal_matrix({"r_E": re}, ["wongwang", "crbl", "wongwang"], crbl_var="GrC")


# ---------------------------------------------------------------------------------------------
# 3. electrophysiology to BOLD
# ---------------------------------------------------------------------------------------------


def test_ephys_bold_coupling():
    rng = np.random.default_rng(2)
    dt_ms, tr_ms = 4.0, 720.0
    T = int(150_000 / dt_ms)
    # slow random signals (low-pass filtered noise) in kHz
    b, a = signal.butter(2, 0.5, fs=1000.0 / dt_ms)
    grc = 0.01 + 0.005 * signal.lfilter(b, a, rng.standard_normal((T, 3)), axis=0)
    mli = 0.02 + 0.005 * signal.lfilter(b, a, rng.standard_normal((T, 3)), axis=0)
    bold = sbold.drop_transient(sbold.bold_tvb_kernel(grc, dt_ms, tr_ms), tr_ms, seconds=10.0)
    t = A.ephys_bold_coupling(
        {"GrC": grc, "PC": 3.0 * grc, "MLI": mli}, bold, ["a", "b", "c"], [0, 2],
        dt_ms=dt_ms, tr_ms=tr_ms, bold_transient_s=10.0,
    )  # fmt: skip
    r = t.set_index(["population", "region"])["r"]
    assert len(t) == 6
    # the kernel BOLD is linear in its input (an added constant would not be: the kernel
    # starts from an empty history and ramps it in over its 20-s length): r = 1 for GrC, 3 GrC
    assert r["GrC", "a"] == pytest.approx(1.0, abs=1e-9)
    assert r["PC", "c"] == pytest.approx(1.0, abs=1e-9)
    mb = sbold.drop_transient(sbold.bold_tvb_kernel(mli, dt_ms, tr_ms), tr_ms, seconds=10.0)
    assert r["MLI", "c"] == pytest.approx(stats.pearsonr(mb[:, 2], bold[:, 2])[0], abs=1e-12)
    assert abs(r["MLI", "c"]) < 0.5
    _render(FA.fig_ephys_bold(t))
    _render(FA.fig_ephys_bold(t.iloc[:0]))  # says why it is empty


# ---------------------------------------------------------------------------------------------
# 4. rhythms
# ---------------------------------------------------------------------------------------------


def test_welch_dof_matches_the_empirical_spread():
    rng = np.random.default_rng(5)
    n = 25_000
    for nov in (0, 250):
        x = rng.standard_normal(n)
        _, P = signal.welch(x, fs=FS, nperseg=500, noverlap=nov)
        P = P[5:-5]  # bins away from 0 and Nyquist (chi-square with 2 dof per segment)
        dof_emp = 2 * P.mean() ** 2 / P.var()
        assert A.welch_dof(n, 500, nov) == pytest.approx(dof_emp, rel=0.15)


def test_rhythm_table_sinusoid_and_resonance():
    rng = np.random.default_rng(7)
    T = int(120 * FS)
    t = np.arange(T) / FS
    sine = 3.0 * np.sin(2 * np.pi * 10.0 * t) + rng.standard_normal(T)
    # AR(2) resonance: spectral peak at cos(w) = (1 + r^2) cos(theta) / (2 r)
    r, theta = 0.97, 2 * np.pi * 23.0 / FS
    ar = signal.lfilter([1.0], [1.0, -2 * r * np.cos(theta), r * r], rng.standard_normal(T))
    lowpass = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(T))  # AR(1): monotone
    X = np.c_[sine, ar, lowpass]
    f, P = A.unnormalised_spectra(X, FS)
    f_ref, P_ref = signal.welch(X, fs=FS, nperseg=500, noverlap=250, axis=0)
    np.testing.assert_allclose(P, P_ref)
    tab = A.rhythm_table(f, P, ["sine", "ar2", "ar1"], dof=A.welch_dof(T)).set_index("channel")
    assert tab.loc["sine", "dominant_hz"] == 10.0 and tab.loc["sine", "has_peak"]
    # Parseval: power of A sin is A^2 / 2 = 4.5, white noise adds 2 sigma^2 / fs per Hz
    assert tab.loc["sine", "power_alpha"] == pytest.approx(4.5 + 5.0 * 2 / FS, rel=0.03)
    w = np.arccos((1 + r * r) * np.cos(theta) / (2 * r))
    assert tab.loc["ar2", "peak_hz"] == pytest.approx(w * FS / (2 * np.pi), abs=0.75)
    assert tab.loc["ar2", "has_peak"]
    assert not tab.loc["ar1", "has_peak"]
    assert tab.loc["sine", "total_power"] == pytest.approx(
        sum(tab.loc["sine", f"power_{b}"] for b in ephys.BANDS), rel=1e-12
    )


def test_node_linear_modes_against_numpy_jacobian():
    preset = load_preset("corrected")
    t = A.node_linear_modes(preset, [4.0, 40.0])
    row = t[t["mossy_hz"] == 4.0].iloc[0]
    np.testing.assert_allclose([row[f"{p}_hz"] for p in A.POPS], MODEL_26_AT_4HZ, atol=0.01)
    p = crbl.pack(preset)
    for m in (4.0, 40.0):
        sub = t[t["mossy_hz"] == m]
        x = sub.iloc[0][[f"{q}_hz" for q in A.POPS]].to_numpy(float) * 1e-3
        h = 1e-7
        J = np.empty((4, 4))
        for j in range(4):
            xp, xm = x.copy(), x.copy()
            xp[j] += h
            xm[j] -= h
            J[:, j] = (
                crbl.dfun_nodes(*xp, m * 1e-3, 0.0, p) - crbl.dfun_nodes(*xm, m * 1e-3, 0.0, p)
            ) / (2 * h)
        ev = np.linalg.eigvals(J)
        ev = ev[ev.imag >= 0]
        np.testing.assert_allclose(
            np.sort(ev.real * 1e3), np.sort(sub["re_per_s"].to_numpy()), rtol=1e-4
        )
        np.testing.assert_allclose(
            np.sort(np.abs(ev.imag) * 1e3 / (2 * np.pi)),
            np.sort(sub["freq_hz"].to_numpy()),
            atol=1e-2,
        )


def test_single_node_without_noise_stays_at_its_steady_state():
    preset = load_preset("corrected")
    t, r = A.single_node_rates(preset, [4.0, 20.0], duration_ms=200.0, noise_sigma=0.0)
    assert r.shape == (50, 2, 4) and t[0] == pytest.approx(2.0)
    np.testing.assert_allclose(r[-1, 0], MODEL_26_AT_4HZ, atol=0.01)
    np.testing.assert_allclose(r[-1, 1], (2.06, 20.56, 13.95, 63.17), atol=0.01)


def test_rhythm_spectra_figure():
    f = np.arange(0, 125.5, 0.5)
    P = {"GrC": np.exp(-f / 20), "GoC": 1 + np.exp(-((f - 10) ** 2)), "MLI": np.ones_like(f),
         "PC": np.ones_like(f)}  # fmt: skip
    rh = A.rhythm_table(f, np.c_[P["GrC"], P["GoC"]], ["GrC", "GoC"]).assign(condition="x")
    fig = FA.fig_rhythm_spectra(f, {"x": P}, rhythms=rh)
    assert rh.set_index("channel").loc["GoC", "has_peak"]
    assert "Hz" in fig.axes[0].get_ylabel()
    _render(fig)


# ---------------------------------------------------------------------------------------------
# 5. rate traces
# ---------------------------------------------------------------------------------------------


def test_find_node_and_rate_traces(sample_zip):
    con = load_any(sample_zip)
    k = A.find_node(con.labels, con.roles)
    assert con.labels[k] == "Left_CrusII"
    assert con.labels[A.find_node(con.labels, con.roles, "CrusII", "V")] == "Vermis_CrusII"
    with pytest.raises(CmftvbError, match="3 cerebellar-cortex nodes"):
        A.find_node(con.labels, con.roles, "CrusII", "")
    t = np.arange(0, 3000, 4.0)
    rates = {p: 10 + np.sin(t / 50.0) * (i + 1) for i, p in enumerate(A.POPS)}
    fig = FA.fig_rate_traces(t, rates, "Left_CrusII", ephys.physiological_ranges())
    assert len(fig.axes) == 4 and all(len(ax.child_axes) == 1 for ax in fig.axes)  # insets
    inset = fig.axes[0].child_axes[0]
    x = inset.lines[0].get_xdata()
    assert x.max() - x.min() <= 50.0
    assert fig.axes[0].get_ylabel() == "GrC (Hz)"
    _render(fig)


def test_input_shares_figure():
    con = _small()
    net = build_network(con, "cmf", "corrected")
    t = A.input_shares(con, net, extra_mossy_hz=4.0)
    fig = FA.fig_input_shares(t)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, t[t["input"] == "mossy"]["share"].to_numpy())
    _render(fig)


def test_node_coherence_figure():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 4))
    roles = ["crbl_hemisphere", "crbl_vermis", "cortex", "cortex"]
    bands, M, summary = A.node_coherence(X, roles, fs_hz=FS)
    fig = FA.fig_node_coherence(bands, M, ["a", "b", "c", "d"], roles, summary, band="beta")
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (2, len(bands))
    assert img[0, bands.index("beta")] == pytest.approx(M[bands.index("beta"), 0, 1])
    _render(fig)


# ---------------------------------------------------------------------------------------------
# 6. open loop
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def onlycrbl(sample_dir):
    path = sample_dir / "SC_dirCB_ONLYCRBL.zip"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return load_any(path)


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_openloop_short_run_reaches_the_networks_fixed_point(onlycrbl):
    assert onlycrbl.n == 27
    # 10 Hz constant mossy background, no noise: a deterministic run
    ovr = [
        ("crbl.background.kind", "constant"),
        ("crbl.background.mean", "0.01"),
        ("integration.noise_sigma", "0.0"),
    ]
    res = A.run_openloop(
        onlycrbl, "corrected", duration_ms=800.0, transient_s=0.2, nperseg=100, noverlap=50,
        overrides=ovr,
    )  # fmt: skip
    assert res["rates"]["PC"].shape == (150, 27)
    assert res["psd"]["GrC"].shape == (51, 27)
    assert res["coherence"].shape == (5, 27, 27)
    # without noise the engine relaxes to a fixed point of the vector field assembled here
    # independently (projections -> network_inputs, crbl.dfun_nodes): relaxing from the
    # engine's last state must not move it
    net = build_network(onlycrbl, "cmf", "corrected", ovr)
    last = np.array([res["rates"][p][-1] for p in A.POPS]).T  # (27, 4) Hz
    relaxed = A.crbl_steady_state(onlycrbl, net, initial_khz=last * 1e-3)
    np.testing.assert_allclose(relaxed, last, rtol=1e-4, atol=1e-4)
    assert np.ptp(last[:, 3]) > 0.01  # parallel fibres make the nodes differ
    # with the preset's noise: coherence between nodes is a proper MSC matrix
    res = A.run_openloop(onlycrbl, duration_ms=800.0, transient_s=0.2, nperseg=100, noverlap=50)
    M = res["coherence"]
    assert np.all((M >= 0) & (M <= 1 + 1e-12)) and np.allclose(M, M.transpose(0, 2, 1))
    assert list(res["coherence_summary"]["band"]) == list(ephys.BANDS)
    fig = FA.fig_openloop(res)
    _render(fig)
    with pytest.raises(CmftvbError, match="every node must be cerebellar cortex"):
        A.run_openloop(_small(), duration_ms=100.0)


# ---------------------------------------------------------------------------------------------
# 7. cerebellar flatmap
# ---------------------------------------------------------------------------------------------


def test_vertex_nodes_nearest_centre_within_part():
    centres = np.array([[-20.0, -50, -30], [20.0, -50, -30], [0.0, -60, -30], [-30.0, -70, -40]])
    parts = ["L", "R", "V", "L"]
    rng = np.random.default_rng(4)
    verts = rng.uniform([-50, -90, -60], [50, -30, -10], (500, 3))
    got = FA.vertex_nodes(verts, centres, parts, vermis_halfwidth_mm=4.0, max_distance_mm=30.0)
    for v, g in zip(verts, got, strict=True):  # reference: a plain loop
        part = "V" if abs(v[0]) <= 4.0 else ("L" if v[0] < 0 else "R")
        best, dist = -1, np.inf
        for k, (c, p) in enumerate(zip(centres, parts, strict=True)):
            d = float(np.sqrt(np.sum((v - c) ** 2)))
            if p == part and d < dist:
                best, dist = k, d
        assert g == (best if dist <= 30.0 else -1)
    assert set(got[np.abs(verts[:, 0]) <= 4.0]) <= {2, -1}


def test_suit_flatmap(sample_zip):
    if importlib.util.find_spec("SUITPy") is None:
        pytest.skip("SUITPy is not installed (pip install --no-deps suitpy==2.1.2)")
    from cmftvb.connectome import roles as croles

    s = FA.suit_surfaces()
    V = s["flat"].shape[0]
    assert s["mid"].shape == (V, 3) and s["faces"].max() < V and s["borders"].shape[1] == 2
    con = load_any(sample_zip)
    cb = con.index("crbl_cortex")
    parts = [croles.crbl_part(str(con.labels[k]))[0] for k in cb]
    vn = FA.vertex_nodes(s["mid"], con.centres[cb], parts)
    assert np.mean(vn >= 0) > 0.99
    # every node of the sample owns some of the surface
    assert set(np.unique(vn[vn >= 0])) == set(range(cb.size))
    values = FA.vertex_values(vn, np.arange(cb.size, dtype=float))
    assert np.array_equal(values[vn >= 0], vn[vn >= 0]) and np.isnan(values[vn < 0]).all()
    fig = FA.fig_crbl_flatmap(
        s["flat"], s["faces"], {"a": values, "a - a": values - values}, units="index (unitless)",
        symmetric=True, borders=s["borders"],
    )  # fmt: skip
    assert len(fig.axes) == 3  # two maps and a colour bar
    _render(fig)
