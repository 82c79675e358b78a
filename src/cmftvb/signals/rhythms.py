"""Rhythms with evidence (issue 12): absolute Welch spectra, the dominant frequency, the most
prominent spectral peak judged against a local background, absolute band powers, and the
single-node tools used to ask when the cerebellar mean field produces band peaks.

Signal-stage science split out of :mod:`cmftvb.signals.analyses` (which re-exports it). Units:
rates in Hz unless a name says kHz, frequencies in Hz, spectral densities in Hz^2/Hz.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal, stats

from cmftvb import CmftvbError
from cmftvb.models import crbl
from cmftvb.signals import ephys

POPS = crbl.POPS
# ---------------------------------------------------------------------------------------------
# 4. Rhythms
# ---------------------------------------------------------------------------------------------


def unnormalised_spectra(
    rates_hz, fs_hz: float = 250.0, *, nperseg: int = 500, noverlap: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD without the max-normalisation (``ephys.welch_psd(normalise=False)``).

    ``rates_hz`` (T, C) in Hz at ``fs_hz``; returns ``(f, P)``, P (F, C) in Hz^2/Hz (the mean
    is removed per segment, so P at 0 Hz is not the mean rate).
    """
    return ephys.welch_psd(rates_hz, fs_hz, nperseg=nperseg, noverlap=noverlap, normalise=False)


def welch_dof(n_samples: int, nperseg: int = 500, noverlap: int = 250) -> float:
    """Equivalent degrees of freedom of a Welch estimate with a Hann window.

    K segments (``scipy.signal.welch``'s count); with 50 % overlap
    ``36 K^2 / (19 K - 1)`` (Percival & Walden 1993, Spectral Analysis for Physical
    Applications, eq. 292b), without overlap ``2 K``; other overlaps are not supported.
    """
    if nperseg < 2 or n_samples < nperseg:
        raise CmftvbError(f"welch_dof: {n_samples} samples, nperseg {nperseg}")
    step = nperseg - noverlap
    K = (n_samples - noverlap) // step
    if noverlap == 0:
        return 2.0 * K
    if 2 * noverlap == nperseg:
        return 36.0 * K**2 / (19.0 * K - 1.0)
    raise CmftvbError("welch_dof: only 0 or 50 % overlap are supported")


def _local_ratio(f: np.ndarray, p: np.ndarray, k: int, half: int) -> float:
    """P[k] over the local background at f[k]: a quadratic fitted (least squares) to log P
    within ``k +- half`` bins, the bins ``k - 1 .. k + 1`` and the 0-Hz bin left out; a
    straight line where one side has fewer than ``half / 2`` bins (near the ends of the
    spectrum, where a quadratic would extrapolate); 1.0 with fewer than 4 bins."""
    j = np.r_[max(0, k - half) : max(0, k - 1), k + 2 : min(p.size, k + half + 1)]
    j = j[(p[j] > 0) & (f[j] > 0)]
    if j.size < 4 or not p[k] > 0:
        return 1.0
    one_sided = min(np.sum(j < k), np.sum(j > k)) < half / 2
    coef = np.polyfit(f[j] - f[k], np.log(p[j]), 1 if one_sided else 2)
    return float(p[k] / np.exp(coef[-1]))


def rhythm_table(
    f,
    P,
    channels: Sequence[Any] | None = None,
    *,
    bands: Mapping[str, tuple[float, float]] | None = None,
    fmin: float = 0.5,
    fmax: float = 100.0,
    background_hz: float = 5.0,
    min_rel_prominence: float = 0.3,
    dof: float | None = None,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Per channel: dominant frequency, the strongest spectral peak, absolute band power.

    ``f`` (F,) Hz, ``P`` (F, C) an un-normalised PSD (:func:`unnormalised_spectra`). Within
    ``[fmin, fmax]``:

    - ``dominant_hz``: frequency of the largest P;
    - local maxima from ``scipy.signal.find_peaks``; for each, ``ratio`` = its height over the
      local background: a quadratic fitted to log P within ``+- background_hz`` (over the whole
      spectrum, not only ``[fmin, fmax]``), the peak bin and its two neighbours left out
      (follows the slope and bend of a low-pass spectrum; a peak a few bins wide stands out, a
      bump as wide as the window does not). The peak with the largest
      ratio is reported: ``peak_hz``, ``peak_ratio``, ``peak_prominence`` (find_peaks'
      prominence, P units) and ``peak_rel_prominence`` (prominence / height, 0-1); a monotone
      spectrum has no local maximum (NaN, 1, 0, 0);
    - ``has_peak``: a band peak, not a wiggle of a noisy low-pass estimate. With ``dof`` (the
      degrees of freedom of the estimate, :func:`welch_dof`): ``log(peak_ratio)`` above the
      ``1 - alpha / n_bins`` normal quantile with variance ``3 / dof`` (a Welch estimate is P
      times a chi-square(dof)/dof variable, whose log has variance about 2/dof; the fitted
      background adds about half as much, as measured on white noise; Bonferroni over the
      ``n_bins`` bins searched).
      Without ``dof``: ``peak_rel_prominence >= min_rel_prominence``;
    - ``total_power``: rectangle-rule integral of P over ``[fmin, fmax]`` (Hz^2 for rates in Hz);
      ``power_<band>``: the same over each band of ``bands`` (default
      :data:`cmftvb.signals.ephys.BANDS`, bins as there).

    Returns one row per channel.
    """
    bands = ephys.BANDS if bands is None else bands
    f = np.asarray(f, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 1:
        P = P[:, None]
    if P.shape[0] != f.size:
        raise CmftvbError(f"rhythm table: P has {P.shape[0]} bins but f has {f.size}")
    df = f[1] - f[0]
    sel = (f >= fmin) & (f <= fmax)
    nb = int(sel.sum())
    if nb < 3:
        raise CmftvbError(f"rhythm table: fewer than 3 bins in [{fmin}, {fmax}] Hz")
    fs_ = f[sel]
    masks = ephys._band_masks(f, bands)
    names = list(range(P.shape[1])) if channels is None else list(channels)
    if dof is not None:
        crit = float(np.exp(stats.norm.isf(alpha / nb) * math.sqrt(3.0 / dof)))
    half = max(1, int(round(background_hz / df)))
    rows = []
    for c, ch in enumerate(names):
        p = P[sel, c]
        row = {"channel": ch, "dominant_hz": float(fs_[np.argmax(p)])}
        peaks, props = signal.find_peaks(p, prominence=0.0)
        if peaks.size:
            off = int(np.flatnonzero(sel)[0])  # background windows reach beyond [fmin, fmax]
            full = P[:, c]
            ratio = np.array([_local_ratio(f, full, k + off, half) for k in peaks])
            i = int(np.argmax(ratio))
            prom = float(props["prominences"][i])
            h = float(p[peaks[i]])
            row.update(
                peak_hz=float(fs_[peaks[i]]),
                peak_ratio=float(ratio[i]),
                peak_prominence=prom,
                peak_rel_prominence=prom / h if h > 0 else 0.0,
            )
        else:
            row.update(peak_hz=np.nan, peak_ratio=1.0, peak_prominence=0.0, peak_rel_prominence=0.0)
        if dof is not None:
            row["has_peak"] = bool(row["peak_ratio"] > crit)
        else:
            row["has_peak"] = bool(row["peak_rel_prominence"] >= min_rel_prominence)
        row["total_power"] = float(p.sum() * df)
        for band, m in masks.items():
            row[f"power_{band}"] = float(P[m, c].sum() * df)
        rows.append(row)
    return pd.DataFrame(rows)


def node_linear_modes(preset: Mapping, mossy_hz: Sequence[float]) -> pd.DataFrame:
    """Linear modes of an isolated cerebellar node at its steady state (rhythm evidence).

    For each mossy rate: the first-order steady state (:func:`cmftvb.models.nodecurve.
    steady_state`, from a silent node), the Jacobian of the vector field there,
    ``(dF/dnu - I) / T`` (``crbl.derivatives``, central differences), and its eigenvalues.
    A complex pair ``lambda = -a +- i w`` (1/ms) makes the node a damped resonator: driven by
    white noise its spectrum peaks near ``f = w / (2 pi)`` when the damping ratio
    ``zeta = a / |lambda|`` is below ``1/sqrt(2)``, and not at all for real eigenvalues.
    Returns rows ``mossy_hz, GrC_hz, GoC_hz, MLI_hz, PC_hz, mode, re_per_s, freq_hz, zeta``,
    one per eigenvalue (complex pairs once, ``freq_hz`` = 0 for real modes).
    """
    from cmftvb.models import nodecurve

    p = crbl.pack(preset)
    T = float(preset["crbl"]["T"])
    rows = []
    names = [f"{q}_hz" for q in POPS]
    for m in mossy_hz:
        ss = nodecurve.steady_state(float(m), preset, 1)
        f = np.empty(4)
        jac = np.empty((4, 4))
        hess = np.empty((4, 4, 4))
        crbl.derivatives(ss * 1e-3, float(m) * 1e-3, 0.0, p, f, jac, hess)
        ev = np.linalg.eigvals((jac - np.eye(4)) / T)
        ev = ev[np.imag(ev) >= 0]
        for k, lam in enumerate(sorted(ev, key=lambda z: -z.real)):
            rows.append(
                {"mossy_hz": float(m), **dict(zip(names, ss.tolist(), strict=True)),
                 "mode": k, "re_per_s": float(lam.real * 1e3),
                 "freq_hz": float(abs(lam.imag) * 1e3 / (2 * math.pi)),
                 "zeta": float(-lam.real / abs(lam)) if abs(lam) > 0 else np.nan}
            )  # fmt: skip
    return pd.DataFrame(rows)


def single_node_rates(
    preset: Mapping,
    mossy_hz: Sequence[float],
    *,
    duration_ms: float,
    dt_ms: float | None = None,
    noise_sigma: float | None = None,
    seed: int = 0,
    period_ms: float = 4.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Isolated cerebellar nodes under constant mossy drive plus the preset's background and
    noise, integrated together (one node per mossy rate; rhythm investigation).

    Mirrors the engine's node (MODEL.md §2.1, §5; :mod:`cmftvb.engine.core`): stochastic Heun
    with additive noise ``noise_sigma`` per sqrt(ms) on the four rates (kHz), rates clipped at
    0 after each stage, mossy input ``mossy + background`` where the background is the preset's
    (``ou``: ``weight x u`` with ``du = -u/tau dt + noise``; ``constant``: ``mean``), no
    parallel fibres. Starts at the deterministic steady state. Noise from
    ``numpy.random.default_rng(seed)`` (not the engine's streams). Returns ``(time_ms, rates)``
    with ``rates`` (T, M, 4) in Hz, mean over each ``period_ms``.
    """
    from cmftvb.models import nodecurve

    pr = preset
    dt = float(pr["integration"]["dt"] if dt_ms is None else dt_ms)
    sig = float(pr["integration"]["noise_sigma"] if noise_sigma is None else noise_sigma)
    every = int(round(period_ms / dt))
    nsteps = int(round(duration_ms / dt))
    if every < 1 or nsteps < every:
        raise CmftvbError("single_node_rates: duration shorter than one period")
    p = crbl.pack(pr)
    mf = np.asarray(mossy_hz, dtype=np.float64) * 1e-3
    M = mf.size
    x = np.array([nodecurve.steady_state(float(m), pr, 1) * 1e-3 for m in mossy_hz]).T
    bgp = pr["crbl"]["background"]
    kind = bgp["kind"]
    w, tau, mean = float(bgp["weight"]), float(bgp["tau"]), float(bgp["mean"])
    u = np.zeros(M)
    rng = np.random.default_rng(seed)
    sq = sig * math.sqrt(dt)
    out = np.zeros((nsteps // every, M, 4))
    acc = np.zeros((4, M))
    for s in range(nsteps):
        z = sq * rng.standard_normal((5, M))
        b = w * u if kind == "ou" else (mean if kind == "constant" else 0.0)
        d = crbl.dfun_nodes(x[0], x[1], x[2], x[3], mf + b, 0.0, p)
        du = -u / tau
        xa = np.maximum(x + dt * d + z[:4], 0.0)
        ua = u + dt * du + z[4]
        b2 = w * ua if kind == "ou" else (mean if kind == "constant" else 0.0)
        d2 = crbl.dfun_nodes(xa[0], xa[1], xa[2], xa[3], mf + b2, 0.0, p)
        x = np.maximum(x + 0.5 * dt * (d + d2) + z[:4], 0.0)
        u = u + 0.5 * dt * (du - ua / tau) + z[4]
        acc += x
        if (s + 1) % every == 0:
            out[(s + 1) // every - 1] = (acc / every).T * 1e3
            acc[:] = 0.0
    t = (np.arange(out.shape[0]) + 0.5) * every * dt
    return t, out
