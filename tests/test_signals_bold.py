"""BOLD signals against independent references: tvb-library's Bold monitor and scipy."""

import types

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from cmftvb import CmftvbError
from cmftvb.signals import bold as B


def _tvb_bold(x, dt, tr):
    """Drive tvb-library's own Bold monitor with a synthetic input, as its simulator would.

    The simulator calls ``monitor.record(step, observed)`` for steps 1, 2, ... with the observed
    state of shape (n_voi, nodes, modes); ``config_for_sim`` needs only the integrator's dt,
    the number of nodes and the model's variables of interest and modes, so a namespace stands
    in for the Simulator.
    """
    from tvb.simulator.monitors import Bold

    T, N = x.shape
    sim = types.SimpleNamespace(
        integrator=types.SimpleNamespace(dt=dt),
        number_of_nodes=N,
        model=types.SimpleNamespace(variables_of_interest=("x",), number_of_modes=1),
    )
    mon = Bold(period=tr)
    mon.config_for_sim(sim)
    times, vals = [], []
    for i in range(T):
        out = mon.record(i + 1, x[i][None, :, None])
        if out is not None:
            times.append(out[0])
            vals.append(out[1][0, :, 0])
    return np.array(times), np.array(vals)


@pytest.mark.parametrize("dt,tr,dur", [(0.5, 720.0, 30000.0), (1.0, 2000.0, 45000.0)])
def test_tvb_kernel_equals_tvb_monitor(dt, tr, dur):
    rng = np.random.default_rng(1)
    T = int(dur / dt)
    t = np.arange(1, T + 1) * dt
    # slow oscillation + noise, different per node, so every kernel lag matters
    x = (
        0.3
        + 0.1 * np.sin(2 * np.pi * t[:, None] / 7000.0 * np.arange(1, 4))
        + 0.05 * rng.random((T, 3))
    )
    t_ref, ref = _tvb_bold(x, dt, tr)
    ours, t_ours = B.bold_tvb_kernel(x, dt, tr, return_time=True)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(t_ours, t_ref, rtol=0, atol=1e-9)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * scale)
    # after the 20-s kernel has filled, also elementwise relative
    full = t_ref > 20000.0 + tr
    np.testing.assert_allclose(ours[full], ref[full], rtol=1e-6)


def test_tvb_kernel_constant_input_analytic():
    # Constant input c: once 20 s of history exist, BOLD = (c * sum(G) - 1) k1 V0 exactly.
    G = B.tvb_volterra_kernel()
    x = np.full((int(40000 / 1.0), 2), 0.25)
    y = B.bold_tvb_kernel(x, 1.0, 1000.0)
    np.testing.assert_allclose(y[-5:], (0.25 * G.sum() - 1) * 5.6 * 0.02, rtol=1e-12)


def _balloon_scipy(u, h_s, n_per_tr, p):
    """Same equations, integrated by scipy's DOP853 segment by segment (input constant)."""
    kappa, gamma, tau, alpha, rho, V0 = (
        p[k] for k in ("kappa", "gamma", "tau", "alpha", "rho", "V0")
    )
    k1, k2, k3 = 7 * rho, 2.0, 2 * rho - 0.2
    N = u.shape[1]

    def rhs(t, z, inp):
        s, f, v, q = z.reshape(4, N)
        return np.concatenate(
            [
                inp - kappa * s - gamma * (f - 1),
                s,
                (f - v ** (1 / alpha)) / tau,
                (f * (1 - (1 - rho) ** (1 / f)) / rho - v ** (1 / alpha) * q / v) / tau,
            ]
        )

    z = np.concatenate([np.zeros(N), np.ones(3 * N)])
    out = []
    for k in range(u.shape[0]):
        sol = solve_ivp(rhs, (0, h_s), z, method="DOP853", rtol=1e-10, atol=1e-12, args=(u[k],))
        z = sol.y[:, -1]
        if (k + 1) % n_per_tr == 0:
            s, f, v, q = z.reshape(4, N)
            out.append(V0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v)))
    return np.array(out)


def test_balloon_equals_scipy_solve_ivp():
    rng = np.random.default_rng(2)
    dt, tr, dur = 1.0, 720.0, 12000.0
    T = int(dur / dt)
    t = np.arange(1, T + 1) * dt
    x = 0.5 * (t[:, None] > 1000) * (
        1 + np.sin(2 * np.pi * t[:, None] / 3000.0 * [1, 2])
    ) + 0.2 * rng.standard_normal((T, 2))
    ours = B.bold_balloon(x, dt, tr, step_ms=10.0)
    u = B.balloon_input(x, dt, 10.0)
    ref = _balloon_scipy(u, 0.01, 72, B.BALLOON_DEFAULTS)
    assert ours.shape == ref.shape == (16, 2)
    rng_ = ref.max() - ref.min()
    assert rng_ > 1e-3  # the input really moved the signal
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * rng_)


def test_balloon_steady_state_analytic():
    # Constant input z: steady state s=0, f=1+z/gamma, v=f^alpha, q from dq/dt=0.
    p = B.BALLOON_DEFAULTS
    z = 0.1
    x = np.full((200000, 1), z)
    y = B.bold_balloon(x, 1.0, 1000.0)
    f = 1 + z / p["gamma"]
    v = f ** p["alpha"]
    q = v * (1 - (1 - p["rho"]) ** (1 / f)) / p["rho"]
    rho = p["rho"]
    expected = p["V0"] * (7 * rho * (1 - q) + 2 * (1 - q / v) + (2 * rho - 0.2) * (1 - v))
    np.testing.assert_allclose(y[-1, 0], expected, rtol=1e-8)


def test_balloon_zero_input_stays_at_rest():
    y = B.bold_balloon(np.zeros((5000, 3)), 0.5, 500.0)
    np.testing.assert_array_equal(y, 0.0)


def test_balloon_normalise_and_errors():
    rng = np.random.default_rng(3)
    x = 100 + 5 * rng.standard_normal((20000, 2))
    with pytest.raises(CmftvbError, match="domain"):
        B.bold_balloon(x * 100, 1.0, 1000.0)
    a = B.bold_balloon(x, 1.0, 1000.0, normalise="zscore")
    b = B.bold_balloon((x - x.mean(0)) / x.std(0), 1.0, 1000.0)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    with pytest.raises(CmftvbError, match="tr_ms"):
        B.bold_balloon(x, 0.3, 1000.0)
    with pytest.raises(CmftvbError, match="unknown"):
        B.bold_balloon(x, 1.0, 1000.0, params={"kapa": 1})


def test_drop_transient():
    y = np.arange(20.0).reshape(10, 2)
    np.testing.assert_array_equal(B.drop_transient(y, 720.0, volumes=3), y[3:])
    np.testing.assert_array_equal(B.drop_transient(y, 720.0, seconds=1.5), y[3:])
    np.testing.assert_array_equal(B.drop_transient(y, 720.0, seconds=1.44), y[2:])
    with pytest.raises(CmftvbError):
        B.drop_transient(y, 720.0)
    with pytest.raises(CmftvbError):
        B.drop_transient(y, 720.0, volumes=10)


def test_tvb_kernel_equals_bold_of_a_tiny_tvb_simulation():
    """End to end with tvb-library's Simulator: a 2-node Generic2dOscillator network recorded by
    both a Raw and a Bold monitor; our kernel applied to the Raw output must give the Bold
    output, which also pins the timing convention (Raw row i = step i + 1)."""
    from tvb.datatypes import connectivity
    from tvb.simulator import coupling, integrators, models, monitors, simulator

    conn = connectivity.Connectivity(
        weights=np.array([[0, 1.0], [1, 0]]),
        tract_lengths=np.array([[0, 10.0], [10, 0]]),
        region_labels=np.array(["a", "b"]),
        centres=np.zeros((2, 3)),
        speed=np.array([3.0]),
    )
    sim = simulator.Simulator(
        model=models.Generic2dOscillator(),
        connectivity=conn,
        coupling=coupling.Linear(a=np.array([0.1])),
        integrator=integrators.HeunDeterministic(dt=1.0),
        monitors=(monitors.Raw(), monitors.Bold(period=1000.0)),
        simulation_length=23000.0,
    )
    sim.configure()
    (raw_t, raw), (bold_t, bold) = sim.run()
    np.testing.assert_allclose(raw_t, np.arange(1, raw.shape[0] + 1) * 1.0)
    ours, t = B.bold_tvb_kernel(raw[:, 0, :, 0], 1.0, 1000.0, return_time=True)
    np.testing.assert_allclose(t, bold_t)
    ref = bold[:, 0, :, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
