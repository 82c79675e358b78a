"""The numba engine's chunk sink (cmftvb.engine.simulate(..., sink=...)): the samples handed to
the sink, put end to end, are bitwise the samples of the same run without a sink, and the
buffer behind them does not grow with the duration."""

from __future__ import annotations

import numpy as np
import pytest
from small_networks import small_connectome

from cmftvb import CmftvbError
from cmftvb.engine import simulate
from cmftvb.network import build_network


class Collect:
    """A sink that keeps a copy of everything it receives."""

    def __init__(self):
        self.firsts, self.chunks, self.shapes, self.writeable = [], [], [], []

    def __call__(self, first, chunk):
        self.firsts.append(first)
        self.shapes.append(chunk.bold_input.shape)
        self.writeable.append(chunk.bold_input.flags.writeable)
        self.chunks.append({k: np.array(v) for k, v in chunk.arrays(squeeze=False).items()})

    def joined(self, name):
        axis = 0 if name == "time_ms" else 1
        return np.concatenate([c[name] for c in self.chunks], axis=axis)


def run(model, monitor, period, duration=13.7, sink=None, chunk_steps=None, seeds=(3, 8, 11)):
    conn = small_connectome()
    net = build_network(conn, model, "corrected")
    return simulate(
        conn, net, duration=duration, dt=0.1, seeds=list(seeds), noise_sigma=0.002, speed=3.0,
        subject="s1", monitor=monitor, monitor_period=period, chunk_steps=chunk_steps, sink=sink,
    )  # fmt: skip


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
@pytest.mark.parametrize(("monitor", "period"), [("raw", 0.1), ("raw", 0.5), ("mean", 0.4)])
def test_sink_chunks_join_to_the_whole_run(model, monitor, period):
    ref = run(model, monitor, period)
    every = round(period / 0.1)
    for chunk_steps, layout_seeds in ((7, (3, 8, 11)), (3, (3, 8, 11)), (50, (5,))):
        if layout_seeds != (3, 8, 11):
            ref = run(model, monitor, period, seeds=layout_seeds)
        got = Collect()
        res = run(model, monitor, period, sink=got, chunk_steps=chunk_steps, seeds=layout_seeds)
        n = ref.time_ms.size
        assert n == 137 // every and n > 0
        # 137 steps: the chunks (whole periods) do not divide the run
        per = -(-chunk_steps // every)
        assert 137 % (per * every) != 0
        assert got.firsts == list(np.cumsum([0] + [s[1] for s in got.shapes[:-1]]))
        assert max(s[1] for s in got.shapes) == min(per, n)
        assert not any(got.writeable)
        assert set(got.chunks[0]) == {"time_ms", "labels", *ref.variables, "bold_input"}
        np.testing.assert_array_equal(got.joined("time_ms"), ref.time_ms)
        for v in ref.variables:
            np.testing.assert_array_equal(got.joined(v), ref[v])
        np.testing.assert_array_equal(got.joined("bold_input"), ref.bold_input)
        np.testing.assert_array_equal(got.chunks[0]["labels"], ref.labels)
        # the result holds no samples, and says how many went to the sink
        assert res.time_ms.size == 0 and res.bold_input.shape == (len(layout_seeds), 0, 10)
        assert all(res[v].shape == (len(layout_seeds), 0, 10) for v in res.variables)
        assert res.params["sink_samples"] == n
        assert {k: w for k, w in res.params.items() if k != "sink_samples"} == ref.params


def test_sink_buffer_does_not_grow_with_duration():
    held = {}
    for duration in (1000.0, 4000.0):
        got = Collect()
        res = run("cmf", "mean", 0.4, duration=duration, sink=got, chunk_steps=301, seeds=(1,))
        assert sum(s[1] for s in got.shapes) == round(duration / 0.4)
        held[duration] = (
            max(s[1] for s in got.shapes),
            res.time_ms.nbytes + res.bold_input.nbytes + sum(res[v].nbytes for v in res.variables),
        )
    # 301 steps round up to 76 periods of 4 steps: the buffer's length either way
    assert held[1000.0] == held[4000.0] == (76, 0)


def test_sink_progress_and_errors():
    calls = []
    conn = small_connectome()
    net = build_network(conn, "cmf", "corrected")
    kw = dict(dt=0.1, seeds=[2], noise_sigma=0.001, speed=3.0)
    simulate(conn, net, duration=50.0, sink=lambda *a: None, progress=lambda *a: calls.append(a),
             chunk_steps=30, **kw)  # fmt: skip
    assert calls and calls[-1][0] == 100.0
    with pytest.raises(CmftvbError, match="sink"):
        simulate(conn, net, duration=5.0, sink="out.h5", **kw)
    # a divergence still names the node and time when samples go to a sink
    # (G J_N c overflows, as in tests/test_engine.py::test_divergence_names_node_variable_time)
    net_bad = build_network(conn, "homogeneous", "corrected")
    with pytest.raises(CmftvbError, match=r"non-finite S_E in node \d+ .* at t = 0.1 ms"):
        simulate(conn, net_bad, duration=5.0, sink=lambda *a: None, G=1e308,
                 initial={"S_E": 1.0}, **{**kw, "noise_sigma": 0.0})  # fmt: skip


def test_tvb_engine_refuses_a_sink():
    conn = small_connectome()
    net = build_network(conn, "homogeneous", "corrected")
    with pytest.raises(CmftvbError, match="sink: options of the numba engine"):
        simulate(conn, net, duration=5.0, dt=0.1, seeds=[1], noise_sigma=0.001, speed=3.0,
                 engine="tvb", sink=lambda *a: None)  # fmt: skip
