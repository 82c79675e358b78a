"""Fitness of simulated BOLD against empirical BOLD (MODEL.md §9, STUDY.md stage 5).

Arrays are time-first: BOLD ``(T, N)`` (volumes x nodes). A node mask ``mask`` (bool (N,) or
integer indices) selects the nodes that have empirical data; every metric is computed on those
nodes only, and nodes without empirical data never receive a value (they are absent from
:func:`run_table`, not filled in).

Metrics
-------
- ``fc_fit``: Pearson r between the upper triangles (diagonal excluded) of simulated and
  empirical FC on the masked nodes.
- ``fcd_ks``: Kolmogorov-Smirnov statistic between the upper-triangle values of the simulated
  and empirical FCD matrices (Hansen et al. 2015, NeuroImage 105:525; Deco et al. 2017).
- ``bold_mae`` (per region): both series z-scored over time, truncated to the common length,
  mean absolute difference (MODEL.md §9: the article does not say how BOLD was normalised).
  Spontaneous activity is not phase-locked to the scan, so this error has a floor near
  2/sqrt(pi) ~ 1.13 for unrelated Gaussian series; the FC-profile error does not have this
  problem.
- ``fc_profile_error`` (per region): ``1 - r`` between the region's FC row (to the other masked
  nodes) in simulation and data; 0 is a perfect profile, 1 uncorrelated, 2 anti-correlated.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import signal, stats

from cmftvb import CmftvbError

log = logging.getLogger(__name__)

__all__ = [
    "g_is_relative",
    "FCD_STEP",
    "FCD_WINDOW",
    "FEATURE_GROUPS",
    "fc",
    "fc_fit",
    "fcd",
    "fcd_ks",
    "fcd_steps",
    "prepare_empirical",
    "preprocess_bold",
    "regional_bold_mae",
    "regional_fc_profile_error",
    "run_table",
    "score_batch",
    "study_table",
    "summarise_features",
]

#: Default FCD window and step, in volumes (TR units): 83 volumes = 59.8 s at the HCP TR of
#: 0.72 s (a 60-s window, as in Hansen et al. 2015 / Deco et al. 2017), advanced by 2 volumes
#: (1.44 s). Callers with another TR should pass ``window = round(60 s / TR)``.
FCD_WINDOW = 83
FCD_STEP = 2

TABLE_COLUMNS = ["subject", "model", "preset", "G", "seed", "metric", "region", "value"]
#: Optional column of the fitness tables: the absolute coupling of the run when ``G`` is a
#: fraction of the subject's G* (config ``simulation.G_relative``); equal to ``G`` otherwise.
G_ABS = "G_abs"


def g_is_relative(table: pd.DataFrame) -> bool:
    """Whether a fitness table's ``G`` holds fractions of G*: it has :data:`G_ABS` and that
    differs from ``G`` (runs given by ``simulation.G_relative``)."""
    return G_ABS in table.columns and not np.allclose(
        table["G"].astype(float), table[G_ABS].astype(float)
    )


#: Region of the rows that describe a whole run (fc_fit, fcd_ks, regime, noise ceiling).
GLOBAL = "global"


def _bold(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise CmftvbError(f"{name}: expected (volumes, nodes), got shape {a.shape}")
    return a


def _mask(mask, n: int) -> np.ndarray:
    """Integer indices of the selected nodes from a bool mask, indices, or None (= all)."""
    if mask is None:
        return np.arange(n)
    m = np.asarray(mask)
    if m.dtype == bool:
        if m.shape != (n,):
            raise CmftvbError(f"mask: bool mask of shape {m.shape} for {n} nodes")
        return np.flatnonzero(m)
    idx = m.astype(int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise CmftvbError(f"mask: node index out of range 0..{n - 1}")
    return idx


def fc(bold) -> np.ndarray:
    """Functional connectivity: Pearson correlation between nodes' BOLD (T, N) -> (N, N).

    The diagonal is excluded: set to NaN. A constant node gives a NaN row and column.
    """
    a = _bold(bold, "bold")
    with np.errstate(invalid="ignore", divide="ignore"):
        z = a - a.mean(axis=0)
        sd = np.sqrt((z**2).sum(axis=0))
        c = (z.T @ z) / np.outer(sd, sd)
    c = np.clip(c, -1.0, 1.0)
    np.fill_diagonal(c, np.nan)
    return c


def _upper(mat, idx) -> np.ndarray:
    sub = np.asarray(mat)[np.ix_(idx, idx)]
    iu = np.triu_indices(idx.size, k=1)
    return sub[iu]


def fc_fit(sim_fc, emp_fc, mask=None) -> float:
    """Pearson r between the upper triangles of simulated and empirical FC on masked nodes.

    ``mask``: nodes with empirical data (bool (N,) or indices; None = all). Returns NaN when
    fewer than 3 nodes (under 3 pairs) are available or a triangle is constant.
    """
    s = np.asarray(sim_fc, dtype=float)
    e = np.asarray(emp_fc, dtype=float)
    if s.shape != e.shape or s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise CmftvbError(f"fc_fit: FC matrices must be square and equal, got {s.shape}, {e.shape}")
    idx = _mask(mask, s.shape[0])
    if idx.size < 3:
        return np.nan
    u, v = _upper(s, idx), _upper(e, idx)
    ok = np.isfinite(u) & np.isfinite(v)
    if ok.sum() < 3 or np.ptp(u[ok]) == 0 or np.ptp(v[ok]) == 0:
        return np.nan
    return float(stats.pearsonr(u[ok], v[ok]).statistic)


def fcd(bold, window: int = FCD_WINDOW, step: int = FCD_STEP, mask=None) -> np.ndarray:
    """Functional connectivity dynamics matrix (Hansen et al. 2015).

    FC (Pearson) is computed in windows of ``window`` volumes starting every ``step`` volumes
    (``FCD_WINDOW``/``FCD_STEP`` by default), on the masked nodes; ``FCD[i, j]`` is the Pearson
    correlation between the upper triangles of window FCs ``i`` and ``j``. Returns (W, W).
    """
    a = _bold(bold, "bold")
    idx = _mask(mask, a.shape[1])
    a = a[:, idx]
    if window < 3 or step < 1:
        raise CmftvbError(f"fcd: window must be >= 3 and step >= 1, got {window}, {step}")
    if a.shape[0] < window + step:
        raise CmftvbError(
            f"fcd: {a.shape[0]} volumes are too few for two windows of {window} (step {step})"
        )
    starts = range(0, a.shape[0] - window + 1, step)
    iu = np.triu_indices(idx.size, k=1)
    vecs = np.array([np.corrcoef(a[s : s + window].T)[iu] for s in starts])
    return np.corrcoef(vecs)


def fcd_ks(fcd_sim, fcd_emp) -> float:
    """Kolmogorov-Smirnov statistic between the upper-triangle values (diagonal excluded) of two
    FCD matrices (``scipy.stats.ks_2samp``); 0 = same distribution, 1 = disjoint."""
    a, b = np.asarray(fcd_sim, float), np.asarray(fcd_emp, float)
    ua = a[np.triu_indices(a.shape[0], k=1)]
    ub = b[np.triu_indices(b.shape[0], k=1)]
    ua, ub = ua[np.isfinite(ua)], ub[np.isfinite(ub)]
    if ua.size == 0 or ub.size == 0:
        return np.nan
    return float(stats.ks_2samp(ua, ub).statistic)


def _zscore(a):
    sd = a.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a - a.mean(axis=0)) / np.where(sd > 0, sd, np.nan)


def regional_bold_mae(sim_bold, emp_bold, mask=None) -> np.ndarray:
    """Per-region mean absolute error between z-scored simulated and empirical BOLD.

    Both (T, N) at the same TR (the caller's duty). They are truncated to the shorter length,
    then each series is z-scored over time (mean 0, SD 1, ddof 0), then
    ``mean_t |z_sim - z_emp|``. Returns (N,), NaN outside ``mask`` and for constant series.
    """
    s, e = _bold(sim_bold, "sim_bold"), _bold(emp_bold, "emp_bold")
    if s.shape[1] != e.shape[1]:
        raise CmftvbError(f"regional_bold_mae: {s.shape[1]} simulated vs {e.shape[1]} nodes")
    n = min(s.shape[0], e.shape[0])
    idx = _mask(mask, s.shape[1])
    out = np.full(s.shape[1], np.nan)
    out[idx] = np.abs(_zscore(s[:n, idx]) - _zscore(e[:n, idx])).mean(axis=0)
    return out


def regional_fc_profile_error(sim_fc, emp_fc, mask=None, *, kind: str = "1-r") -> np.ndarray:
    """Per-region error between FC profiles (rows of FC) on the masked nodes.

    For a masked region i, its row to the other masked regions is compared: ``kind="1-r"``
    gives ``1 - Pearson r`` (default; insensitive to the overall FC level), ``kind="mae"`` the
    mean absolute difference of the correlations. Returns (N,), NaN outside ``mask``.
    """
    s, e = np.asarray(sim_fc, float), np.asarray(emp_fc, float)
    if s.shape != e.shape:
        raise CmftvbError(f"regional_fc_profile_error: shapes differ {s.shape} vs {e.shape}")
    if kind not in ("1-r", "mae"):
        raise CmftvbError(f"regional_fc_profile_error: kind must be '1-r' or 'mae', got {kind!r}")
    idx = _mask(mask, s.shape[0])
    out = np.full(s.shape[0], np.nan)
    for i in idx:
        others = idx[idx != i]
        u, v = s[i, others], e[i, others]
        ok = np.isfinite(u) & np.isfinite(v)
        if kind == "mae":
            out[i] = np.abs(u[ok] - v[ok]).mean() if ok.any() else np.nan
        elif ok.sum() >= 3 and np.ptp(u[ok]) > 0 and np.ptp(v[ok]) > 0:
            out[i] = 1.0 - stats.pearsonr(u[ok], v[ok]).statistic
    return out


def preprocess_bold(
    raw, tr_s: float, *, band: tuple[float, float] = (0.01, 0.1), order: int = 4
) -> np.ndarray:
    """Preprocess empirical regional BOLD (T, N) before computing FC (STUDY.md, Data).

    1. linear detrend per region (``scipy.signal.detrend``);
    2. z-score per region (ddof 0);
    3. zero-phase band-pass ``band`` Hz (default 0.01-0.1 Hz, the usual resting-state band):
       Butterworth of ``order`` (4) as second-order sections, ``scipy.signal.sosfiltfilt`` (so
       the effective order is doubled and there is no phase shift).

    The result is not re-standardised (FC is scale-free; the BOLD MAE z-scores anyway).
    """
    a = _bold(raw, "raw")
    if not np.all(np.isfinite(a)):
        raise CmftvbError("preprocess_bold: raw BOLD contains NaN or infinite values")
    fs = 1.0 / tr_s
    lo, hi = band
    if not 0 < lo < hi < fs / 2:
        raise CmftvbError(
            f"preprocess_bold: band {band} Hz must satisfy 0 < low < high < Nyquist {fs / 2:g} Hz"
        )
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    x = signal.detrend(a, axis=0, type="linear")
    x = _zscore(x)
    x = np.nan_to_num(x, nan=0.0)  # constant regions become flat zero
    padlen = 3 * (2 * len(sos) + 1)
    if a.shape[0] <= padlen:
        raise CmftvbError(f"preprocess_bold: {a.shape[0]} volumes are too few to filter")
    return signal.sosfiltfilt(sos, x, axis=0)


#: Role groups over which per-node electrophysiological features are averaged for the study
#: table (docs/ARCHITECTURE.md "Node roles"); mean rates stay per node.
FEATURE_GROUPS = ("cerebral", "crbl_cortex", "dcn")


def summarise_features(features: pd.DataFrame, labels, roles) -> pd.DataFrame:
    """Per-node features -> the study table's rows (columns metric, region, value).

    ``features``: rows of the signals table (metric, region = node label, value) of one run;
    ``labels``/``roles``: the connectome's. Mean rates (``<pop>_rate_hz``) stay per node and
    rows of region ``global`` (coherence between nodes, the regime check) pass through; every
    other feature is averaged over the nodes of each group of :data:`FEATURE_GROUPS` (region =
    the group's name).
    """
    from cmftvb.connectome import ROLE_GROUPS
    from cmftvb.signals.names import parse_metric

    kind = [getattr(parse_metric(m), "kind", None) for m in features["metric"]]
    is_rate = np.asarray([k == "rate" for k in kind], dtype=bool)
    is_global = (features["region"] == GLOBAL).to_numpy()  # coherence between nodes, regime
    per_node = features[is_rate | is_global]
    rest = features[~is_rate & ~is_global]
    role_of = dict(zip(map(str, labels), map(str, roles), strict=True))
    group_of = {role: group for group in FEATURE_GROUPS for role in ROLE_GROUPS[group]}
    grouped = rest.assign(region=[group_of[role_of[r]] for r in rest["region"]])
    means = grouped.groupby(["metric", "region"], sort=True)["value"].mean().reset_index()
    return pd.concat([means, per_node[["metric", "region", "value"]]], ignore_index=True)


def prepare_empirical(
    source: str,
    subject: str,
    files,
    connectome,
    *,
    tr_s: float = 0.72,
    bandpass_hz=(0.01, 0.1),
    filter_order: int = 4,
) -> tuple[dict[str, np.ndarray], dict]:
    """A subject's empirical BOLD, preprocessed (:func:`preprocess_bold`), on the nodes of the
    prepared ``connectome`` that have ``has_empirical``.

    ``source``, ``files``, ``tr_s``: as for :func:`cmftvb.connectome.sources.read_subject_bold`.
    Returns the arrays of a :data:`cmftvb.io.EMPIRICAL` file (``bold`` (T, n_emp), T = 0 when the
    subject has none; ``labels``; ``tr_s`` in s) and a meta record saying what was done.
    """
    from cmftvb.connectome.sources import read_subject_bold

    labels = connectome.labels[connectome.has_empirical]
    bold, tr_s = read_subject_bold(source, subject, files, labels, tr_s=tr_s)
    band = tuple(bandpass_hz)
    if bold is None:
        emp = np.zeros((0, labels.size))
        note = "no empirical BOLD for this subject"
    else:
        if bold.shape[0] != labels.size:
            raise CmftvbError(
                f"subject {subject}: {bold.shape[0]} regions of BOLD, but the prepared "
                f"connectome marks {labels.size} nodes has_empirical"
            )
        emp = preprocess_bold(np.asarray(bold, float).T, tr_s, band=band, order=filter_order)
        note = f"detrended, z-scored, band-pass {band[0]}-{band[1]} Hz"
    log.info("empirical BOLD: %d volumes x %d nodes (%s)", emp.shape[0], emp.shape[1], note)
    arrays = {"bold": emp, "labels": labels, "tr_s": np.float64(tr_s)}
    return arrays, {"subject": subject, "preprocessing": note}


def fcd_steps(tr_s: float, window_s: float, step_s: float) -> tuple[int, int]:
    """FCD window and step in volumes for a TR (s): at least 2 and 1 volumes."""
    window = max(2, int(round(window_s / tr_s)))
    step = max(1, int(round(step_s / tr_s)))
    return window, step


def score_batch(
    signals: dict,
    features: pd.DataFrame,
    empirical: dict,
    connectome,
    *,
    keys: dict,
    bandpass_hz,
    filter_order: int,
    filter_simulated: bool,
    fcd_window_s: float,
    fcd_step_s: float,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Score every seed of a simulation batch against the subject's empirical BOLD.

    ``signals``: arrays of a :data:`cmftvb.io.SIGNALS` file; ``features``: its feature table
    (seed, metric, region, value); ``empirical``: arrays of a :data:`cmftvb.io.EMPIRICAL` file;
    ``connectome``: the prepared connectome; ``keys``: subject, model, preset, G of the batch;
    the other options are the config section ``fitness`` (units in their names). The simulated
    BOLD is preprocessed like the empirical one when ``filter_simulated``; :func:`run_table` then
    scores each seed, with :func:`summarise_features` and the subject's noise ceiling at the
    simulated post-transient length (:func:`ceiling_rows`) appended. A subject without
    empirical BOLD gets only the features. ``keys`` may hold ``G_abs``, the absolute coupling
    when ``G`` is a fraction of G* (default ``G``); it becomes column :data:`G_ABS`. Returns
    (the batch's tidy table, the simulated FC (S, N, N)).
    """
    tr_s = float(empirical["tr_s"])
    if abs(float(signals["tr_s"]) - tr_s) > 1e-9:
        raise CmftvbError(
            f"subject {keys['subject']}: simulated BOLD at TR {float(signals['tr_s'])} s, "
            f"empirical at {tr_s} s"
        )
    window, step = fcd_steps(tr_s, fcd_window_s, fcd_step_s)
    keys = dict(keys)
    G_abs = float(keys.pop(G_ABS, keys["G"]))
    ceiling = ceiling_rows(empirical["bold"], signals["bold"].shape[1], keys["subject"])
    tables, fcs = [], []
    for k, seed in enumerate(int(s) for s in signals["seeds"]):
        sim_bold = signals["bold"][k]
        if filter_simulated:
            sim_bold = preprocess_bold(sim_bold, tr_s, band=tuple(bandpass_hz), order=filter_order)
        run_keys = {**keys, "G": float(keys["G"]), "seed": seed}
        extra = summarise_features(
            features[features["seed"] == seed], connectome.labels, connectome.roles
        )
        if empirical["bold"].shape[0] == 0:
            log.info(
                "no empirical BOLD for %s: electrophysiological features only", keys["subject"]
            )
            table = extra.assign(**run_keys)[TABLE_COLUMNS]
        else:
            log.info("FCD: window %d volumes, step %d volumes (TR %g s)", window, step, tr_s)
            table = run_table(
                **run_keys,
                sim_bold=sim_bold,
                emp_bold=empirical["bold"],
                labels=connectome.labels,
                has_empirical=connectome.has_empirical,
                fcd_window=window,
                fcd_step=step,
                extra=extra if ceiling.empty else pd.concat([extra, ceiling], ignore_index=True),
            )
        table.insert(TABLE_COLUMNS.index("G") + 1, G_ABS, G_abs)
        for metric in ("fc_fit", "fcd_ks"):
            hit = table[(table.metric == metric) & (table.region == "global")]
            if len(hit):
                log.info("seed %d: %s = %.4f", seed, metric, float(hit.value.iloc[0]))
        tables.append(table)
        fcs.append(fc(sim_bold))
    return pd.concat(tables, ignore_index=True), np.stack(fcs)


def study_table(tables) -> pd.DataFrame:
    """The study's tidy table from per-run tables (columns :data:`TABLE_COLUMNS`, plus
    :data:`G_ABS` after ``G`` when every table has it): rows concatenated, ``value`` numeric,
    sorted by every column of :data:`TABLE_COLUMNS` but ``value`` (stable)."""
    tables = list(tables)
    columns = list(TABLE_COLUMNS)
    if tables and all(G_ABS in t.columns for t in tables):
        columns.insert(columns.index("G") + 1, G_ABS)
    table = pd.concat(tables, ignore_index=True)[columns]
    table["value"] = pd.to_numeric(table["value"])
    return table.sort_values(TABLE_COLUMNS[:-1], kind="stable").reset_index(drop=True)


def run_table(
    *,
    subject: str,
    model: str,
    preset: str,
    G: float,
    seed: int,
    sim_bold,
    emp_bold,
    labels,
    has_empirical,
    fcd_window: int = FCD_WINDOW,
    fcd_step: int = FCD_STEP,
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Tidy fitness table of one run (one subject, model, preset, G, seed).

    ``sim_bold`` (T, N) simulated BOLD (transient dropped) and ``emp_bold`` preprocessed
    empirical BOLD at the same TR, either (T', N) aligned with ``labels`` (columns of nodes
    without data are ignored, may be NaN) or (T', n_emp) holding only the nodes where
    ``has_empirical`` is True, in node order. Rows: global ``fc_fit`` and ``fcd_ks`` (region
    ``"global"``), and per region with empirical data ``bold_mae`` and ``fc_profile_error``.
    Nodes without empirical data get no row at all. ``extra`` (columns metric, region, value),
    e.g. electrophysiological features, is appended with the run's keys.

    Columns: subject, model, preset, G, seed, metric, region, value.
    """
    s = _bold(sim_bold, "sim_bold")
    labels = [str(x) for x in labels]
    has = np.asarray(has_empirical, dtype=bool)
    N = s.shape[1]
    if len(labels) != N or has.shape != (N,):
        raise CmftvbError(
            f"run_table: {N} simulated nodes, {len(labels)} labels, {has.size} has_empirical"
        )
    e = _bold(emp_bold, "emp_bold")
    idx = np.flatnonzero(has)
    if e.shape[1] == idx.size and idx.size != N:
        full = np.full((e.shape[0], N), np.nan)
        full[:, idx] = e
        e = full
    elif e.shape[1] != N:
        raise CmftvbError(
            f"run_table: empirical BOLD has {e.shape[1]} columns; expected {N} (all nodes) "
            f"or {idx.size} (nodes with empirical data)"
        )
    if not np.all(np.isfinite(e[:, idx])):
        raise CmftvbError(
            f"run_table: empirical BOLD of subject {subject} has NaN for a node "
            "marked has_empirical"
        )
    sim_fc, emp_fc = fc(s), fc(e)
    rows = [
        ("fc_fit", "global", fc_fit(sim_fc, emp_fc, idx)),
        (
            "fcd_ks",
            "global",
            fcd_ks(fcd(s, fcd_window, fcd_step, idx), fcd(e, fcd_window, fcd_step, idx)),
        ),
    ]
    mae = regional_bold_mae(s, e, idx)
    prof = regional_fc_profile_error(sim_fc, emp_fc, idx)
    for i in idx:
        rows.append(("bold_mae", labels[i], mae[i]))
        rows.append(("fc_profile_error", labels[i], prof[i]))
    df = pd.DataFrame(rows, columns=["metric", "region", "value"])
    if extra is not None:
        missing = {"metric", "region", "value"} - set(extra.columns)
        if missing:
            raise CmftvbError(f"run_table: extra table lacks columns {sorted(missing)}")
        df = pd.concat([df, extra[["metric", "region", "value"]]], ignore_index=True)
    df.insert(0, "seed", int(seed))
    df.insert(0, "G", float(G))
    df.insert(0, "preset", str(preset))
    df.insert(0, "model", str(model))
    df.insert(0, "subject", str(subject))
    df["value"] = df["value"].astype(float)
    return df[TABLE_COLUMNS]


#: Study-table metric of :func:`noise_ceiling`'s mean (region ``"global"``).
NOISE_CEILING_METRIC = "noise_ceiling_fc_fit"
__all__ += ["NOISE_CEILING_METRIC", "noise_ceiling"]


def noise_ceiling(emp_bold, n_volumes: int, *, mask=None, step: int | None = None) -> dict:
    """FC fit reachable at a run length: segments of a subject's own BOLD against its session.

    ``emp_bold`` (T, N): the subject's preprocessed empirical BOLD (:func:`preprocess_bold`),
    volumes x nodes like every array of this module. Segments of ``n_volumes`` volumes start
    every ``step`` volumes (default ``n_volumes``: non-overlapping; a trailing remainder shorter
    than ``n_volumes`` is left out). Each segment's FC is scored against the full-session FC
    with :func:`fc_fit` on the ``mask`` nodes, exactly as a simulated run of ``n_volumes``
    post-transient volumes is scored. Since a model can at best reproduce the subject's own
    activity, whose FC over that length is itself this noisy, the mean is the best ``fc_fit``
    any model can be expected to reach at that run length (it is 1 at the full length).

    Returns ``{"mean": ..., "sd": ..., "n_segments": ...}``: mean and SD (ddof 1; NaN for a
    single segment) over the segments with a finite fit, and the number of such segments.
    """
    e = _bold(emp_bold, "emp_bold")
    T = e.shape[0]
    n = int(n_volumes)
    if n != n_volumes or not 3 <= n <= T:
        raise CmftvbError(f"noise_ceiling: n_volumes must be an integer in 3..{T}, got {n_volumes}")
    step = n if step is None else int(step)
    if step < 1:
        raise CmftvbError(f"noise_ceiling: step must be >= 1, got {step}")
    idx = _mask(mask, e.shape[1])
    full = fc(e)
    fits = np.array([fc_fit(fc(e[s : s + n]), full, idx) for s in range(0, T - n + 1, step)])
    fits = fits[np.isfinite(fits)]
    k = fits.size
    return {
        "mean": float(fits.mean()) if k else np.nan,
        "sd": float(fits.std(ddof=1)) if k >= 2 else np.nan,
        "n_segments": int(k),
    }


def ceiling_rows(emp_bold, n_volumes: int, subject: str = "") -> pd.DataFrame:
    """The noise-ceiling row of a run (metric :data:`NOISE_CEILING_METRIC`, region ``global``).

    ``emp_bold`` (T, n_emp): the subject's preprocessed empirical BOLD, only the nodes with
    empirical data (a :data:`cmftvb.io.EMPIRICAL` file's ``bold``); ``n_volumes``: the
    simulated post-transient BOLD length (volumes). The value is :func:`noise_ceiling`'s mean
    over non-overlapping segments of that length. No row (an empty table) when the subject
    has no empirical BOLD or fewer than ``n_volumes`` volumes of it (logged).
    """
    empty = pd.DataFrame(columns=["metric", "region", "value"])
    e = np.asarray(emp_bold, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        return empty
    if not 3 <= int(n_volumes) <= e.shape[0]:
        log.warning(
            "noise ceiling of %s: %d simulated volumes but %d empirical ones; not computed",
            subject,
            int(n_volumes),
            e.shape[0],
        )
        return empty
    c = noise_ceiling(e, int(n_volumes))
    log.info(
        "noise ceiling of %s at %d volumes: fc_fit %.3f (SD %.3f over %d segments)",
        subject,
        int(n_volumes),
        c["mean"],
        c["sd"],
        c["n_segments"],
    )
    return pd.DataFrame(
        [(NOISE_CEILING_METRIC, GLOBAL, c["mean"])], columns=["metric", "region", "value"]
    )


__all__ += ["G_ABS", "GLOBAL", "ceiling_rows"]
