"""``cmftvb simulate --monitor signals`` (issue 15 item 1): the run streams its samples into
the signal accumulators (cmftvb.signals.stream_run.RunSignals through the engine's chunk
sink) and writes only signals. Checked against the offline path on the same run written with
``--monitor mean``: BOLD by cmftvb.signals.run.simulated_bold (bitwise), spectra by
scipy.signal.welch and means by numpy (rtol 1e-10), the excerpt as monitored (bitwise)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from test_cli import tiny_zip

from cmftvb import io
from cmftvb.cli import main
from cmftvb.signals.run import simulated_bold

DURATION_MS, TRANSIENT_S, PERIOD_MS = 4000, 1.0, 4.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signals")
    conn = tiny_zip(tmp / "tiny.zip")
    common = ["simulate", str(conn), "--duration", str(DURATION_MS), "--quiet"]
    common += ["--seed", "3", "--seed", "8", "--subject", "s1", "--G", "0.2"]
    streamed, full = tmp / "signals.npz", tmp / "mean.npz"
    extra = ["--monitor", "signals", "--transient", str(TRANSIENT_S), "--tr", "500"]
    assert main([*common, *extra, "--out", str(streamed)]) == 0
    assert main([*common, "--monitor", "mean", "--monitor-period", "4", "--out", str(full)]) == 0
    return io.load_tagged(streamed, io.SIGNALS_STREAMED), io.load_simulation_full(full)


def test_streamed_signals_equal_the_offline_path(runs):
    (sig, meta), (sim, _) = runs
    assert meta["format"] == "cmftvb.signals-streamed/1" and list(sig["seeds"]) == [3, 8]
    skip = int(TRANSIENT_S * 1000 / PERIOD_MS)
    for s in range(2):
        ref = simulated_bold(sim["bold_input"][s], PERIOD_MS, 500.0, "tvb_kernel", TRANSIENT_S)
        np.testing.assert_array_equal(sig["bold"][s], ref)
        for var in ("S_E", "r_E", "GrC", "PC"):
            nodes = sig[f"nodes_{var}"]
            scale = 1000.0 if var in ("GrC", "PC") else 1.0  # kHz -> Hz
            x = sim[var][s][skip:, nodes] * scale
            f, P = signal.welch(x, fs=1000 / PERIOD_MS, nperseg=500, noverlap=250, axis=0)
            np.testing.assert_array_equal(sig["freqs_hz"], f)
            np.testing.assert_allclose(sig[f"psd_{var}"][s], P, rtol=1e-10, atol=0)
            np.testing.assert_allclose(sig[f"mean_{var}"][s], x.mean(axis=0), rtol=1e-10)
            excerpt = sim[var][s][skip : skip + 750, nodes]
            np.testing.assert_array_equal(sig[f"excerpt_{var}"][s], excerpt)
    np.testing.assert_array_equal(sig["excerpt_time_ms"], sim["time_ms"][skip : skip + 750])
    assert set(sig["nodes_GrC"]) == {2, 3} and len(sig["nodes_S_E"]) == 3  # cortex, cerebral


def test_streamed_file_does_not_grow_with_the_duration(tmp_path):
    conn = tiny_zip(tmp_path / "tiny.zip")
    sizes = {}
    for ms in (8000, 32000):  # both longer than transient (2 s) + excerpt (3 s)
        out = tmp_path / f"s{ms}.npz"
        argv = ["simulate", str(conn), "--duration", str(ms), "--quiet", "--G", "0.2"]
        assert main([*argv, "--monitor", "signals", "--out", str(out)]) == 0
        arrays, _ = io.load_tagged(out, io.SIGNALS_STREAMED)
        sizes[ms] = {k: v.nbytes for k, v in arrays.items()}
        assert out.stat().st_size <= _estimate(conn, ms)  # the size check's bound holds
    grown = {k for k in sizes[8000] if sizes[32000][k] != sizes[8000][k]}
    assert grown == {"bold", "params"}  # BOLD volumes (8 bytes x nodes per TR), the params text
    assert sizes[32000]["params"] - sizes[8000]["params"] < 64


def _estimate(conn, duration_ms):
    """The CLI's size bound for a streamed run with the default settings, one seed."""
    from cmftvb.connectome import Connectome
    from cmftvb.engine.cli import monitored_var_count
    from cmftvb.network import build_network
    from cmftvb.signals.stream_run import RunSignals

    net = build_network(Connectome.from_tvb_zip(conn), "cmf", "corrected")
    sink = RunSignals(1, period_ms=PERIOD_MS, transient_s=2.0)
    return sink.output_bytes(net.n_nodes, monitored_var_count(net, "numba"), duration_ms)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--duration", "2000"], "samples after the 2-s transient; the spectra need at least 500"),
        (["--engine", "tvb"], "--monitor signals: needs --engine numba"),
        (["--tr", "0"], "--tr: must be a positive number of ms"),
        (["--transient", "-1"], "--transient: must be a number of s >= 0"),
    ],
)
def test_streamed_run_refusals(tmp_path, capsys, extra, message):
    conn = tiny_zip(tmp_path / "tiny.zip")
    argv = ["simulate", str(conn), "--duration", "4000", "--monitor", "signals"]
    rc = main([*argv, "--out", str(tmp_path / "x.npz"), *extra])
    assert rc != 0 and message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
