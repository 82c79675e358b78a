"""Hold docs/TVB-CONVENTIONS.md to tvb-library 2.10: a hand-written re-implementation of its
step (coupling index, float32 history, Heun with additive noise, bounds, monitor times) must
reproduce tvb-library's Simulator bit for bit."""

import logging

import numpy as np
import pytest

tvb_sim = pytest.importorskip("tvb.simulator.simulator")
from tvb.datatypes.connectivity import Connectivity  # noqa: E402
from tvb.simulator import coupling, integrators, models, monitors, noise  # noqa: E402

logging.getLogger("tvb").setLevel(logging.ERROR)

W = np.array([[0.0, 0.5, 0.0], [0.2, 0.0, 0.3], [0.0, 0.7, 0.0]])
L = np.array([[0.0, 3.0, 1.0], [3.0, 0.0, 4.4], [1.0, 4.4, 0.0]])  # mm
SPEED, DT = 2.0, 0.5  # mm/ms, ms


def _sim(integrator, ic, mons):
    con = Connectivity(
        weights=W,
        tract_lengths=L,
        region_labels=np.array(list("abc")),
        centres=np.zeros((3, 3)),
        speed=np.array([SPEED]),
    )
    sim = tvb_sim.Simulator(
        connectivity=con,
        model=models.ReducedWongWangExcInh(G=np.array([2.0])),
        coupling=coupling.Linear(a=np.array([1.0])),
        integrator=integrator,
        monitors=mons,
        initial_conditions=ic,
    )
    return sim.configure()


def test_idelays_and_horizon():
    idel = np.rint(L / SPEED / DT).astype(int)
    sim = _sim(integrators.HeunDeterministic(dt=DT), np.full((5, 2, 3, 1), 0.1), [monitors.Raw()])
    assert np.array_equal(sim.connectivity.idelays, idel)
    assert sim.connectivity.horizon == idel.max() + 1 == 5
    assert sim.history.buffer.dtype == np.float32
    assert sim.history.nnz_weights.dtype == np.float32


def test_hand_step_reproduces_tvb_bit_for_bit():
    """Three stochastic Heun steps from a non-constant initial history (TVB-CONVENTIONS §3-§7)."""
    sigma, seed, n_steps = 0.01, 7, 4
    idel = np.rint(L / SPEED / DT).astype(int)
    H = idel.max() + 1
    ic = np.random.default_rng(0).uniform(0.05, 0.6, (H, 2, 3, 1))
    integ = integrators.HeunStochastic(
        dt=DT, noise=noise.Additive(nsig=np.array([sigma**2 / 2]), noise_seed=seed)
    )
    sim = _sim(integ, ic, [monitors.Raw()])
    ((t, x),) = sim.run(n_steps=n_steps)
    model = sim.model

    hist = {s - (H - 1): ic[s, 0, :, 0].astype(np.float32) for s in range(H)}
    X, rs = ic[-1].copy(), np.random.RandomState(seed)
    out = []
    for n in range(1, n_steps + 1):
        c = np.zeros(3, np.float32)
        for k in range(3):
            for j in range(3):
                if W[k, j]:
                    c[k] += np.float32(W[k, j]) * hist[n - 1 - idel[k, j]][j]
        c = c.astype(np.float64)[None, :, None]
        z = np.sqrt(DT) * rs.normal(size=X.shape) * np.sqrt(2 * sigma**2 / 2)
        d1 = model.dfun(X, c)
        inter = np.clip(X + DT * d1 + z, 0, 1)
        X = np.clip(X + (d1 + model.dfun(inter, c)) * DT / 2 + z, 0, 1)
        hist[n] = X[0, :, 0].astype(np.float32)
        out.append(X.copy())
    assert np.array_equal(x, np.array(out))
    # Raw sample m is at the absolute step (H - 1 + m)
    assert np.allclose(t, (H - 1 + np.arange(1, n_steps + 1)) * DT)


def test_temporal_average_first_window_partial_unless_aligned():
    """TVB-CONVENTIONS §7: the TemporalAverage stock starts at zero; padding the constant
    history so that n_time - 1 is a multiple of istep gives full, aligned windows."""
    istep, n_steps = 4, 12
    for n_time, aligned in ((6, False), (9, True)):  # horizon 5; (9 - 1) % 4 == 0
        ic = np.full((n_time, 2, 3, 1), 0.3)
        sim = _sim(
            integrators.HeunDeterministic(dt=DT),
            ic,
            [monitors.Raw(), monitors.TemporalAverage(period=istep * DT)],
        )
        (tr, xr), (ta, xa) = sim.run(n_steps=n_steps)
        assert np.allclose(tr, (n_time - 1 + np.arange(1, n_steps + 1)) * DT)
        if aligned:
            want = xr.reshape(n_steps // istep, istep, *xr.shape[1:]).mean(axis=1)
            assert np.allclose(xa, want, rtol=0, atol=1e-15)
            assert np.allclose(ta - (n_time - 1) * DT, (np.arange(1, 4) * istep - istep / 2) * DT)
        else:
            # first step 6 goes to stock slot 1; the window emitted at step 8 averages the
            # zero-initialised slot 0 with steps 6, 7, 8
            assert np.isclose(ta[0], (8 - istep / 2) * DT)
            assert np.allclose(xa[0], xr[0:3].sum(axis=0) / istep, rtol=0, atol=1e-15)
