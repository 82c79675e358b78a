"""Electrophysiological features of population rates (MODEL.md §8).

All functions take arrays with time on axis 0 and channels (populations or nodes) on axis 1,
plus plain parameters. Frequencies are in Hz, rates in Hz after :func:`resample`.

Pipeline: ``resample`` (to 250 Hz, kHz -> Hz) -> ``welch_psd`` (nperseg 500, noverlap 250,
normalised to the maximum) -> ``band_features`` / ``spectral_modes`` / ``coherence``;
``rate_summary`` compares mean rates with the ranges in ``physiology.yaml``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml
from scipy import signal

from cmftvb import CmftvbError
from cmftvb.connectome.validate import time_columns

__all__ = [
    "BANDS",
    "band_coherence",
    "band_features",
    "coherence",
    "coherence_matrix",
    "physiological_ranges",
    "rate_summary",
    "resample",
    "spectral_modes",
    "welch_psd",
]

#: Frequency bands (Hz), MODEL.md §8. A bin at frequency f belongs to band [lo, hi) except the
#: last band, which is closed [30, 100], so that the bands tile 0.5-100 Hz without overlap.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 100.0),
}


def _as_2d(x, name: str = "x") -> np.ndarray:
    return time_columns(x, name, "channels")


def _band_masks(f: np.ndarray, bands) -> dict[str, np.ndarray]:
    names = list(bands)
    masks = {}
    for i, name in enumerate(names):
        lo, hi = bands[name]
        last = i == len(names) - 1
        masks[name] = (f >= lo) & ((f <= hi) if last else (f < hi))
    return masks


def resample(rates, dt_ms: float, fs_hz: float = 250.0, *, unit: str = "kHz") -> np.ndarray:
    """Resample rates sampled every ``dt_ms`` ms to ``fs_hz`` Hz, returned in Hz.

    ``unit`` is the unit of ``rates``: ``"kHz"`` (the engine's, multiplied by 1000) or ``"Hz"``.
    Uses polyphase filtering (``scipy.signal.resample_poly``, Kaiser-window anti-aliasing FIR,
    ``padtype="line"`` to limit edge effects); the ratio ``fs_hz * dt_ms / 1000`` must be a
    rational number with denominator at most 10000. Row ``j`` of the result is at time
    ``j / fs_hz`` s after the first input row.
    """
    a = _as_2d(rates, "rates")
    if unit == "kHz":
        a = a * 1000.0
    elif unit != "Hz":
        raise CmftvbError(f"resample: unit must be 'kHz' or 'Hz', got {unit!r}")
    if not (dt_ms > 0 and fs_hz > 0):
        raise CmftvbError(f"resample: dt_ms and fs_hz must be > 0, got {dt_ms}, {fs_hz}")
    ratio = Fraction(fs_hz * dt_ms / 1000.0).limit_denominator(10000)
    if abs(float(ratio) - fs_hz * dt_ms / 1000.0) > 1e-12:
        raise CmftvbError(f"resample: {fs_hz} Hz from dt_ms={dt_ms} is not a simple ratio")
    if ratio == 1:
        return a
    return signal.resample_poly(a, ratio.numerator, ratio.denominator, axis=0, padtype="line")


def welch_psd(
    x, fs_hz: float = 250.0, *, nperseg: int = 500, noverlap: int = 250, normalise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density per channel (``scipy.signal.welch``, Hann window,
    constant detrend, density scaling).

    Returns ``(f, P)`` with ``f`` (F,) in Hz and ``P`` (F, C); with ``normalise`` each channel is
    divided by its maximum (MODEL.md §8), so ``P.max(axis=0) == 1`` (a flat-zero channel stays
    zero). At 250 Hz, nperseg 500 gives 0.5 Hz bins.
    """
    a = _as_2d(x)
    if a.shape[0] < nperseg:
        raise CmftvbError(
            f"welch_psd: {a.shape[0]} samples is shorter than nperseg={nperseg} "
            f"({nperseg / fs_hz:g} s at {fs_hz:g} Hz)"
        )
    f, P = signal.welch(a, fs=fs_hz, nperseg=nperseg, noverlap=noverlap, axis=0)
    if normalise:
        m = P.max(axis=0)
        P = P / np.where(m > 0, m, 1.0)
    return f, P


def band_features(
    f, P, bands: dict | None = None, *, threshold: float = 0.2, channels=None
) -> pd.DataFrame:
    """Per channel and band: area, dominant frequency, number of bins above threshold.

    - ``area``: rectangle rule ``sum(P[bins in band]) * df`` (units of P times Hz), so the band
      areas add up to the area of 0.5-100 Hz (the authors' analysis code integrates with the
      trapezoid rule over closed intervals, which counts the boundary bins in two bands);
    - ``rel_area``: area divided by the area over all bands;
    - ``dominant_hz``: frequency of the largest P within the band;
    - ``n_bins_above``: number of the band's bins with P > ``threshold`` x the channel's
      maximum over the whole spectrum (MODEL.md §8: 0.2 x max).

    Returns a tidy DataFrame with columns channel, band, area, rel_area, dominant_hz,
    n_bins_above (``channel`` is the column index or the given ``channels`` labels).
    """
    bands = BANDS if bands is None else bands
    f = np.asarray(f, dtype=float)
    P = _as_2d(P, "P")
    if P.shape[0] != f.size:
        raise CmftvbError(f"band_features: P has {P.shape[0]} bins but f has {f.size}")
    df = f[1] - f[0]
    masks = _band_masks(f, bands)
    total = sum(P[m].sum(axis=0) for m in masks.values()) * df
    gmax = P.max(axis=0)
    names = list(range(P.shape[1])) if channels is None else list(channels)
    rows = []
    for c, ch in enumerate(names):
        for band, m in masks.items():
            if not m.any():
                raise CmftvbError(f"band_features: band {band} {bands[band]} has no bins")
            pb = P[m, c]
            area = pb.sum() * df
            rows.append(
                {
                    "channel": ch,
                    "band": band,
                    "area": area,
                    "rel_area": area / total[c] if total[c] > 0 else np.nan,
                    "dominant_hz": f[m][np.argmax(pb)],
                    "n_bins_above": int(np.sum(pb > threshold * gmax[c])),
                }
            )
    return pd.DataFrame(rows)


def spectral_modes(
    x,
    fs_hz: float = 250.0,
    *,
    window_s: float = 2.0,
    step_s: float = 1.0,
    bands: dict | None = None,
    measure: str = "power",
) -> pd.DataFrame:
    """Share of sliding windows in which each band dominates ("spectral modes").

    After Capilla et al. (2022, NeuroImage 258:119373), who characterise brain regions by the
    frequencies that dominate their short-time spectra (MODEL.md §8). The signal is cut into
    windows of ``window_s`` (default 2 s = 500 samples at 250 Hz: 0.5 Hz resolution, enough for
    the delta band) advanced by ``step_s`` (default 1 s, i.e. 50 % overlap; the same window and
    step as the authors' public analysis code); each window is demeaned, Hann-tapered and
    Fourier transformed (a one-segment periodogram). The winning band of a window is

    - ``measure="power"`` (default): the band with the largest summed power over its bins
      (band power; bins assigned as in :data:`BANDS`, no bin counted twice);
    - ``measure="peak"``: the band holding the window's highest bin, i.e. the band of the peak
      frequency (closer to Capilla et al.'s natural frequency; not biased towards wide bands).

    Returns a DataFrame with columns channel, band, share (shares of a channel sum to 1).
    """
    bands = BANDS if bands is None else bands
    if measure not in ("power", "peak"):
        raise CmftvbError(f"spectral_modes: measure must be 'power' or 'peak', got {measure!r}")
    a = _as_2d(x)
    nw = int(round(window_s * fs_hz))
    ns = int(round(step_s * fs_hz))
    if nw < 2 or ns < 1 or a.shape[0] < nw:
        raise CmftvbError(
            f"spectral_modes: {a.shape[0]} samples cannot hold a {window_s} s window "
            f"at {fs_hz} Hz (step {step_s} s)"
        )
    win = np.lib.stride_tricks.sliding_window_view(a, nw, axis=0)[::ns]  # (W, C, nw)
    win = win - win.mean(axis=-1, keepdims=True)
    spec = np.abs(np.fft.rfft(win * signal.get_window("hann", nw), axis=-1)) ** 2
    f = np.fft.rfftfreq(nw, 1.0 / fs_hz)
    masks = _band_masks(f, bands)
    names = list(masks)
    reduce = np.sum if measure == "power" else np.max
    score = np.stack([reduce(spec[..., m], axis=-1) for m in masks.values()], axis=-1)
    winner = score.argmax(axis=-1)  # (W, C)
    rows = []
    for c in range(a.shape[1]):
        counts = np.bincount(winner[:, c], minlength=len(names))
        for b, band in enumerate(names):
            rows.append({"channel": c, "band": band, "share": counts[b] / winner.shape[0]})
    return pd.DataFrame(rows)


def coherence(
    x, y, fs_hz: float = 250.0, *, nperseg: int = 500, noverlap: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude-squared coherence (``scipy.signal.coherence``, Welch, Hann) of two 1-D signals.

    MODEL.md §8: the article's method is unpublished; MSC is the project's choice. Returns
    ``(f, Cxy)`` with Cxy in [0, 1].
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise CmftvbError(
            f"coherence: x and y must be 1-D of equal length, got {x.shape}, {y.shape}"
        )
    return signal.coherence(x, y, fs=fs_hz, nperseg=nperseg, noverlap=noverlap)


def band_coherence(f, C, bands: dict | None = None) -> dict[str, float]:
    """Mean coherence over the bins of each band (bins as in :data:`BANDS`)."""
    bands = BANDS if bands is None else bands
    f = np.asarray(f, dtype=float)
    C = np.asarray(C, dtype=float)
    return {b: float(C[..., m].mean(axis=-1)) for b, m in _band_masks(f, bands).items()}


def coherence_matrix(
    x, fs_hz: float = 250.0, bands: dict | None = None, *, nperseg: int = 500, noverlap: int = 250
) -> tuple[list[str], np.ndarray]:
    """Band-mean magnitude-squared coherence between every pair of channels of ``x`` (T, C).

    Use it between the populations of one node (columns GrC, GoC, MLI, PC) or between nodes
    (one population per node). Returns ``(band_names, M)`` with ``M`` (B, C, C), symmetric,
    diagonal 1.

    The estimate is ``scipy.signal.coherence``'s (Welch: Hann window of ``nperseg`` samples,
    ``noverlap`` overlap, each segment's mean removed, spectra averaged over segments):
    ``|mean_k X_i* X_j|^2 / (mean_k |X_i|^2 mean_k |X_j|^2)`` per frequency, then averaged
    over the band. Each channel is Fourier transformed once and the cross-spectra of all
    pairs are formed per band, so memory is O(segments x frequencies x C + band bins x C^2)
    instead of scipy's per-pair copies of the whole signal (which took 15 GB for 127 nodes of
    190 s); ``tests/test_signals_ephys.py`` checks it against ``scipy.signal.coherence``.
    """
    bands = BANDS if bands is None else bands
    a = _as_2d(x)
    T, C = a.shape
    if T < nperseg:  # scipy shortens the segment to the signal (with a warning): keep its way
        i, j = np.triu_indices(C, k=1)
        f, Cxy = signal.coherence(
            a[:, i], a[:, j], fs=fs_hz, nperseg=nperseg, noverlap=noverlap, axis=0
        )  # (F, pairs)
        masks = _band_masks(f, bands)
        M = np.ones((len(masks), C, C))
        for b, m in enumerate(masks.values()):
            M[b, i, j] = M[b, j, i] = Cxy[m].mean(axis=0)
        return list(masks), M
    step = nperseg - noverlap
    if step <= 0:
        raise CmftvbError(f"coherence: noverlap ({noverlap}) must be less than nperseg ({nperseg})")
    K = (T - noverlap) // step
    f = np.fft.rfftfreq(nperseg, 1.0 / fs_hz)
    masks = _band_masks(f, bands)
    win = signal.get_window("hann", nperseg)
    used = np.logical_or.reduce(list(masks.values()))  # the bins some band averages
    X = np.empty((K, int(used.sum()), C), dtype=np.complex128)
    for k in range(K):  # one segment at a time: (nperseg, C) in memory
        seg = a[k * step : k * step + nperseg]
        seg = (seg - seg.mean(axis=0)) * win[:, None]
        X[k] = np.fft.rfft(seg, axis=0)[used]
    M = np.ones((len(masks), C, C))
    for b, m in enumerate(masks.values()):
        Xb = X[:, m[used]]
        Pxy = np.einsum("kfc,kfd->fcd", Xb.conj(), Xb, optimize=True)  # (F_band, C, C)
        Pxx = np.real(np.einsum("fcc->fc", Pxy))
        coh = np.abs(Pxy) ** 2 / (Pxx[:, :, None] * Pxx[:, None, :])
        M[b] = coh.mean(axis=0)
        np.fill_diagonal(M[b], 1.0)
    return list(masks), M


@cache
def _load_ranges() -> dict:
    text = resources.files("cmftvb.signals").joinpath("physiology.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def physiological_ranges() -> dict:
    """Indicative firing-rate ranges (Hz) with sources, from ``signals/physiology.yaml``.

    Keys GrC, GoC, MLI, PC (cerebellar populations) and r_E, r_I (Wong-Wang); each value has
    ``low_hz``, ``high_hz``, ``description``, ``sources``.
    """
    return {k: dict(v) for k, v in _load_ranges().items()}


def rate_summary(rates_hz, populations, *, discard_s: float = 0.0, fs_hz: float = 250.0):
    """Summarise rates (Hz) per column against the physiological ranges.

    ``rates_hz`` (T, C) sampled at ``fs_hz``; ``populations`` names each column's population
    (a key of :func:`physiological_ranges`, or any other name, which gets no range). The first
    ``discard_s`` seconds are dropped. Returns a DataFrame with columns population, mean_hz,
    sd_hz, min_hz, max_hz, low_hz, high_hz, within_range (mean inside [low, high]; NaN when no
    range is known).
    """
    a = _as_2d(rates_hz, "rates_hz")
    pops = list(populations)
    if len(pops) != a.shape[1]:
        raise CmftvbError(f"rate_summary: {len(pops)} population names for {a.shape[1]} columns")
    n0 = int(round(discard_s * fs_hz))
    if n0 >= a.shape[0]:
        raise CmftvbError(f"rate_summary: discard_s={discard_s} leaves no samples")
    a = a[n0:]
    ranges = _load_ranges()
    rows = []
    for c, pop in enumerate(pops):
        r = ranges.get(pop)
        lo = r["low_hz"] if r else np.nan
        hi = r["high_hz"] if r else np.nan
        m = a[:, c].mean()
        rows.append(
            {
                "population": pop,
                "mean_hz": m,
                "sd_hz": a[:, c].std(),
                "min_hz": a[:, c].min(),
                "max_hz": a[:, c].max(),
                "low_hz": lo,
                "high_hz": hi,
                "within_range": bool(lo <= m <= hi) if r else np.nan,
            }
        )
    return pd.DataFrame(rows)
