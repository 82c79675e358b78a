"""Rule signals: the runs of one simulation batch (subject x variant x G x seeds) -> BOLD and
electrophysiology, seed by seed (one job per batch keeps the number of processes small).

For every seed (lane) of the batch, calls cmftvb.signals:

- BOLD from each node's BOLD input variable (MODEL.md §8, §6.8) with ``signals.bold_model``
  (``bold_tvb_kernel`` or ``bold_balloon``) at the subject's TR, transient dropped
  (``drop_transient``);
- per population rate present (r_E, r_I of Wong-Wang nodes, the rates H_E, H_I in Hz that
  the engine monitors; GrC, GoC, MLI, PC of cMF nodes, kHz -> Hz), after
  ``signals.ephys_transient_s``: signals at
  ``signals.fs_hz`` (``resample``), Welch spectra (``welch_psd``), band features
  (``band_features``), spectral modes (``spectral_modes``), mean rates (``rate_summary``);
- magnitude-squared coherence between the populations of every node that has several
  (``coherence``, band means with ``band_coherence``).

Outputs: ``npz`` (``cmftvb.io.save_npz``), a leading seed axis on per-run arrays: ``seeds``
(S,), ``bold`` (S, T_bold, N), ``tr_s``, ``labels``, ``freqs_hz`` (F,), ``psd_<pop>`` (S, k, F)
and ``nodes_<pop>`` (k,) node indices, ``coh_freqs_hz``, ``coh_<a>__<b>`` (S, k, F) and
``coh_nodes_<a>__<b>``; ``tsv``: tidy features (seed, metric, region, value) with metrics
``<pop>_rate_hz``, ``<pop>_<band>_rel_area``, ``<pop>_<band>_dominant_hz``,
``<pop>_<band>_mode_share``, ``coh_<a>_<b>_<band>``.
"""

import numpy as np
import pandas as pd
from _adapter import run

from cmftvb import io
from cmftvb.signals import bold as sbold
from cmftvb.signals import ephys

POPULATIONS = ("r_E", "r_I", "GrC", "GoC", "MLI", "PC")
RATES_KHZ = ("GrC", "GoC", "MLI", "PC")  # the others (r_E, r_I) are in Hz


def per_lane(key):
    """Whether an output array differs between seeds (else it is shared: frequencies, nodes)."""
    is_coh = key.startswith("coh_") and "__" in key and not key.startswith("coh_nodes_")
    return key == "bold" or key.startswith("psd_") or is_coh


def one_lane(arrays, k, p, tr_ms, log):
    """Signals of lane ``k``: (arrays for the npz, feature rows)."""
    dt_ms = float(p.monitor_period_ms)
    labels = arrays["labels"]
    x = arrays["bold_input"][k].astype(np.float64)
    if p.bold_model == "tvb_kernel":
        bold = sbold.bold_tvb_kernel(x, dt_ms, tr_ms)
    else:
        bold = sbold.bold_balloon(x, dt_ms, tr_ms)
    bold = sbold.drop_transient(bold, tr_ms, seconds=float(p.bold_transient_s))
    log.info("BOLD (%s): %d volumes x %d nodes at TR %g ms", p.bold_model, *bold.shape, tr_ms)

    out = {"bold": bold}
    rows = []
    fs = float(p.fs_hz)
    skip = int(round(float(p.ephys_transient_s) * fs))
    series = {}
    for pop in POPULATIONS:
        if pop not in arrays:
            continue
        a = arrays[pop][k].astype(np.float64)  # (T, k) over the nodes that have it
        nodes = arrays[f"nodes_{pop}"]
        if nodes.size == 0:
            continue
        unit = "kHz" if pop in RATES_KHZ else "Hz"
        sig = ephys.resample(a, dt_ms, fs, unit=unit)[skip:]
        series[pop] = (nodes, sig)
        f, P = ephys.welch_psd(sig, fs, nperseg=p.welch_nperseg, noverlap=p.welch_noverlap)
        out["freqs_hz"] = f
        out[f"psd_{pop}"] = P.T
        out[f"nodes_{pop}"] = nodes
        region = labels[nodes]
        feats = ephys.band_features(f, P, channels=region)
        for col in ("rel_area", "dominant_hz"):
            rows.append(
                pd.DataFrame(
                    {
                        "metric": pop + "_" + feats["band"] + "_" + col,
                        "region": feats["channel"],
                        "value": feats[col].astype(float),
                    }
                )
            )
        modes = ephys.spectral_modes(sig, fs)
        rows.append(
            pd.DataFrame(
                {
                    "metric": pop + "_" + modes["band"] + "_mode_share",
                    "region": region[modes["channel"].to_numpy()],
                    "value": modes["share"].astype(float),
                }
            )
        )
        summary = ephys.rate_summary(sig, [pop] * nodes.size, fs_hz=fs)
        rate = {"metric": f"{pop}_rate_hz", "region": region, "value": summary["mean_hz"]}
        rows.append(pd.DataFrame(rate))
        log.info("%s: %d nodes, %d samples at %g Hz", pop, nodes.size, sig.shape[0], fs)

    # coherence between the populations of each node that has several
    pops = list(series)
    coh_rows = []
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
                    sa[:, ia[c]],
                    sb[:, ib[c]],
                    fs,
                    nperseg=p.welch_nperseg,
                    noverlap=p.welch_noverlap,
                )
                curves.append(cxy)
                for band, m in ephys.band_coherence(fc, cxy).items():
                    coh_rows.append((f"coh_{a}_{b}_{band}", labels[node], m))
            out["coh_freqs_hz"] = fc
            out[f"coh_{a}__{b}"] = np.asarray(curves)
            out[f"coh_nodes_{a}__{b}"] = common

    if coh_rows:
        rows.append(pd.DataFrame(coh_rows, columns=["metric", "region", "value"]))
    return out, pd.concat(rows, ignore_index=True)


def main(snakemake, log):
    p = snakemake.params
    w = snakemake.wildcards
    arrays, meta = io.load_npz(snakemake.input.simulation)
    seeds = [int(s) for s in np.atleast_1d(arrays["seeds"])]
    emp, _ = io.load_npz(snakemake.input.empirical)
    tr_ms = float(emp["tr_s"]) * 1000.0
    lanes, tables = [], []
    for k, seed in enumerate(seeds):
        log.info("seed %d", seed)
        out, features = one_lane(arrays, k, p, tr_ms, log)
        lanes.append(out)
        tables.append(features.assign(seed=seed)[["seed", "metric", "region", "value"]])
    stacked = {
        key: np.stack([lane[key] for lane in lanes]) if per_lane(key) else lanes[0][key]
        for key in lanes[0]
    }
    stacked.update(
        seeds=np.asarray(seeds), tr_s=np.float64(tr_ms / 1000.0), labels=arrays["labels"]
    )
    features = pd.concat(tables, ignore_index=True)
    meta_out = {
        "subject": w.subject,
        "model": w.model,
        "preset": w.preset,
        "G": float(w.G),
        "seeds": seeds,
        "bold_model": p.bold_model,
        "units": {"bold": "1", "psd": "normalised to max", "rates": "Hz"},
        "provenance": io.provenance(snakemake.config, subject=w.subject, seed=seeds),
    }
    io.save_npz(snakemake.output.npz, stacked, meta_out)
    with io.atomic_path(snakemake.output.features) as tmp:
        features.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan")
    log.info("%d feature rows", len(features))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
