"""Streaming signal accumulators: the signal stage without storing the monitored activity.

Each accumulator receives the monitored samples of one lane chunk by chunk (``update(chunk)``,
``chunk`` a (t, k) float array of consecutive samples, any ``t >= 0``) and holds only what the
offline computation still needs, so its memory does not grow with simulated time (issue 15
item 1). ``result()`` returns what the offline function returns on the concatenated input:

- :class:`StreamingBold`: BOLD at the TR, equal to :func:`cmftvb.signals.run.simulated_bold`
  (TVB's Volterra-kernel monitor, :func:`cmftvb.signals.bold.bold_tvb_kernel`, or the
  Balloon-Windkessel model, :func:`cmftvb.signals.bold.bold_balloon`, then
  :func:`cmftvb.signals.bold.drop_transient`). Holds the kernel's 20 s of 4-ms bins (or the
  four haemodynamic states per node) plus the output volumes.
- :class:`StreamingWelch`: Welch spectra (``scipy.signal.welch`` as wrapped by
  :func:`cmftvb.signals.ephys.welch_psd`), optionally the band-summed cross-spectra behind
  :func:`cmftvb.signals.ephys.coherence_matrix`, the cross-spectra of chosen channel pairs
  behind ``scipy.signal.coherence`` (:func:`cmftvb.signals.ephys.coherence`) and the per-window
  band winners of :func:`cmftvb.signals.ephys.spectral_modes`. Holds one partial segment and
  the sums.
- :class:`StreamingMoments`: mean, SD, minimum and maximum per column after a transient
  (the mean rates of :func:`cmftvb.signals.ephys.rate_summary` and
  :func:`cmftvb.signals.run.lane_regime`).
- :class:`Excerpt`: the first ``n_samples`` samples from a given sample index (rate traces).

The arithmetic per BOLD volume is the offline one (same bin means, same kernel dot product,
same RK4 code), so BOLD agrees to the last bit in the tests; Welch sums run over segments in
chunk order instead of numpy's pairwise mean, so spectra agree to ~1e-15 relative
(``tests/test_signals_stream.py`` checks 1e-10). ``held_nbytes`` reports the bytes of the
arrays an accumulator holds between chunks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.fft
from scipy import signal

from cmftvb import CmftvbError
from cmftvb.signals import bold as sbold
from cmftvb.signals import ephys
from cmftvb.signals.bold import _balloon_rk4_carry

__all__ = ["BOLD_MODELS", "Excerpt", "StreamingBold", "StreamingMoments", "StreamingWelch"]

BOLD_MODELS = ("tvb_kernel", "balloon")


def _scale(scale, n_cols: int, who: str):
    """A float, or a (n_cols,) float array applied column by column; None for 1."""
    a = np.asarray(scale, dtype=np.float64)
    if a.ndim == 0:
        return None if float(a) == 1.0 else float(a)
    if a.shape != (n_cols,):
        raise CmftvbError(f"{who}: scale must be a number or ({n_cols},), got shape {a.shape}")
    return None if np.all(a == 1.0) else a


def _chunk(chunk, n_cols: int, who: str) -> np.ndarray:
    a = np.asarray(chunk, dtype=np.float64)
    if a.ndim == 1 and n_cols == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != n_cols:
        raise CmftvbError(f"{who}.update: expected a chunk (t, {n_cols}), got shape {a.shape}")
    return a


def _after_skip(acc, chunk, who: str):
    """The part of ``chunk`` after ``acc.skip`` samples of the whole stream (``acc._seen``
    counts them), scaled by ``acc.scale``; None while the stream is still in the skip."""
    a = _chunk(chunk, acc.C, who)
    t0 = acc._seen
    acc._seen += a.shape[0]
    if acc._seen <= acc.skip:
        return None
    if t0 < acc.skip:
        a = a[acc.skip - t0 :]
    return a * acc.scale if acc.scale is not None else a


class _BlockMean:
    """Means over consecutive blocks of ``n`` samples, carrying a partial block between chunks
    (the ``reshape(K, n, N).mean(axis=1)`` of :func:`bold_tvb_kernel` / :func:`balloon_input`)."""

    def __init__(self, n: int, n_cols: int):
        self.n = n
        self.pending = np.empty((n, n_cols))
        self.count = 0

    def push(self, a: np.ndarray) -> np.ndarray:
        n, N = self.n, a.shape[1]
        if self.count + a.shape[0] < n:
            self.pending[self.count : self.count + a.shape[0]] = a
            self.count += a.shape[0]
            return np.empty((0, N))
        if self.count:
            head = n - self.count
            self.pending[self.count :] = a[:head]
            first = self.pending.reshape(1, n, N).mean(axis=1)
            a = a[head:]
        else:
            first = np.empty((0, N))
        K = a.shape[0] // n
        rest = a[: K * n].reshape(K, n, N).mean(axis=1)
        tail = a.shape[0] - K * n
        self.pending[:tail] = a[K * n :]
        self.count = tail
        return np.concatenate([first, rest]) if first.shape[0] else rest


def _balloon_step_ms(dt_ms: float, tr_ms: float) -> float:
    """:func:`bold_balloon`'s default integration step (ms)."""
    step_ms = max(dt_ms, 10.0)
    if (
        abs(tr_ms / step_ms - round(tr_ms / step_ms)) > 1e-9
        or abs(step_ms / dt_ms - round(step_ms / dt_ms)) > 1e-9
    ):
        step_ms = dt_ms
    return step_ms


class StreamingBold:
    """BOLD at the TR from the BOLD input streamed chunk by chunk.

    Parameters
    ----------
    model : "tvb_kernel" or "balloon"
        As ``bold_model`` of :func:`cmftvb.signals.run.simulated_bold` (default parameters of
        :func:`cmftvb.signals.bold.bold_tvb_kernel` / :func:`cmftvb.signals.bold.bold_balloon`,
        the Balloon input not normalised).
    dt_ms : float
        Sampling period of the input (ms); sample ``i`` (0-based, over all chunks) is the
        activity at ``(i + 1) dt_ms``. For ``tvb_kernel`` 4 ms must be a multiple of it.
    tr_ms : float
        Repetition time (ms), a multiple of ``dt_ms``.
    transient_s : float
        Seconds of BOLD dropped at the start (``drop_transient(seconds=...)``: the first
        ``ceil(transient_s * 1000 / tr_ms)`` volumes are never stored).
    n_nodes : int
        Columns of every chunk.

    ``update(chunk)`` takes (t, n_nodes) samples; ``result()`` returns the BOLD (V, n_nodes)
    after the transient, volume ``m`` of the whole run at ``(m + 1) tr_ms``, equal to
    ``simulated_bold(concatenated input, dt_ms, tr_ms, model, transient_s)``; it raises
    :class:`CmftvbError` when the transient leaves no volume. Held memory per node: a ring of
    5000 + 1024 4-ms bins (the kernel's 20 s and room to append; 7.3 MB for 127 nodes) for
    ``tvb_kernel``, 4 states for ``balloon``; plus the kept volumes (8 bytes per node and TR).
    """

    def __init__(self, model: str, dt_ms: float, tr_ms: float, transient_s: float, n_nodes: int):
        if model not in BOLD_MODELS:
            raise CmftvbError(f"bold_model must be one of {', '.join(BOLD_MODELS)}, got {model!r}")
        self.model = model
        self.dt_ms, self.tr_ms, self.N = float(dt_ms), float(tr_ms), int(n_nodes)
        self.n_tr = sbold._steps(self.tr_ms, self.dt_ms, "tr_ms")
        self.n_drop = int(math.ceil(float(transient_s) * 1000.0 / self.tr_ms - 1e-9))
        if self.n_drop < 0:
            raise CmftvbError(f"bold transient_s must be >= 0, got {transient_s!r}")
        self.n_samples = 0  # samples received
        self.n_volumes = 0  # volumes computed (kept or dropped)
        self._volumes: list[np.ndarray] = []
        d = sbold.TVB_VOLTERRA_DEFAULTS
        if model == "tvb_kernel":
            self.n_bin = sbold._steps(d["bin_ms"], self.dt_ms, "4 ms BOLD bin")
            G = sbold.tvb_volterra_kernel(d["tau_s"], d["tau_f"], d["hrf_length_ms"], d["bin_ms"])
            n = G.size
            c = np.empty(n)
            c[0] = G[n - 1]
            c[1:] = G[: n - 1]
            self._c_rev = c[::-1]
            self._n = n
            self._gain = d["k_1"] * d["V_0"]
            self._bins = _BlockMean(self.n_bin, self.N)
            # ring of bins: row r holds bin self._base + r; bins before the run are zero
            self._buf = np.zeros((n + 1024, self.N))
            self._fill = n - 1
            self._base = -(n - 1)
        else:
            self._p = sbold._balloon_params(None)
            step_ms = _balloon_step_ms(self.dt_ms, self.tr_ms)
            self._h_s = step_ms / 1000.0
            self._n_per_tr = sbold._steps(self.tr_ms, step_ms, "tr_ms (relative to step_ms)")
            self._blocks = _BlockMean(sbold._steps(step_ms, self.dt_ms, "step_ms"), self.N)
            self._state = np.empty((4, self.N))
            self._state[0], self._state[1:] = 0.0, 1.0
            self._k = 0  # integration steps done

    def _keep(self, rows: np.ndarray) -> None:
        for row in rows:
            if self.n_volumes >= self.n_drop:
                self._volumes.append(row)
            self.n_volumes += 1

    def update(self, chunk) -> None:
        a = _chunk(chunk, self.N, "StreamingBold")
        if a.shape[0] == 0:
            return
        self.n_samples += a.shape[0]
        if self.model == "tvb_kernel":
            self._kernel_update(self._bins.push(a))
        else:
            self._balloon_update(self._blocks.push(a))

    def _kernel_update(self, bins: np.ndarray) -> None:
        n, buf = self._n, self._buf
        done = 0
        while True:
            take = min(bins.shape[0] - done, buf.shape[0] - self._fill)
            buf[self._fill : self._fill + take] = bins[done : done + take]
            self._fill += take
            done += take
            last_bin = self._base + self._fill - 1  # newest complete bin
            rows = []
            while True:
                m = self.n_volumes + len(rows)
                if (m + 1) * self.n_tr > self.n_samples:
                    break
                b = ((m + 1) * self.n_tr) // self.n_bin - 1
                if b > last_bin:
                    break
                if b < 0:
                    out = np.zeros(self.N)
                else:
                    r = b - (n - 1) - self._base
                    out = self._c_rev @ buf[r : r + n]
                rows.append((out - 1.0) * self._gain)
            self._keep(rows)
            if done == bins.shape[0]:
                break
            # keep the newest n bins: every volume still to come needs only those
            keep = min(n, self._fill)
            buf[:keep] = buf[self._fill - keep : self._fill].copy()
            self._base += self._fill - keep
            self._fill = keep

    def _balloon_update(self, u: np.ndarray) -> None:
        if u.shape[0] == 0:
            return
        n_out = (self._k + u.shape[0]) // self._n_per_tr - self._k // self._n_per_tr
        out = np.full((n_out, self.N), np.nan)
        ok = _balloon_rk4_carry(
            np.ascontiguousarray(u), self._h_s, self._n_per_tr, self._p, self._state, self._k, out
        )
        if not ok:
            raise CmftvbError(
                "bold_balloon: haemodynamic state left its domain (f, v, q must stay > 0); "
                "the input is too large - consider normalise='zscore' or 'max'"
            )
        self._k += u.shape[0]
        self._keep(out)

    def result(self) -> np.ndarray:
        """BOLD (V, n_nodes) after the transient (dimensionless)."""
        if self.n_drop >= self.n_volumes:
            raise CmftvbError(
                f"drop_transient: dropping {self.n_drop} volumes leaves nothing of {self.n_volumes}"
            )
        return np.array(self._volumes).reshape(len(self._volumes), self.N)

    @property
    def held_nbytes(self) -> int:
        """Bytes of the arrays held between chunks (kernel ring or states, kept volumes)."""
        if self.model == "tvb_kernel":
            held = self._buf.nbytes + self._bins.pending.nbytes + self._c_rev.nbytes
        else:
            held = self._state.nbytes + self._blocks.pending.nbytes + self._p.nbytes
        return held + sum(v.nbytes for v in self._volumes)


class StreamingWelch:
    """Welch spectra (and cross-spectra) accumulated segment by segment.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the chunks (Hz). The signal stage resamples to 250 Hz first; with the
        monitor at 4 ms that resampling is the identity, so chunks are the monitored samples.
    nperseg, noverlap : int
        Welch segment length and overlap (samples): Hann window, each segment's mean removed,
        density scaling, one-sided (``scipy.signal.welch`` defaults). Segment ``k`` covers
        samples ``k (nperseg - noverlap) .. + nperseg`` after the skipped ones; a trailing
        partial segment is unused, as in scipy.
    n_channels : int
        Columns of every chunk (nodes, or several populations side by side).
    skip_samples : int
        Samples dropped at the start (``int(round(ephys_transient_s * fs_hz))``, the
        ``[skip:]`` of :func:`cmftvb.signals.run.one_lane`).
    scale : float or array (n_channels,)
        Factor applied to every sample (or per column) before the analysis (1000.0 for cMF
        rates in kHz, as ``ephys.resample(unit="kHz")``; per column when populations in kHz and
        in Hz share one accumulator).
    bands : dict, optional
        Bands (Hz) for the cross-spectral sums and spectral modes (default ``ephys.BANDS``).
    coherence : bool
        Accumulate the band cross-spectra of every channel pair for :meth:`coherence_matrix`
        (memory: 16 bytes x band bins x n_channels (n_channels + 1) / 2, 26 MB for 200 bins
        and 127 nodes).
    pairs : array (P, 2) of channel indices, optional
        Channel pairs whose full cross-spectrum is kept for :meth:`pair_coherence`.
    modes : bool
        Count per channel the band of largest power in every segment (:meth:`spectral_modes`;
        equal to ``ephys.spectral_modes`` when its 2-s window and 1-s step equal
        ``nperseg`` and ``nperseg - noverlap``).
    """

    def __init__(
        self,
        fs_hz: float,
        nperseg: int,
        noverlap: int,
        n_channels: int,
        *,
        skip_samples: int = 0,
        scale=1.0,
        bands: dict | None = None,
        coherence: bool = False,
        pairs=None,
        modes: bool = False,
    ):
        self.fs = float(fs_hz)
        self.nperseg, self.noverlap, self.C = int(nperseg), int(noverlap), int(n_channels)
        self.step = self.nperseg - self.noverlap
        if self.nperseg < 2 or self.step <= 0 or self.noverlap < 0:
            raise CmftvbError(
                f"welch: need nperseg >= 2 and 0 <= noverlap < nperseg, got {nperseg}, {noverlap}"
            )
        if skip_samples < 0:
            raise CmftvbError(f"welch: skip_samples must be >= 0, got {skip_samples}")
        self.skip = int(skip_samples)
        self.scale = _scale(scale, self.C, "welch")
        self.bands = ephys.BANDS if bands is None else dict(bands)
        self.win = signal.get_window("hann", self.nperseg)
        self.f = scipy.fft.rfftfreq(self.nperseg, 1.0 / self.fs)
        self._masks = ephys._band_masks(self.f, self.bands)
        self.n_samples = 0  # samples used (after the skipped ones)
        self.n_segments = 0
        self._seen = 0  # samples received
        self._carry = np.empty((self.nperseg, self.C))
        self._count = 0
        self._psd = np.zeros((self.f.size, self.C))
        self._used = np.logical_or.reduce(list(self._masks.values()))
        # cross-spectral sums of the pairs i <= j only (the matrix is Hermitian), band bins;
        # the pair indices only then (2 x 8 x C(C+1)/2 bytes: 2 MB for 500 columns)
        self._iu = np.triu_indices(self.C) if coherence else None
        self._cross = (
            np.zeros((int(self._used.sum()), self._iu[0].size), dtype=np.complex128)
            if coherence
            else None
        )
        if pairs is not None:
            pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
            if pairs.size and (pairs.min() < 0 or pairs.max() >= self.C):
                raise CmftvbError(f"welch: pairs must index the {self.C} channels")
            self._pairs = pairs
            self._pair_sum = np.zeros((pairs.shape[0], self.f.size), dtype=np.complex128)
        else:
            self._pairs = self._pair_sum = None
        self._modes = np.zeros((self.C, len(self._masks)), dtype=np.int64) if modes else None

    def update(self, chunk) -> None:
        a = _after_skip(self, chunk, "StreamingWelch")
        if a is None:
            return
        self.n_samples += a.shape[0]
        if self._count + a.shape[0] < self.nperseg:
            self._carry[self._count : self._count + a.shape[0]] = a
            self._count += a.shape[0]
            return
        data = np.concatenate([self._carry[: self._count], a]) if self._count else a
        K = (data.shape[0] - self.nperseg) // self.step + 1
        segs = np.lib.stride_tricks.sliding_window_view(data, self.nperseg, axis=0)
        self._segments(segs[: (K - 1) * self.step + 1 : self.step])  # (K, C, nperseg)
        tail = data[K * self.step :]
        self._carry[: tail.shape[0]] = tail
        self._count = tail.shape[0]

    def _segments(self, segs: np.ndarray) -> None:
        d = segs - segs.mean(axis=-1, keepdims=True)
        X = scipy.fft.rfft(self.win * d, axis=-1)  # (K, C, F)
        self._psd += np.real(np.conjugate(X) * X).sum(axis=0).T
        self.n_segments += segs.shape[0]
        if self._cross is not None:
            # (F_used, K, C): per bin the (C, C) sum over segments X^H X, one batched matmul
            # (BLAS; twice numpy's einsum path here)
            Xu = np.ascontiguousarray(X[:, :, self._used].transpose(2, 0, 1))
            i, j = self._iu
            for f0 in range(0, Xu.shape[0], 16):  # temporaries of 16 bins x C^2 at most
                Xb = Xu[f0 : f0 + 16]
                S = np.matmul(Xb.conj().transpose(0, 2, 1), Xb)
                self._cross[f0 : f0 + 16] += S[:, i, j]
        if self._pair_sum is not None and self._pairs.size:
            i, j = self._pairs[:, 0], self._pairs[:, 1]
            self._pair_sum += (np.conjugate(X[:, i]) * X[:, j]).sum(axis=0)
        if self._modes is not None:
            power = np.real(np.conjugate(X) * X)
            score = np.stack([power[..., m].sum(axis=-1) for m in self._masks.values()], -1)
            winner = score.argmax(axis=-1)  # (K, C)
            for b in range(len(self._masks)):
                self._modes[:, b] += (winner == b).sum(axis=0)

    def _need_segments(self, what: str) -> None:
        if self.n_segments == 0:
            raise CmftvbError(
                f"{what}: {self.n_samples} samples is shorter than nperseg={self.nperseg} "
                f"({self.nperseg / self.fs:g} s at {self.fs:g} Hz)"
            )

    def _finish(self, S: np.ndarray, axis: int) -> np.ndarray:
        """Sums over segments -> scipy's scaled, one-sided, segment-averaged spectra."""
        P = S * (1.0 / (self.fs * (self.win * self.win).sum()))
        idx = [slice(None)] * P.ndim
        idx[axis] = slice(1, -1) if self.nperseg % 2 == 0 else slice(1, None)
        P[tuple(idx)] *= 2
        return P / self.n_segments

    def result(self, normalise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(f, P)``: f (F,) in Hz, P (F, n_channels) Welch PSD in units^2/Hz, equal to
        ``scipy.signal.welch`` (``normalise=False``, ``rhythms.unnormalised_spectra``) or to
        ``ephys.welch_psd`` (``normalise=True``: each channel divided by its maximum)."""
        self._need_segments("welch_psd")
        P = self._finish(self._psd.copy(), 0)
        if normalise:
            m = P.max(axis=0)
            P = P / np.where(m > 0, m, 1.0)
        return self.f.copy(), P

    def coherence_matrix(self) -> tuple[list[str], np.ndarray]:
        """``(band_names, M)``, M (B, C, C) band-mean magnitude-squared coherence, equal to
        ``ephys.coherence_matrix`` on the concatenated signal (needs ``coherence=True``)."""
        if self._cross is None:
            raise CmftvbError("coherence_matrix: StreamingWelch was made without coherence=True")
        self._need_segments("coherence_matrix")
        i, j = self._iu
        diag = i == j
        M = np.ones((len(self._masks), self.C, self.C))
        for b, m in enumerate(self._masks.values()):
            Pxy = self._cross[m[self._used]]  # (F_band, pairs i <= j)
            Pxx = np.real(Pxy[:, diag])  # (F_band, C), channel order
            coh = np.abs(Pxy) ** 2 / (Pxx[:, i] * Pxx[:, j])
            M[b][i, j] = M[b][j, i] = coh.mean(axis=0)
            np.fill_diagonal(M[b], 1.0)
        return list(self._masks), M

    def pair_coherence(self) -> tuple[np.ndarray, np.ndarray]:
        """``(f, Cxy)``, Cxy (P, F) magnitude-squared coherence of the ``pairs``, equal to
        ``scipy.signal.coherence(x[:, i], x[:, j], fs, nperseg=..., noverlap=...)``."""
        if self._pair_sum is None:
            raise CmftvbError("pair_coherence: StreamingWelch was made without pairs")
        self._need_segments("coherence")
        P = self._finish(self._psd.copy(), 0)
        Pxy = self._finish(self._pair_sum.copy(), 1)
        i, j = self._pairs[:, 0], self._pairs[:, 1]
        return self.f.copy(), np.abs(Pxy) ** 2 / P[:, i].T / P[:, j].T

    def spectral_modes(self) -> pd.DataFrame:
        """Share of segments in which each band has the largest power, per channel: the
        DataFrame (channel, band, share) of ``ephys.spectral_modes(measure="power")``."""
        if self._modes is None:
            raise CmftvbError("spectral_modes: StreamingWelch was made without modes=True")
        self._need_segments("spectral_modes")
        rows = [
            {"channel": c, "band": band, "share": self._modes[c, b] / self.n_segments}
            for c in range(self.C)
            for b, band in enumerate(self._masks)
        ]
        return pd.DataFrame(rows)

    @property
    def held_nbytes(self) -> int:
        """Bytes of the arrays held between chunks (partial segment and sums)."""
        held = self._carry.nbytes + self._psd.nbytes + self.win.nbytes + self.f.nbytes
        if self._iu is not None:
            held += self._iu[0].nbytes + self._iu[1].nbytes
        for a in (self._cross, self._pair_sum, self._modes):
            held += 0 if a is None else a.nbytes
        return held


class Excerpt:
    """The first ``n_samples`` samples from sample index ``start`` on (0-based over all
    chunks), e.g. a few seconds of rates after the transient for the rate-trace figure.

    ``update(chunk)`` takes (t, n_channels) samples; ``result()`` returns the (<= n_samples,
    n_channels) excerpt (fewer rows when the stream ended early), times
    ``start + 0, 1, ...`` samples.
    """

    def __init__(self, n_samples: int, n_channels: int, *, start: int = 0):
        if n_samples < 0 or start < 0:
            raise CmftvbError(
                f"excerpt: n_samples and start must be >= 0, got {n_samples}, {start}"
            )
        self.n, self.start, self.C = int(n_samples), int(start), int(n_channels)
        self._buf = np.empty((self.n, self.C))
        self._filled = 0
        self._seen = 0

    def update(self, chunk) -> None:
        a = _chunk(chunk, self.C, "Excerpt")
        t0, self._seen = self._seen, self._seen + a.shape[0]
        lo = max(self.start + self._filled, t0)
        hi = min(self.start + self.n, self._seen)
        if hi > lo:
            self._buf[lo - self.start : hi - self.start] = a[lo - t0 : hi - t0]
            self._filled = hi - self.start

    def result(self) -> np.ndarray:
        return self._buf[: self._filled].copy()

    @property
    def held_nbytes(self) -> int:
        return self._buf.nbytes


class StreamingMoments:
    """Mean, standard deviation (ddof 0), minimum and maximum per column of a stream.

    Parameters
    ----------
    n_channels : int
        Columns of every chunk.
    skip_samples : int
        Samples dropped at the start (a transient: ``int(round(transient_s * 1000 / dt_ms))``
        as :func:`cmftvb.signals.run.lane_regime`, or ``round(discard_s * fs_hz)``).
    scale : float or array (n_channels,)
        Factor applied to every sample (or per column) first (1000.0: kHz -> Hz).

    Chunks are reduced with numpy (two-pass within the chunk) and merged with the pairwise
    update of Chan, Golub & LeVeque (1983, Am Stat 37:242), so mean and SD agree with numpy's
    ``mean``/``std`` over the concatenated samples to rounding (~1e-15 relative for rates);
    minimum and maximum exactly. ``result()`` returns a dict of (n_channels,) arrays ``mean``,
    ``sd``, ``min``, ``max`` and the sample count ``n``.
    """

    def __init__(self, n_channels: int, *, skip_samples: int = 0, scale=1.0):
        if skip_samples < 0:
            raise CmftvbError(f"moments: skip_samples must be >= 0, got {skip_samples}")
        self.C, self.skip = int(n_channels), int(skip_samples)
        self.scale = _scale(scale, self.C, "moments")
        self.n = 0
        self._seen = 0
        self._mean = np.zeros(self.C)
        self._m2 = np.zeros(self.C)
        self._min = np.full(self.C, np.inf)
        self._max = np.full(self.C, -np.inf)

    def update(self, chunk) -> None:
        a = _after_skip(self, chunk, "StreamingMoments")
        if a is None:
            return
        nb = a.shape[0]
        mb = a.mean(axis=0)
        m2b = ((a - mb) ** 2).sum(axis=0)
        n = self.n + nb
        delta = mb - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2b + delta**2 * (self.n * nb / n)
        self.n = n
        np.minimum(self._min, a.min(axis=0), out=self._min)
        np.maximum(self._max, a.max(axis=0), out=self._max)

    def result(self) -> dict:
        if self.n == 0:
            raise CmftvbError(f"moments: skipping {self.skip} samples leaves no sample")
        return {
            "n": self.n,
            "mean": self._mean.copy(),
            "sd": np.sqrt(self._m2 / self.n),
            "min": self._min.copy(),
            "max": self._max.copy(),
        }

    @property
    def held_nbytes(self) -> int:
        return self._mean.nbytes + self._m2.nbytes + self._min.nbytes + self._max.nbytes
