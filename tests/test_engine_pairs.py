"""The long edges summed in pairs (issue 15): the same sums, in the same order, as edge by edge."""

from __future__ import annotations

import numpy as np
import pytest

from cmftvb.connectome import load_any
from cmftvb.engine import core, numba_runner, simulate
from cmftvb.network import build_network, expand_edges


def _edge_order_reference(edges, N, D):
    """Per target input slot, the long edges' (history base, weight) in edge order, from the
    raw edge list (channel = run of one (source, variable) in the list, as the engine numbers
    them)."""
    key = edges.src * 16 + edges.src_var
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    chan = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, key.size]))
    base = chan * 2 * D + D - edges.delay
    slot = edges.tgt_input * N + edges.tgt
    ref: dict[int, list] = {}
    for e in np.flatnonzero(edges.delay >= core.BLOCK - 1):
        ref.setdefault(int(slot[e]), []).append((int(base[e]), float(edges.weight[e])))
    return ref


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
@pytest.mark.parametrize("pair", [True, False])
def test_long_pairs_keep_every_targets_edge_order(sample_zip, model, pair, monkeypatch):
    """Unpacking the pairs (pads: weight 0, reading the pair's first history) gives, for every
    target, exactly its long edges in edge order; pairs only join edges of two consecutive
    channels."""
    monkeypatch.setattr(numba_runner, "PAIR_LONG", pair)
    conn = load_any(sample_zip)
    net = build_network(conn, model, "corrected")
    N = len(net.node_model)
    edges = expand_edges(conn, net, 0.1, 3.0)
    tab = numba_runner._edge_tables(edges, N, np.zeros((1, 3), dtype=np.int64))
    D, base, slot, w = tab[0], tab[4], tab[5], tab[6]
    assert base.size == w.size == 2 * slot.size
    assert np.all(edges.weight != 0)  # so that a weight 0 marks a pad
    got: dict[int, list] = {}
    for p in range(slot.size):
        b0, b1 = int(base[2 * p]), int(base[2 * p + 1])
        got.setdefault(int(slot[p]), []).append((b0, float(w[2 * p])))
        if w[2 * p + 1] == 0.0:
            assert b1 == b0
        else:
            assert b0 // (2 * D) // 2 == b1 // (2 * D) // 2  # channels of one group
            got[int(slot[p])].append((b1, float(w[2 * p + 1])))
    ref = _edge_order_reference(edges, N, D)
    assert sum(len(v) for v in ref.values()) > 1000
    assert got == ref
    npad = int((w[1::2] == 0.0).sum())
    if pair:
        assert npad < slot.size / 2  # most pairs hold two edges
    else:
        assert npad == slot.size  # every edge alone


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_long_pairs_are_bitwise_the_unpaired_sums(sample_zip, model, monkeypatch):
    """Paired and unpaired long edges give bitwise the same run, alone and in a batch, and a
    lane in the batch bitwise its single run (6 ms: several blocks of 32 steps, chunks that
    start inside a block)."""
    conn = load_any(sample_zip)
    net = build_network(conn, model, "corrected")
    kw = dict(duration=6.0, dt=0.1, noise_sigma=0.001, speed=3.0, subject="s1", chunk_steps=7)
    got1 = simulate(conn, net, seeds=[5], **kw)
    got3 = simulate(conn, net, seeds=[3, 5, 7], **kw)
    monkeypatch.setattr(numba_runner, "PAIR_LONG", False)
    ref1 = simulate(conn, net, seeds=[5], **kw)
    ref3 = simulate(conn, net, seeds=[3, 5, 7], **kw)
    assert list(got1.variables) == list(ref1.variables)
    for v in got1.variables:
        np.testing.assert_array_equal(got1[v], ref1[v])
        np.testing.assert_array_equal(got3[v], ref3[v])
        np.testing.assert_array_equal(got3[v][1], got1[v][0])
    assert np.isfinite(got1.bold_input).all()
    assert np.ptp(got1.bold_input[0], axis=0).max() > 0  # the states moved
