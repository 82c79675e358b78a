"""Signals of a whole run, streamed: the chunk sink for :func:`cmftvb.engine.simulate`.

:class:`StudySignals` keeps, for every seed, what the signal stage and the article's rules use
(layout :data:`cmftvb.io.SIMULATION_SIGNALS`), so that memory and the stored file do not grow
with the simulated time. It is the one sink of the project:

- the workflow's rule simulate under ``simulation.store: signals`` (and the rule signals on a
  stored ``activity`` batch, through :func:`feed_packed`), with the default settings;
- ``cmftvb simulate --monitor signals`` (:mod:`cmftvb.engine.cli`), which also keeps the
  spectra of S_E and S_I and an excerpt of every monitored variable, in float64
  (``spectra_variables``, ``excerpt_variables``, ``dtype``).

:func:`study_sizes` bounds the file and memory (the resource estimates, the CLI's
``--max-output-gb``); :func:`means_view` / :func:`excerpt_view` serve the input shares and the
rate traces.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError, _blas
from cmftvb.signals import names as nm
from cmftvb.signals.ephys import BANDS, _band_masks
from cmftvb.signals.names import POPULATIONS, RATES_KHZ
from cmftvb.signals.stream import Excerpt, StreamingBold, StreamingMoments, StreamingWelch

__all__ = ["Chunk", "StudySignals", "feed_packed"]

log = logging.getLogger(__name__)


#: What :class:`StudySignals` can accumulate (``parts``): BOLD at the TR; spectra, spectral modes,
#: coherence of the populations of a node; time means; coherence between nodes; rates through
#: the hemodynamic model at the cerebellar-cortex nodes; the rate excerpt.
STUDY_PARTS = ("bold", "spectra", "means", "node_coherence", "ephys_bold", "excerpt")
#: Samples handed to the accumulators at a time by :class:`StudySignals` (8 s at 4 ms).
BLOCK = 2000
#: Variables whose time means are kept (the populations, and the Wong-Wang gating variables of
#: the regime check and the input shares).
MEAN_VARIABLES = (*POPULATIONS, "S_E", "S_I")
#: Populations of the rate excerpt (the cerebellar ones: the rate-trace figure).
EXCERPT_POPULATIONS = RATES_KHZ
#: Variables of the Wong-Wang nodes (numba engine; the others are the cerebellar rates).
_WW_VARIABLES = ("r_E", "r_I", "S_E", "S_I")
#: Precisions the samples can be rounded to before accumulating.
_DTYPES = ("float32", "float64")


#: The settings of the config section ``signals`` that :class:`StudySignals` uses (a streamed
#: file depends on these only; the rest act in the rule signals).
STUDY_OPTION_KEYS = (
    "bold_model", "bold_transient_s", "ephys_transient_s", "fs_hz", "welch_nperseg",
    "welch_noverlap", "node_coherence_crbl_var", "node_coherence_ww_var",
)  # fmt: skip


def study_options(options: Mapping[str, Any], period_ms: float) -> dict[str, Any]:
    """The settings of :class:`StudySignals` taken from the config section ``signals``
    (``options``) and the monitor period (ms); a :class:`CmftvbError` naming ``signals.fs_hz``
    when the spectra's rate is not the monitor's (the stage does not resample)."""
    fs = float(options["fs_hz"])
    if not math.isclose(fs * float(period_ms), 1000.0, rel_tol=1e-12):
        raise CmftvbError(
            f"config key 'signals.fs_hz': {fs:g} Hz must be 1000 / simulation.monitor_period_ms "
            f"({1000.0 / float(period_ms):g} Hz): the signals are the monitored samples"
        )
    out = {k: options[k] for k in STUDY_OPTION_KEYS}
    out["monitor_period_ms"] = float(period_ms)
    return out


class _Lane:
    """The accumulators of one seed (built by :class:`StudySignals` from the first chunk)."""

    def __init__(self, sink: StudySignals, n_nodes: int):
        o, parts = sink.options, sink.parts
        self.bold = None
        if "bold" in parts:
            self.bold = StreamingBold(
                o["bold_model"], sink.period_ms, sink.tr_ms, float(o["bold_transient_s"]), n_nodes
            )
        self.welch = self.modes = None
        if "spectra" in parts and sink.pop_columns:
            self.welch = StreamingWelch(
                sink.fs_hz, sink.nperseg, sink.noverlap, sink.n_pop_columns, skip_samples=sink.skip,
                scale=sink.pop_scale, pairs=sink.pairs, modes=sink.modes_in_welch,
            )  # fmt: skip
            if not sink.modes_in_welch:
                self.modes = StreamingWelch(
                    sink.fs_hz, sink.mode_window, sink.mode_window - sink.mode_step,
                    sink.n_pop_columns, skip_samples=sink.skip, scale=sink.pop_scale, modes=True,
                )  # fmt: skip
        self.means = (
            StreamingMoments(sum(n.size for n in sink.mean_nodes.values()), skip_samples=sink.skip)
            if "means" in parts and sink.mean_nodes
            else None
        )
        self.nodecoh = None
        if sink.node_signal is not None:
            self.nodecoh = StreamingWelch(
                sink.fs_hz, sink.nperseg, sink.noverlap, n_nodes, skip_samples=sink.skip,
                scale=sink.node_signal[1], coherence=True,
            )  # fmt: skip
        self.ephys_bold = {
            pop: StreamingBold(
                o["bold_model"],
                sink.period_ms,
                sink.tr_ms,
                float(o["bold_transient_s"]),
                nodes.size,
            )
            for pop, nodes in sink.ephys_bold_nodes.items()
        }
        self.excerpt = {
            pop: Excerpt(sink.n_excerpt, sink.nodes[pop].size) for pop in sink.excerpt_pops
        }


class StudySignals:
    """Chunk sink of the workflow's rule simulate under ``simulation.store: signals`` (and of
    ``cmftvb simulate --monitor signals``): keeps, for every seed, what the rule signals and
    the article's rules use, so that memory and the stored file do not grow with the simulated
    time (issue 15 item 1).

    ``n_seeds`` lanes; ``period_ms`` the monitor period (ms, ``monitor="mean"``); ``tr_s`` the
    BOLD repetition time (s); ``options``: :func:`study_options` (BOLD model and transient,
    the electrophysiology transient, Welch segment and overlap, the variables of the
    coherence between nodes); ``roles`` (N,): node roles (the coherence between nodes and the
    hemodynamic rates need them; skipped without); ``excerpt_s``: seconds of the excerpt kept
    after ``ephys_transient_s`` (the excerpt starts at the first sample, so it holds the
    transient too); ``parts``: a subset of :data:`STUDY_PARTS`; ``block``: samples handed to
    the accumulators at a time (:data:`BLOCK`); ``spectra_variables``: the variables (of
    :data:`MEAN_VARIABLES`) whose Welch spectra and mode shares are kept (default the
    populations; the coherence of two variables of a node and the rates through the
    hemodynamics are of the populations only); ``excerpt_variables``: those of the excerpt
    (default the cerebellar rates); ``dtype``: the precision the samples are rounded to
    (``float32``, default, or ``float64``).

    The incoming chunks (50 samples from the engine at its default chunk of 2000 steps of
    0.1 ms and a 4-ms monitor) are buffered into blocks of ``block`` samples counted from the
    first sample, so the accumulators see the same blocks whatever the chunking: fed by the
    engine or from a stored file (:func:`feed_packed`), the results are the same to the bit,
    and the per-call overhead of numpy is paid once per block.

    Every sample is rounded to ``dtype`` first: to float32 by default, as
    :func:`cmftvb.io.save_simulation_packed` stores it, so that this sink fed by the engine
    and the same sink fed from a stored ``activity`` file
    (:func:`cmftvb.signals.run.summarise_packed`) see the same numbers; to float64 for
    ``cmftvb simulate``, whose ``--monitor mean`` files are float64. The excerpt is stored in
    ``dtype``. :meth:`arrays` returns the arrays of :data:`cmftvb.io.SIMULATION_SIGNALS`
    (without ``labels``, ``seeds``, ``params``); features:
    :func:`cmftvb.signals.run.signals_from_summary`.
    """

    def __init__(
        self,
        n_seeds: int,
        *,
        period_ms: float,
        tr_s: float,
        options: Mapping[str, Any],
        roles=None,
        excerpt_s: float = 0.0,
        parts: Sequence[str] = STUDY_PARTS,
        block: int = BLOCK,
        spectra_variables: Sequence[str] = POPULATIONS,
        excerpt_variables: Sequence[str] = EXCERPT_POPULATIONS,
        dtype=np.float32,
    ):
        unknown = sorted(set(parts) - set(STUDY_PARTS))
        if unknown:
            raise CmftvbError(f"StudySignals: unknown parts {unknown}; choose from {STUDY_PARTS}")
        for what, names in (("spectra", spectra_variables), ("excerpt", excerpt_variables)):
            if bad := sorted(set(names) - set(MEAN_VARIABLES)):
                raise CmftvbError(
                    f"StudySignals: unknown {what} variables {bad}; choose from {MEAN_VARIABLES}"
                )
        if np.dtype(dtype).name not in _DTYPES:
            raise CmftvbError(f"StudySignals: dtype {np.dtype(dtype).name}; choose from {_DTYPES}")
        self.dtype = np.dtype(dtype)
        self.spectra_variables = tuple(spectra_variables)
        self.excerpt_variables = tuple(excerpt_variables)
        self.options = study_options(options, period_ms)
        self.parts = tuple(parts)
        self.n_seeds = int(n_seeds)
        self.period_ms = float(period_ms)
        self.fs_hz = 1000.0 / self.period_ms
        self.tr_ms = float(tr_s) * 1000.0
        self.roles = None if roles is None else np.asarray([str(r) for r in roles])
        o = self.options
        self.skip = int(round(float(o["ephys_transient_s"]) * self.fs_hz))
        self.nperseg, self.noverlap = int(o["welch_nperseg"]), int(o["welch_noverlap"])
        # ephys.spectral_modes' default window (2 s) and step (1 s)
        self.mode_window = int(round(2.0 * self.fs_hz))
        self.mode_step = int(round(1.0 * self.fs_hz))
        self.modes_in_welch = (self.mode_window, self.mode_window - self.mode_step) == (
            self.nperseg,
            self.noverlap,
        )
        #: What the file is made with (``meta["options"]`` of a streamed file).
        self.settings = {**self.options, "tr_s": float(tr_s), "excerpt_s": float(excerpt_s)}
        if (self.spectra_variables, self.excerpt_variables, self.dtype.name) != (
            POPULATIONS,
            EXCERPT_POPULATIONS,
            "float32",
        ):  # recorded only when not the workflow's defaults (its meta stays as it was)
            self.settings |= {
                "spectra_variables": list(self.spectra_variables),
                "excerpt_variables": list(self.excerpt_variables),
                "dtype": self.dtype.name,
            }
        self.n_excerpt = (
            int(round((float(o["ephys_transient_s"]) + float(excerpt_s)) * self.fs_hz))
            if "excerpt" in self.parts
            else 0
        )
        self.next_sample = 0
        self.labels: np.ndarray | None = None
        self.nodes: dict[str, np.ndarray] = {}
        self._lanes: list[_Lane] = []
        self._times = Excerpt(self.n_excerpt, 1)
        self.block = int(block)
        if self.block < 1:
            raise CmftvbError(f"StudySignals: block must be >= 1, got {block}")
        self._pending: list = []
        self._n_pending = 0

    # ----------------------------------------------------------------- layout (first chunk)
    def _setup(self, chunk) -> None:
        self.labels = np.asarray(chunk.labels)
        n = len(self.labels)
        if self.roles is not None and self.roles.size != n:
            raise CmftvbError(f"StudySignals: {self.roles.size} roles for {n} nodes")
        for name in chunk.variables:
            first = np.asarray(chunk[name])[0]
            nodes = np.flatnonzero(np.isfinite(first).all(axis=0))
            if nodes.size:
                self.nodes[name] = nodes
        pops = [p for p in POPULATIONS if p in self.nodes]
        spectra = [v for v in self.spectra_variables if v in self.nodes]
        # the spectra's variables side by side in one Welch accumulator: columns, scale, pairs
        self.pop_columns, start = {}, 0
        for p in spectra:
            self.pop_columns[p] = np.arange(start, start + self.nodes[p].size)
            start += self.nodes[p].size
        self.n_pop_columns = start
        self.pop_scale = np.concatenate(
            [np.full(self.nodes[p].size, 1000.0 if p in RATES_KHZ else 1.0) for p in spectra]
        ) if spectra else np.ones(0)  # fmt: skip
        self.pair_index: dict[tuple[str, str], tuple[np.ndarray, slice]] = {}
        pairs = []
        coherent = [p for p in pops if p in self.pop_columns]
        for i, a in enumerate(coherent):
            for b in coherent[i + 1 :]:
                common = np.intersect1d(self.nodes[a], self.nodes[b])
                if common.size == 0:
                    continue
                ia = self.pop_columns[a][np.searchsorted(self.nodes[a], common)]
                ib = self.pop_columns[b][np.searchsorted(self.nodes[b], common)]
                self.pair_index[(a, b)] = (common, slice(len(pairs), len(pairs) + common.size))
                pairs += list(zip(ia, ib, strict=True))
        self.pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
        self.mean_nodes = (
            {v: self.nodes[v] for v in MEAN_VARIABLES if v in self.nodes}
            if "means" in self.parts
            else {}
        )
        self.node_signal = self._node_signal(n) if "node_coherence" in self.parts else None
        self.ephys_bold_nodes: dict[str, np.ndarray] = {}
        if "ephys_bold" in self.parts and self.roles is not None:
            from cmftvb.connectome import roles as croles

            cb = croles.indices(self.roles, "crbl_cortex")
            for p in pops:
                nodes = np.intersect1d(self.nodes[p], cb)
                if nodes.size:
                    self.ephys_bold_nodes[p] = nodes
        self.excerpt_pops = [
            p for p in self.excerpt_variables if p in self.nodes and self.n_excerpt
        ]
        # where the nodes of the coherence between nodes and of the hemodynamic rates sit
        # among the buffered columns of their variable (only the nodes that have it)
        self._node_signal_columns = {}
        if self.node_signal is not None:
            var = self.node_signal[0]
            for v in sorted(set(var)):
                cols = np.flatnonzero(var == v)
                self._node_signal_columns[v] = (cols, np.searchsorted(self.nodes[v], cols))
        self._ephys_bold_columns = {
            p: np.searchsorted(self.nodes[p], nodes) for p, nodes in self.ephys_bold_nodes.items()
        }
        self._lanes = [_Lane(self, n) for _ in range(self.n_seeds)]

    def _node_signal(self, n: int):
        """(variable per node (N,), scale per node (N,)) of the coherence between nodes: the
        first of ``node_coherence_crbl_var``, ``node_coherence_ww_var`` a node has; None
        (logged) without roles or when a node has neither."""
        if self.roles is None:
            return None
        var = np.full(n, "", dtype=object)
        for v in (self.options["node_coherence_crbl_var"], self.options["node_coherence_ww_var"]):
            if v in self.nodes:
                free = self.nodes[v][var[self.nodes[v]] == ""]
                var[free] = v
        if (var == "").any():
            missing = int(np.flatnonzero(var == "")[0])
            log.info(
                "coherence between nodes skipped: node %d has neither %s nor %s", missing,
                self.options["node_coherence_crbl_var"], self.options["node_coherence_ww_var"],
            )  # fmt: skip
            return None
        scale = np.array([1000.0 if v in RATES_KHZ else 1.0 for v in var])
        return var, scale

    # ----------------------------------------------------------------- the sink
    def __call__(self, first_sample: int, chunk) -> None:
        if first_sample != self.next_sample:
            raise CmftvbError(
                f"StudySignals: chunk starts at sample {first_sample}, expected {self.next_sample}"
            )
        if not self._lanes:
            self._setup(chunk)
        bold_input = np.array(chunk.bold_input, dtype=self.dtype)  # a copy: buffers are reused
        if bold_input.shape[0] != self.n_seeds:
            raise CmftvbError(
                f"StudySignals: {bold_input.shape[0]} lanes in the run, {self.n_seeds} expected"
            )
        # only the nodes that have each variable (fancy indexing copies: buffers are reused)
        values = {
            v: np.asarray(chunk[v])[:, :, nodes].astype(self.dtype, copy=False)
            for v, nodes in self.nodes.items()
        }
        time_ms = np.array(chunk.time_ms, dtype=np.float64)
        self._pending.append((bold_input, values, time_ms))
        self._n_pending += bold_input.shape[1]
        self.next_sample += bold_input.shape[1]
        while self._n_pending >= self.block:
            self._flush(self.block)

    def _flush(self, n: int) -> None:
        """Feed the accumulators the first ``n`` buffered samples (all when fewer), BLAS on
        one thread (:func:`cmftvb._blas.one_thread`)."""
        if not self._pending:
            return
        with _blas.one_thread():
            self._feed(n)

    def _feed(self, n: int) -> None:
        bold_input = np.concatenate([p[0] for p in self._pending], axis=1)
        values = {v: np.concatenate([p[1][v] for p in self._pending], axis=1) for v in self.nodes}
        time_ms = np.concatenate([p[2] for p in self._pending])
        n = min(n, bold_input.shape[1])
        rest = bold_input.shape[1] - n
        self._pending = (
            [(bold_input[:, n:], {v: a[:, n:] for v, a in values.items()}, time_ms[n:])]
            if rest
            else []
        )
        self._n_pending = rest
        values = {v: a[:, :n] for v, a in values.items()}
        for s, lane in enumerate(self._lanes):
            self._update_lane(lane, s, bold_input[s, :n], values)
        self._times.update(time_ms[:n, None])

    def _update_lane(self, lane: _Lane, s: int, bold_input, values) -> None:
        if lane.bold is not None:
            lane.bold.update(bold_input)
        pops = list(self.pop_columns)
        if lane.welch is not None:
            x = np.concatenate([values[p][s] for p in pops], axis=1)
            lane.welch.update(x)
            if lane.modes is not None:
                lane.modes.update(x)
        if lane.means is not None:
            lane.means.update(np.concatenate([values[v][s] for v in self.mean_nodes], axis=1))
        if lane.nodecoh is not None:
            x = np.empty((bold_input.shape[0], self.node_signal[0].size), dtype=self.dtype)
            for v, (cols, at) in self._node_signal_columns.items():
                x[:, cols] = values[v][s][:, at]
            lane.nodecoh.update(x)
        for p, acc in lane.ephys_bold.items():
            acc.update(values[p][s][:, self._ephys_bold_columns[p]])
        for p, acc in lane.excerpt.items():
            acc.update(values[p][s])

    # ----------------------------------------------------------------- results
    def arrays(self) -> dict[str, np.ndarray]:
        """The summary of the run (layout: :data:`cmftvb.io.SIMULATION_SIGNALS`), seed axis
        first; raises :class:`CmftvbError` when a part has too few samples. Feeds the
        accumulators what is still buffered first (call it once, after the run)."""
        if not self._lanes:
            raise CmftvbError("StudySignals: no samples were received")
        self._flush(self._n_pending)
        lanes = self._lanes
        out: dict[str, np.ndarray] = {}
        if lanes[0].bold is not None:
            out["bold"] = np.stack([lane.bold.result() for lane in lanes])
        if lanes[0].welch is not None:
            spectra = [lane.welch.result() for lane in lanes]
            out["freqs_hz"] = spectra[0][0]
            out[nm.WELCH_SAMPLES] = np.int64(lanes[0].welch.n_samples)
            modes = [(lane.modes or lane.welch).spectral_modes() for lane in lanes]
            n_bands = len(lanes[0].welch.bands)
            pairs = [lane.welch.pair_coherence()[1] for lane in lanes] if self.pairs.size else []
            for p, cols in self.pop_columns.items():
                out[nm.nodes_key(p)] = self.nodes[p]
                out[nm.psdabs_key(p)] = np.stack([P[:, cols] for _, P in spectra])
                out[nm.modes_key(p)] = np.stack(
                    [m["share"].to_numpy().reshape(-1, n_bands)[cols] for m in modes]
                )
            for (a, b), (common, rows) in self.pair_index.items():
                out[nm.coherence_key(a, b)] = np.stack([c[rows] for c in pairs])
                out[nm.coherence_nodes_key(a, b)] = common
        if lanes[0].means is not None:
            means = [lane.means.result()["mean"] for lane in lanes]
            start = 0
            for v, nodes in self.mean_nodes.items():
                out[nm.nodes_key(v)] = nodes
                out[nm.mean_key(v)] = np.stack([m[start : start + nodes.size] for m in means])
                start += nodes.size
        if lanes[0].nodecoh is not None:
            coh = [lane.nodecoh.coherence_matrix() for lane in lanes]
            out[nm.NODE_COHERENCE] = np.stack([M for _, M in coh])
            out[nm.NODE_COHERENCE_BANDS] = np.asarray(coh[0][0])
            out[nm.NODE_COHERENCE_SEGMENTS] = np.int64(lanes[0].nodecoh.n_segments)
        for p, nodes in self.ephys_bold_nodes.items():
            out[nm.ephys_bold_key(p)] = np.stack([lane.ephys_bold[p].result() for lane in lanes])
            out[nm.ephys_bold_nodes_key(p)] = nodes
        for p in self.excerpt_pops:
            out[nm.nodes_key(p)] = self.nodes[p]
            out[nm.excerpt_key(p)] = np.stack(
                [lane.excerpt[p].result().astype(self.dtype) for lane in lanes]
            )
        if self.excerpt_pops:
            out[nm.EXCERPT_TIME] = self._times.result()[:, 0]
        return out

    @property
    def held_nbytes(self) -> int:
        """Bytes held by every accumulator and the block buffer between chunks."""
        total = sum(a.nbytes for p in self._pending for a in (p[0], *p[1].values(), p[2]))
        for lane in self._lanes:
            accs = [lane.bold, lane.welch, lane.modes, lane.means, lane.nodecoh]
            accs += [*lane.ephys_bold.values(), *lane.excerpt.values()]
            total += sum(a.held_nbytes for a in accs if a is not None)
        return total


class Chunk:
    """Samples of a run in the engine's chunk layout (what a sink receives): ``labels`` (N,),
    ``variables`` name -> (S, t, N) with NaN where a node lacks the variable (also
    ``chunk[name]``), ``bold_input`` (S, t, N), ``time_ms`` (t,)."""

    def __init__(self, labels, variables, bold_input, time_ms):
        self.labels, self.variables = labels, variables
        self.bold_input, self.time_ms = bold_input, time_ms

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name]


def packed_chunk(sim: Mapping[str, np.ndarray], lo: int, hi: int) -> Chunk:
    """Samples ``lo:hi`` of a stored :data:`cmftvb.io.SIMULATION_PACKED` batch as a
    :class:`Chunk` (each variable padded to every node with NaN)."""
    labels = np.asarray(sim["labels"])
    variables = {}
    for key in sim:
        if key.startswith("nodes_") and key[6:] in sim:
            a = np.asarray(sim[key[6:]][:, lo:hi])
            full = np.full((a.shape[0], a.shape[1], labels.size), np.nan, dtype=a.dtype)
            full[:, :, np.asarray(sim[key])] = a
            variables[key[6:]] = full
    return Chunk(labels, variables, np.asarray(sim["bold_input"][:, lo:hi]), sim["time_ms"][lo:hi])


def feed_packed(sink, sim: Mapping[str, np.ndarray], chunk: int = BLOCK) -> None:
    """Feed a stored packed batch ``sim`` to ``sink(first_sample, chunk)`` ``chunk`` samples at
    a time, as the engine does (the sink's memory stays that of one chunk)."""
    T = np.asarray(sim["bold_input"]).shape[1]
    for lo in range(0, T, chunk):
        sink(lo, packed_chunk(sim, lo, min(T, lo + chunk)))


def _check_transient(meta: Mapping, transient_s: float, where: str) -> None:
    made = float(meta.get("options", {}).get("ephys_transient_s", math.nan))
    if made != float(transient_s):
        raise CmftvbError(
            f"{where}: made with signals.ephys_transient_s {made:g}, asked for {transient_s:g}; "
            "rerun the rule simulate"
        )


def means_view(
    summary: Mapping[str, np.ndarray], meta: Mapping, transient_s: float, where: str
) -> dict[str, np.ndarray]:
    """A streamed run (:data:`cmftvb.io.SIMULATION_SIGNALS`) as a packed batch of one sample
    per seed, that sample being the time means after ``transient_s`` (``mean_<var>`` as
    ``<var>`` (S, 1, k) with ``nodes_<var>``): what :func:`cmftvb.signals.article.
    input_shares_of_batch` averages, to be read with a transient of 0. Raises
    :class:`CmftvbError` naming ``where`` when the file's transient is not ``transient_s``."""
    _check_transient(meta, transient_s, where)
    out = {"labels": summary["labels"], "seeds": summary["seeds"]}
    for var in MEAN_VARIABLES:
        if nm.mean_key(var) in summary:
            out[var] = np.asarray(summary[nm.mean_key(var)])[:, None, :]
            out[nm.nodes_key(var)] = summary[nm.nodes_key(var)]
    return out


def excerpt_view(
    summary: Mapping[str, np.ndarray], meta: Mapping, transient_s: float, where: str
) -> dict[str, np.ndarray]:
    """A streamed run as a packed batch holding only its excerpt (the first seconds of the
    cerebellar rates, transient included: ``time_ms``, ``<pop>`` (S, t, k) in kHz,
    ``nodes_<pop>``), for :func:`cmftvb.signals.article.rate_traces_of_batch` with the same
    ``transient_s``."""
    _check_transient(meta, transient_s, where)
    out = {"labels": summary["labels"], "seeds": summary["seeds"]}
    if nm.EXCERPT_TIME not in summary:
        raise CmftvbError(f"{where}: no rate excerpt (no cerebellar population in this run)")
    out["time_ms"] = summary[nm.EXCERPT_TIME]
    for pop in EXCERPT_POPULATIONS:
        if nm.excerpt_key(pop) in summary:
            out[pop] = summary[nm.excerpt_key(pop)]
            out[nm.nodes_key(pop)] = summary[nm.nodes_key(pop)]
    return out


#: Bound of the JSON params text of a streamed file (numpy unicode, 4 bytes per character;
#: 15.6 kB for the cMF network).
_PARAMS_BYTES = 32768


def study_sizes(
    node_model: Sequence[str],
    roles: Sequence[str],
    *,
    n_seeds: int,
    duration_ms: float,
    period_ms: float,
    tr_s: float,
    options: Mapping[str, Any],
    excerpt_s: float,
    spectra_variables: Sequence[str] = POPULATIONS,
    excerpt_variables: Sequence[str] = EXCERPT_POPULATIONS,
    dtype=np.float32,
    parts: Sequence[str] = STUDY_PARTS,
) -> tuple[int, int]:
    """(bytes of a streamed file, bytes its sink holds during the run) for a
    network with these node models (``wongwang``: r_E, r_I, S_E, S_I; ``crbl``: GrC, GoC,
    MLI, PC) and roles, from the layout of :meth:`StudySignals.arrays` with these
    ``spectra_variables``, ``excerpt_variables``, ``dtype`` and ``parts`` (upper bounds: every
    volume kept, both node-coherence variables present). Used by the workflow's resource estimates
    (rule simulate under ``simulation.store: signals``) and ``cmftvb simulate --monitor
    signals``'s ``--max-output-gb``."""
    from cmftvb.connectome import roles as croles

    models = np.asarray([str(m) for m in node_model])
    n = models.size
    n_ww, n_crbl = int((models == "wongwang").sum()), int((models == "crbl").sum())

    def columns(variables: Sequence[str]) -> int:  # nodes that have them, summed
        return sum(n_ww if v in _WW_VARIABLES else n_crbl for v in variables)

    cb = np.zeros(n, dtype=bool)
    cb[croles.indices(np.asarray([str(r) for r in roles]), "crbl_cortex")] = True
    cols = columns(spectra_variables)  # columns of the spectra and mode shares
    mean_cols = columns(MEAN_VARIABLES)
    excerpt_cols = columns(excerpt_variables)
    cb_cols = 2 * int((cb & (models == "wongwang")).sum()) + 4 * int(
        (cb & (models == "crbl")).sum()
    )
    pairs = n_ww + 6 * n_crbl  # population pairs within a node
    nperseg = int(options["welch_nperseg"])
    F, B = nperseg // 2 + 1, len(BANDS)
    volumes = int(float(duration_ms) // (float(tr_s) * 1000.0)) + 1
    excerpt = int(
        round((float(options["ephys_transient_s"]) + float(excerpt_s)) * 1000 / period_ms)
    )
    itemsize = np.dtype(dtype).itemsize
    has = {p: p in parts for p in STUDY_PARTS}
    bold_cols = n if has["bold"] else 0
    spec_cols, spec_pairs = (cols, pairs) if has["spectra"] else (0, 0)
    mean_cols = mean_cols if has["means"] else 0
    coh_nodes = n if has["node_coherence"] else 0
    cb_cols = cb_cols if has["ephys_bold"] else 0
    excerpt_cols = excerpt_cols if has["excerpt"] else 0
    per_seed = (
        8
        * (
            volumes * bold_cols  # BOLD
            + spec_cols * (F + B)  # spectra, mode shares
            + mean_cols  # means
            + spec_pairs * F  # coherence of populations
            + B * coh_nodes * coh_nodes  # coherence between nodes
            + volumes * cb_cols  # rates through the hemodynamics
        )
        + itemsize * excerpt * excerpt_cols
    )  # the excerpt in dtype
    index = 8 * (mean_cols + spec_pairs + cb_cols)  # nodes_* arrays
    # shared arrays, labels (<= 64 characters), the params text, zip headers of ~100 members
    overhead = 8 * F + 8 * excerpt + index + 4 * 64 * n + _PARAMS_BYTES + 100 * 512
    file_bytes = n_seeds * per_seed + overhead
    ring = 6024 if options["bold_model"] == "tvb_kernel" else 4  # StreamingBold, per column
    f = np.fft.rfftfreq(nperseg, period_ms / 1000.0)
    used = int(np.logical_or.reduce(list(_band_masks(f, BANDS).values())).sum())  # band bins
    held = 8 * (
        ring * (bold_cols + cb_cols) + used * coh_nodes * (coh_nodes + 1) + 2 * spec_pairs * F
    )  # BOLD rings, cross spectra (complex, one triangle), population cross spectra
    held += 8 * 2 * nperseg * (spec_cols + coh_nodes)  # partial segments
    held += itemsize * 2 * BLOCK * (n + mean_cols)  # the block buffer, concatenated
    return file_bytes, n_seeds * held + file_bytes
