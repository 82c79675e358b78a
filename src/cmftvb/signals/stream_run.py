"""Signals of a whole run, streamed: a chunk sink for :func:`cmftvb.engine.simulate`.

:class:`RunSignals` is passed as ``sink=`` to the numba engine (monitor ``mean``, its period the
sampling period of the spectra, 4 ms = 250 Hz as in the workflow). For every seed it feeds the
accumulators of :mod:`cmftvb.signals.stream` chunk by chunk and keeps, independently of the
simulated time:

- ``bold`` (S, V, N): BOLD at the TR on every node from ``bold_input`` (TVB kernel or
  Balloon-Windkessel), the volumes of the first ``transient_s`` dropped
  (:func:`cmftvb.signals.run.simulated_bold` on the whole series, bitwise in the tests);
- ``freqs_hz`` (F,) and, per monitored variable, ``psd_<var>`` (S, F, k): the Welch spectrum
  (``scipy.signal.welch``, Hann window of ``nperseg`` samples, ``noverlap`` overlap, density
  scaling, one-sided) of each of its k nodes after ``transient_s``, rates in Hz (the cerebellar
  rates, monitored in kHz, times 1000), ``S_E`` and ``S_I`` dimensionless; ``nodes_<var>`` (k,)
  the node indices;
- ``mean_<var>`` (S, k): the time mean after ``transient_s`` (same units);
- ``excerpt_<var>`` (S, t, k) and ``excerpt_time_ms`` (t,): the first ``excerpt_s`` seconds
  after ``transient_s``, as monitored (kHz for the cerebellar rates), with the engine's
  sample times (for rate-trace figures).

:meth:`RunSignals.arrays` returns them; ``held_nbytes`` sums what the accumulators hold.
"""

from __future__ import annotations

import math

import numpy as np

from cmftvb import CmftvbError
from cmftvb.signals.names import RATES_KHZ
from cmftvb.signals.stream import Excerpt, StreamingBold, StreamingMoments, StreamingWelch

__all__ = ["RunSignals"]


class RunSignals:
    """Chunk sink that turns a run's monitored samples into its signals, seed by seed.

    ``n_seeds`` lanes; ``period_ms`` the monitor period (ms; the spectra are sampled at
    1000 / period_ms Hz); ``tr_ms`` the BOLD repetition time (ms); ``bold_model``
    ``"tvb_kernel"`` or ``"balloon"``; ``transient_s`` dropped from BOLD, spectra, means and
    the excerpt (s); ``nperseg`` / ``noverlap`` the Welch segment and overlap (samples);
    ``excerpt_s`` the stored excerpt (s)."""

    def __init__(
        self,
        n_seeds: int,
        *,
        period_ms: float,
        tr_ms: float = 720.0,
        bold_model: str = "tvb_kernel",
        transient_s: float = 2.0,
        nperseg: int = 500,
        noverlap: int = 250,
        excerpt_s: float = 3.0,
    ):
        if not (math.isfinite(period_ms) and period_ms > 0):
            raise CmftvbError(f"RunSignals: period_ms must be positive, got {period_ms}")
        self.n_seeds = int(n_seeds)
        self.period_ms = float(period_ms)
        self.fs_hz = 1000.0 / self.period_ms
        self.tr_ms, self.bold_model = float(tr_ms), bold_model
        self.transient_s = float(transient_s)
        self.skip = int(round(self.transient_s * 1000.0 / self.period_ms))
        self.nperseg, self.noverlap = int(nperseg), int(noverlap)
        self.n_excerpt = int(round(float(excerpt_s) * 1000.0 / self.period_ms))
        self.nodes: dict[str, np.ndarray] = {}
        self.next_sample = 0
        self._bold: list[StreamingBold] = []
        self._times = Excerpt(self.n_excerpt, 1, start=self.skip)
        self._acc: dict[str, list[tuple[StreamingWelch, StreamingMoments, Excerpt]]] = {}

    def _setup(self, chunk) -> None:
        n_nodes = len(chunk.labels)
        self._bold = [
            StreamingBold(self.bold_model, self.period_ms, self.tr_ms, self.transient_s, n_nodes)
            for _ in range(self.n_seeds)
        ]
        for name in chunk.variables:
            first = np.asarray(chunk[name])[0]
            nodes = np.flatnonzero(np.isfinite(first).all(axis=0))
            if nodes.size == 0:
                continue
            self.nodes[name] = nodes
            scale = 1000.0 if name in RATES_KHZ else 1.0
            self._acc[name] = [
                (
                    StreamingWelch(
                        self.fs_hz,
                        self.nperseg,
                        self.noverlap,
                        nodes.size,
                        skip_samples=self.skip,
                        scale=scale,
                    ),
                    StreamingMoments(nodes.size, skip_samples=self.skip, scale=scale),
                    Excerpt(self.n_excerpt, nodes.size, start=self.skip),
                )
                for _ in range(self.n_seeds)
            ]

    def __call__(self, first_sample: int, chunk) -> None:
        if first_sample != self.next_sample:
            raise CmftvbError(
                f"RunSignals: chunk starts at sample {first_sample}, expected {self.next_sample}"
            )
        if not self._bold:
            self._setup(chunk)
        bold_input = np.asarray(chunk.bold_input)
        if bold_input.shape[0] != self.n_seeds:
            raise CmftvbError(
                f"RunSignals: {bold_input.shape[0]} lanes in the run, {self.n_seeds} expected"
            )
        for s in range(self.n_seeds):
            self._bold[s].update(bold_input[s])
        for name, per_seed in self._acc.items():
            values = np.asarray(chunk[name])[:, :, self.nodes[name]]
            for s, accs in enumerate(per_seed):
                for acc in accs:
                    acc.update(values[s])
        self._times.update(np.asarray(chunk.time_ms, dtype=np.float64)[:, None])
        self.next_sample += bold_input.shape[1]

    @property
    def held_nbytes(self) -> int:
        """Bytes held by every accumulator between chunks."""
        accs = [*self._bold, *(a for per in self._acc.values() for accs in per for a in accs)]
        return sum(a.held_nbytes for a in accs)

    def arrays(self) -> dict[str, np.ndarray]:
        """The run's signals (module docstring), seed axis first."""
        if not self._bold:
            raise CmftvbError("RunSignals: no samples were received")
        out: dict[str, np.ndarray] = {
            "bold": np.stack([b.result() for b in self._bold]),
            "tr_ms": np.float64(self.tr_ms),
        }
        for name, per_seed in self._acc.items():
            spectra = [w.result() for w, _, _ in per_seed]
            out["freqs_hz"] = spectra[0][0]
            out[f"psd_{name}"] = np.stack([p for _, p in spectra])
            out[f"nodes_{name}"] = self.nodes[name]
            out[f"mean_{name}"] = np.stack([m.result()["mean"] for _, m, _ in per_seed])
            out[f"excerpt_{name}"] = np.stack([e.result() for _, _, e in per_seed])
        out["excerpt_time_ms"] = self._times.result()[:, 0]
        return out

    def output_bytes(self, n_nodes: int, n_vars: int, duration_ms: float) -> int:
        """Upper bound of the bytes of :meth:`arrays` (float64) for a run of ``duration_ms``:
        BOLD volumes, spectra, means and excerpts of ``n_vars`` variables on at most
        ``n_nodes`` nodes each, for every seed."""
        volumes = int(duration_ms // self.tr_ms) + 1
        freqs = self.nperseg // 2 + 1
        per_seed = n_nodes * (volumes + n_vars * (freqs + 1 + self.n_excerpt))
        return 8 * per_seed * self.n_seeds
