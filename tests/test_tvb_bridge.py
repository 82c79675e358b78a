"""The tvb-library bridge (cmftvb.engine.tvb) against tvb-library's own classes.

The bridge runs the hybrid network through TVB's Simulator with a model class that calls the
cmftvb kernels and a coupling class that applies the projection table. Its independent
references: TVB's own ReducedWongWangExcInh with Linear coupling (homogeneous model), and a
dense re-computation of the delayed projection sums from TVB's history buffer.
"""

import logging

import numpy as np
import pytest

pytest.importorskip("tvb.simulator.simulator")

from cmftvb import CmftvbError  # noqa: E402
from cmftvb.connectome import Connectome  # noqa: E402
from cmftvb.engine import tvb as T  # noqa: E402
from cmftvb.network import MODEL_INPUTS, build_network, resolve_roles  # noqa: E402

logging.getLogger("tvb").setLevel(logging.ERROR)

ROLES = [
    "cortex",
    "cortex",
    "thalamus",
    "subcortical",
    "crbl_hemisphere",
    "crbl_hemisphere",
    "crbl_vermis",
    "dcn",
]


def synthetic(seed=3):
    """Eight nodes with every role group, ~70 % dense asymmetric weights, delays 2-200 steps."""
    rng = np.random.default_rng(seed)
    n = len(ROLES)
    W = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.7)
    np.fill_diagonal(W, 0.0)
    L = rng.uniform(0.6, 60.0, (n, n))
    L = (L + L.T) / 2
    np.fill_diagonal(L, 0.0)
    return Connectome(weights=W, tract_lengths=L, labels=[f"n{i}" for i in range(n)], roles=ROLES)


def _maxdiff(a, b, names):
    return {v: float(np.nanmax(np.abs(a[v] - b[v]))) for v in names}


@pytest.mark.parametrize("noise_sigma", [0.0, 0.001])
def test_bridge_homogeneous_equals_tvb_own_wongwang(noise_sigma):
    """Homogeneous network: the bridge (cmftvb kernel, projection coupling) and TVB's own
    ReducedWongWangExcInh + Linear coupling on the folded weights. With noise the two draw the
    same numbers (same RandomState seed, 2 state variables), which checks nsig = sigma^2/2 and
    the noise mask too. Expected difference: float32 weights/sums in TVB's coupling, ~1e-8."""
    con = synthetic()
    net = build_network(con, "homogeneous", "corrected")
    kw = dict(duration=1000.0, dt=0.1, seeds=[4], noise_sigma=noise_sigma, speed=3.0)
    a = T.simulate_tvb(con, net, **kw)
    b = T.simulate_tvb_homogeneous(con, net, **kw)
    assert a.S_E.shape == (1, 10000, 8)
    assert np.array_equal(a.time_ms, b.time_ms)
    assert np.isclose(a.time_ms[0], 0.1)
    d = _maxdiff(a, b, ["S_E", "S_I"])
    assert max(d.values()) <= 1e-6, d
    # the run moved: the comparison is not between two constant traces
    assert np.ptp(a.S_E[0], axis=0).min() > 1e-3


def test_bridge_per_node_J_i_equals_tvb_own_wongwang():
    """Per-node J_i: the bridge (cmftvb kernel with J_i per node) and TVB's own
    ReducedWongWangExcInh with J_i as an array parameter, noise on (same RandomState seed),
    two lanes with their own J_i rows; as the scalar case above, within 1e-6."""
    con = synthetic()
    net = build_network(con, "homogeneous", "corrected")
    J_i = np.random.default_rng(2).uniform(0.5, 2.0, (2, 8))
    kw = dict(duration=500.0, dt=0.1, seeds=[4, 5], noise_sigma=0.001, speed=3.0, J_i=J_i)
    a = T.simulate_tvb(con, net, **kw)
    b = T.simulate_tvb_homogeneous(con, net, **kw)
    d = _maxdiff(a, b, ["S_E", "S_I"])
    assert max(d.values()) <= 1e-6, d
    plain = T.simulate_tvb_homogeneous(con, net, **{**kw, "J_i": None})
    assert np.abs(plain.S_E - b.S_E).max() > 1e-3  # J_i reached TVB's class


def test_tvb_own_wongwang_refuses_published_sign_error():
    con = synthetic()
    net = build_network(con, "homogeneous", "published")
    with pytest.raises(CmftvbError, match="ReducedWongWangExcInh"):
        T.simulate_tvb_homogeneous(
            con, net, duration=1.0, dt=0.1, seeds=[0], noise_sigma=0.0, speed=3.0
        )


@pytest.mark.parametrize("preset", ["corrected", "published"])
def test_projection_coupling_matches_dense_sums(preset):
    """ProjectionCoupling on a random float32 history equals the projection sums written
    densely from the roles and the table (sum over projections of scale*sign*W*x(t-1-d))."""
    con = synthetic()
    net = build_network(con, "cmf", preset)
    dt, speed = 0.1, 3.0
    cls = T._classes()
    model = cls["NetworkModel"](net)
    from cmftvb.network import expand_edges

    coup = cls["ProjectionCoupling"]()
    coup.setup(expand_edges(con, net, dt, speed), net, model)
    D = np.rint(con.tract_lengths / speed / dt).astype(int)
    n_time = D.max() + 1
    rng = np.random.default_rng(0)

    class H:  # the parts of TVB's SparseHistory that a coupling reads
        buffer = rng.uniform(0, 1, (n_time, model.cvar.size, 8, 1)).astype(np.float32)
        n_cvar, n_mode = model.cvar.size, 1

    H.n_time = n_time
    step = 1234
    got = coup(step, H)[..., 0]

    want = np.zeros((3, 8))
    roles = np.asarray(net.roles)
    models = np.asarray(net.node_model)
    cpos = {int(v): i for i, v in enumerate(model.cvar)}
    for p in net.projections:
        src = np.isin(roles, sorted(resolve_roles(p["source"], "t")))
        tgt = np.isin(roles, sorted(resolve_roles(p["target"], "t")))
        blocked = np.zeros((8, 8), dtype=bool)
        for ex in p["exclude"]:
            es = np.isin(roles, sorted(resolve_roles(ex["source"], "t")))
            et = np.isin(roles, sorted(resolve_roles(ex["target"], "t")))
            blocked |= et[:, None] & es[None, :]
        for k in np.flatnonzero(tgt):
            row = T.INPUT_ROWS[(models[k], p["target_input"][models[k]])]
            assert p["target_input"][models[k]] in MODEL_INPUTS[models[k]]
            for j in np.flatnonzero(src):
                if blocked[k, j]:
                    continue
                var = model.iv[p["source_var"][models[j]]]
                x = H.buffer[(step - 1 - D[k, j]) % n_time, cpos[var], j, 0]
                want[row, k] += con.weights[k, j] * p["scale"] * p["sign"] * float(x)
    assert np.allclose(got, want, rtol=1e-13, atol=1e-15)
    assert np.abs(want).sum() > 0


def test_network_model_masks_and_zero_drift_of_absent_variables():
    con = synthetic()
    net = build_network(con, "cmf", "corrected")
    model = T.network_model(net)
    assert model.state_variables[:6] == list(T.STATE_VARS)
    is_cb = np.array([m == "crbl" for m in net.node_model])
    for v in ("S_E", "S_I"):
        assert np.array_equal(model.active[model.iv[v]], ~is_cb)
    for v in ("GrC", "GoC", "MLI", "PC"):
        assert np.array_equal(model.active[model.iv[v]], is_cb)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 0.5, (model.nvar, 8, 1))
    c = rng.uniform(0, 0.5, (3, 8, 1))
    d = model.dfun(x, c)
    assert np.all(d[~model.active] == 0.0)
    assert np.all(d[model.active] != 0.0)


def test_bridge_reports_nan_for_absent_variables_and_is_seeded():
    con = synthetic()
    net = build_network(con, "cmf", "corrected")
    kw = dict(duration=20.0, dt=0.1, noise_sigma=0.001, speed=3.0)
    a = T.simulate_tvb(con, net, seeds=[1, 2], **kw)
    b = T.simulate_tvb(con, net, seeds=[1], **kw)
    is_cb = np.array([m == "crbl" for m in net.node_model])
    assert np.isnan(a.S_E[:, :, is_cb]).all() and np.isfinite(a.S_E[:, :, ~is_cb]).all()
    assert np.isnan(a.PC[:, :, ~is_cb]).all() and np.isfinite(a.PC[:, :, is_cb]).all()
    assert np.array_equal(a.S_E[0], b.S_E[0], equal_nan=True)  # a lane does not depend on its batch
    assert not np.allclose(a.S_E[0], a.S_E[1], equal_nan=True)
    assert np.array_equal(a.bold_input[:, :, is_cb], a.GrC[:, :, is_cb])


@pytest.mark.parametrize(
    "kw",
    [
        dict(duration=10.05),  # not a whole number of steps
        dict(monitor="tavg"),
        dict(monitor_period=0.25),
        dict(noise_sigma=-1.0),
        dict(seeds=[]),
        dict(chunk_steps=10),  # numba-only options are refused, not ignored
        dict(lane_layout="inner"),
        dict(J_i=np.ones(3)),
        dict(bold_var={"crbl": "XX"}),
    ],
)
def test_bad_arguments_raise_cmftvberror(kw):
    con = synthetic()
    net = build_network(con, "cmf", "corrected")
    args = dict(duration=10.0, dt=0.1, seeds=[0], noise_sigma=0.0, speed=3.0)
    args.update(kw)
    with pytest.raises(CmftvbError):
        T.simulate_tvb(con, net, **args)


def test_network_model_ou_background_enters_mossy_input():
    """Preset background ``ou`` (MODEL.md §4): dOU/dt = -OU/tau, mossy input += weight * OU;
    the engine's convention (cmftvb.engine.core). Checked against crbl.dfun_nodes directly."""
    from cmftvb.models import crbl

    con = synthetic()
    net = build_network(con, "cmf", "corrected")
    bg = net.params["crbl"]["background"]
    assert bg["kind"] == "ou"
    model = T.network_model(net)
    iv = model.iv
    cb = model.cb_nodes
    rng = np.random.default_rng(2)
    x = rng.uniform(0.0, 0.05, (model.nvar, 8, 1))
    x[iv["OU"], cb, 0] = [3.0, -2.0, 5.0]
    c = rng.uniform(0.0, 0.05, (3, 8, 1))
    d = model.dfun(x, c)
    assert np.allclose(d[iv["OU"], cb, 0], -x[iv["OU"], cb, 0] / bg["tau"], rtol=1e-15)
    rates = [x[iv[v], cb, 0] for v in ("GrC", "GoC", "MLI", "PC")]
    mf = c[1, cb, 0] + bg["weight"] * x[iv["OU"], cb, 0]
    want = crbl.dfun_nodes(*rates, mf, c[2, cb, 0], crbl.pack(net.params))
    got = np.stack([d[iv[v], cb, 0] for v in ("GrC", "GoC", "MLI", "PC")])
    assert np.array_equal(got, want)
    # and the background matters: without it the GrC derivative differs
    nobg = crbl.dfun_nodes(*rates, c[1, cb, 0], c[2, cb, 0], crbl.pack(net.params))
    assert not np.allclose(nobg[0], want[0])
