"""One simulation batch -> BOLD and electrophysiological features, seed by seed (rule signals).

Two steps, the same for both layouts of the rule simulate's output (``simulation.store``):

1. **Summary** (:class:`cmftvb.signals.stream_run.StudySignals`, a chunk sink): fed by the
   engine during the run (``store: signals``, the file :data:`cmftvb.io.SIMULATION_SIGNALS`)
   or from the stored activity (``store: activity``, :func:`summarise_packed` feeds the
   :data:`cmftvb.io.SIMULATION_PACKED` arrays chunk by chunk). It keeps BOLD at the TR
   (``bold_model``: TVB kernel or Balloon, first ``bold_transient_s`` dropped), and after
   ``ephys_transient_s``, with rates in Hz at the monitor's rate (``fs_hz`` must be
   1000 / ``monitor_period_ms``; no resampling): the Welch spectra of every population
   (``welch_nperseg`` / ``welch_noverlap``), spectral-mode shares (2-s windows, 1-s step),
   the coherence of the populations of a node, time means, the coherence between nodes of
   one signal per node (``node_coherence_crbl_var`` in cerebellar mean-field nodes,
   ``node_coherence_ww_var`` in Wong-Wang nodes; needs the node roles), and each population
   at the cerebellar-cortex nodes through the same hemodynamic model.
2. **Features** (:func:`signals_from_summary`): normalised spectra and band features
   (``ephys.band_features``), mode shares, mean rates, rhythm evidence
   (:func:`cmftvb.signals.rhythms.rhythm_table`, Welch degrees of freedom from the sample
   count), band means of the population coherence, the regime check
   (:func:`regime_from_means`: shares of Wong-Wang nodes with mean r_E outside
   ``regime_band_hz`` and with mean S_E > 0.9, cerebellar (node, population) pairs outside
   ``signals/physiology.yaml``), summaries of the coherence between nodes
   (:func:`cmftvb.signals.analyses.node_coherence_rows`) and electrophysiology to BOLD
   (:func:`ephys_bold_rows`).

:func:`signals_of_simulation` is the rule's entry; :func:`run_signals` and
:func:`ephys_bold_batch` take a stored batch. Each feature has one implementation, so the two
stores agree: BOLD and the electrophysiology-to-BOLD correlations bitwise, spectra and the
rest within rounding (the sums run over chunks: 50 samples from the engine, 2000 from a file;
``tests/test_signals_store.py``). Against the offline functions on whole arrays
(``scipy.signal.welch``, numpy means) the spectra, coherences and means differ in the last
bits only (Welch sums over segments in chunk order instead of numpy's pairwise mean).

Names of features and arrays: :mod:`cmftvb.signals.names`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.signals import analyses, ephys, regime
from cmftvb.signals import bold as sbold
from cmftvb.signals import names as nm
from cmftvb.signals.stream_run import MEAN_VARIABLES, STUDY_PARTS, StudySignals, feed_packed

log = logging.getLogger(__name__)

BOLD_MODELS = ("tvb_kernel", "balloon")
FEATURE_COLUMNS = ["seed", "metric", "region", "value"]


def simulated_bold(x, dt_ms: float, tr_ms: float, bold_model: str, transient_s: float):
    """BOLD (T_bold, N) at TR ``tr_ms`` from the BOLD input ``x`` (T, N) sampled every
    ``dt_ms``, the first ``transient_s`` seconds dropped."""
    if bold_model == "tvb_kernel":
        bold = sbold.bold_tvb_kernel(x, dt_ms, tr_ms)
    elif bold_model == "balloon":
        bold = sbold.bold_balloon(x, dt_ms, tr_ms)
    else:
        raise CmftvbError(f"bold_model must be one of {', '.join(BOLD_MODELS)}, got {bold_model!r}")
    return sbold.drop_transient(bold, tr_ms, seconds=float(transient_s))


def population_rows(f, Pabs, modes, mean_hz, region, pop: str, n_samples: int, o: Mapping):
    """Spectra and feature rows of one population from its summary: ((P normalised (F, k),
    P un-normalised (F, k)), feature DataFrames).

    ``f`` (F,) Hz and ``Pabs`` (F, k) its Welch spectra (Hz^2/Hz) over ``n_samples`` samples
    after the transient; ``modes`` (k, B) spectral-mode shares (bands of ``ephys.BANDS``);
    ``mean_hz`` (k,) mean rates (Hz); ``region`` (k,) the node labels. Rows: band features of
    the normalised spectrum (:func:`cmftvb.signals.ephys.band_features`: ``rel_area``,
    ``dominant_hz``), ``mode_share``, the mean rate, then the rhythm evidence of
    :func:`rhythm_rows`.
    """
    m = Pabs.max(axis=0)
    P = Pabs / np.where(m > 0, m, 1.0)  # ephys.welch_psd's normalisation
    feats = ephys.band_features(f, P, channels=region)
    rows = []
    for col in ("rel_area", "dominant_hz"):
        metric = [nm.band_metric(pop, b, col) for b in feats["band"]]
        rows.append(
            pd.DataFrame(
                {"metric": metric, "region": feats["channel"], "value": feats[col].astype(float)}
            )
        )
    bands = list(ephys.BANDS)
    rows.append(
        pd.DataFrame(
            {
                "metric": [nm.band_metric(pop, b, "mode_share") for _ in region for b in bands],
                "region": np.repeat(np.asarray(region), len(bands)),
                "value": np.asarray(modes, dtype=float).reshape(-1),
            }
        )
    )
    rows.append(pd.DataFrame({"metric": nm.rate_metric(pop), "region": region, "value": mean_hz}))
    rows += rhythm_rows(f, Pabs, n_samples, region, pop, o)
    return (P, Pabs), rows


def rhythm_rows(f, Pabs, n_samples: int, region, pop: str, o: Mapping):
    """Rhythm feature rows of one population (:func:`cmftvb.signals.rhythms.rhythm_table`)
    from its un-normalised spectra ``Pabs`` (F, k) (Hz^2/Hz) over ``n_samples`` samples of the
    nodes labelled ``region``."""
    from cmftvb.signals import rhythms

    nperseg, noverlap = int(o["welch_nperseg"]), int(o["welch_noverlap"])
    # Welch degrees of freedom are known for 0 or 50 % overlap; otherwise the prominence rule
    dof = rhythms.welch_dof(n_samples, nperseg, noverlap) if noverlap in (0, nperseg / 2) else None
    t = rhythms.rhythm_table(
        f, Pabs, channels=region, background_hz=float(o["rhythm_background_hz"]),
        dof=dof, alpha=float(o["rhythm_alpha"]),
    )  # fmt: skip
    rows = [
        pd.DataFrame(
            {
                "metric": nm.rhythm_metric(pop, feat),
                "region": t["channel"],
                "value": t[feat].astype(float),
            }
        )  # fmt: skip
        for feat in nm.RHYTHM_FEATURES
    ]
    for band in ephys.BANDS:
        rows.append(
            pd.DataFrame(
                {
                    "metric": nm.power_metric(pop, band),
                    "region": t["channel"],
                    "value": t[f"power_{band}"].astype(float),
                }
            )  # fmt: skip
        )
    return rows


def regime_from_means(means: Mapping[str, tuple[np.ndarray, np.ndarray]], band_hz) -> pd.DataFrame:
    """Regime rows (metric, region ``"global"``, value) from time means after the transient.

    ``means``: variable -> (node indices, means in engine units): mean r_E (Hz) and mean S_E
    of every Wong-Wang node (the nodes that have both) and, when the network has cerebellar
    mean-field nodes, the mean GrC, GoC, MLI and PC rates (kHz, Hz here). Shares from
    :func:`cmftvb.signals.regime.regime_check` with ``band_hz`` (Hz); rows from
    :func:`cmftvb.signals.regime.regime_rows`.
    """
    if "r_E" not in means or "S_E" not in means:
        raise CmftvbError("regime check: the simulation holds no Wong-Wang r_E and S_E")
    (nodes_r, r_E), (nodes_s, S_E) = means["r_E"], means["S_E"]
    ww, ir, i_s = np.intersect1d(nodes_r, nodes_s, return_indices=True)
    crbl = {
        pop: means[pop][1] * (1000.0 if pop in nm.RATES_KHZ else 1.0)
        for pop in regime.CRBL_POPULATIONS
        if pop in means
    }
    check = regime.regime_check(r_E[ir], S_E[i_s], crbl_rates_hz=crbl or None, band_hz=band_hz)
    log.info(
        "regime: %s (%d Wong-Wang nodes, median r_E %.3g Hz)",
        ", ".join(f"{m} {v:.3g}" for m, v in check.items()),
        ww.size,
        float(np.median(r_E[ir])),
    )
    return regime.regime_rows(check)


def padded(sim: Mapping[str, np.ndarray], var: str, k: int) -> np.ndarray:
    """Lane ``k`` of variable ``var`` of a packed batch as (T, N) float64, NaN at the nodes
    that lack it (the layout :class:`cmftvb.engine.SimResult` uses)."""
    n = len(sim["labels"])
    a = np.asarray(sim[var][k], dtype=np.float64)
    out = np.full((a.shape[0], n), np.nan)
    out[:, sim[nm.nodes_key(var)]] = a
    return out


def lane_from_summary(summary: Mapping[str, np.ndarray], k: int, o: Mapping, roles=None):
    """Signals of lane ``k`` from a run's summary (:data:`cmftvb.io.SIMULATION_SIGNALS`
    layout): (arrays for the signals file, feature rows)."""
    labels = np.asarray(summary["labels"])
    bold = np.asarray(summary["bold"][k])
    log.info("BOLD (%s): %d volumes x %d nodes", o["bold_model"], *bold.shape)
    out, rows = {"bold": bold}, []
    f = np.asarray(summary["freqs_hz"])
    n_samples = int(summary[nm.WELCH_SAMPLES])
    means = {
        v: (np.asarray(summary[nm.nodes_key(v)]), np.asarray(summary[nm.mean_key(v)][k]))
        for v in MEAN_VARIABLES
        if nm.mean_key(v) in summary
    }
    for pop in nm.POPULATIONS:
        if nm.psdabs_key(pop) not in summary:
            continue
        nodes = np.asarray(summary[nm.nodes_key(pop)])
        scale = 1000.0 if pop in nm.RATES_KHZ else 1.0
        (P, Pabs), pop_rows = population_rows(
            f, np.asarray(summary[nm.psdabs_key(pop)][k]), summary[nm.modes_key(pop)][k],
            means[pop][1] * scale, labels[nodes], pop, n_samples, o,
        )  # fmt: skip
        out["freqs_hz"] = f
        out[nm.psd_key(pop)] = P.T
        out[nm.nodes_key(pop)] = nodes
        out[nm.psdabs_key(pop)] = Pabs.T
        rows += pop_rows
        log.info("%s: %d nodes, %d samples", pop, nodes.size, n_samples)
    coh_rows = []
    pops = list(nm.POPULATIONS)
    for i, a in enumerate(pops):
        for b in pops[i + 1 :]:
            key = nm.coherence_key(a, b)
            if key not in summary:
                continue
            common = np.asarray(summary[nm.coherence_nodes_key(a, b)])
            curves = np.asarray(summary[key][k])
            for c, node in enumerate(common):
                for band, m in ephys.band_coherence(f, curves[c]).items():
                    coh_rows.append((nm.coherence_metric(a, b, band), labels[node], m))
            out["coh_freqs_hz"] = f
            out[key] = curves
            out[nm.coherence_nodes_key(a, b)] = common
    if coh_rows:
        rows.append(pd.DataFrame(coh_rows, columns=["metric", "region", "value"]))
    band = tuple(float(b) for b in o["regime_band_hz"])
    rows.append(regime_from_means(means, band))
    if roles is not None and nm.NODE_COHERENCE in summary:
        bands = [str(b) for b in summary[nm.NODE_COHERENCE_BANDS]]
        M = np.asarray(summary[nm.NODE_COHERENCE][k])
        out[nm.NODE_COHERENCE] = M
        out[nm.NODE_COHERENCE_BANDS] = np.asarray(bands)
        n_seg = int(summary[nm.NODE_COHERENCE_SEGMENTS])
        rows.append(analyses.node_coherence_rows(bands, M, roles, n_seg))
    return out, pd.concat(rows, ignore_index=True)


def ephys_bold_rows(summary: Mapping[str, np.ndarray], k: int, bold) -> pd.DataFrame:
    """Electrophysiology to BOLD of lane ``k``: per population with ``ephysbold_<pop>`` in
    ``summary`` (its rate through the hemodynamic model at the cerebellar-cortex nodes,
    transient dropped as for the BOLD) the Pearson correlation with ``bold`` (T_bold, N) of
    each of those nodes over the volumes both have (NaN where either is constant; as
    :func:`cmftvb.signals.analyses.ephys_bold_coupling`). Columns region, population, r."""
    labels = [str(s) for s in summary["labels"]]
    b = np.asarray(bold, dtype=np.float64)
    rows = []
    for pop in nm.POPULATIONS:
        if nm.ephys_bold_key(pop) not in summary:
            continue
        pb = np.asarray(summary[nm.ephys_bold_key(pop)][k])
        nodes = np.asarray(summary[nm.ephys_bold_nodes_key(pop)])
        rows += analyses.rate_bold_correlations(pb, b, nodes, labels, pop)
    return pd.DataFrame(rows, columns=["region", "population", "r"])


#: The settings of the signal stage (config section ``signals``) and their defaults.
DEFAULT_OPTIONS = {
    "bold_model": "tvb_kernel",
    "bold_transient_s": 0.0,
    "ephys_transient_s": 2.0,
    "fs_hz": 250.0,
    "welch_nperseg": 500,
    "welch_noverlap": 250,
    "regime_band_hz": regime.DEFAULT_BAND_HZ,
    "node_coherence_crbl_var": "PC",
    "node_coherence_ww_var": "r_E",
    "rhythm_background_hz": 5.0,
    "rhythm_alpha": 0.01,
}


def summarise_packed(
    sim: Mapping[str, np.ndarray],
    tr_s: float,
    *,
    monitor_period_ms: float,
    roles=None,
    parts=STUDY_PARTS,
    excerpt_s: float = 0.0,
    **options,
) -> dict[str, np.ndarray]:
    """The summary of a stored :data:`cmftvb.io.SIMULATION_PACKED` batch: the arrays of a
    :data:`cmftvb.io.SIMULATION_SIGNALS` file (without ``params``), computed by the sink the
    engine feeds under ``simulation.store: signals``
    (:class:`cmftvb.signals.stream_run.StudySignals`), fed here from the stored arrays."""
    if bad := sorted(set(options) - set(DEFAULT_OPTIONS)):
        raise CmftvbError(f"signals: unknown option {bad[0]!r}")
    seeds = np.atleast_1d(np.asarray(sim["seeds"]))
    if roles is not None and len(roles) != len(sim["labels"]):
        raise CmftvbError(f"signals: {len(roles)} roles for {len(sim['labels'])} nodes")
    sink = StudySignals(
        seeds.size, period_ms=monitor_period_ms, tr_s=tr_s,
        options={**DEFAULT_OPTIONS, **options}, roles=roles, parts=parts, excerpt_s=excerpt_s,
    )  # fmt: skip
    feed_packed(sink, sim)
    return {**sink.arrays(), "labels": np.asarray(sim["labels"]), "seeds": seeds}


def check_summary_options(meta: Mapping, options: Mapping, where: str) -> None:
    """A :class:`CmftvbError` naming ``where`` (the file) and the first setting whose value in
    ``options`` differs from the one the streamed file was made with (``meta["options"]``)."""
    made = meta.get("options", {})
    for key, value in made.items():
        if key in options and options[key] != value:
            raise CmftvbError(
                f"{where}: made with {key} {value!r}, the config now says {options[key]!r}; "
                "rerun the rule simulate (simulation.store: signals)"
            )


def signals_from_summary(
    summary: Mapping[str, np.ndarray], tr_s: float, *, roles=None, **options
) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """BOLD, features and electrophysiology to BOLD of every seed of a run from its summary
    (:func:`summarise_packed`, or a :data:`cmftvb.io.SIMULATION_SIGNALS` file): (the arrays
    of a :data:`cmftvb.io.SIGNALS` file, the tidy feature table (seed, metric, region, value),
    the electrophysiology-to-BOLD table (seed, region, population, r))."""
    o = {**DEFAULT_OPTIONS, **options}
    if roles is not None and len(roles) != len(summary["labels"]):
        raise CmftvbError(f"signals: {len(roles)} roles for {len(summary['labels'])} nodes")
    seeds = [int(s) for s in np.atleast_1d(summary["seeds"])]
    lanes, tables, coupling = [], [], []
    for k, seed in enumerate(seeds):
        log.info("seed %d", seed)
        out, features = lane_from_summary(summary, k, o, roles)
        lanes.append(out)
        tables.append(features.assign(seed=seed)[FEATURE_COLUMNS])
        coupling.append(ephys_bold_rows(summary, k, out["bold"]).assign(seed=seed))
    keys = [key for key in lanes[0] if all(key in lane for lane in lanes)]
    stacked = {
        key: np.stack([lane[key] for lane in lanes]) if nm.is_per_seed(key) else lanes[0][key]
        for key in keys
    }
    stacked.update(seeds=np.asarray(seeds), tr_s=np.float64(float(tr_s)), labels=summary["labels"])
    cols = ["seed", "region", "population", "r"]
    return (
        stacked,
        pd.concat(tables, ignore_index=True),
        pd.concat(coupling, ignore_index=True)[cols],
    )


def signals_of_simulation(
    sim: Mapping[str, np.ndarray],
    meta: Mapping,
    tr_s: float,
    *,
    monitor_period_ms: float,
    roles=None,
    where: str = "simulation",
    **options,
) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """The rule signals: (signals arrays, feature table, electrophysiology-to-BOLD table) of
    the rule simulate's output in either layout (``meta["format"]``, from
    :func:`cmftvb.io.load_simulation`). A streamed file (:data:`cmftvb.io.SIMULATION_SIGNALS`)
    is used as it is, after checking that it was made with these settings
    (:func:`check_summary_options`, ``where`` names the file); a stored activity batch is
    summarised first (:func:`summarise_packed`). Then :func:`signals_from_summary`."""
    from cmftvb import io

    if meta.get("format") == io.SIMULATION_SIGNALS:
        wanted = {**DEFAULT_OPTIONS, **options, "monitor_period_ms": monitor_period_ms}
        check_summary_options(meta, {**wanted, "tr_s": tr_s}, where)
        summary = sim
    else:
        summary = summarise_packed(
            sim, tr_s, monitor_period_ms=monitor_period_ms, roles=roles, **options
        )
    return signals_from_summary(summary, tr_s, roles=roles, **options)


def run_signals(
    sim: Mapping[str, np.ndarray],
    tr_s: float,
    *,
    monitor_period_ms: float,
    roles=None,
    **options,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """BOLD and electrophysiology of every seed of a stored simulation batch.

    ``sim``: the arrays of a :data:`cmftvb.io.SIMULATION_PACKED` file; ``tr_s``: the subject's
    repetition time (s); ``monitor_period_ms``: the sampling period of ``sim`` (ms); the other
    options are the config section ``signals`` (:data:`DEFAULT_OPTIONS`; units in their
    names); ``roles`` (N,): the connectome's node roles, needed for the coherence between
    nodes (skipped without). The batch is summarised (:func:`summarise_packed`) and the
    features follow from the summary (:func:`signals_from_summary`), as for a run streamed
    under ``simulation.store: signals``. Returns the arrays of a :data:`cmftvb.io.SIGNALS`
    file (per-seed arrays stacked on a leading seed axis) and the tidy feature table (columns
    seed, metric, region, value; region = node label, or ``"global"`` for the coherence
    between nodes and the regime rows of :func:`regime_from_means`).
    """
    parts = [p for p in STUDY_PARTS if p not in ("ephys_bold", "excerpt")]
    summary = summarise_packed(
        sim, tr_s, monitor_period_ms=monitor_period_ms, roles=roles, parts=parts, **options
    )
    arrays, features, _ = signals_from_summary(summary, tr_s, roles=roles, **options)
    return arrays, features


def ephys_bold_batch(
    sim: Mapping[str, np.ndarray],
    bold,
    roles,
    tr_s: float,
    *,
    monitor_period_ms: float,
    bold_model: str = "tvb_kernel",
    bold_transient_s: float = 0.0,
) -> pd.DataFrame:
    """Electrophysiology to BOLD for every seed of a stored batch (issue 12).

    ``bold`` (S, T_bold, N): the batch's simulated BOLD (``run_signals``' ``bold``); ``roles``
    (N,): node roles. For each population the engine monitored at cerebellar-cortex nodes
    (GrC, GoC, MLI, PC under cMF; r_E, r_I of the Wong-Wang nodes otherwise), the correlation
    of its rate through the same hemodynamic model with the node's BOLD
    (:func:`ephys_bold_rows`). Returns columns seed, region, population, r (no rows when the
    batch has no cerebellar-cortex node).
    """
    summary = summarise_packed(
        sim, tr_s, monitor_period_ms=monitor_period_ms, roles=roles, parts=("ephys_bold",),
        bold_model=bold_model, bold_transient_s=bold_transient_s,
    )  # fmt: skip
    seeds = [int(s) for s in np.atleast_1d(sim["seeds"])]
    tables = [ephys_bold_rows(summary, k, bold[k]).assign(seed=s) for k, s in enumerate(seeds)]
    return pd.concat(tables, ignore_index=True)[["seed", "region", "population", "r"]]
