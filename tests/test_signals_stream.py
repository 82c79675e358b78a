"""Streaming accumulators (cmftvb.signals.stream) against the offline signal stage.

References: :func:`cmftvb.signals.run.simulated_bold` (both BOLD models),
:func:`cmftvb.signals.ephys.welch_psd` / ``scipy.signal.welch``,
:func:`cmftvb.signals.ephys.coherence_matrix`, ``scipy.signal.coherence`` and
:func:`cmftvb.signals.ephys.spectral_modes`, each on the concatenated input. Tolerance: 1e-10
relative (issue 15 item 1); BOLD is also checked bitwise (same arithmetic per volume).
"""

import numpy as np
import pytest
from scipy import signal

from cmftvb import CmftvbError
from cmftvb.signals import ephys
from cmftvb.signals.run import simulated_bold
from cmftvb.signals.stream import Excerpt, StreamingBold, StreamingMoments, StreamingWelch

RTOL = 1e-10
CHUNKINGS = ["1", "7", "499", "500", "501", "3000", "uneven", "all"]


def chunks(x, how, seed=0):
    """Consecutive chunks of ``x``: of the given size, of random sizes (empty ones included)
    or one chunk (longer than the BOLD kernel's ring of bins)."""
    T = x.shape[0]
    if how == "all":
        return [x[:0], x]
    if how == "uneven":
        rng = np.random.default_rng(seed)
        cuts = np.sort(rng.integers(0, T, size=max(2, T // 400)))
        edges = np.concatenate([[0], cuts, [T]])
    else:
        n = int(how)
        edges = np.concatenate([np.arange(0, T, n), [T]])
    return [x[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def feed(acc, x, how, seed=0):
    for c in chunks(x, how, seed):
        acc.update(c)
    return acc


def smooth(T, N, dt_ms, seed):
    """Slow oscillations plus a little noise, around 0.2 (an S_E-like BOLD input)."""
    rng = np.random.default_rng(seed)
    t = (np.arange(T) + 1) * dt_ms / 1000.0
    f = rng.uniform(0.02, 0.3, N)
    ph = rng.uniform(0, 2 * np.pi, N)
    return 0.2 + 0.1 * np.sin(2 * np.pi * f * t[:, None] + ph) + 0.01 * rng.standard_normal((T, N))


def rates(T, C, seed):
    """Random signals with band structure (a filtered rhythm plus white noise)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((T, C))
    b, a = signal.butter(2, [8 / 125, 12 / 125], btype="band")
    common = signal.lfilter(b, a, rng.standard_normal(T))
    return 5.0 + w + 3.0 * signal.lfilter(b, a, w, axis=0) + 2.0 * common[:, None]


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("model", ["tvb_kernel", "balloon"])
def test_bold_equals_offline(model, how):
    dt, tr, N = 4.0, 720.0, 3
    x = smooth(16000, N, dt, seed=1)  # 64 s: more than the kernel's 20 s
    ref = simulated_bold(x, dt, tr, model, 10.0)
    got = feed(StreamingBold(model, dt, tr, 10.0, N), x, how).result()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=0)
    assert np.array_equal(got, ref)  # same arithmetic per volume: bitwise


@pytest.mark.parametrize("model", ["tvb_kernel", "balloon"])
@pytest.mark.parametrize(("dt", "tr"), [(1.0, 2000.0), (0.5, 730.0), (4.0, 2.0e3)])
def test_bold_other_sampling(model, dt, tr):
    """Bins of several samples, a TR that is not a multiple of the 4-ms bin (730 ms at dt
    0.5), the Balloon sub-step of 10 ms; random white input (not smooth)."""
    N = 2
    T = int(45000 / dt) + 3  # a trailing partial TR and bin
    rng = np.random.default_rng(2)
    x = 0.3 + 0.05 * rng.standard_normal((T, N))
    ref = simulated_bold(x, dt, tr, model, 0.0)
    for how in ("7", "uneven", "3000"):
        got = feed(StreamingBold(model, dt, tr, 0.0, N), x, how, seed=3).result()
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=0)


def test_bold_transient_leaves_nothing():
    acc = StreamingBold("tvb_kernel", 4.0, 720.0, 10.0, 1)
    acc.update(np.zeros((1000, 1)))  # 4 s: 5 volumes, 14 to drop
    with pytest.raises(CmftvbError, match="drop_transient"):
        acc.result()
    with pytest.raises(CmftvbError, match="bold_model"):
        StreamingBold("hrf", 4.0, 720.0, 0.0, 1)


@pytest.mark.parametrize("how", CHUNKINGS)
def test_welch_equals_scipy_and_offline(how):
    fs, C, skip = 250.0, 4, 500
    x = rates(8123, C, seed=4)  # not a whole number of segments
    acc = feed(StreamingWelch(fs, 500, 250, C, skip_samples=skip, modes=True), x, how, seed=5)
    f_ref, P_ref = signal.welch(x[skip:], fs=fs, nperseg=500, noverlap=250, axis=0)
    f, P = acc.result()
    np.testing.assert_array_equal(f, f_ref)
    np.testing.assert_allclose(P, P_ref, rtol=RTOL, atol=0)
    _, Pn_ref = ephys.welch_psd(x[skip:], fs, nperseg=500, noverlap=250)
    np.testing.assert_allclose(acc.result(normalise=True)[1], Pn_ref, rtol=RTOL, atol=0)
    assert acc.n_samples == x.shape[0] - skip
    modes = acc.spectral_modes()
    modes_ref = ephys.spectral_modes(x[skip:], fs)
    assert modes[["channel", "band"]].equals(modes_ref[["channel", "band"]])
    np.testing.assert_array_equal(modes["share"], modes_ref["share"])


@pytest.mark.parametrize("how", ["1", "499", "501", "uneven"])
def test_welch_scaled_kilohertz(how):
    """``scale=1000`` equals the offline kHz -> Hz conversion, odd nperseg, other overlap."""
    x = rates(3001, 2, seed=6) / 1000.0
    acc = feed(StreamingWelch(250.0, 301, 100, 2, skip_samples=37, scale=1000.0), x, how)
    sig = ephys.resample(x, 4.0, 250.0, unit="kHz")[37:]
    _, P_ref = signal.welch(sig, fs=250.0, nperseg=301, noverlap=100, axis=0)
    np.testing.assert_allclose(acc.result()[1], P_ref, rtol=RTOL, atol=0)


@pytest.mark.parametrize("how", CHUNKINGS)
def test_coherence_equals_offline(how):
    fs, C = 250.0, 5
    x = rates(7000, C, seed=7)
    pairs = [(0, 1), (2, 4), (3, 3)]
    acc = feed(StreamingWelch(fs, 500, 250, C, coherence=True, pairs=pairs), x, how, seed=8)
    bands, M = acc.coherence_matrix()
    bands_ref, M_ref = ephys.coherence_matrix(x, fs, nperseg=500, noverlap=250)
    assert bands == bands_ref
    np.testing.assert_allclose(M, M_ref, rtol=RTOL, atol=0)
    f, Cxy = acc.pair_coherence()
    for p, (i, j) in enumerate(pairs):
        f_ref, C_ref = signal.coherence(x[:, i], x[:, j], fs=fs, nperseg=500, noverlap=250)
        np.testing.assert_array_equal(f, f_ref)
        np.testing.assert_allclose(Cxy[p], C_ref, rtol=RTOL, atol=0)


def test_welch_too_short_and_options():
    acc = StreamingWelch(250.0, 500, 250, 1, skip_samples=100)
    acc.update(np.ones((550, 1)))  # 450 used samples
    with pytest.raises(CmftvbError, match="shorter than nperseg"):
        acc.result()
    with pytest.raises(CmftvbError, match="coherence=True"):
        acc.coherence_matrix()
    with pytest.raises(CmftvbError, match="expected a chunk"):
        acc.update(np.ones((3, 2)))


@pytest.mark.parametrize("how", ["1", "7", "499", "uneven"])
def test_excerpt(how):
    x = rates(2000, 3, seed=9)
    got = feed(Excerpt(600, 3, start=250), x, how).result()
    np.testing.assert_array_equal(got, x[250:850])
    short = feed(Excerpt(600, 3, start=1700), x, how).result()
    np.testing.assert_array_equal(short, x[1700:])


@pytest.mark.parametrize("how", CHUNKINGS)
def test_moments_equal_rate_summary(how):
    """Mean, SD, min, max after a transient equal ``ephys.rate_summary`` (numpy) on the
    concatenated samples; a large mean over a small SD (rates near a constant) included."""
    x = rates(5000, 3, seed=13) / 1000.0  # kHz
    x[:, 2] = 0.05 + 1e-4 * x[:, 2]
    acc = feed(StreamingMoments(3, skip_samples=500, scale=1000.0), x, how, seed=14)
    res = acc.result()
    ref = ephys.rate_summary(x * 1000.0, ["GrC", "PC", "x"], discard_s=2.0, fs_hz=250.0)
    assert res["n"] == 4500
    for key, col in (("mean", "mean_hz"), ("sd", "sd_hz"), ("min", "min_hz"), ("max", "max_hz")):
        np.testing.assert_allclose(res[key], ref[col], rtol=RTOL, atol=0)
    np.testing.assert_array_equal(res["max"], ref["max_hz"])
    with pytest.raises(CmftvbError, match="leaves no sample"):
        feed(StreamingMoments(3, skip_samples=5000), x, how).result()


def held_after(make, x, reps):
    acc = make()
    for _ in range(reps):
        for c in chunks(x, "uneven", seed=10):
            acc.update(c)
    return acc


@pytest.mark.parametrize("model", ["tvb_kernel", "balloon"])
def test_bold_memory_flat(model):
    """10x the samples: the same bytes apart from the extra output volumes."""
    x = smooth(9000, 4, 4.0, seed=11)  # 36 s = 50 volumes at TR 720 ms

    def make():
        return StreamingBold(model, 4.0, 720.0, 0.0, 4)

    one, ten = held_after(make, x, 1), held_after(make, x, 10)
    vol = 4 * 8  # one volume of 4 nodes
    assert ten.n_volumes == 10 * one.n_volumes
    extra = (ten.n_volumes - one.n_volumes) * vol
    assert ten.held_nbytes - extra == one.held_nbytes


def test_welch_excerpt_memory_flat():
    x = rates(9000, 6, seed=12)

    def make():
        return StreamingWelch(
            250.0, 500, 250, 6, skip_samples=500, coherence=True, pairs=[(0, 1)], modes=True
        )

    one, ten = held_after(make, x, 1), held_after(make, x, 10)
    assert ten.n_segments > 9 * one.n_segments
    assert ten.held_nbytes == one.held_nbytes
    e1, e10 = (
        held_after(lambda: Excerpt(1000, 6), x, 1),
        held_after(lambda: Excerpt(1000, 6), x, 10),
    )
    assert e10.held_nbytes == e1.held_nbytes
    m1 = held_after(lambda: StreamingMoments(6), x, 1)
    m10 = held_after(lambda: StreamingMoments(6), x, 10)
    assert m10.n == 10 * m1.n and m10.held_nbytes == m1.held_nbytes


def synthetic_run(S, T, dt):
    """A synthetic S-seed run of 4 nodes: Wong-Wang r_E, r_I, S_E at nodes 0-1, cMF GrC and PC
    in kHz at nodes 2-3, the BOLD input, the sample times (ms), the node roles and the
    settings of the sink: (variables name -> (S, T, 4) with NaN where a node lacks it,
    bold_input (S, T, 4), time_ms (T,), roles, options)."""
    x = np.stack([rates(T, 8, seed=15 + s) for s in range(S)])  # (S, T, 8) Hz
    nan = np.full((S, T, 2), np.nan)
    variables = {
        "r_E": np.concatenate([x[:, :, 0:2], nan], axis=2),
        "r_I": np.concatenate([x[:, :, 2:4], nan], axis=2),
        "S_E": np.concatenate([0.1 + 0.01 * x[:, :, 0:2], nan], axis=2),
        "GrC": np.concatenate([nan, x[:, :, 4:6] / 1000.0], axis=2),
        "PC": np.concatenate([nan, x[:, :, 6:8] / 1000.0], axis=2),
    }
    bold_input = np.stack([smooth(T, 4, dt, seed=20 + s) for s in range(S)])
    time_ms = (np.arange(T) + 1) * dt
    roles = ["cortex", "cortex", "crbl_hemisphere", "crbl_hemisphere"]
    o = {
        "bold_model": "tvb_kernel", "bold_transient_s": 10.0, "ephys_transient_s": 2.0,
        "fs_hz": 250.0, "welch_nperseg": 500, "welch_noverlap": 250,
        "node_coherence_crbl_var": "PC", "node_coherence_ww_var": "r_E",
    }  # fmt: skip
    return variables, bold_input, time_ms, roles, o


def feed_sink(sink, variables, bold_input, time_ms):
    """Feed ``sink`` the run in uneven chunks (empty and 1-sample ones included); its arrays."""
    from cmftvb.signals.stream_run import Chunk

    labels = np.array(["a", "b", "c", "d"])
    edges = [0, 5, 504, 505, 3505, 5505, time_ms.size]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        part = {v: arr[:, a:b] for v, arr in variables.items()}
        sink(a, Chunk(labels, part, bold_input[:, a:b], time_ms[a:b]))
    return sink.arrays()


def test_study_sink_against_the_offline_functions():
    """The workflow's sink (cmftvb.signals.stream_run.StudySignals) fed in uneven chunks of a
    synthetic 2-seed run (Wong-Wang r_E, r_I, S_E at nodes 0-1, cMF GrC and PC in kHz at nodes
    2-3, monitor at 4 ms = 250 Hz), against the offline functions on the whole series, after
    the float32 rounding the sink applies (the activity file's dtype): BOLD
    (``simulated_bold``, bitwise), un-normalised spectra (``scipy.signal.welch``), the
    coherence of two populations of a node (``scipy.signal.coherence``), mode shares
    (``ephys.spectral_modes``, equal), means (numpy), coherence between nodes
    (``ephys.coherence_matrix``), a rate through the kernel (``simulated_bold``, bitwise), the
    excerpt (as monitored)."""
    from cmftvb.signals import names as nm
    from cmftvb.signals.stream_run import StudySignals

    T, dt, tr, S = 12000, 4.0, 720.0, 2
    variables, bold_input, time_ms, roles, o = synthetic_run(S, T, dt)
    sink = StudySignals(S, period_ms=dt, tr_s=tr / 1000, options=o, roles=roles, excerpt_s=1.0)
    got = feed_sink(sink, variables, bold_input, time_ms)

    def f32(a):
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    skip = 500
    for s in range(S):
        ref = simulated_bold(f32(bold_input[s]), dt, tr, "tvb_kernel", 10.0)
        np.testing.assert_array_equal(got["bold"][s], ref)
        for pop, nodes, scale in (("r_E", [0, 1], 1), ("GrC", [2, 3], 1000), ("PC", [2, 3], 1000)):
            np.testing.assert_array_equal(got[nm.nodes_key(pop)], nodes)
            sig = f32(variables[pop][s][:, nodes]) * scale
            f, P = signal.welch(sig[skip:], fs=250.0, nperseg=500, noverlap=250, axis=0)
            np.testing.assert_array_equal(got["freqs_hz"], f)
            np.testing.assert_allclose(got[nm.psdabs_key(pop)][s], P, rtol=RTOL, atol=0)
            modes = ephys.spectral_modes(sig[skip:], 250.0)["share"].to_numpy()
            np.testing.assert_array_equal(got[nm.modes_key(pop)][s].reshape(-1), modes)
            mean = f32(variables[pop][s][skip:, nodes]).mean(axis=0)
            np.testing.assert_allclose(got[nm.mean_key(pop)][s], mean, rtol=RTOL, atol=0)
        for node in (2, 3):
            a, b = (f32(variables[p][s][skip:, node]) * 1000 for p in ("GrC", "PC"))
            _, C = signal.coherence(a, b, fs=250.0, nperseg=500, noverlap=250)
            row = list(got[nm.coherence_nodes_key("GrC", "PC")]).index(node)
            np.testing.assert_allclose(got[nm.coherence_key("GrC", "PC")][s, row], C, rtol=RTOL)
        node_sig = np.concatenate(
            [f32(variables["r_E"][s][:, :2]), 1000 * f32(variables["PC"][s][:, 2:])], axis=1
        )
        _, M = ephys.coherence_matrix(node_sig[skip:], 250.0)
        np.testing.assert_allclose(got[nm.NODE_COHERENCE][s], M, rtol=RTOL, atol=0)
        ref = simulated_bold(f32(variables["PC"][s][:, 2:]), dt, tr, "tvb_kernel", 10.0)
        np.testing.assert_array_equal(got[nm.ephys_bold_key("PC")][s], ref)
        np.testing.assert_array_equal(got[nm.excerpt_key("PC")][s], variables["PC"][s][:750, 2:]
                                      .astype(np.float32))  # fmt: skip
    assert int(got[nm.WELCH_SAMPLES]) == T - skip
    assert int(got[nm.NODE_COHERENCE_SEGMENTS]) == (T - skip - 250) // 250
    np.testing.assert_array_equal(got[nm.EXCERPT_TIME], time_ms[:750])
    assert nm.excerpt_key("r_E") not in got  # the excerpt holds the cerebellar rates only
    np.testing.assert_array_equal(got[nm.ephys_bold_nodes_key("GrC")], [2, 3])
    assert nm.ephys_bold_key("r_E") not in got  # r_E lives on cerebral nodes only


@pytest.mark.parametrize(("dt", "tr"), [(1.0, 2.0), (2.0, 2.0), (0.1, 1.0)])
def test_bold_tr_shorter_than_bin(dt, tr):
    """TRs below the 4-ms bin: early volumes see no complete bin (offline: zero sum)."""
    x = np.random.default_rng(17).random((30001, 2))
    ref = simulated_bold(x, dt, tr, "tvb_kernel", 0.0)
    got = feed(StreamingBold("tvb_kernel", dt, tr, 0.0, 2), x, "uneven", seed=18).result()
    assert np.array_equal(got, ref)


def test_study_sink_in_float64_with_every_variable():
    """The settings of ``cmftvb simulate --monitor signals``: samples in float64 (no
    rounding), the spectra and excerpt of every variable (S_E included), against
    ``scipy.signal.welch``, numpy and the monitored samples; the coherence of two variables of
    a node and the rates through the hemodynamics stay those of the populations."""
    from cmftvb.signals import names as nm
    from cmftvb.signals.stream_run import MEAN_VARIABLES, StudySignals

    T, dt, tr, S = 6000, 4.0, 720.0, 2
    variables, bold_input, time_ms, roles, o = synthetic_run(S, T, dt)
    sink = StudySignals(
        S, period_ms=dt, tr_s=tr / 1000, options=o, roles=roles, excerpt_s=1.0,
        spectra_variables=MEAN_VARIABLES, excerpt_variables=MEAN_VARIABLES, dtype=np.float64,
    )  # fmt: skip
    got = feed_sink(sink, variables, bold_input, time_ms)
    skip = 500
    for s in range(S):
        ref = simulated_bold(bold_input[s], dt, tr, "tvb_kernel", 10.0)
        np.testing.assert_array_equal(got["bold"][s], ref)
        for var, nodes, scale in (("S_E", [0, 1], 1), ("r_I", [0, 1], 1), ("GrC", [2, 3], 1000)):
            np.testing.assert_array_equal(got[nm.nodes_key(var)], nodes)
            x = variables[var][s][:, nodes]
            f, P = signal.welch(x[skip:] * scale, fs=250.0, nperseg=500, noverlap=250, axis=0)
            np.testing.assert_allclose(got[nm.psdabs_key(var)][s], P, rtol=RTOL, atol=0)
            modes = ephys.spectral_modes(x[skip:] * scale, 250.0)["share"].to_numpy()
            np.testing.assert_array_equal(got[nm.modes_key(var)][s].reshape(-1), modes)
            np.testing.assert_allclose(got[nm.mean_key(var)][s], x[skip:].mean(axis=0), rtol=RTOL)
            assert got[nm.excerpt_key(var)].dtype == np.float64
            np.testing.assert_array_equal(got[nm.excerpt_key(var)][s], x[:750])
    assert {k for k in got if k.startswith("coh_") and "nodes" not in k} == {
        nm.coherence_key("r_E", "r_I"),
        nm.coherence_key("GrC", "PC"),
    }
    assert not any(k.startswith("ephysbold_") and "S_" in k for k in got)
    assert sink.settings["dtype"] == "float64" and "S_E" in sink.settings["spectra_variables"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spectra_variables": ("r_E", "V")}, r"unknown spectra variables \['V'\]"),
        ({"excerpt_variables": ("GrC", "rate")}, r"unknown excerpt variables \['rate'\]"),
        ({"dtype": np.float16}, "dtype float16; choose from"),
    ],
)
def test_study_sink_refuses_unknown_settings(kwargs, message):
    from cmftvb.signals.stream_run import StudySignals

    _, _, _, roles, o = synthetic_run(1, 10, 4.0)
    with pytest.raises(CmftvbError, match=message):
        StudySignals(1, period_ms=4.0, tr_s=0.72, options=o, roles=roles, **kwargs)
