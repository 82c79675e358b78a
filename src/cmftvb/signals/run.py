"""One simulation batch -> BOLD and electrophysiological features, seed by seed (rule signals).

For every seed (lane) of a :data:`cmftvb.io.SIMULATION_PACKED` batch:

- BOLD from each node's BOLD input variable (MODEL.md §8, §6.8) with ``bold_model``
  (``tvb_kernel``: :func:`cmftvb.signals.bold.bold_tvb_kernel`, or ``balloon``:
  :func:`cmftvb.signals.bold.bold_balloon`) at the subject's TR, the first
  ``bold_transient_s`` dropped;
- per population rate present (r_E, r_I of Wong-Wang nodes in Hz; GrC, GoC, MLI, PC of cMF
  nodes, kHz -> Hz), after ``ephys_transient_s``: signals at ``fs_hz`` (``ephys.resample``),
  Welch spectra (``ephys.welch_psd``, ``welch_nperseg``/``welch_noverlap`` samples), band
  features (``ephys.band_features``), spectral modes (``ephys.spectral_modes``), mean rates
  (``ephys.rate_summary``);
- magnitude-squared coherence between the populations of every node that has several
  (``ephys.coherence``, band means with ``ephys.band_coherence``);
- the regime check of the lane (:func:`lane_regime`, :mod:`cmftvb.signals.regime`): shares of
  Wong-Wang nodes with mean r_E outside ``regime_band_hz`` and with mean S_E > 0.9, and of
  cerebellar (node, population) pairs outside ``signals/physiology.yaml``, as feature rows with
  region ``"global"``;
- rhythm evidence per population and node (issue 12): un-normalised Welch spectra
  (:func:`cmftvb.signals.rhythms.unnormalised_spectra`) and
  :func:`cmftvb.signals.rhythms.rhythm_table` (dominant frequency, the most prominent peak and
  whether it stands out of its local background at level ``rhythm_alpha`` given the Welch
  degrees of freedom, absolute band powers);
- with the node ``roles`` given: magnitude-squared coherence between nodes
  (:func:`cmftvb.signals.analyses.node_coherence`) of one signal per node
  (``node_coherence_crbl_var`` in cerebellar mean-field nodes, ``node_coherence_ww_var`` in
  Wong-Wang nodes, in Hz, resampled to ``fs_hz``, after ``ephys_transient_s``).

:func:`ephys_bold_batch` correlates each population's rate, through the same hemodynamic
model, with the simulated BOLD of every cerebellar-cortex node
(:func:`cmftvb.signals.analyses.ephys_bold_coupling`).

Names of features and arrays: :mod:`cmftvb.signals.names`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.signals import bold as sbold
from cmftvb.signals import ephys, regime
from cmftvb.signals import names as nm

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


def population_features(sig, fs: float, region, pop: str, nperseg: int, noverlap: int):
    """Spectra and feature rows of one population: ((freqs, psd (F, k)), feature DataFrame).

    ``sig`` (T, k) rates in Hz at ``fs`` Hz of the k nodes labelled ``region``.
    """
    f, P = ephys.welch_psd(sig, fs, nperseg=nperseg, noverlap=noverlap)
    feats = ephys.band_features(f, P, channels=region)
    rows = []
    for col in ("rel_area", "dominant_hz"):
        metric = [nm.band_metric(pop, b, col) for b in feats["band"]]
        rows.append(
            pd.DataFrame(
                {"metric": metric, "region": feats["channel"], "value": feats[col].astype(float)}
            )
        )
    modes = ephys.spectral_modes(sig, fs)
    rows.append(
        pd.DataFrame(
            {
                "metric": [nm.band_metric(pop, b, "mode_share") for b in modes["band"]],
                "region": region[modes["channel"].to_numpy()],
                "value": modes["share"].astype(float),
            }
        )
    )
    summary = ephys.rate_summary(sig, [pop] * sig.shape[1], fs_hz=fs)
    rows.append(
        pd.DataFrame({"metric": nm.rate_metric(pop), "region": region, "value": summary["mean_hz"]})
    )
    return (f, P), rows


def node_coherence(series, labels, fs: float, nperseg: int, noverlap: int):
    """Coherence between the populations of every node that has several.

    ``series``: population -> (node indices (k,), signals (T, k)) in output order. Returns
    (arrays: coherence frequencies, curves (k, F) and their nodes per pair; feature rows).
    """
    pops = list(series)
    out, rows = {}, []
    for i, a in enumerate(pops):
        for b in pops[i + 1 :]:
            na, sa = series[a]
            nb, sb = series[b]
            common = np.intersect1d(na, nb)
            if common.size == 0:
                continue
            ia, ib = np.searchsorted(na, common), np.searchsorted(nb, common)
            curves = []
            for c, node in enumerate(common):
                fc, cxy = ephys.coherence(
                    sa[:, ia[c]], sb[:, ib[c]], fs, nperseg=nperseg, noverlap=noverlap
                )
                curves.append(cxy)
                for band, m in ephys.band_coherence(fc, cxy).items():
                    rows.append((nm.coherence_metric(a, b, band), labels[node], m))
            out["coh_freqs_hz"] = fc
            out[nm.coherence_key(a, b)] = np.asarray(curves)
            out[nm.coherence_nodes_key(a, b)] = common
    return out, rows


def lane_regime(
    sim: Mapping[str, np.ndarray],
    k: int,
    *,
    dt_ms: float,
    transient_s: float,
    band_hz=regime.DEFAULT_BAND_HZ,
) -> pd.DataFrame:
    """Regime rows (metric, region ``"global"``, value) of lane ``k`` of a simulation batch.

    Time averages over the samples after ``transient_s`` (s; ``dt_ms`` the sampling period of
    ``sim``): mean r_E (Hz) and mean S_E of every Wong-Wang node (the nodes that have both),
    and, when the network has cerebellar mean-field nodes, the mean GrC, GoC, MLI and PC rates
    (kHz in ``sim``, Hz here). Shares from :func:`cmftvb.signals.regime.regime_check` with
    ``band_hz`` (Hz); rows from :func:`cmftvb.signals.regime.regime_rows`.
    """
    skip = int(round(float(transient_s) * 1000.0 / float(dt_ms)))

    def means(var: str):
        if var not in sim or sim[nm.nodes_key(var)].size == 0:
            return None, None
        a = np.asarray(sim[var][k], dtype=np.float64)
        if skip >= a.shape[0]:
            raise CmftvbError(
                f"regime check: a transient of {transient_s:g} s leaves no sample of {var} "
                f"({a.shape[0]} samples every {dt_ms:g} ms)"
            )
        return np.asarray(sim[nm.nodes_key(var)]), a[skip:].mean(axis=0)

    nodes_r, r_E = means("r_E")
    nodes_s, S_E = means("S_E")
    if r_E is None or S_E is None:
        raise CmftvbError("regime check: the simulation holds no Wong-Wang r_E and S_E")
    ww, ir, i_s = np.intersect1d(nodes_r, nodes_s, return_indices=True)
    crbl = {}
    for pop in regime.CRBL_POPULATIONS:
        _, m = means(pop)
        if m is not None:
            crbl[pop] = m * (1000.0 if pop in nm.RATES_KHZ else 1.0)
    check = regime.regime_check(r_E[ir], S_E[i_s], crbl_rates_hz=crbl or None, band_hz=band_hz)
    log.info(
        "regime: %s (%d Wong-Wang nodes, median r_E %.3g Hz)",
        ", ".join(f"{m} {v:.3g}" for m, v in check.items()),
        ww.size,
        float(np.median(r_E[ir])),
    )
    return regime.regime_rows(check)


def rhythm_rows(sig, fs: float, region, pop: str, o: Mapping):
    """Un-normalised spectra (F, k) and rhythm feature rows of one population (``sig`` (T, k)
    in Hz at ``fs`` Hz of the nodes labelled ``region``)."""
    from cmftvb.signals import rhythms

    nperseg, noverlap = int(o["welch_nperseg"]), int(o["welch_noverlap"])
    f, P = rhythms.unnormalised_spectra(sig, fs, nperseg=nperseg, noverlap=noverlap)
    # Welch degrees of freedom are known for 0 or 50 % overlap; otherwise the prominence rule
    dof = (
        rhythms.welch_dof(sig.shape[0], nperseg, noverlap) if noverlap in (0, nperseg / 2) else None
    )
    t = rhythms.rhythm_table(
        f, P, channels=region, background_hz=float(o["rhythm_background_hz"]),
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
    return P, rows


def padded(sim: Mapping[str, np.ndarray], var: str, k: int) -> np.ndarray:
    """Lane ``k`` of variable ``var`` of a packed batch as (T, N) float64, NaN at the nodes
    that lack it (the layout :class:`cmftvb.engine.SimResult` uses)."""
    n = len(sim["labels"])
    a = np.asarray(sim[var][k], dtype=np.float64)
    out = np.full((a.shape[0], n), np.nan)
    out[:, sim[nm.nodes_key(var)]] = a
    return out


def between_nodes(sim: Mapping[str, np.ndarray], k: int, roles, o: Mapping):
    """Coherence between nodes of lane ``k`` (:func:`cmftvb.signals.analyses.node_coherence`):
    (band names, M (B, N, N), summary rows) or None when a node has neither variable."""
    from cmftvb.signals import analyses

    crbl_var, ww_var = o["node_coherence_crbl_var"], o["node_coherence_ww_var"]
    n = len(sim["labels"])
    x = np.full((sim["bold_input"].shape[1], n), np.nan)
    for var in (crbl_var, ww_var):
        if var in sim and nm.nodes_key(var) in sim:
            scale = 1000.0 if var in nm.RATES_KHZ else 1.0  # kHz -> Hz
            nodes = sim[nm.nodes_key(var)]
            free = nodes[np.isnan(x[0, nodes])]  # a node keeps the first variable it has
            x[:, free] = padded(sim, var, k)[:, free] * scale
    if np.isnan(x).any():
        missing = int(np.flatnonzero(np.isnan(x[0]))[0])
        log.info("coherence between nodes skipped: node %d has neither %s nor %s",
                 missing, crbl_var, ww_var)  # fmt: skip
        return None
    fs = float(o["fs_hz"])
    skip = int(round(float(o["ephys_transient_s"]) * fs))
    sig = ephys.resample(x, float(o["monitor_period_ms"]), fs, unit="Hz")[skip:]
    return analyses.node_coherence(
        sig, roles, fs_hz=fs, nperseg=int(o["welch_nperseg"]), noverlap=int(o["welch_noverlap"])
    )


def one_lane(sim: Mapping[str, np.ndarray], k: int, tr_ms: float, o: Mapping, roles=None):
    """Signals of lane ``k`` of a batch: (arrays for the signals file, feature rows)."""
    dt_ms = float(o["monitor_period_ms"])
    labels = sim["labels"]
    x = sim["bold_input"][k].astype(np.float64)
    bold = simulated_bold(x, dt_ms, tr_ms, o["bold_model"], o["bold_transient_s"])
    log.info("BOLD (%s): %d volumes x %d nodes at TR %g ms", o["bold_model"], *bold.shape, tr_ms)
    out, rows, series = {"bold": bold}, [], {}
    fs = float(o["fs_hz"])
    skip = int(round(float(o["ephys_transient_s"]) * fs))
    for pop in nm.POPULATIONS:
        if pop not in sim:
            continue
        nodes = sim[nm.nodes_key(pop)]
        if nodes.size == 0:
            continue
        unit = "kHz" if pop in nm.RATES_KHZ else "Hz"
        a = sim[pop][k].astype(np.float64)  # (T, k) over the nodes that have it
        sig = ephys.resample(a, dt_ms, fs, unit=unit)[skip:]
        series[pop] = (nodes, sig)
        (f, P), pop_rows = population_features(
            sig, fs, labels[nodes], pop, o["welch_nperseg"], o["welch_noverlap"]
        )
        out["freqs_hz"] = f
        out[nm.psd_key(pop)] = P.T
        out[nm.nodes_key(pop)] = nodes
        rows += pop_rows
        Pabs, r_rows = rhythm_rows(sig, fs, labels[nodes], pop, o)
        out[nm.psdabs_key(pop)] = Pabs.T
        rows += r_rows
        log.info("%s: %d nodes, %d samples at %g Hz", pop, nodes.size, sig.shape[0], fs)
    coh, coh_rows = node_coherence(series, labels, fs, o["welch_nperseg"], o["welch_noverlap"])
    out.update(coh)
    if coh_rows:
        rows.append(pd.DataFrame(coh_rows, columns=["metric", "region", "value"]))
    band = tuple(float(b) for b in o["regime_band_hz"])
    rows.append(lane_regime(sim, k, dt_ms=dt_ms, transient_s=o["ephys_transient_s"], band_hz=band))
    if roles is not None:
        between = between_nodes(sim, k, roles, o)
        if between is not None:
            bands, M, summary = between
            out[nm.NODE_COHERENCE] = M
            out[nm.NODE_COHERENCE_BANDS] = np.asarray(bands)
            rows.append(summary)
    return out, pd.concat(rows, ignore_index=True)


def run_signals(
    sim: Mapping[str, np.ndarray],
    tr_s: float,
    *,
    monitor_period_ms: float,
    bold_model: str = "tvb_kernel",
    bold_transient_s: float = 0.0,
    ephys_transient_s: float = 2.0,
    fs_hz: float = 250.0,
    welch_nperseg: int = 500,
    welch_noverlap: int = 250,
    regime_band_hz=regime.DEFAULT_BAND_HZ,
    roles=None,
    node_coherence_crbl_var: str = "PC",
    node_coherence_ww_var: str = "r_E",
    rhythm_background_hz: float = 5.0,
    rhythm_alpha: float = 0.01,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """BOLD and electrophysiology of every seed of a simulation batch.

    ``sim``: the arrays of a :data:`cmftvb.io.SIMULATION_PACKED` file; ``tr_s``: the subject's
    repetition time (s); ``monitor_period_ms``: the sampling period of ``sim`` (ms); the other
    options are the config section ``signals`` (units in their names); ``roles`` (N,): the
    connectome's node roles, needed for the coherence between nodes (skipped without).
    Returns the arrays of a :data:`cmftvb.io.SIGNALS` file (per-seed arrays stacked on a
    leading seed axis) and the tidy feature table (columns seed, metric, region, value;
    region = node label, or ``"global"`` for the coherence between nodes and the regime rows of
    :func:`lane_regime`, with ``regime_band_hz`` (Hz) the resting r_E band).
    """
    options = {
        "monitor_period_ms": monitor_period_ms,
        "bold_model": bold_model,
        "bold_transient_s": bold_transient_s,
        "ephys_transient_s": ephys_transient_s,
        "fs_hz": fs_hz,
        "welch_nperseg": welch_nperseg,
        "welch_noverlap": welch_noverlap,
        "regime_band_hz": regime_band_hz,
        "node_coherence_crbl_var": node_coherence_crbl_var,
        "node_coherence_ww_var": node_coherence_ww_var,
        "rhythm_background_hz": rhythm_background_hz,
        "rhythm_alpha": rhythm_alpha,
    }
    if roles is not None and len(roles) != len(sim["labels"]):
        raise CmftvbError(f"signals: {len(roles)} roles for {len(sim['labels'])} nodes")
    tr_ms = float(tr_s) * 1000.0
    seeds = [int(s) for s in np.atleast_1d(sim["seeds"])]
    lanes, tables = [], []
    for k, seed in enumerate(seeds):
        log.info("seed %d", seed)
        out, features = one_lane(sim, k, tr_ms, options, roles)
        lanes.append(out)
        tables.append(features.assign(seed=seed)[FEATURE_COLUMNS])
    keys = [key for key in lanes[0] if all(key in lane for lane in lanes)]
    stacked = {
        key: np.stack([lane[key] for lane in lanes]) if nm.is_per_seed(key) else lanes[0][key]
        for key in keys
    }
    stacked.update(seeds=np.asarray(seeds), tr_s=np.float64(tr_ms / 1000.0), labels=sim["labels"])
    return stacked, pd.concat(tables, ignore_index=True)


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
    """Electrophysiology to BOLD for every seed of a batch (issue 12).

    ``bold`` (S, T_bold, N): the batch's simulated BOLD (``run_signals``' ``bold``); ``roles``
    (N,): node roles. For each population the engine monitored at cerebellar-cortex nodes
    (GrC, GoC, MLI, PC under cMF; r_E, r_I of the Wong-Wang nodes otherwise), the correlation
    of its rate through the same hemodynamic model with the node's BOLD
    (:func:`cmftvb.signals.analyses.ephys_bold_coupling`). Returns columns seed, region,
    population, r (no rows when the batch has no cerebellar-cortex node).
    """
    from cmftvb.connectome import roles as croles
    from cmftvb.signals import analyses

    cb = croles.indices(roles, "crbl_cortex")
    seeds = [int(s) for s in np.atleast_1d(sim["seeds"])]
    tables = []
    for k, seed in enumerate(seeds):
        for pop in nm.POPULATIONS:
            if pop not in sim:
                continue
            nodes = np.intersect1d(sim[nm.nodes_key(pop)], cb)
            if nodes.size == 0:
                continue
            t = analyses.ephys_bold_coupling(
                {pop: padded(sim, pop, k)}, np.asarray(bold[k]), sim["labels"], nodes,
                dt_ms=float(monitor_period_ms), tr_ms=float(tr_s) * 1000.0,
                bold_model=bold_model, bold_transient_s=float(bold_transient_s),
            )  # fmt: skip
            tables.append(t.assign(seed=seed))
    cols = ["seed", "region", "population", "r"]
    if not tables:
        return pd.DataFrame(columns=cols)
    return pd.concat(tables, ignore_index=True)[cols]
