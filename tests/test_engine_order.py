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


def test_node_order_groups_models_and_pads_each_run():
    models = ["wongwang", "crbl", "crbl", "wongwang", "crbl", "wongwang"]
    order = numba_runner.node_order(models, lanes=1, width=4)
    # Wong-Wang nodes then a padding node (6), cerebellar nodes then a padding node (7), each
    # in node order, for a SIMD width of 4 pairs; a padding node copies the node before it
    assert order.tolist() == [0, 3, 5, 6, 1, 2, 4, 7]
    assert numba_runner.pad_sources(order, 6).tolist() == [0, 3, 5, 5, 1, 2, 4, 4]
    assert numba_runner.PAD_PAIRS in (4, 8)
    assert numba_runner.simd_pairs() == numba_runner.PAD_PAIRS
    # each run of three nodes padded to whole vectors of 4 (AVX2) or 8 (512-bit) pairs
    pads = {4: (1, 1, 1, 0, 1, 0), 8: (5, 1, 5, 1, 5, 0)}
    for width, expected in pads.items():
        for lanes, pad in zip((1, 2, 3, 4, 5, 8), expected, strict=True):
            got = numba_runner.node_order(models, lanes=lanes, width=width)
            assert got.size - len(models) == 2 * pad, (width, lanes)
            assert ((3 + pad) * lanes) % width == 0
            kinds = [models[i] for i in numba_runner.pad_sources(got, len(models))]
            assert kinds == ["wongwang"] * (3 + pad) + ["crbl"] * (3 + pad)
    assert (
        numba_runner.node_order(models).size
        == numba_runner.node_order(models, width=numba_runner.PAD_PAIRS).size
    )
    ww = numba_runner.node_order(["wongwang"] * 5, lanes=3, width=4)
    assert ww.tolist() == list(range(8))  # 5 nodes + 3 pads: 24 pairs
    assert numba_runner.node_order(["wongwang"] * 8, lanes=3, width=8).tolist() == list(range(8))


@pytest.mark.parametrize("width", [4, 8])
@pytest.mark.parametrize("seeds", [[4], [4, 9, 2]])
@pytest.mark.parametrize("monitor", ["raw", "mean"])
def test_engine_order_is_bitwise_the_node_order(seeds, monitor, width, monkeypatch):
    """Every monitored array (states, rates, BOLD input) is bitwise the same whether the
    engine sweeps the nodes in engine order (one Wong-Wang and one cerebellar run, each
    padded to a multiple of ``width`` pairs, either SIMD width) or in their own order (three
    cerebellar runs, no padding: the engine before the change)."""
    monkeypatch.setattr(numba_runner, "PAD_PAIRS", width)
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
    node 1, sits at engine position 7 or later (after the Wong-Wang run and its padding)."""
    conn = _connectome()
    net = build_network(conn, "cmf", "corrected", [("crbl.T", "1.0e-300")])
    order = numba_runner.node_order(list(net.node_model)).tolist()
    assert order.index(1) >= 7  # after the 7 Wong-Wang nodes (and their padding nodes)
    with pytest.raises(CmftvbError, match=r"non-finite \w+ in node 1 'n1' at t = 0.1 ms"):
        simulate(
            conn, net, duration=2.0, dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0,
            monitor="raw", subject="order",
        )  # fmt: skip
