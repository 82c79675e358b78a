"""Electrophysiological features on synthetic signals with known answers."""

import warnings

import numpy as np
import pytest
from scipy import signal

from cmftvb import CmftvbError
from cmftvb.signals import ephys as E

FS = 250.0


def _sines(freqs, amps, dur_s=60.0, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur_s * FS)) / FS
    x = sum(a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps, strict=True))
    return t, x + noise * rng.standard_normal(t.size)


def test_resample_khz_to_hz_and_rate():
    dt_ms = 0.1
    t = np.arange(0, 4000, dt_ms)  # ms
    x_khz = 0.01 + 0.005 * np.sin(2 * np.pi * 5.0 * t / 1000.0)  # 10 Hz mean, 5 Hz oscillation
    y = E.resample(x_khz[:, None], dt_ms, 250.0)
    assert y.shape == (1000, 1)
    ty = np.arange(1000) / 250.0
    expected = 10.0 + 5.0 * np.sin(2 * np.pi * 5.0 * ty)
    # away from the edges the polyphase filter passes a 5 Hz sine unchanged
    np.testing.assert_allclose(y[50:-50, 0], expected[50:-50], atol=1e-3 * 5.0)
    # equals scipy's own resample_poly on the converted input
    np.testing.assert_allclose(
        y, signal.resample_poly(x_khz[:, None] * 1000, 1, 40, axis=0, padtype="line")
    )
    np.testing.assert_allclose(E.resample(y, 4.0, 250.0, unit="Hz"), y)
    with pytest.raises(CmftvbError, match="unit"):
        E.resample(y, 4.0, unit="MHz")


def test_welch_normalised_and_dominant_frequency():
    _, x1 = _sines([10.0], [1.0])
    _, x2 = _sines([23.3, 2.0], [1.0, 0.3], seed=1)
    X = np.c_[x1, x2]
    f, P = E.welch_psd(X)
    f_ref, P_ref = signal.welch(X, fs=FS, nperseg=500, noverlap=250, axis=0)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(P, P_ref / P_ref.max(axis=0))
    assert f[1] - f[0] == pytest.approx(0.5)
    np.testing.assert_allclose(P.max(axis=0), 1.0)
    feats = E.band_features(f, P, channels=["a", "b"])
    dom = feats.set_index(["channel", "band"])["dominant_hz"]
    assert abs(dom["a", "alpha"] - 10.0) <= 0.5
    assert abs(dom["b", "beta"] - 23.3) <= 0.5
    assert abs(dom["b", "delta"] - 2.0) <= 0.5


def test_band_areas_sum_to_total_and_bins_above():
    _, x = _sines([6.0, 40.0], [1.0, 0.5])
    f, P = E.welch_psd(x)
    feats = E.band_features(f, P)
    df = f[1] - f[0]
    sel = (f >= 0.5) & (f <= 100.0)
    assert feats["area"].sum() == pytest.approx(P[sel, 0].sum() * df, rel=1e-12)
    assert feats["rel_area"].sum() == pytest.approx(1.0)
    # count by hand: bins of each band above 0.2 x max
    for _, row in feats.iterrows():
        lo, hi = E.BANDS[row["band"]]
        m = (f >= lo) & ((f <= hi) if row["band"] == "gamma" else (f < hi))
        assert row["n_bins_above"] == np.sum(P[m, 0] > 0.2)
    n = feats.set_index("band")["n_bins_above"]
    assert n["theta"] >= 1 and n["gamma"] >= 1 and n["beta"] == 0


def test_spectral_modes_shares():
    # first half dominated by 6 Hz, second half by 20 Hz
    _, a = _sines([6.0], [1.0], dur_s=40.0, noise=0.05)
    _, b = _sines([20.0], [1.0], dur_s=40.0, noise=0.05, seed=3)
    x = np.r_[a, b]
    for measure in ("power", "peak"):
        modes = E.spectral_modes(x, measure=measure).set_index("band")["share"]
        assert modes.sum() == pytest.approx(1.0)
        # 2-s windows every 1 s over 80 s: 79 windows, 39 in each half, 1 straddling
        assert modes["theta"] == pytest.approx(0.5, abs=1 / 79 + 1e-12)
        assert modes["beta"] == pytest.approx(0.5, abs=1 / 79 + 1e-12)
        assert modes["delta"] == modes["alpha"] == modes["gamma"] == 0.0


def test_spectral_modes_power_vs_peak():
    # a 10 Hz peak over white noise: the wide gamma band has the most summed power
    # (70 Hz of noise), while the peak sits in alpha
    _, x = _sines([10.0], [1.0], dur_s=30.0, noise=2.0)
    power = E.spectral_modes(x, measure="power").set_index("band")["share"]
    peak = E.spectral_modes(x, measure="peak").set_index("band")["share"]
    assert power["gamma"] == 1.0
    assert peak["alpha"] == 1.0
    # by hand for the first window: summed Hann periodogram per band
    w = x[:500] - x[:500].mean()
    p = np.abs(np.fft.rfft(w * signal.get_window("hann", 500))) ** 2
    f = np.fft.rfftfreq(500, 1 / FS)
    sums = {
        b: p[(f >= lo) & ((f <= hi) if b == "gamma" else (f < hi))].sum()
        for b, (lo, hi) in E.BANDS.items()
    }
    assert max(sums, key=sums.get) == "gamma"


def test_coherence_shared_10hz_component():
    rng = np.random.default_rng(5)
    t = np.arange(int(120 * FS)) / FS
    common = np.sin(2 * np.pi * 10.0 * t)
    x = common + 0.5 * rng.standard_normal(t.size)
    y = 0.8 * np.roll(common, 3) + 0.5 * rng.standard_normal(t.size)
    f, C = E.coherence(x, y)
    f_ref, C_ref = signal.coherence(x, y, fs=FS, nperseg=500, noverlap=250)
    np.testing.assert_allclose(C, C_ref)
    assert C[np.argmin(np.abs(f - 10.0))] > 0.95
    far = (np.abs(f - 10.0) > 2.0) & (f > 0.5)
    assert C[far].mean() < 0.05
    bands, M = E.coherence_matrix(np.c_[x, y, rng.standard_normal(t.size)])
    ia = bands.index("alpha")
    band_ref = E.band_coherence(f, C)
    assert M[ia, 0, 1] == pytest.approx(band_ref["alpha"], rel=1e-12)
    assert M[ia, 0, 1] == M[ia, 1, 0]
    np.testing.assert_allclose(M[:, 0, 0], 1.0)
    assert M[ia, 0, 2] < 0.1 and M[bands.index("gamma"), 0, 1] < 0.05


@pytest.mark.parametrize(
    "T, nperseg, noverlap", [(3000, 500, 250), (2999, 256, 100), (300, 500, 250)]
)
def test_coherence_matrix_equals_scipy_for_every_pair(T, nperseg, noverlap):
    """Every pair of a 7-channel signal with shared components against scipy.signal.coherence
    (band means of its MSC), to 1e-10 relative; also a signal shorter than a segment."""
    rng = np.random.default_rng(11)
    t = np.arange(T) / FS
    common = np.sin(2 * np.pi * 9.0 * t) + np.sin(2 * np.pi * 22.0 * t)
    x = rng.standard_normal((T, 7)) + np.outer(common, rng.uniform(0, 1.5, 7)) + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy: nperseg greater than input
        bands, M = E.coherence_matrix(x, FS, nperseg=nperseg, noverlap=noverlap)
        for a in range(7):
            for b in range(7):
                if a == b:
                    np.testing.assert_array_equal(M[:, a, b], 1.0)
                    continue
                f, C = signal.coherence(x[:, a], x[:, b], fs=FS, nperseg=nperseg, noverlap=noverlap)
                ref = E.band_coherence(f, C)
                got = dict(zip(bands, M[:, a, b], strict=True))
                for band, v in ref.items():
                    assert got[band] == pytest.approx(v, rel=1e-10, abs=1e-14), (a, b, band)


def test_rate_summary_against_ranges():
    ranges = E.physiological_ranges()
    assert set(ranges) == {"GrC", "GoC", "MLI", "PC", "r_E", "r_I"}
    for r in ranges.values():
        assert 0 < r["low_hz"] < r["high_hz"] and r["sources"]
    rates = np.c_[np.full(500, 60.0), np.full(500, 500.0), np.full(500, 2.0)]
    s = E.rate_summary(rates, ["PC", "GoC", "other"]).set_index("population")
    assert s.loc["PC", "within_range"] is True
    assert s.loc["GoC", "within_range"] is False
    assert np.isnan(s.loc["other", "low_hz"])
    assert s.loc["PC", "mean_hz"] == 60.0
    with pytest.raises(CmftvbError, match="population names"):
        E.rate_summary(rates, ["PC"])
