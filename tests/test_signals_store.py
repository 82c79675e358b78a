"""simulation.store (issue 15 item 1): the rule simulate's two layouts give the same signals.

A short run of the ten-node test network (tests/small_networks.py) under both models is made
once with ``store="activity"`` (cmftvb.io.SIMULATION_PACKED, float32 activity; the signals rule
summarises it) and once with ``store="signals"`` (the engine streams into
cmftvb.signals.stream_run.StudySignals; cmftvb.io.SIMULATION_SIGNALS), through the same save
and load calls as the workflow's scripts. The signals outputs must agree to the bit, with
the same keys and feature rows: the sink rounds samples to float32 as the activity file
stores them, and hands them to its accumulators in the same blocks of 2000 samples whether
the engine delivers them (50 at a time) or a stored file does.
The streamed file's size does not depend on the simulated time."""

from __future__ import annotations

import numpy as np
import pytest
from small_networks import small_connectome

from cmftvb import CmftvbError, io
from cmftvb.batch import simulate_batch
from cmftvb.network import build_network
from cmftvb.signals import names as nm
from cmftvb.signals.run import signals_of_simulation
from cmftvb.signals.stream_run import StudySignals, excerpt_view, means_view, study_sizes

PERIOD_MS, TR_S = 4.0, 0.5
SIGNALS = {
    "bold_model": "tvb_kernel", "bold_transient_s": 1.0, "ephys_transient_s": 1.0,
    "fs_hz": 250.0, "welch_nperseg": 500, "welch_noverlap": 250,
    "node_coherence_crbl_var": "PC", "node_coherence_ww_var": "r_E",
    "rhythm_background_hz": 5.0, "rhythm_alpha": 0.01, "regime_band_hz": [1.0, 10.0],
}  # fmt: skip
RTOL = 1e-10


def simulate(tmp_path, model, store, duration_ms=6000.0, seeds=(3, 4)):
    """One batch through simulate_batch and the rule simulate's save call; the path."""
    con = small_connectome()
    net = build_network(con, model, "corrected")
    result, meta = simulate_batch(
        con, net, G=0.3, seeds=list(seeds), subject="s1", duration_ms=duration_ms, dt_ms=0.1,
        monitor_period_ms=PERIOD_MS, store=store, sink_factory=StudySignals,
        stream={"options": SIGNALS, "tr_s": TR_S, "excerpt_s": 1.0},
    )  # fmt: skip
    path = tmp_path / f"{model}-{store}-{int(duration_ms)}.npz"
    if store == "signals":
        io.save_tagged(path, io.SIMULATION_SIGNALS, result, meta)
    else:
        io.save_simulation_packed(
            path, time_ms=result.time_ms, labels=result.labels, seeds=list(seeds),
            variables=result.variables, bold_input=result.bold_input, params=result.params,
            meta=meta,
        )  # fmt: skip
    return path, con


def signals(path, con):
    sim, meta = io.load_simulation(path)
    return signals_of_simulation(
        sim, meta, TR_S, monitor_period_ms=PERIOD_MS, roles=con.roles, where=str(path), **SIGNALS
    )


@pytest.fixture(scope="module", params=["homogeneous", "cmf"])
def both(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    out = {}
    for store in ("activity", "signals"):
        path, con = simulate(tmp, request.param, store)
        out[store] = (path, con, signals(path, con))
    return request.param, out


def test_both_stores_give_the_same_signals(both):
    model, out = both
    (a_arr, a_feat, a_eb), (s_arr, s_feat, s_eb) = out["activity"][2], out["signals"][2]
    assert sorted(a_arr) == sorted(s_arr)
    for key in a_arr:
        a, s = np.asarray(a_arr[key]), np.asarray(s_arr[key])
        assert a.shape == s.shape and a.dtype == s.dtype, key
        np.testing.assert_array_equal(s, a, err_msg=key)
    assert nm.NODE_COHERENCE in a_arr  # the roles were given
    assert (model == "cmf") == (nm.coherence_key("GrC", "PC") in a_arr)
    assert a_feat[["seed", "metric", "region"]].equals(s_feat[["seed", "metric", "region"]])
    np.testing.assert_array_equal(s_feat["value"], a_feat["value"])
    assert len(a_eb) > 0 and a_eb[["seed", "region", "population"]].equals(
        s_eb[["seed", "region", "population"]]
    )
    np.testing.assert_array_equal(s_eb["r"], a_eb["r"])


def test_streamed_file_views_match_the_stored_activity(both):
    """The article's rules read a streamed file through views: the time means (input shares)
    and the rate excerpt (rate traces) equal those of the stored activity."""
    model, out = both
    act, _ = io.load_simulation(out["activity"][0])
    sig, meta = io.load_simulation(out["signals"][0])
    where = str(out["signals"][0])
    skip = int(SIGNALS["ephys_transient_s"] * 1000 / PERIOD_MS)
    means = means_view(sig, meta, SIGNALS["ephys_transient_s"], where)
    for var in ("S_E", "S_I", "r_E", "GrC", "PC"):
        if var not in act:
            assert var not in means
            continue
        want = act[var][:, skip:].astype(np.float64).mean(axis=1)
        np.testing.assert_allclose(means[var][:, 0], want, rtol=RTOL, atol=0)
    if model == "cmf":
        view = excerpt_view(sig, meta, SIGNALS["ephys_transient_s"], where)
        n = view["time_ms"].size
        assert n == int((SIGNALS["ephys_transient_s"] + 1.0) * 1000 / PERIOD_MS)
        np.testing.assert_array_equal(view["time_ms"], act["time_ms"][:n])
        np.testing.assert_array_equal(view["PC"], act["PC"][:, :n])
    if model == "cmf":  # what the rules input_shares and fig_cmf_run compute from them
        from cmftvb.signals.article import input_shares_of_batch, rate_traces_of_batch

        con = out["signals"][1]
        net = build_network(con, "cmf", "corrected")
        kw = {"monitor_period_ms": PERIOD_MS}
        want = input_shares_of_batch(act, con, net, transient_s=1.0, **kw)
        got = input_shares_of_batch(means, con, net, transient_s=0.0, **kw)
        assert got.drop(columns="share").equals(want.drop(columns="share"))
        np.testing.assert_allclose(got["share"], want["share"], rtol=RTOL, atol=0)
        kw = {"label": "n5_crbl", "side": "", "seconds": 1.0, "transient_s": 1.0}
        t_want, r_want, l_want = rate_traces_of_batch(act, con.roles, **kw)
        t_got, r_got, l_got = rate_traces_of_batch(view, con.roles, **kw)
        assert l_got == l_want and t_got.size == 250 and sorted(r_got) == sorted(r_want)
        np.testing.assert_array_equal(t_got, t_want)
        for pop in r_want:
            np.testing.assert_array_equal(r_got[pop], r_want[pop])
    with pytest.raises(CmftvbError, match="ephys_transient_s 1, asked for 2"):
        means_view(sig, meta, 2.0, where)


def test_load_simulation_takes_either_layout_only(tmp_path):
    path = tmp_path / "signals.npz"
    io.save_tagged(path, io.SIGNALS, {"seeds": [1], "bold": np.zeros((1, 2, 2)), "tr_s": 1.0,
                                      "labels": ["a", "b"]}, {})  # fmt: skip
    with pytest.raises(CmftvbError, match="expected cmftvb.simulation-packed/1 or cmftvb.simul"):
        io.load_simulation(path)


def test_streamed_file_checks_the_signals_settings(both):
    _, out = both
    path, con, _ = out["signals"]
    sim, meta = io.load_simulation(path)
    with pytest.raises(CmftvbError, match="made with welch_noverlap 250, the config now says 100"):
        signals_of_simulation(
            sim, meta, TR_S, monitor_period_ms=PERIOD_MS, roles=con.roles, where=str(path),
            **{**SIGNALS, "welch_noverlap": 100},
        )  # fmt: skip


def test_streamed_file_size_does_not_grow_with_the_duration(tmp_path):
    sizes, arrays = {}, {}
    for ms in (6000.0, 24000.0):
        path, con = simulate(tmp_path, "cmf", "signals", duration_ms=ms, seeds=(5,))
        sizes[ms] = path.stat().st_size
        arrays[ms], _ = io.load_simulation(path)
        net = build_network(con, "cmf", "corrected")
        bound, _ = study_sizes(
            net.node_model, net.roles, n_seeds=1, duration_ms=ms, period_ms=PERIOD_MS,
            tr_s=TR_S, options=SIGNALS, excerpt_s=1.0,
        )  # fmt: skip
        assert sizes[ms] <= bound < sizes[ms] + 100_000  # the disk estimate bounds the file
    grown = {k for k in arrays[6000.0] if arrays[24000.0][k].nbytes != arrays[6000.0][k].nbytes}
    # BOLD volumes and the rates through the hemodynamics (8 bytes per node and TR), the params
    assert grown <= {"bold", "params"} | {k for k in arrays[6000.0] if k.startswith("ephysbold_")}
    bold_growth = sum(arrays[24000.0][k].nbytes - arrays[6000.0][k].nbytes for k in grown)
    assert sizes[24000.0] - sizes[6000.0] <= bold_growth + 4096


def test_engine_without_sink_feeds_the_whole_run(tmp_path, monkeypatch):
    """engine="tvb" has no chunk sink: simulate_batch hands the sink the whole run as one
    chunk. Stood in here by the numba engine called without the sink (the tvb-library run
    itself is tests/test_tvb_engine.py's); the summary equals the streamed one to the bit."""
    import cmftvb.engine

    real = cmftvb.engine.simulate
    engines = []

    def no_sink(connectome, network, **kwargs):
        engines.append(kwargs["engine"])
        assert "sink" not in kwargs
        return real(connectome, network, **{**kwargs, "engine": "numba"})

    streamed, _ = simulate(tmp_path, "cmf", "signals", seeds=(7,))
    monkeypatch.setattr(cmftvb.engine, "simulate", no_sink)
    con = small_connectome()
    arrays, meta = simulate_batch(
        con, build_network(con, "cmf", "corrected"), G=0.3, seeds=[7], subject="s1",
        duration_ms=6000.0, dt_ms=0.1, monitor_period_ms=PERIOD_MS, engine="tvb",
        store="signals", sink_factory=StudySignals,
        stream={"options": SIGNALS, "tr_s": TR_S, "excerpt_s": 1.0},
    )  # fmt: skip
    assert engines == ["tvb"] and meta["store"] == "signals"
    want, _ = io.load_simulation(streamed)
    assert sorted(arrays) == sorted(want)
    for key in want:
        if key != "params":  # the engine records its name
            np.testing.assert_array_equal(arrays[key], want[key], err_msg=key)
