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
  region ``"global"``.

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


def one_lane(sim: Mapping[str, np.ndarray], k: int, tr_ms: float, o: Mapping):
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
        log.info("%s: %d nodes, %d samples at %g Hz", pop, nodes.size, sig.shape[0], fs)
    coh, coh_rows = node_coherence(series, labels, fs, o["welch_nperseg"], o["welch_noverlap"])
    out.update(coh)
    if coh_rows:
        rows.append(pd.DataFrame(coh_rows, columns=["metric", "region", "value"]))
    band = tuple(float(b) for b in o["regime_band_hz"])
    rows.append(lane_regime(sim, k, dt_ms=dt_ms, transient_s=o["ephys_transient_s"], band_hz=band))
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
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """BOLD and electrophysiology of every seed of a simulation batch.

    ``sim``: the arrays of a :data:`cmftvb.io.SIMULATION_PACKED` file; ``tr_s``: the subject's
    repetition time (s); ``monitor_period_ms``: the sampling period of ``sim`` (ms); the other
    options are the config section ``signals`` (units in their names). Returns the arrays of a
    :data:`cmftvb.io.SIGNALS` file (per-seed arrays stacked on a leading seed axis) and the
    tidy feature table (columns seed, metric, region, value; region = node label, or
    ``"global"`` for the regime rows of :func:`lane_regime`, with ``regime_band_hz`` (Hz) the
    resting r_E band).
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
    }
    tr_ms = float(tr_s) * 1000.0
    seeds = [int(s) for s in np.atleast_1d(sim["seeds"])]
    lanes, tables = [], []
    for k, seed in enumerate(seeds):
        log.info("seed %d", seed)
        out, features = one_lane(sim, k, tr_ms, options)
        lanes.append(out)
        tables.append(features.assign(seed=seed)[FEATURE_COLUMNS])
    stacked = {
        key: np.stack([lane[key] for lane in lanes]) if nm.is_per_seed(key) else lanes[0][key]
        for key in lanes[0]
    }
    stacked.update(seeds=np.asarray(seeds), tr_s=np.float64(tr_ms / 1000.0), labels=sim["labels"])
    return stacked, pd.concat(tables, ignore_index=True)
