"""Feedback inhibition control and the critical coupling G* (cmftvb.fic; MODEL.md §3, issue 10).

References, independent of cmftvb.fic's own equations:

- tvb-library's ``ReducedWongWangExcInh`` (per-node ``J_i``) with ``Linear`` coupling on the
  signed weights of MODEL.md §4 (homogeneous: the cerebellar cortex -> DCN block negated),
  integrated by TVB's ``HeunDeterministic``, with and without conduction delays;
- for cMF networks, a delay-free network ODE written here (TVB's Wong-Wang ``dfun``, the
  cerebellar kernel ``cmftvb.models.crbl.dfun_nodes``, the edge list of
  ``cmftvb.network.expand_edges``) integrated by ``scipy.integrate.solve_ivp``;
- Deco et al. 2014's criterion (I_E - b_E/a_E = -0.026 nA) for the default target rate, and
  the issue author's measurement G* = 0.477 for the sample subject.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from small_networks import small_connectome

from cmftvb import CmftvbError, fic
from cmftvb.models import crbl
from cmftvb.models.presets import apply_overrides, load_preset, validate
from cmftvb.network import build_network, expand_edges

pytest.importorskip("tvb.simulator.simulator")
from tvb.datatypes.connectivity import Connectivity  # noqa: E402
from tvb.simulator import coupling, integrators, models, monitors, simulator  # noqa: E402

logging.getLogger("tvb").setLevel(logging.ERROR)

SPEED = 3.0  # mm/ms
DT = 0.5  # ms: the reference integrations are deterministic; the fixed point does not move


def h_rate(y, d):
    """The Wong-Wang transfer function y / (1 - exp(-d y)) (Hz), written out here."""
    return y / (1.0 - np.exp(-d * y))


def signed_weights_homogeneous(conn) -> np.ndarray:
    """MODEL.md §4, homogeneous model: S_E -> I_coupling everywhere, cerebellar cortex -> DCN
    with sign -1."""
    roles = np.asarray(conn.roles)
    W = np.array(conn.weights, dtype=float)
    cb = np.isin(roles, ["crbl_hemisphere", "crbl_vermis"])
    W[np.ix_(roles == "dcn", cb)] *= -1.0
    return W


def tvb_model(params, G, J_i):
    ww = params["wongwang"]
    return models.ReducedWongWangExcInh(
        G=np.array([G]),
        J_i=np.asarray(J_i, dtype=float),
        a_e=np.array([ww["a_E"]]),
        b_e=np.array([ww["b_E"]]),
        d_e=np.array([ww["d_E"]]),
        gamma_e=np.array([ww["gamma_E"]]),
        tau_e=np.array([ww["tau_E"]]),
        w_p=np.array([ww["w_plus"]]),
        J_N=np.array([ww["J_N"]]),
        W_e=np.array([ww["W_E"]]),
        a_i=np.array([ww["a_I"]]),
        b_i=np.array([ww["b_I"]]),
        d_i=np.array([ww["d_I"]]),
        gamma_i=np.array([ww["gamma_I"]]),
        tau_i=np.array([ww["tau_I"]]),
        W_i=np.array([ww["W_I"]]),
        I_o=np.array([ww["I_0"]]),
        lamda=np.array([ww["lamda"]]),
        I_ext=np.array([ww["I_ext"]]),
    )


def tvb_run(conn, params, G, J_i, S0, duration, delays=True):
    """TVB's ReducedWongWangExcInh on the signed homogeneous weights from a constant history
    ``S0`` (2, N); returns the final state (2, N) and max |S_E - S_E(0)| over the run."""
    n = conn.n
    L = np.asarray(conn.tract_lengths) if delays else np.zeros((n, n))
    con = Connectivity(
        weights=signed_weights_homogeneous(conn),
        tract_lengths=L,
        region_labels=np.array([str(s) for s in conn.labels]),
        centres=np.zeros((n, 3)),
        speed=np.array([SPEED]),
    )
    horizon = int(np.rint(L / SPEED / DT).max()) + 1
    ic = np.repeat(np.asarray(S0, float)[None, :, :, None], horizon, axis=0)
    sim = simulator.Simulator(
        connectivity=con,
        model=tvb_model(params, G, J_i),
        coupling=coupling.Linear(a=np.array([1.0]), b=np.array([0.0])),
        integrator=integrators.HeunDeterministic(dt=DT),
        monitors=[monitors.TemporalAverage(period=50 * DT)],
        initial_conditions=ic,
        simulation_length=duration,
    ).configure()
    ((_, x),) = sim.run()
    return sim.current_state[:, :, 0], x[:, 0, :, 0]


def tvb_rate_e(conn, params, G, J_i, S):
    """H_E (Hz) of every node at a steady state S (2, N): the coupling is delay free there."""
    ww = params["wongwang"]
    c = signed_weights_homogeneous(conn) @ S[0]
    x_e = (
        ww["w_plus"] * ww["J_N"] * S[0]
        - J_i * S[1]
        + ww["W_E"] * ww["I_0"]
        + G * ww["J_N"] * c
        + ww["I_ext"]
    )
    return h_rate(ww["a_E"] * x_e - ww["b_E"], ww["d_E"])


class OwnNetwork:
    """The delay-free deterministic network ODE, assembled here for the reference runs."""

    def __init__(self, conn, net, G, J_i):
        self.net = net
        models_ = np.asarray(net.node_model)
        self.ww = np.flatnonzero(models_ == "wongwang")
        self.cb = np.flatnonzero(models_ == "crbl")
        self.n = net.n_nodes
        self.edges = expand_edges(conn, net, 0.1, SPEED)
        self.model = tvb_model(net.params, G, J_i[self.ww])
        self.model.configure()
        self.p_cb = crbl.pack(net.params) if self.cb.size else None
        assert net.params["crbl"]["background"]["kind"] == "ou"  # mean background drive 0
        nw = self.ww.size
        self.sl_e, self.sl_i = slice(0, nw), slice(nw, 2 * nw)
        self.sl_cb = slice(2 * nw, 2 * nw + 4 * self.cb.size)

    def pack(self, fr: fic.FicResult) -> np.ndarray:
        y = np.concatenate([fr.S_E[self.ww], fr.S_I[self.ww], fr.crbl_rates_hz[self.cb].ravel()])
        y[self.sl_cb] /= 1000.0
        return y

    def __call__(self, t, y):
        X = np.zeros((self.n, 4))
        X[self.ww, 0] = y[self.sl_e]
        X[self.ww, 1] = y[self.sl_i]
        X[self.cb] = y[self.sl_cb].reshape(-1, 4)
        e = self.edges
        inp = np.zeros((self.n, 2))
        np.add.at(inp, (e.tgt, e.tgt_input), e.weight * X[e.src, e.src_var])
        out = np.empty_like(y)
        S = np.stack([y[self.sl_e], y[self.sl_i]])[..., None]
        d = self.model.dfun(S, inp[self.ww, 0][None, :, None])
        out[self.sl_e], out[self.sl_i] = d[0, :, 0], d[1, :, 0]
        if self.cb.size:
            nu = X[self.cb]
            dn = crbl.dfun_nodes(*nu.T, inp[self.cb, 0], inp[self.cb, 1], self.p_cb)
            out[self.sl_cb] = dn.T.ravel()
        return out

    def rate_e(self, y, fr: fic.FicResult):
        """H_E (Hz) of the Wong-Wang nodes at state y (through the pieces of ``__call__``)."""
        ww = self.net.params["wongwang"]
        X = np.zeros((self.n, 4))
        X[self.ww, 0] = y[self.sl_e]
        X[self.cb] = y[self.sl_cb].reshape(-1, 4)
        e = self.edges
        c = np.zeros(self.n)
        sel = e.tgt_input == 0
        np.add.at(c, e.tgt[sel], (e.weight * X[e.src, e.src_var])[sel])
        x_e = (
            ww["w_plus"] * ww["J_N"] * y[self.sl_e]
            - fr.J_i[self.ww] * y[self.sl_i]
            + ww["W_E"] * ww["I_0"]
            + fr.G * ww["J_N"] * c[self.ww]
        )
        return h_rate(ww["a_E"] * x_e - ww["b_E"], ww["d_E"])


# ------------------------------------------------------------------ preset keys
def test_default_target_is_deco_criterion():
    pr = load_preset("corrected")
    ww = pr["wongwang"]
    # Deco et al. 2014: I_E - b_E/a_E = -0.026 nA
    assert h_rate(ww["a_E"] * -0.026, ww["d_E"]) == pytest.approx(ww["fic_target_hz"], abs=1e-4)
    assert fic.DEFAULT_TARGET_HZ == ww["fic_target_hz"] == 3.0631
    assert ww["fic"] is True and load_preset("published")["wongwang"]["fic"] is False
    with pytest.raises(CmftvbError, match="wongwang.fic_target_hz"):
        apply_overrides(pr, [("wongwang.fic_target_hz", "-1")])
    with pytest.raises(CmftvbError, match="wongwang.fic"):
        apply_overrides(pr, [("wongwang.fic", "1")])
    bad = load_preset("corrected")
    bad["wongwang"]["fic"] = "yes"
    with pytest.raises(CmftvbError, match="wongwang.fic must be true or false"):
        validate(bad)
    del bad["wongwang"]["fic"]
    with pytest.raises(CmftvbError, match="wongwang.fic"):
        validate(bad)
    net = build_network(small_connectome(), "homogeneous", "corrected")
    assert fic.fic_enabled(net)
    assert not fic.fic_enabled(build_network(small_connectome(), "homogeneous", "published"))


# ------------------------------------------------------------------ target met (TVB)
@pytest.mark.parametrize("delays", [False, True])
def test_target_met_in_tvb_simulation(delays):
    """Homogeneous 10-node network at 0.6 G*: TVB's own model with the FIC J_i, started 10 %
    off the FIC state (S_E and S_I), settles with every node at the target within 1e-3 Hz."""
    conn = small_connectome()
    net = build_network(conn, "homogeneous", "corrected")
    G = 0.6 * fic.critical_G(conn, net, lo=0.0, hi=3.0, tol=1e-3)
    fr = fic.tune(conn, net, G)
    assert fr.converged and fr.residual < 1e-12
    assert np.all(np.isfinite(fr.J_i)) and np.all(fr.J_i > 0)
    S_star = np.stack([fr.S_E, fr.S_I])
    S0 = S_star.copy()
    S0 *= 1.0 + 0.1 * np.random.default_rng(1).choice([-1.0, 1.0], (2, conn.n))
    # at the start the rates are off the target by far more than the tolerance
    assert np.max(np.abs(tvb_rate_e(conn, net.params, G, fr.J_i, S0) - fr.target_hz)) > 0.1
    S, _ = tvb_run(conn, net.params, G, fr.J_i, S0, duration=8000.0, delays=delays)
    r = tvb_rate_e(conn, net.params, G, fr.J_i, S)
    assert np.max(np.abs(r - fr.target_hz)) < 1e-3, r
    assert np.max(np.abs(S - S_star)) < 1e-5


@pytest.mark.parametrize("lamda", [0.0, 0.2])
def test_fic_state_is_a_fixed_point_of_tvb_model(lamda):
    """TVB's own dfun at the FIC state (coupling W_signed @ S_E) vanishes and H_E is the
    target in every node; with lamda != 0 (coupling onto the inhibitory pool) S_I* differs
    between nodes and is solved per node."""
    conn = small_connectome()
    net = build_network(conn, "homogeneous", "corrected", overrides=[("wongwang.lamda", lamda)])
    G = 0.3
    fr = fic.tune(conn, net, G, target_hz=2.5)
    model = tvb_model(net.params, G, fr.J_i)
    model.configure()
    S = np.stack([fr.S_E, fr.S_I])
    c = signed_weights_homogeneous(conn) @ fr.S_E
    d = model.dfun(S[..., None], c[None, :, None])
    assert np.max(np.abs(d)) < 1e-14
    # the excitatory rate from the stationary S_E equation: r = S_E / ((1 - S_E) gamma_E tau_E)
    ww = net.params["wongwang"]
    r = fr.S_E / ((1 - fr.S_E) * ww["gamma_E"] * ww["tau_E"])
    np.testing.assert_allclose(r, 2.5, rtol=1e-12)
    assert (np.ptp(fr.S_I) > 1e-4) == (lamda != 0)


# ------------------------------------------------------------------ closed form vs ODE (cMF)
def test_closed_form_matches_solve_ivp_steady_state_cmf():
    from scipy.integrate import solve_ivp

    conn = small_connectome()
    net = build_network(conn, "cmf", "corrected")
    G = 0.3
    fr = fic.tune(conn, net, G)
    assert fr.iterations > 0 and fr.residual < 1e-12
    cb = np.asarray(net.node_model) == "crbl"
    assert np.isnan(fr.J_i[cb]).all() and np.isfinite(fr.crbl_rates_hz[cb]).all()
    # mossy input inside the cerebellar model's validity range (0-70 Hz, MODEL.md §2.6)
    assert np.all((fr.mf_hz[cb] > 5) & (fr.mf_hz[cb] < 70))
    ode = OwnNetwork(conn, net, G, fr.J_i)
    y_star = ode.pack(fr)
    assert np.max(np.abs(ode(0.0, y_star))) < 1e-12
    # start away from the FIC state: S_E +5 %, cerebellar rates halved
    y0 = y_star.copy()
    y0[ode.sl_e] *= 1.05
    y0[ode.sl_cb] *= 0.5
    sol = solve_ivp(ode, (0.0, 8000.0), y0, method="LSODA", rtol=1e-10, atol=1e-13)
    assert sol.success
    y = sol.y[:, -1]
    assert np.max(np.abs(ode.rate_e(y0, fr) - fr.target_hz)) > 0.1
    assert np.max(np.abs(ode.rate_e(y, fr) - fr.target_hz)) < 1e-3
    assert np.max(np.abs(y[ode.sl_e] - y_star[ode.sl_e])) < 1e-6
    np.testing.assert_allclose(y[ode.sl_cb], y_star[ode.sl_cb], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_jacobian_matches_finite_differences_of_reference_ode(model):
    conn = small_connectome()
    net = build_network(conn, model, "corrected")
    G = 0.4
    fr = fic.tune(conn, net, G)
    Jf = fic.jacobian(conn, net, G, fr)
    ode = OwnNetwork(conn, net, G, fr.J_i)
    y = ode.pack(fr)
    # reorder: reference ODE is (S_E..., S_I..., rates...), cmftvb.fic node by node
    labels = fic.state_labels(net)
    order = [f"{conn.labels[k]}.S_E" for k in ode.ww] + [f"{conn.labels[k]}.S_I" for k in ode.ww]
    order += [f"{conn.labels[k]}.{v}" for k in ode.cb for v in ("GrC", "GoC", "MLI", "PC")]
    perm = [labels.index(s) for s in order]
    Jf = Jf[np.ix_(perm, perm)]
    Jd = np.empty_like(Jf)
    for m in range(y.size):
        h = 1e-6 * max(abs(y[m]), 1e-3)
        a, b = y.copy(), y.copy()
        a[m] += h
        b[m] -= h
        Jd[:, m] = (ode(0.0, a) - ode(0.0, b)) / (2 * h)
    assert np.max(np.abs(Jf - Jd)) < 1e-6 * np.max(np.abs(Jd))


# ------------------------------------------------------------------ G* vs simulation
def _deviation_after(conn, net, G, duration, delays):
    fr = fic.tune(conn, net, G)
    S0 = np.stack([fr.S_E, fr.S_I])
    S0[0] += 1e-3
    S, trace = tvb_run(conn, net.params, G, fr.J_i, S0, duration=duration, delays=delays)
    return np.max(np.abs(S[0] - fr.S_E)), trace


@pytest.mark.parametrize("delays", [False, True])
def test_critical_G_against_tvb_both_sides_small(delays):
    """0.9 G*: a perturbation of 1e-3 in every S_E decays; 1.1 G*: it grows and the network
    leaves the FIC state. With delays too: G* is a real (steady-state) crossing."""
    conn = small_connectome()
    net = build_network(conn, "homogeneous", "corrected")
    g_star = fic.critical_G(conn, net, lo=0.0, hi=3.0, tol=1e-4)
    ev = fic.leading_eigenvalue(conn, net, g_star)
    assert abs(ev.imag) == 0.0 and ev.real > 0
    below, _ = _deviation_after(conn, net, 0.9 * g_star, 10000.0, delays)
    above, trace = _deviation_after(conn, net, 1.1 * g_star, 10000.0, delays)
    assert below < 1e-4
    assert above > 1e-2
    # a real eigenvalue: after the fast modes' transient (1 s; samples every 25 ms) the mean
    # departure grows without oscillating until it saturates
    mean_dev = trace.mean(axis=1) - trace[0].mean()
    stop = int(np.argmax(mean_dev >= 0.99 * mean_dev[-1]))
    assert stop > 80 and np.all(np.diff(mean_dev[40:stop]) > 0)


def test_critical_G_against_solve_ivp_both_sides_cmf():
    from scipy.integrate import solve_ivp

    conn = small_connectome()
    net = build_network(conn, "cmf", "corrected")
    g_star = fic.critical_G(conn, net, lo=0.0, hi=3.0, tol=1e-4)
    devs = []
    for G in (0.9 * g_star, 1.1 * g_star):
        fr = fic.tune(conn, net, G)
        ode = OwnNetwork(conn, net, G, fr.J_i)
        y_star = ode.pack(fr)
        y0 = y_star.copy()
        y0[ode.sl_e] += 1e-3
        sol = solve_ivp(ode, (0.0, 10000.0), y0, method="LSODA", rtol=1e-9, atol=1e-12)
        assert sol.success
        devs.append(np.max(np.abs(sol.y[ode.sl_e, -1] - y_star[ode.sl_e])))
    assert devs[0] < 1e-4 and devs[1] > 1e-2, devs


# ------------------------------------------------------------------ sample subject
@pytest.fixture
def sample(sample_zip):
    from cmftvb.connectome import load_any

    return load_any(sample_zip)


def test_sample_critical_G_matches_measurement_and_delayed_simulation(sample):
    """G* = 0.477 (issue 10, measured with max-normalised weights, no delays; tolerance 1e-3).
    TVB with the sample's own conduction delays: stable at 0.9 G*, runs away at 1.1 G*."""
    net = build_network(sample, "homogeneous", "corrected")
    g_star = fic.critical_G(sample, net, lo=0.2, hi=0.8, tol=5e-4)
    assert g_star == pytest.approx(0.477, abs=1e-3)
    below, _ = _deviation_after(sample, net, 0.9 * g_star, 8000.0, True)
    above, _ = _deviation_after(sample, net, 1.1 * g_star, 8000.0, True)
    assert below < 1e-4 and above > 1e-2, (below, above)


def test_sample_cmf_tunes_and_has_critical_G(sample):
    net = build_network(sample, "cmf", "corrected")
    fr = fic.tune(sample, net, 0.4)
    ww = np.asarray(net.node_model) == "wongwang"
    assert np.all(fr.J_i[ww] > 0) and fr.residual < 1e-12
    assert np.isfinite(fr.crbl_rates_hz[~ww]).all() and np.isnan(fr.crbl_rates_hz[ww]).all()
    g_star = fic.critical_G(sample, net, lo=0.4, hi=0.6, tol=1e-3)
    assert 0.4 < g_star < 0.6


# ------------------------------------------------------------------ refusals and saving
def test_refuses_naming_the_node():
    conn = small_connectome()
    net = build_network(conn, "homogeneous", "corrected")
    # the DCN's input from the cerebellar cortex (sign -1) scaled up by the projection table:
    # their net coupling is then negative enough to need negative inhibition
    strong = build_network(
        conn, "homogeneous", "corrected", overrides=[("projections.crbl_to_dcn.scale", "30")]
    )
    fic.tune(conn, strong, 0.05)  # fine at weak coupling
    with pytest.raises(CmftvbError) as exc:
        fic.tune(conn, strong, 0.4)
    msg = str(exc.value)
    assert "\n" not in msg and "_dcn'" in msg and "J_i" in msg
    with pytest.raises(CmftvbError, match="target_hz"):
        fic.tune(conn, net, 0.3, target_hz=-3.0)
    with pytest.raises(CmftvbError, match="still stable"):
        fic.critical_G(conn, net, lo=0.0, hi=0.1)
    with pytest.raises(CmftvbError, match="already unstable"):
        fic.critical_G(conn, net, lo=1.0, hi=2.0)
    # G* bracket whose top has no FIC state: the existence limit is named, with the node
    with pytest.raises(CmftvbError, match=r"stable up to G .* does not exist .*_dcn'"):
        fic.critical_G(conn, strong, lo=0.0, hi=1.0, tol=1e-2)
    net2 = build_network(conn, "cmf", "corrected", overrides=[("crbl.order", "2")])
    with pytest.raises(CmftvbError, match="crbl.order"):
        fic.tune(conn, net2, 0.3)
    other = build_network(small_connectome(seed=4), "homogeneous", "corrected")
    with pytest.raises(CmftvbError, match="another network"):
        fic.jacobian(conn, net, 0.3, fic.tune(small_connectome(seed=4), other, 0.3))
    with pytest.raises(CmftvbError, match="tuned at G 0.3"):
        fic.jacobian(conn, net, 0.31, fic.tune(conn, net, 0.3))


def test_refuses_when_cerebellar_steady_state_fails(monkeypatch):
    import types

    conn = small_connectome()
    net = build_network(conn, "cmf", "corrected")
    # a root solver that gives up where it starts, from a start that is not at rest
    monkeypatch.setattr(fic, "CRBL_SWEEPS", 1)
    monkeypatch.setattr(
        fic.optimize, "root", lambda fun, x0, **kw: types.SimpleNamespace(x=x0, nfev=0)
    )
    with pytest.raises(
        CmftvbError, match=r"cerebellar steady state did not converge at node 'n5_crbl_hemisphere'"
    ) as exc:
        fic.tune(conn, net, 0.3)
    assert "\n" not in str(exc.value)


def test_result_round_trips_through_save_npz(tmp_path):
    from cmftvb.io import load_npz, save_npz

    conn = small_connectome()
    net = build_network(conn, "cmf", "corrected")
    fr = fic.tune(conn, net, 0.3, target_hz=4.0)
    path = tmp_path / "fic.npz"
    save_npz(path, fr.to_arrays(), fr.meta())
    back = fic.FicResult.from_saved(*load_npz(path))
    for k in fic.FicResult.ARRAYS:
        np.testing.assert_array_equal(getattr(back, k), getattr(fr, k))
    assert back.meta() == fr.meta() and back.target_hz == 4.0
    np.testing.assert_array_equal(back.state(), fr.state())
