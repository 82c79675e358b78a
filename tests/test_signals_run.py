"""cmftvb.signals.run_signals (one simulation batch -> BOLD and features) and the feature names
of cmftvb.signals.names, checked against scipy and closed-form values computed here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from cmftvb import CmftvbError
from cmftvb.signals import names as nm
from cmftvb.signals import run_signals
from cmftvb.signals.ephys import BANDS

DT_MS = 4.0  # the monitor period: 250 Hz, so no resampling
FS = 250.0
OPTIONS = {
    "monitor_period_ms": DT_MS,
    "bold_model": "tvb_kernel",
    "bold_transient_s": 0.0,
    "ephys_transient_s": 2.0,
    "fs_hz": FS,
    "welch_nperseg": 500,
    "welch_noverlap": 250,
}


def batch(seeds=(5, 6), seconds=20.0):
    """A packed simulation batch: 3 nodes, r_E (Hz) on nodes 0 and 1 (an 11 Hz rhythm on
    node 0), GrC (kHz) on nodes 1 and 2 (a 6 Hz rhythm on node 2), noise per seed."""
    t = np.arange(int(seconds * 1000 / DT_MS)) * DT_MS / 1000.0
    S, T = len(seeds), t.size
    rng = np.random.default_rng(0)
    r_e = 5.0 + rng.standard_normal((S, T, 2))
    r_e[:, :, 0] += 20.0 * np.sin(2 * np.pi * 11.0 * t)
    grc = 0.01 + 0.001 * rng.standard_normal((S, T, 2))
    grc[:, :, 1] += 0.005 * np.sin(2 * np.pi * 6.0 * t)
    return {
        "time_ms": t * 1000.0,
        "labels": np.array(["A", "B", "C"]),
        "seeds": np.array(seeds),
        "r_E": r_e.astype(np.float32),
        "nodes_r_E": np.array([0, 1]),
        "GrC": grc.astype(np.float32),
        "nodes_GrC": np.array([1, 2]),
        "bold_input": (0.5 + 0.1 * rng.standard_normal((S, T, 3))).astype(np.float32),
        "S_E": (0.2 + 0.01 * rng.standard_normal((S, T, 2))).astype(np.float32),
        "nodes_S_E": np.array([0, 1]),
    }


@pytest.fixture(scope="module")
def result():
    sim = batch()
    arrays, features = run_signals(sim, 0.72, **OPTIONS)
    return sim, arrays, features


def test_arrays_layout(result):
    sim, arrays, _ = result
    np.testing.assert_array_equal(arrays["seeds"], [5, 6])
    np.testing.assert_array_equal(arrays["labels"], sim["labels"])
    assert float(arrays["tr_s"]) == 0.72
    assert arrays["bold"].shape[0] == 2 and arrays["bold"].shape[2] == 3
    # 20 s at TR 0.72 s: the Volterra kernel needs its 20 s of history, so some volumes
    assert arrays["psd_r_E"].shape == (2, 2, arrays["freqs_hz"].size)
    np.testing.assert_array_equal(arrays["nodes_GrC"], [1, 2])
    # coherence only where a node has both populations: node 1
    np.testing.assert_array_equal(arrays[nm.coherence_nodes_key("r_E", "GrC")], [1])
    assert arrays[nm.coherence_key("r_E", "GrC")].shape[:2] == (2, 1)


def test_spectra_are_scipy_welch_of_the_rates_in_hz(result):
    sim, arrays, _ = result
    skip = int(OPTIONS["ephys_transient_s"] * FS)
    for k in range(2):
        x = 1000.0 * sim["GrC"][k].astype(np.float64)[skip:]  # kHz -> Hz
        f, P = signal.welch(x, fs=FS, nperseg=500, noverlap=250, axis=0)
        P = P / P.max(axis=0)
        np.testing.assert_allclose(arrays["freqs_hz"], f)
        np.testing.assert_allclose(arrays["psd_GrC"][k], P.T, rtol=1e-10, atol=1e-14)


def test_rates_dominant_frequencies_and_coherence(result):
    sim, arrays, features = result
    skip = int(OPTIONS["ephys_transient_s"] * FS)
    f = features.set_index(["seed", "metric", "region"])["value"]
    for k, seed in enumerate((5, 6)):
        r = sim["r_E"][k].astype(np.float64)[skip:]
        assert f[(seed, "r_E_rate_hz", "A")] == pytest.approx(r[:, 0].mean(), rel=1e-12)
        grc = 1000.0 * sim["GrC"][k].astype(np.float64)[skip:]
        assert f[(seed, "GrC_rate_hz", "C")] == pytest.approx(grc[:, 1].mean(), rel=1e-12)
        # the imposed rhythms are the dominant frequencies of their bands (0.5 Hz bins)
        assert f[(seed, "r_E_alpha_dominant_hz", "A")] == 11.0
        assert f[(seed, "GrC_theta_dominant_hz", "C")] == 6.0
        # coherence of node B's two populations, band means of scipy's MSC
        fc, cxy = signal.coherence(
            sim["r_E"][k].astype(np.float64)[skip:, 1],
            grc[:, 0],
            fs=FS,
            nperseg=500,
            noverlap=250,
        )
        np.testing.assert_allclose(arrays["coh_r_E__GrC"][k, 0], cxy, rtol=1e-10)
        lo, hi = BANDS["beta"]
        expected = cxy[(fc >= lo) & (fc < hi)].mean()
        assert f[(seed, "coh_r_E_GrC_beta", "B")] == pytest.approx(expected, rel=1e-10)
    # every feature of every seed: rows per population node (band x 3, rate, rhythm features,
    # band powers) + coherence + the three regime shares (Wong-Wang band, S_E saturation,
    # cerebellar ranges)
    n_band = len(BANDS)
    per_seed = (2 + 2) * (3 * n_band + 1 + len(nm.RHYTHM_FEATURES) + n_band) + n_band + 3
    assert len(features) == 2 * per_seed
    assert list(features.columns) == ["seed", "metric", "region", "value"]


def test_each_seed_is_independent_of_its_batch(result):
    sim, arrays, features = result
    one = {k: (v[1:] if k in ("r_E", "GrC", "S_E", "bold_input") else v) for k, v in sim.items()}
    one["seeds"] = np.array([6])
    alone, alone_features = run_signals(one, 0.72, **OPTIONS)
    np.testing.assert_array_equal(alone["bold"][0], arrays["bold"][1])
    np.testing.assert_array_equal(alone["psd_r_E"][0], arrays["psd_r_E"][1])
    mine = features[features.seed == 6].reset_index(drop=True)
    np.testing.assert_array_equal(alone_features["value"], mine["value"])


def test_balloon_model_and_bad_model():
    sim = batch(seeds=(1,), seconds=12.0)
    arrays, _ = run_signals(sim, 0.72, **{**OPTIONS, "bold_model": "balloon"})
    assert np.isfinite(arrays["bold"]).all()
    with pytest.raises(CmftvbError, match="bold_model must be one of tvb_kernel, balloon"):
        run_signals(sim, 0.72, **{**OPTIONS, "bold_model": "kernel"})


# ------------------------------------------------------------------- names
@pytest.mark.parametrize("pop", nm.POPULATIONS)
def test_metric_names_round_trip(pop):
    assert nm.parse_metric(nm.rate_metric(pop)) == nm.Metric("rate", (pop,))
    for band in BANDS:
        for feature in nm.BAND_FEATURES:
            name = nm.band_metric(pop, band, feature)
            assert nm.parse_metric(name) == nm.Metric("band", (pop,), band, feature)
        for other in nm.POPULATIONS:
            name = nm.coherence_metric(pop, other, band)
            assert nm.parse_metric(name) == nm.Metric("coherence", (pop, other), band)


@pytest.mark.parametrize(
    "name", ["fc_fit", "fcd_ks", "bold_mae", "r_E_rate", "r_E_alpha_area", "coh_r_E_alpha"]
)
def test_other_metrics_are_not_signal_features(name):
    assert nm.parse_metric(name) is None


def test_per_seed_keys():
    assert nm.is_per_seed("bold") and nm.is_per_seed("psd_GrC")
    assert nm.is_per_seed(nm.psdabs_key("PC")) and nm.is_per_seed(nm.NODE_COHERENCE)
    assert not nm.is_per_seed(nm.NODE_COHERENCE_BANDS)
    assert nm.is_per_seed(nm.coherence_key("r_E", "r_I"))
    for key in ("freqs_hz", "coh_freqs_hz", "nodes_GrC", nm.coherence_nodes_key("r_E", "r_I")):
        assert not nm.is_per_seed(key)


# ------------------------------------------------------- issue 12: rhythms, nodes, ephys-BOLD
ROLES = np.array(["cortex", "crbl_hemisphere", "crbl_hemisphere"])
NODE_OPTIONS = {**OPTIONS, "node_coherence_crbl_var": "GrC", "node_coherence_ww_var": "r_E"}


@pytest.fixture(scope="module")
def with_roles():
    sim = batch()
    arrays, features = run_signals(sim, 0.72, roles=ROLES, **NODE_OPTIONS)
    return sim, arrays, features


def test_unnormalised_spectra_are_scipy_welch(with_roles):
    sim, arrays, features = with_roles
    skip = int(2.0 * FS)
    x = sim["GrC"][1, skip:, :].astype(np.float64) * 1000.0  # seed 6, kHz -> Hz
    f, P = signal.welch(x, FS, nperseg=500, noverlap=250, axis=0)
    np.testing.assert_allclose(arrays["freqs_hz"], f)
    np.testing.assert_allclose(arrays[nm.psdabs_key("GrC")][1], P.T, rtol=1e-9)
    # the 6-Hz rhythm of node C is found and judged a peak; the dominant frequency is scipy's
    rows = features[features["seed"] == 6].set_index(["metric", "region"])["value"]
    assert rows[(nm.rhythm_metric("GrC", "peak_hz"), "C")] == pytest.approx(6.0)
    assert rows[(nm.rhythm_metric("GrC", "has_peak"), "C")] == 1.0
    band = (f >= 0.5) & (f <= 100.0)
    assert rows[(nm.rhythm_metric("GrC", "dominant_hz"), "C")] == f[band][np.argmax(P[band, 1])]
    theta = (f >= 4.0) & (f < 8.0)
    df = f[1] - f[0]
    assert rows[(nm.power_metric("GrC", "theta"), "C")] == pytest.approx(
        P[theta, 1].sum() * df, rel=1e-9
    )


def test_coherence_between_nodes_is_scipy_coherence(with_roles):
    sim, arrays, features = with_roles
    skip = int(2.0 * FS)
    a = sim["GrC"][0, skip:, 0].astype(np.float64)
    b = sim["GrC"][0, skip:, 1].astype(np.float64)
    f, c = signal.coherence(a, b, FS, nperseg=500, noverlap=250)
    bands = list(arrays[nm.NODE_COHERENCE_BANDS])
    assert arrays[nm.NODE_COHERENCE].shape == (2, len(bands), 3, 3)
    rows = features[(features["seed"] == 5) & (features["region"] == "global")]
    got = dict(zip(rows["metric"], rows["value"], strict=True))
    for band, (lo, hi) in BANDS.items():
        last = band == list(BANDS)[-1]  # the last band is closed (ephys.BANDS)
        sel = (f >= lo) & ((f <= hi) if last else (f < hi))
        want = c[sel].mean()
        assert got[nm.node_coherence_metric("crbl_crbl", band)] == pytest.approx(want, rel=1e-6)
    # segments: (T - noverlap) // (nperseg - noverlap)
    K = (a.size - 250) // 250
    assert got[nm.NODE_COHERENCE_FLOOR] == pytest.approx(1.0 / K)
    assert nm.node_coherence_metric("crbl_cerebral", "alpha") in got


def test_without_roles_no_coherence_between_nodes(result):
    from cmftvb.signals import regime

    _, arrays, features = result
    assert nm.NODE_COHERENCE not in arrays
    # the only whole-run rows are the regime check's
    assert set(features[features["region"] == "global"]["metric"]) == set(regime.REGIME_METRICS)


def test_ephys_bold_is_the_correlation_of_the_kernel_bold(with_roles):
    from cmftvb.signals import ephys_bold_batch
    from cmftvb.signals.bold import bold_tvb_kernel

    sim, arrays, _ = with_roles
    t = ephys_bold_batch(sim, arrays["bold"], ROLES, 0.72, monitor_period_ms=DT_MS)
    # r_E lives on nodes A (cerebral) and B; GrC on B and C: only the cerebellar ones count
    pairs = set(zip(t["population"], t["region"], strict=True))
    assert pairs == {("r_E", "B"), ("GrC", "B"), ("GrC", "C")}
    x = sim["GrC"][1, :, 1].astype(np.float64)
    pb = bold_tvb_kernel(x[:, None], DT_MS, 720.0)[:, 0]
    m = min(pb.size, arrays["bold"].shape[1])
    want = np.corrcoef(pb[:m], arrays["bold"][1, :m, 2])[0, 1]
    got = t[(t.seed == 6) & (t.population == "GrC") & (t.region == "C")]["r"].item()
    assert got == pytest.approx(want, rel=1e-9)


def test_new_metrics_are_descriptive():
    from cmftvb.stats.endpoints import DEFAULT_PRIMARY, family_of

    primary = [(p["metric"], p["region"]) for p in DEFAULT_PRIMARY]
    for metric in (
        nm.node_coherence_metric("crbl_crbl", "alpha"),
        nm.NODE_COHERENCE_FLOOR,
        nm.rhythm_metric("PC", "has_peak"),
        nm.power_metric("PC", "gamma"),
    ):
        assert family_of(metric, "global", primary) == "descriptive"


def test_summarise_features_passes_global_rows():
    import pandas as pd

    from cmftvb.fitness import summarise_features

    feats = pd.DataFrame(
        {
            "metric": ["coh_nodes_floor", "GrC_dominant_hz", "GrC_dominant_hz"],
            "region": ["global", "B", "C"],
            "value": [0.1, 4.0, 6.0],
        }
    )
    out = summarise_features(feats, ["A", "B", "C"], ROLES)
    got = dict(zip(zip(out["metric"], out["region"], strict=True), out["value"], strict=True))
    assert got == {("coh_nodes_floor", "global"): 0.1, ("GrC_dominant_hz", "crbl_cortex"): 5.0}


# ------------------------------------------------------------------- regime check
def test_regime_rows_of_each_lane_by_hand():
    """Shares computed here from the time means after the transient: node A's r_E mean is
    5 Hz (inside a 1-10 Hz band), node B's 15 Hz; node B's S_E saturates in seed 4; the GrC
    shares against physiology.yaml's range are computed here from the means (kHz -> Hz)."""
    from cmftvb.signals import regime
    from cmftvb.signals.ephys import physiological_ranges

    sim = batch(seeds=(3, 4), seconds=6.0)
    sim["r_E"][:, :, 1] += 10.0  # node B at 15 Hz on average
    sim["S_E"][1, :, 1] = 0.95  # seed 4: node B saturated
    sim["GrC"][0, :, 1] = 0.002  # seed 3: node C's GrC at 2 Hz
    _, features = run_signals(sim, 0.72, **{**OPTIONS, "regime_band_hz": (1.0, 10.0)})
    reg = features[features.metric.str.startswith("regime_")]
    assert set(reg.region) == {"global"} and len(reg) == 2 * 3
    skip = int(OPTIONS["ephys_transient_s"] * 1000 / DT_MS)
    lo, hi = physiological_ranges()["GrC"]["low_hz"], physiological_ranges()["GrC"]["high_hz"]
    for k, seed in enumerate((3, 4)):
        got = reg[reg.seed == seed].set_index("metric")["value"]
        r = sim["r_E"][k].astype(np.float64)[skip:].mean(axis=0)
        s = sim["S_E"][k].astype(np.float64)[skip:].mean(axis=0)
        g = 1000.0 * sim["GrC"][k].astype(np.float64)[skip:].mean(axis=0)
        assert got[regime.REGIME_WW_OUT_OF_BAND] == np.mean((r < 1.0) | (r > 10.0)) == 0.5
        assert got[regime.REGIME_SE_SATURATED] == np.mean(s > 0.9) == [0.0, 0.5][k]
        assert got[regime.REGIME_CRBL_OUT_OF_RANGE] == pytest.approx(np.mean((g < lo) | (g > hi)))
    # a narrower band puts node A outside too
    _, narrow = run_signals(sim, 0.72, **{**OPTIONS, "regime_band_hz": (6.0, 20.0)})
    share = narrow[narrow.metric == regime.REGIME_WW_OUT_OF_BAND]["value"]
    assert list(share) == [0.5, 0.5]  # A (5 Hz) outside, B (15 Hz) inside


def test_regime_check_needs_wong_wang_gating():
    sim = batch(seeds=(1,), seconds=6.0)
    del sim["S_E"], sim["nodes_S_E"]
    with pytest.raises(CmftvbError, match="no Wong-Wang r_E and S_E"):
        run_signals(sim, 0.72, **OPTIONS)
