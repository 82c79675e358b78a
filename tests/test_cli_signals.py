"""``cmftvb simulate --monitor signals`` (issue 15 item 1): the run streams its samples into
the workflow's sink (cmftvb.signals.stream_run.StudySignals through the engine's chunk sink,
in float64) and writes only signals, in the layout of the rule simulate under
``simulation.store: signals`` (cmftvb.io.SIMULATION_SIGNALS). Checked against the offline path
on the same run written with ``--monitor mean``: BOLD by cmftvb.signals.run.simulated_bold
(bitwise), spectra by scipy.signal.welch and means by numpy (rtol 1e-10), the excerpt as
monitored (bitwise); and read back by the signal stage's reader (cmftvb.signals.run)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from test_cli import tiny_zip

from cmftvb import CmftvbError, io
from cmftvb.cli import build_parser, main
from cmftvb.connectome import Connectome
from cmftvb.signals import names as nm
from cmftvb.signals.run import signals_of_simulation, simulated_bold
from cmftvb.signals.stream_run import STUDY_OPTION_KEYS

DURATION_MS, TRANSIENT_S, PERIOD_MS, TR_MS = 4000, 1.0, 4.0, 500.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signals")
    conn = tiny_zip(tmp / "tiny.zip")
    common = ["simulate", str(conn), "--duration", str(DURATION_MS), "--quiet"]
    common += ["--seed", "3", "--seed", "8", "--subject", "s1", "--G", "0.2"]
    streamed, full = tmp / "signals.npz", tmp / "mean.npz"
    extra = ["--monitor", "signals", "--transient", str(TRANSIENT_S), "--tr", str(TR_MS)]
    extra += ["--node-coherence"]
    assert main([*common, *extra, "--out", str(streamed)]) == 0
    assert main([*common, "--monitor", "mean", "--monitor-period", "4", "--out", str(full)]) == 0
    roles = Connectome.from_tvb_zip(conn).roles
    return io.load_tagged(streamed, io.SIMULATION_SIGNALS), io.load_simulation_full(full), roles


def test_streamed_signals_equal_the_offline_path(runs):
    (sig, meta), (sim, _), _ = runs
    assert meta["format"] == "cmftvb.simulation-signals/1" and list(sig["seeds"]) == [3, 8]
    skip = int(TRANSIENT_S * 1000 / PERIOD_MS)
    assert int(sig[nm.WELCH_SAMPLES]) == sim["time_ms"].size - skip
    for s in range(2):
        ref = simulated_bold(sim["bold_input"][s], PERIOD_MS, TR_MS, "tvb_kernel", TRANSIENT_S)
        np.testing.assert_array_equal(sig["bold"][s], ref)
        for var in ("S_E", "r_E", "GrC", "PC"):
            nodes = sig[f"nodes_{var}"]
            scale = 1000.0 if var in ("GrC", "PC") else 1.0  # kHz -> Hz
            x = sim[var][s][skip:, nodes]
            f, P = signal.welch(x * scale, fs=1000 / PERIOD_MS, nperseg=500, noverlap=250, axis=0)
            np.testing.assert_array_equal(sig["freqs_hz"], f)
            np.testing.assert_allclose(sig[f"psdabs_{var}"][s], P, rtol=1e-10, atol=0)
            np.testing.assert_allclose(sig[f"mean_{var}"][s], x.mean(axis=0), rtol=1e-10)
            # the excerpt holds the transient and --excerpt (3 s) after it: the whole 4-s run
            excerpt = sim[var][s][: skip + 750, nodes]
            assert sig[f"excerpt_{var}"].dtype == np.float64
            np.testing.assert_array_equal(sig[f"excerpt_{var}"][s], excerpt)
    np.testing.assert_array_equal(sig["excerpt_time_ms"], sim["time_ms"][: skip + 750])
    assert set(sig["nodes_GrC"]) == {2, 3} and len(sig["nodes_S_E"]) == 3  # cortex, cerebral
    # the workflow's parts too: coherence between nodes (--node-coherence) and the rates
    # through the hemodynamics
    assert sig[nm.NODE_COHERENCE].shape[:1] + sig[nm.NODE_COHERENCE].shape[2:] == (2, 5, 5)
    assert sig["ephysbold_GrC"].shape == (2, sig["bold"].shape[1], 2)


def test_the_signal_stage_reads_a_cli_file(runs):
    (sig, meta), _, roles = runs
    options = {k: meta["options"][k] for k in STUDY_OPTION_KEYS}
    arrays, features, coupling = signals_of_simulation(
        sig, meta, TR_MS / 1000, monitor_period_ms=PERIOD_MS, roles=roles, where="cli.npz",
        **options,
    )  # fmt: skip
    np.testing.assert_array_equal(arrays["bold"], sig["bold"])
    rates = features[(features.metric == "r_E_rate_hz") & (features.seed == 8)]
    labels = np.asarray(sig["labels"])[sig["nodes_r_E"]]
    assert list(rates.region) == list(labels)
    np.testing.assert_array_equal(rates.value.to_numpy(), sig["mean_r_E"][1])
    assert set(coupling.population) == {"GrC", "GoC", "MLI", "PC"}
    with pytest.raises(CmftvbError, match="cli.npz: made with welch_noverlap 250"):
        signals_of_simulation(
            sig, meta, TR_MS / 1000, monitor_period_ms=PERIOD_MS, roles=roles,
            where="cli.npz", **{**options, "welch_noverlap": 100},
        )  # fmt: skip


def test_streamed_file_does_not_grow_with_the_duration(tmp_path):
    conn = tiny_zip(tmp_path / "tiny.zip")
    arrays, files = {}, {}
    for ms in (8000, 32000):  # both longer than transient (2 s) + excerpt (3 s)
        out = tmp_path / f"s{ms}.npz"
        argv = ["simulate", str(conn), "--duration", str(ms), "--quiet", "--G", "0.2"]
        argv += ["--monitor", "signals", "--out", str(out)]
        assert main(argv) == 0
        arrays[ms], _ = io.load_tagged(out, io.SIMULATION_SIGNALS)
        files[ms] = out.stat().st_size
        bound = _estimate(conn, build_parser().parse_args(argv))
        assert files[ms] <= bound < files[ms] + 100_000  # the size check's bound holds
    short, long = arrays[8000], arrays[32000]
    # without --node-coherence: no cross spectra of node pairs held, none written
    assert nm.NODE_COHERENCE not in short and "nodecoh_bands" not in short
    grown = {k for k in short if long[k].nbytes != short[k].nbytes}
    per_volume = {"bold"} | {nm.ephys_bold_key(p) for p in nm.POPULATIONS} & set(short)
    assert len(per_volume) == 5 and grown == per_volume | {"params"}
    for k in per_volume:  # (S, V, k): only the volumes (one per TR) grow
        assert short[k].shape[::2] == long[k].shape[::2]
        assert long[k].shape[1] == long["bold"].shape[1] > short[k].shape[1]
        assert short[k].shape[1] == short["bold"].shape[1]
    assert long["params"].nbytes - short["params"].nbytes < 64
    grown_bytes = sum(long[k].nbytes - short[k].nbytes for k in grown)
    assert files[32000] - files[8000] <= grown_bytes + 4096


def _estimate(conn, args):
    """The CLI's size bound for a streamed run (cmftvb.signals.stream_run.study_sizes with
    the CLI's settings), one seed."""
    from cmftvb.engine.cli import signals_output_bytes
    from cmftvb.network import build_network

    connectome = Connectome.from_tvb_zip(conn)
    net = build_network(connectome, "cmf", "corrected")
    return signals_output_bytes(args, PERIOD_MS, net, connectome.roles, 1)


def test_node_coherence_needs_the_signals_monitor(tmp_path, capsys):
    conn = tiny_zip(tmp_path / "tiny.zip")
    argv = ["simulate", str(conn), "--duration", "100", "--monitor", "mean", "--node-coherence"]
    assert main([*argv, "--out", str(tmp_path / "x.npz")]) != 0
    assert "--node-coherence: only with --monitor signals" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--duration", "2000"], "samples after the 2-s transient; the spectra need at least 500"),
        (["--engine", "tvb"], "--monitor signals: needs --engine numba"),
        (["--tr", "0"], "--tr: must be a positive number of ms"),
        (["--tr", "722"], "--tr (722 ms) is not a whole multiple of --monitor-period (4 ms)"),
        (["--transient", "-1"], "--transient: must be a number of s >= 0"),
        (["--monitor-period", "1", "--duration", "3000"], "1000 samples after the 2-s transient"),
    ],
)
def test_streamed_run_refusals(tmp_path, capsys, extra, message):
    conn = tiny_zip(tmp_path / "tiny.zip")
    argv = ["simulate", str(conn), "--duration", "4000", "--monitor", "signals"]
    rc = main([*argv, "--out", str(tmp_path / "x.npz"), *extra])
    assert rc != 0 and message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
