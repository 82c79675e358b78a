"""The engine's node order (issue 15): cerebellar nodes swept as one run, padded to whole SIMD
vectors, with results bitwise those of integrating the nodes in their own order."""

from __future__ import annotations

import types

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.engine import numba_runner, simulate
from cmftvb.network import build_network

# cerebellar-cortex nodes in three runs of 2, 3 and 1 between the others, as in a real atlas
ROLES = [
    "cortex", "crbl_hemisphere", "crbl_vermis", "thalamus", "cortex", "crbl_hemisphere",
    "crbl_hemisphere", "crbl_vermis", "dcn", "cortex", "crbl_vermis", "dcn", "subcortical",
]  # fmt: skip


def _connectome(seed: int = 3):
    rng = np.random.default_rng(seed)
    n = len(ROLES)
    W = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.6)
    np.fill_diagonal(W, 0.0)
    L = rng.uniform(2.0, 120.0, (n, n))  # 0.7 to 40 ms at 3 mm/ms: short and long edges
    L = (L + L.T) / 2
    np.fill_diagonal(L, 0.0)
    return types.SimpleNamespace(
        weights=W, tract_lengths=L, labels=[f"n{i}" for i in range(n)], roles=list(ROLES)
    )


def _identity_order(node_model, lanes=1):
    """The order before issue 15's change: every node where it is, no padding."""
    return np.arange(len(node_model))


def test_node_order_groups_cerebellar_nodes_and_pads():
    models = ["wongwang", "crbl", "crbl", "wongwang", "crbl", "wongwang"]
    order = numba_runner.node_order(models, lanes=1)
    # Wong-Wang nodes, then cerebellar nodes (each in node order), then one padding node (6)
    assert order.tolist() == [0, 3, 5, 1, 2, 4, 6]
    for lanes, pad in ((1, 1), (2, 1), (3, 1), (4, 0), (5, 1), (8, 0)):
        got = numba_runner.node_order(models, lanes=lanes)
        assert got.size - len(models) == pad
        assert ((3 + pad) * lanes) % numba_runner.PAD_PAIRS == 0
    assert numba_runner.node_order(["wongwang"] * 5, lanes=3).tolist() == list(range(5))


@pytest.mark.parametrize("seeds", [[4], [4, 9, 2]])
@pytest.mark.parametrize("monitor", ["raw", "mean"])
def test_engine_order_is_bitwise_the_node_order(seeds, monitor, monkeypatch):
    """Every monitored array (states, rates, BOLD input) is bitwise the same whether the
    engine sweeps the nodes in engine order (one padded cerebellar run) or in their own
    order (three cerebellar runs, no padding: the engine before the change)."""
    conn = _connectome()
    net = build_network(conn, "cmf", "corrected")
    assert numba_runner.node_order(list(net.node_model), len(seeds)).size > len(ROLES)

    def run():
        res = simulate(
            conn, net, duration=60.0, dt=0.1, seeds=seeds, noise_sigma=0.003, speed=3.0,
            monitor=monitor, monitor_period=0.5, subject="order",
        )  # fmt: skip
        return {k: np.array(v) for k, v in res.iter_arrays(squeeze=False) if k != "params"}

    got = run()
    monkeypatch.setattr(numba_runner, "node_order", _identity_order)
    ref = run()
    assert got.keys() == ref.keys()
    compared = 0
    for k, r in ref.items():
        if r.dtype.kind != "f":
            continue
        assert r.shape == got[k].shape, k
        assert np.array_equal(r, got[k], equal_nan=True), k
        assert np.array_equal(np.signbit(r), np.signbit(got[k])), k
        compared += 1
    assert compared >= 7  # S_E, S_I, GrC, GoC, MLI, PC, bold_input at least
    # the runs did move: with a wrong noise counter the cerebellar rates would differ
    grc = ref["GrC"]
    assert np.isfinite(grc[..., np.array([r.startswith("crbl") for r in ROLES])]).all()


def test_divergence_names_the_node_not_its_engine_position():
    """A non-finite state found at an engine position is reported with the network's node:
    every cerebellar node diverges at once (time constant ~ 0), and the first in node order,
    node 1, sits at engine position 7."""
    conn = _connectome()
    net = build_network(conn, "cmf", "corrected", [("crbl.T", "1.0e-300")])
    order = numba_runner.node_order(list(net.node_model)).tolist()
    assert order.index(1) == 7  # after the 7 Wong-Wang nodes
    with pytest.raises(CmftvbError, match=r"non-finite \w+ in node 1 'n1' at t = 0.1 ms"):
        simulate(
            conn, net, duration=2.0, dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0,
            monitor="raw", subject="order",
        )  # fmt: skip
