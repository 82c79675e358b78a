"""The numba engine (cmftvb.engine.simulate): delays, Heun, steady states, reproducibility."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.engine import simulate
from cmftvb.models import wongwang
from cmftvb.models.presets import apply_overrides, load_preset
from cmftvb.network import build_network

SAMPLE = Path(__file__).resolve().parents[1] / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"


def sample():
    if not SAMPLE.exists():
        pytest.skip(f"sample subject not available at {SAMPLE}")
    from cmftvb.connectome import load_any

    return load_any(SAMPLE)


def tiny(W, L, roles):
    n = len(roles)
    return types.SimpleNamespace(
        weights=np.asarray(W, float),
        tract_lengths=np.asarray(L, float),
        labels=[f"n{i}" for i in range(n)],
        roles=list(roles),
    )


def _tvb_ww(preset):
    from tvb.simulator.models.wong_wang_exc_inh import ReducedWongWangExcInh

    ww = preset["wongwang"]
    m = ReducedWongWangExcInh(
        a_e=np.array([ww["a_E"]]), b_e=np.array([ww["b_E"]]), d_e=np.array([ww["d_E"]]),
        gamma_e=np.array([ww["gamma_E"]]), tau_e=np.array([ww["tau_E"]]),
        w_p=np.array([ww["w_plus"]]), J_N=np.array([ww["J_N"]]), W_e=np.array([ww["W_E"]]),
        a_i=np.array([ww["a_I"]]), b_i=np.array([ww["b_I"]]), d_i=np.array([ww["d_I"]]),
        gamma_i=np.array([ww["gamma_I"]]), tau_i=np.array([ww["tau_I"]]),
        J_i=np.array([ww["J_i"]]), W_i=np.array([ww["W_I"]]), I_o=np.array([ww["I_0"]]),
        G=np.array([preset["coupling"]["G"]]), lamda=np.array([ww["lamda"]]),
        I_ext=np.array([ww["I_ext"]]),
    )  # fmt: skip
    m.configure()

    def f(se, si, c=0.0):
        X = np.array([[[se]], [[si]]], float)
        d = m._numpy_dfun(X, np.array([[[c]]], float))
        return float(d[0, 0, 0]), float(d[1, 0, 0])

    return f


def test_two_node_delay_is_exact():
    """Source 0 -> target 1 with a delay of d steps: the target's coupling at step n is
    w * S_E,0(n - 1 - d) (TVB convention), so a source that leaves 0 at step 1 changes the
    target first at step d + 2, and by exactly one Heun step with that coupling."""
    dt, speed, d = 0.1, 2.0, 7
    W = [[0.0, 0.0], [0.8, 0.0]]
    L = [[0.0, d * dt * speed], [d * dt * speed, 0.0]]
    conn = tiny(W, L, ["cortex", "cortex"])
    conn0 = tiny(np.zeros((2, 2)), L, ["cortex", "cortex"])
    # an external drive makes S_E leave 0 by ~1e-2 in one step (MODEL.md §3 I_ext, nA)
    preset = apply_overrides(load_preset("corrected"), [("wongwang.I_ext", "0.3")])
    kw = dict(
        duration=3.0,
        dt=dt,
        seeds=[1],
        noise_sigma=0.0,
        speed=speed,
        initial={"S_E": 0.0, "S_I": 0.0},
    )
    a = simulate(conn, build_network(conn, "homogeneous", preset), **kw)
    b = simulate(conn0, build_network(conn0, "homogeneous", preset), **kw)
    se_a, se_b = a.S_E[0], b.S_E[0]
    np.testing.assert_array_equal(se_a[:, 0], se_b[:, 0])  # the source does not see the target
    assert se_a[0, 0] > 1e-3  # the source leaves 0 at step 1
    # samples are after steps 1, 2, ...: index n-1 holds step n
    np.testing.assert_array_equal(se_a[: d + 1, 1], se_b[: d + 1, 1])
    assert abs(se_a[d + 1, 1] - se_b[d + 1, 1]) > 1e-8
    # one Heun step of the target with c = w * S_E,0(step 1), TVB's own dfun
    f = _tvb_ww(preset)
    x = (se_a[d, 1], a.S_I[0, d, 1])
    c = 0.8 * se_a[0, 0]
    d1 = f(*x, c)
    inter = [min(max(x[i] + dt * d1[i], 0.0), 1.0) for i in range(2)]
    d2 = f(*inter, c)
    expect = min(max(x[0] + dt / 2 * (d1[0] + d2[0]), 0.0), 1.0)
    assert se_a[d + 1, 1] == pytest.approx(expect, rel=1e-13, abs=0)


def _heun_by_hand(f, x0, dt, n):
    x = np.array(x0, float)
    out = []
    for _ in range(n):
        d1 = np.array(f(*x))
        inter = np.clip(x + dt * d1, 0, 1)
        d2 = np.array(f(*inter))
        x = np.clip(x + dt / 2 * (d1 + d2), 0, 1)
        out.append(x.copy())
    return np.array(out)


def test_single_wongwang_node_heun_and_solve_ivp():
    from scipy.integrate import solve_ivp

    preset = load_preset("corrected")
    conn = tiny([[0.0]], [[0.0]], ["cortex"])
    net = build_network(conn, "homogeneous", preset)
    x0 = (0.3, 0.2)
    r = simulate(
        conn, net, duration=300.0, dt=0.1, seeds=[0], noise_sigma=0.0, speed=3.0,
        initial={"S_E": x0[0], "S_I": x0[1]},
    )  # fmt: skip
    f = _tvb_ww(preset)
    ref = _heun_by_hand(f, x0, 0.1, 3000)
    np.testing.assert_allclose(r.S_E[0, :, 0], ref[:, 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.S_I[0, :, 0], ref[:, 1], rtol=1e-12, atol=1e-14)
    sol = solve_ivp(
        lambda t, y: f(*y), (0, 300.0), x0, t_eval=r.time_ms, rtol=1e-11, atol=1e-13,
        method="DOP853",
    )  # fmt: skip
    err = np.abs(r.S_E[0, :, 0] - sol.y[0]).max()
    assert err < 1e-5  # Heun, dt 0.1 ms, slow dynamics: global error O(dt^2)
    r2 = simulate(
        conn, net, duration=300.0, dt=0.05, seeds=[0], noise_sigma=0.0, speed=3.0,
        initial={"S_E": x0[0], "S_I": x0[1]}, monitor_period=0.1,
    )  # fmt: skip
    err2 = np.abs(r2.S_E[0, :, 0] - sol.y[0]).max()
    assert 3.0 < err / err2 < 5.0  # second order: halving dt divides the error by ~4


@pytest.mark.parametrize(
    ("mossy_hz", "expected_hz"),
    [(4, (0.09, 4.45, 11.18, 55.80)), (20, (2.06, 20.56, 13.95, 63.17)),
     (60, (7.19, 58.59, 23.78, 90.93))],
)  # fmt: skip
def test_single_crbl_node_reaches_model_md_steady_state(mossy_hz, expected_hz):
    """MODEL.md §2.6 table (first order, full-precision P, alpha (2, 1.3, 1.8, 5))."""
    preset = apply_overrides(
        load_preset("corrected"),
        [("crbl.background.kind", "constant"), ("crbl.background.mean", str(mossy_hz / 1000))],
    )
    assert preset["crbl"]["alpha"] == {"GrC": 2.0, "GoC": 1.3, "MLI": 1.8, "PC": 5.0}
    conn = tiny([[0.0]], [[0.0]], ["crbl_hemisphere"])
    net = build_network(conn, "cmf", preset)
    r = simulate(
        conn, net, duration=400.0, dt=0.1, seeds=[0], noise_sigma=0.0, speed=3.0,
        monitor="raw", monitor_period=100.0,
    )  # fmt: skip
    got = [r[v][0, -1, 0] * 1000 for v in ("GrC", "GoC", "MLI", "PC")]
    prev = [r[v][0, -2, 0] * 1000 for v in ("GrC", "GoC", "MLI", "PC")]
    np.testing.assert_allclose(got, prev, atol=1e-6)  # converged
    np.testing.assert_allclose(got, expected_hz, atol=0.006)  # table rounded to 0.01 Hz
    assert "S_E" not in r.variables and r.bold_input[0, -1, 0] == r.GrC[0, -1, 0]


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_lane_reproducible_alone_batch_chunk(model):
    conn = sample()
    net = build_network(conn, model, "corrected")
    kw = dict(duration=12.0, dt=0.1, noise_sigma=0.001, speed=3.0, subject="s1")
    batch = simulate(conn, net, seeds=[3, 5, 7], **kw)
    inner = simulate(conn, net, seeds=[3, 5, 7], lane_layout="inner", chunk_steps=13, **kw)
    for v in batch.variables:
        np.testing.assert_array_equal(inner[v], batch[v])
    alone = simulate(conn, net, seeds=[5], **kw)
    again = simulate(conn, net, seeds=[5], chunk_steps=7, **kw)
    single = simulate(conn, net, seeds=[5], chunk_steps=1, **kw)
    for v in batch.variables:
        np.testing.assert_array_equal(batch[v][1], alone[v][0])
        np.testing.assert_array_equal(again[v], alone[v])
        np.testing.assert_array_equal(single[v], alone[v])
        assert not np.array_equal(batch[v][0], batch[v][1], equal_nan=True)
    np.testing.assert_array_equal(batch.bold_input[1], alone.bold_input[0])
    other = simulate(conn, net, seeds=[5], **{**kw, "subject": "s2"})
    assert not np.array_equal(other.S_E, alone.S_E)
    # same key, per-lane G: lane keyed by its own G
    g = simulate(conn, net, seeds=[5, 5], G=[2.0, 1.5], **kw)
    np.testing.assert_array_equal(g.S_E[0], alone.S_E[0])
    g15 = simulate(conn, net, seeds=[5], G=1.5, **kw)
    np.testing.assert_array_equal(g.S_E[1], g15.S_E[0])


def test_mean_monitor_and_period():
    conn = sample()
    net = build_network(conn, "cmf", "corrected")
    kw = dict(duration=6.0, dt=0.1, seeds=[2], noise_sigma=0.001, speed=3.0)
    raw = simulate(conn, net, **kw)
    sub = simulate(conn, net, monitor_period=1.0, **kw)
    mean = simulate(conn, net, monitor="mean", monitor_period=1.0, **kw)
    np.testing.assert_allclose(raw.time_ms, np.arange(1, 61) * 0.1)
    np.testing.assert_array_equal(sub.GrC, raw.GrC[:, 9::10])
    np.testing.assert_allclose(mean.time_ms, np.arange(6) + 0.5)
    for v in raw.variables:
        ref = raw[v].reshape(1, 6, 10, -1).mean(axis=2)
        np.testing.assert_allclose(mean[v], ref, rtol=1e-13, atol=1e-16)
    assert set(raw.variables) == {"S_E", "S_I", "GrC", "GoC", "MLI", "PC", "r_E", "r_I"}
    crbl = np.array([m == "crbl" for m in net.node_model])
    assert np.isnan(raw.r_E[..., crbl]).all() and np.isfinite(raw.r_E[..., ~crbl]).all()
    assert np.isnan(raw.S_E[..., crbl]).all() and np.isfinite(raw.S_E[..., ~crbl]).all()
    np.testing.assert_array_equal(raw.bold_input[..., crbl], raw.GrC[..., crbl])
    np.testing.assert_array_equal(raw.bold_input[..., ~crbl], raw.S_E[..., ~crbl])


def test_rates_are_tvb_rates_of_the_predictor_state():
    """r_E, r_I (raw monitor) at step s are H_E, H_I of the state at s - 1 with the coupling of
    step s, computed here in numpy with the rate formula of tvb-library's ReducedWongWangExcInh
    (MODEL.md §3) from the monitored states: to 1e-12 relative."""
    # two nodes with 1-step delays both ways: coupling of step s = w * S_E(other, s - 2)
    conn = tiny([[0.0, 0.6], [0.4, 0.0]], [[0.0, 0.3], [0.3, 0.0]], ["cortex", "thalamus"])
    preset = load_preset("corrected")
    net = build_network(conn, "homogeneous", preset)
    res = simulate(conn, net, duration=20.0, dt=0.1, seeds=[4], noise_sigma=0.0, speed=3.0)
    assert res.params["max_delay_steps"] == 1
    ww = preset["wongwang"]
    G, J = preset["coupling"]["G"], ww["J_N"]
    se, si, r_e, r_i = res.S_E[0], res.S_I[0], res.r_E[0], res.r_I[0]
    W = conn.weights
    for s in range(3, se.shape[0]):
        c = np.array([W[0, 1] * se[s - 2, 1], W[1, 0] * se[s - 2, 0]])
        x_e = ww["w_plus"] * J * se[s - 1] - ww["J_i"] * si[s - 1] + ww["W_E"] * ww["I_0"]
        x_e = x_e + G * J * c + ww["I_ext"]
        x_i = J * se[s - 1] - si[s - 1] + ww["W_I"] * ww["I_0"] + ww["lamda"] * G * J * c
        y_e = ww["a_E"] * x_e - ww["b_E"]
        y_i = ww["a_I"] * x_i - ww["b_I"]
        h_e = y_e / (1 - np.exp(-ww["d_E"] * y_e))
        h_i = y_i / (1 - np.exp(-ww["d_I"] * y_i))
        np.testing.assert_allclose(r_e[s], h_e, rtol=1e-12)
        np.testing.assert_allclose(r_i[s], h_i, rtol=1e-12)


def test_divergence_names_node_variable_time():
    conn = tiny([[0.0, 1.0], [1.0, 0.0]], np.zeros((2, 2)), ["cortex", "thalamus"])
    net = build_network(conn, "homogeneous", "corrected")
    # G J_N c overflows: H_E = inf, and at S_E = 1 the term (1 - S_E) gamma_E H_E is 0 * inf
    with pytest.raises(CmftvbError, match=r"non-finite S_E in node 0 'n0' at t = 0.1 ms"):
        simulate(
            conn, net, duration=5.0, dt=0.1, seeds=[1], noise_sigma=0.0, speed=3.0, G=1e308,
            initial={"S_E": 1.0},
        )  # fmt: skip


def test_bad_arguments():
    conn = tiny([[0.0]], [[0.0]], ["cortex"])
    net = build_network(conn, "homogeneous", "corrected")
    kw = dict(duration=1.0, dt=0.1, seeds=[1], noise_sigma=0.0, speed=3.0)
    with pytest.raises(CmftvbError, match="monitor_period"):
        simulate(conn, net, **{**kw, "monitor_period": 0.25})
    with pytest.raises(CmftvbError, match="initial 'GrC'"):
        simulate(conn, net, **{**kw, "initial": {"GrC": 0.1}})
    with pytest.raises(CmftvbError, match="initial 'XX'"):
        simulate(conn, net, **{**kw, "initial": {"XX": 0.1}})
    with pytest.raises(CmftvbError, match="G: 2 values"):
        simulate(conn, net, **{**kw, "G": [1.0, 2.0]})


def test_progress_callback():
    conn = tiny([[0.0]], [[0.0]], ["cortex"])
    net = build_network(conn, "homogeneous", "corrected")
    calls = []
    simulate(
        conn, net, duration=100.0, dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0,
        progress=lambda p, r, e: calls.append((p, r, e)),
    )  # fmt: skip
    pct = [c[0] for c in calls]
    assert pct[-1] == 100.0 and 20 <= len(pct) <= 101 and np.all(np.diff(pct) > 0)
    assert all(c[1] > 0 and c[2] >= 0 for c in calls)


def test_wongwang_kernel_is_tvb(tmp_path):
    # guard for the engine's use of the shared kernel: same derivative as TVB's class
    preset = load_preset("corrected")
    f = _tvb_ww(preset)
    p = wongwang.pack(preset)
    for se, si, c in [(0.1, 0.2, 0.0), (0.9, 0.05, 3.0), (0.0, 1.0, 0.5)]:
        np.testing.assert_allclose(wongwang.dfun(se, si, c, p), f(se, si, c), rtol=1e-12)


@pytest.mark.parametrize("nseeds", [1, 2])
def test_cli_writes_documented_keys(tmp_path, nseeds):
    conn = sample()
    from cmftvb.cli import main
    from cmftvb.io import load_npz

    out = tmp_path / "sim.npz"
    argv = ["simulate", str(SAMPLE), "--model", "cmf", "--duration", "4", "--monitor", "mean",
            "--monitor-period", "1", "--out", str(out), "--quiet", "--initial", "PC=0.02",
            "--set", "crbl.alpha.PC=2.5"]  # fmt: skip
    for s in range(nseeds):
        argv += ["--seed", str(s + 1)]
    assert main(argv) == 0
    arrays, meta = load_npz(out)
    n = len(conn.labels)
    lead = (nseeds,) if nseeds > 1 else ()
    assert arrays["time_ms"].shape == (4,) and arrays["labels"].shape == (n,)
    for v in ("S_E", "S_I", "GrC", "GoC", "MLI", "PC", "bold_input"):
        assert arrays[v].shape == (*lead, 4, n)
    params = json.loads(str(arrays["params"]))
    assert params["preset_params"]["crbl"]["alpha"]["PC"] == 2.5
    # corrected has FIC on: the run starts at the FIC state, --initial overrides PC only
    assert params["initial"]["PC"] == 0.02 and set(params["initial"]) == {
        "S_E", "S_I", "GrC", "GoC", "MLI", "PC"
    }  # fmt: skip
    assert meta["fic"] is True and params["seeds"] == list(range(1, nseeds + 1))
    assert meta["provenance"]["seed"] == list(range(1, nseeds + 1))
    bad = main(["simulate", str(SAMPLE), "--out", str(tmp_path / "x.npz"), "--quiet",
                "--set", "crbl.nope=1"])  # fmt: skip
    assert bad == 2 and not (tmp_path / "x.npz").exists()


def test_stochastic_step_by_hand_with_ou_background():
    """Noise (per node: S_E, S_I | GrC, GoC, MLI, PC, OU, from the lane's counter-based
    stream, recomputed in numpy by ``normals_reference``), the OU mossy background
    (d ou/dt = -ou / tau, mf += weight * ou at each Heun stage) and the stochastic Heun scheme
    (same z in both stages, bounds after each stage), re-done in numpy from the lane stream."""
    from cmftvb.engine.rng import lane_streams, normals_reference
    from cmftvb.models import crbl

    preset = load_preset("corrected")
    bgp = preset["crbl"]["background"]
    assert bgp["kind"] == "ou" and bgp["tau"] == 3.5 and bgp["weight"] == 0.004  # MODEL.md §4
    conn = tiny(np.zeros((2, 2)), np.zeros((2, 2)), ["cortex", "crbl_vermis"])
    net = build_network(conn, "cmf", preset)
    init = {"S_E": 0.2, "S_I": 0.1, "GrC": 0.004, "GoC": 0.02, "MLI": 0.015, "PC": 0.05}
    sigma, dt, n = 0.02, 0.1, 40
    r = simulate(
        conn, net, duration=n * dt, dt=dt, seeds=[4], noise_sigma=sigma, speed=3.0,
        initial=init, subject="x", chunk_steps=9,
    )  # fmt: skip
    key = lane_streams("x", preset["coupling"]["G"], 4)[0]
    steps = np.arange(1, n + 1)
    z = np.c_[normals_reference(key, steps, 0, 2), normals_reference(key, steps, 1, 5)]
    z *= sigma * np.sqrt(dt)
    pw, pc = wongwang.pack(preset), crbl.pack(preset)
    w, tau = bgp["weight"], bgp["tau"]

    def f(y):
        d_e, d_i = wongwang.dfun(y[0], y[1], 0.0, pw)
        dc = crbl.dfun_nodes(*y[2:6], w * y[6], 0.0, pc)
        return np.r_[d_e, d_i, dc, -y[6] / tau]

    lo = np.r_[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -np.inf]
    hi = np.r_[1.0, 1.0, np.inf, np.inf, np.inf, np.inf, np.inf]
    y = np.r_[[init[k] for k in ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")], 0.0]
    traj = []
    for s in range(n):
        d1 = f(y)
        inter = np.clip(y + dt * d1 + z[s], lo, hi)
        y = np.clip(y + dt / 2 * (d1 + f(inter)) + z[s], lo, hi)
        traj.append(y.copy())
    traj = np.array(traj)
    np.testing.assert_allclose(r.S_E[0, :, 0], traj[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.S_I[0, :, 0], traj[:, 1], rtol=1e-12, atol=1e-15)
    for i, v in enumerate(("GrC", "GoC", "MLI", "PC")):
        np.testing.assert_allclose(r[v][0, :, 1], traj[:, 2 + i], rtol=1e-12, atol=1e-15)
    assert np.abs(traj[:, 6]).max() > 0  # the background really moved


def test_cache_guard_flushes_on_changed_models(tmp_path, monkeypatch):
    from cmftvb.engine import core

    calls = []

    class FakeCache:
        _cache_path = str(tmp_path)

        def flush(self):
            calls.append(1)

    from cmftvb import _jitcache
    from cmftvb import _vmath as vmath
    from cmftvb.engine import rng
    from cmftvb.models import crbl, wongwang

    monkeypatch.setattr(core.run_steps, "_cache", FakeCache(), raising=False)
    stamp = tmp_path / "cmftvb.engine.core.run_steps.deps"
    stamp.write_text("stale")
    core._guard_cache()
    assert calls == [1]
    digest = _jitcache.sources_digest(
        [
            core.__file__,
            wongwang.__file__,
            crbl.__file__,
            vmath.__file__,
            rng.__file__,
        ]
    )
    assert stamp.read_text() == digest
    core._guard_cache()
    assert calls == [1]  # up to date: no flush


def test_cli_engine_tvb_matches_numba(tmp_path):
    sample()
    from cmftvb.cli import main
    from cmftvb.io import load_npz

    out = {}
    for eng in ("numba", "tvb"):
        path = tmp_path / f"{eng}.npz"
        argv = ["simulate", str(SAMPLE), "--model", "cmf", "--duration", "3", "--noise-sigma",
                "0", "--seed", "1", "--engine", eng, "--out", str(path), "--quiet"]  # fmt: skip
        assert main(argv) == 0
        out[eng] = load_npz(path)[0]
    assert json.loads(str(out["tvb"]["params"]))["engine"] != "numba"
    for v in ("S_E", "S_I", "GrC", "GoC", "MLI", "PC", "bold_input"):
        a, b = out["numba"][v], out["tvb"][v]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)  # TVB: float32 history (§5)
    with pytest.raises(CmftvbError, match="engine"):
        simulate(
            tiny([[0.0]], [[0.0]], ["cortex"]),
            build_network(tiny([[0.0]], [[0.0]], ["cortex"]), "homogeneous", "corrected"),
            duration=1.0, dt=0.1, seeds=[1], noise_sigma=0.0, speed=3.0, engine="bogus",
        )  # fmt: skip


def test_J_i_per_node_and_lane():
    """J_i None is the preset's scalar (bitwise); (N,) applies to every lane, (L, N) per lane,
    each lane as when run alone with its row; Wong-Wang nodes only; bad values name J_i."""
    conn = sample()
    net = build_network(conn, "cmf", "corrected")
    n = net.n_nodes
    kw = dict(duration=20.0, dt=0.1, noise_sigma=0.001, speed=3.0, subject="s")
    base = simulate(conn, net, seeds=[1, 2], **kw)
    j0 = float(net.params["wongwang"]["J_i"])
    same = simulate(conn, net, seeds=[1, 2], J_i=np.full(n, j0), **kw)
    for v in base.variables:
        np.testing.assert_array_equal(same[v], base[v])
    rng = np.random.default_rng(5)
    rows = rng.uniform(0.5, 2.0, (2, n))
    is_crbl = np.array([m == "crbl" for m in net.node_model])
    rows[:, is_crbl] = 1e9  # ignored at cerebellar nodes
    two = simulate(conn, net, seeds=[1, 2], J_i=rows, **kw)
    for ln, seed in enumerate((1, 2)):
        alone = simulate(conn, net, seeds=[seed], J_i=rows[ln], **kw)
        for v in two.variables:
            np.testing.assert_array_equal(two[v][ln], alone[v][0])
    ww = ~is_crbl
    assert not np.array_equal(two.S_E[:, :, ww], base.S_E[:, :, ww])
    # J_i enters x_E = ... - J_i S_I: a larger J_i lowers r_E at once (first sample, same state)
    hi = simulate(conn, net, seeds=[1], J_i=np.full(n, 2 * j0), **kw)
    assert np.all(hi.r_E[0, 0, ww] < base.r_E[0, 0, ww])
    assert two.params["J_i_nA"] == rows.tolist() and "J_i_nA" not in base.params
    for bad in (np.ones(n - 1), np.ones((3, n)), np.r_[-1.0, np.ones(n - 1)],
                np.r_[np.nan, np.ones(n - 1)], "x"):  # fmt: skip
        with pytest.raises(CmftvbError, match="J_i"):
            simulate(conn, net, seeds=[1, 2], J_i=bad, **kw)


def _crbl_cortex_cut(conn):
    """The sample connectome with every weight out of a cerebellar-cortex node set to 0."""
    import dataclasses

    from cmftvb.network import resolve_roles

    src = np.isin(conn.roles, sorted(resolve_roles("crbl_cortex", "test")))
    W = np.array(conn.weights, dtype=float)
    W[:, src] = 0.0
    return dataclasses.replace(conn, weights=W), src


def test_common_random_numbers_bitwise_without_crbl_cortex_output():
    """Issue 10: with the projections out of the cerebellar-cortex nodes at zero, every other
    node runs the same in the homogeneous and cMF networks, bit for bit: same noise, same
    initial history (the lane key has no model) and no input from the nodes that differ."""
    conn, cut = _crbl_cortex_cut(sample())
    kw = dict(duration=50.0, dt=0.1, seeds=[3, 4], noise_sigma=0.001, speed=3.0, subject="s")
    kw.update(monitor="mean", monitor_period=1.0, G=[1.0, 2.0])
    net_cmf = build_network(conn, "cmf", "corrected")
    hom = simulate(conn, build_network(conn, "homogeneous", "corrected"), **kw)
    cmf = simulate(conn, net_cmf, **kw)
    assert cut.any() and np.array_equal(cut, np.array(net_cmf.node_model) == "crbl")
    for v in ("S_E", "S_I", "r_E", "r_I"):
        a, b = hom[v][:, :, ~cut], cmf[v][:, :, ~cut]
        assert np.isfinite(a).all() and np.ptp(a[0], axis=0).max() > 1e-4
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(hom.S_E[:, :, cut], cmf.GrC[:, :, cut])


def test_common_random_numbers_first_100_ms():
    """Issue 10 acceptance: over the first 100 ms with noise on, cerebral S_E of homogeneous vs
    cMF at the same (subject, G, seed) differ by at most a tenth of what homogeneous seed 1 vs
    seed 2 differ (mean absolute difference over nodes and samples)."""
    from cmftvb.network import resolve_roles

    conn = sample()
    cerebral = np.isin(conn.roles, sorted(resolve_roles("cerebral", "test")))
    kw = dict(duration=100.0, dt=0.1, noise_sigma=0.001, speed=3.0, subject="s")
    kw.update(monitor="mean", monitor_period=1.0)
    hom = simulate(conn, build_network(conn, "homogeneous", "corrected"), seeds=[1, 2], **kw)
    cmf = simulate(conn, build_network(conn, "cmf", "corrected"), seeds=[1], **kw)
    models = np.abs(hom.S_E[0] - cmf.S_E[0])[:, cerebral].mean()
    seeds = np.abs(hom.S_E[0] - hom.S_E[1])[:, cerebral].mean()
    print(f"mean |dS_E| homogeneous-cMF {models:.3g}, seed 1-seed 2 {seeds:.3g}")
    assert seeds > 0 and models <= 0.1 * seeds


def test_front_door_dispatch_and_refusals():
    conn = tiny([[0.0]], [[0.0]], ["cortex"])
    net = build_network(conn, "homogeneous", "corrected")
    kw = dict(duration=1.0, dt=0.1, seeds=[1], noise_sigma=0.0, speed=3.0)
    for bad in (dict(chunk_steps=5), dict(lane_layout="sequential")):
        with pytest.raises(CmftvbError, match="chunk_steps / lane_layout"):
            simulate(conn, net, engine="tvb", **kw, **bad)
    with pytest.raises(CmftvbError, match="lane_layout 'diagonal'"):
        simulate(conn, net, lane_layout="diagonal", **kw)
    with pytest.raises(CmftvbError, match="engine 'jax'"):
        simulate(conn, net, engine="jax", **kw)


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_zero_delay_dense_path_is_the_sparse_path(model, monkeypatch):
    """Without delays every edge is short and summed as a dense matrix; forcing the sparse
    edge-by-edge path (fill threshold above 1) must give bitwise the same run, alone and in a
    batch, and a lane in the batch bitwise its single run."""
    import dataclasses

    from cmftvb.engine import numba_runner

    conn = sample()
    # lengths of at most 2e-4 mm: every delay rounds to 0 steps (an all-zero lengths matrix
    # is refused by the connectome reader as missing lengths)
    conn0 = dataclasses.replace(conn, tract_lengths=conn.tract_lengths * 1e-6)
    net = build_network(conn0, model, "corrected")
    N = len(net.node_model)
    edges = numba_runner.expand_edges(conn0, net, 0.1, 3.0)
    assert edges.delay.size > 0 and int(edges.delay.max()) == 0
    dense = numba_runner._edge_tables(edges, N, np.zeros((1, 3), dtype=np.int64))
    assert dense[10].size > 0 and dense[7].size == 0  # the dense path is taken
    kw = dict(duration=8.0, dt=0.1, noise_sigma=0.001, speed=3.0, subject="s1")
    got1 = simulate(conn0, net, seeds=[5], **kw)
    got3 = simulate(conn0, net, seeds=[3, 5, 7], **kw)
    monkeypatch.setattr(numba_runner, "DENSE_MIN_FILL", 2.0)
    sparse = numba_runner._edge_tables(edges, N, np.zeros((1, 3), dtype=np.int64))
    assert sparse[10].size == 0 and sparse[7].size == edges.delay.size
    ref1 = simulate(conn0, net, seeds=[5], **kw)
    ref3 = simulate(conn0, net, seeds=[3, 5, 7], **kw)
    assert list(got1.variables) == list(ref1.variables)
    for v in got1.variables:
        np.testing.assert_array_equal(got1[v], ref1[v])
        np.testing.assert_array_equal(got3[v], ref3[v])
        np.testing.assert_array_equal(got3[v][1], got1[v][0])
    assert np.isfinite(got1.bold_input).all()
    # a few short edges among long ones stay on the sparse path
    net_d = build_network(conn, model, "corrected")
    edges_d = numba_runner.expand_edges(conn, net_d, 0.1, 3.0)
    monkeypatch.setattr(numba_runner, "DENSE_MIN_FILL", 0.25)
    mixed = numba_runner._edge_tables(edges_d, N, np.zeros((1, 3), dtype=np.int64))
    assert mixed[10].size == 0 and mixed[7].size > 0
