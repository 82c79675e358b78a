"""Validation of input values and connectome arrays; every failure is a :class:`cmftvb.CmftvbError`.

The messages follow ARCHITECTURE.md "Errors": ``<file or key>: <what is wrong>``, e.g.
``subjects/s01/weights.csv: not square (94 x 93)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError


def _as_float(value: Any, where: str, not_a_number: str) -> float:
    """``value`` as a float; ``"<where>: <not_a_number>, got <value>"`` otherwise."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CmftvbError(f"{where}: {not_a_number}, got {value!r}") from None


def finite_number(value: Any, where: str, what: str) -> float:
    """``value`` as a finite float; ``where`` names the key or flag, ``what`` the quantity
    (``"G"``) in the one-line :class:`CmftvbError` otherwise."""
    x = _as_float(value, where, f"{what} must be a number")
    if not math.isfinite(x):
        raise CmftvbError(f"{where}: {what} must be a finite number, got {x}")
    return x


def number(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, with ``positive`` also > 0, with ``nonnegative`` also >= 0;
    ``name`` (an argument, key or flag, e.g. ``"dt"``) heads the one-line
    :class:`CmftvbError` otherwise."""
    x = _as_float(value, name, "expected a number")
    if positive and not (math.isfinite(x) and x > 0):
        raise CmftvbError(f"{name}: must be positive and finite, got {x}")
    if nonnegative and not (math.isfinite(x) and x >= 0):
        raise CmftvbError(f"{name}: must be >= 0, got {x}")
    if not math.isfinite(x):
        raise CmftvbError(f"{name}: must be finite, got {x}")
    return x


def time_columns(x: Any, name: str, columns: str) -> np.ndarray:
    """``x`` as a finite float64 array (time, ``columns``), a 1-D input as one column (the
    signal modules' layout; :func:`timeseries` is the empirical (nodes, time) one); ``name``
    heads the one-line :class:`CmftvbError` otherwise."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise CmftvbError(f"{name}: expected an array (time, {columns}), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise CmftvbError(f"{name}: contains NaN or infinite values")
    return a


def as_float_array(x, where: str) -> np.ndarray:
    """``x`` as a float64 array, or an error naming ``where`` if it is not numeric."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CmftvbError(f"{where}: not numeric ({exc})") from None
    return arr


def square_matrix(x, where: str, *, what: str = "matrix") -> np.ndarray:
    """A finite, square, 2-D float64 matrix with at least one row."""
    arr = as_float_array(x, where)
    if arr.ndim != 2:
        raise CmftvbError(f"{where}: {what} must be 2-D, got {arr.ndim}-D shape {arr.shape}")
    if arr.shape[0] != arr.shape[1]:
        raise CmftvbError(f"{where}: {what} not square ({arr.shape[0]} x {arr.shape[1]})")
    if arr.shape[0] == 0:
        raise CmftvbError(f"{where}: {what} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise CmftvbError(
            f"{where}: {what} has {int(bad.sum())} non-finite (NaN/Inf) entries,"
            f" first at [{i}, {j}]"
        )
    return arr


def weights(x, where: str) -> np.ndarray:
    """Validate structural weights ``W[target, source]``: square, finite, non-negative."""
    arr = square_matrix(x, where, what="weights")
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise CmftvbError(
            f"{where}: weights has {int((arr < 0).sum())} negative entries, first at [{i}, {j}]"
            f" ({arr[i, j]:g}); structural weights must be >= 0"
        )
    return arr


def tract_lengths(x, where: str, n: int | None = None, w: np.ndarray | None = None) -> np.ndarray:
    """Validate tract lengths (mm): square, finite, non-negative, shape (n, n).

    The rule for "a weight but no tract length", the same for every reader (TVB zip, CSV/TSV,
    NumPy, MRtrix3; docs/STUDY.md "Data"): if ``w`` is given, a connection off the diagonal
    with a non-zero weight and a zero length is accepted and gets a zero conduction delay
    (as in The Virtual Brain, which rounds delays to whole steps; the sample subject has 56
    such connections, all between neighbouring regions). Only a lengths matrix that is zero
    at *every* weighted connection is refused: then the lengths are missing, not short.
    :func:`weights_without_length` counts the accepted ones.
    """
    arr = square_matrix(x, where, what="tract lengths")
    if n is not None and arr.shape != (n, n):
        raise CmftvbError(
            f"{where}: tract lengths shape {arr.shape[0]} x {arr.shape[1]} does not match the"
            f" {n} x {n} weights"
        )
    if (arr < 0).any():
        raise CmftvbError(f"{where}: tract lengths has negative entries (mm must be >= 0)")
    if w is not None:
        weighted = _weighted_off_diagonal(w)
        missing = weighted & (arr == 0)
        if weighted.any() and missing.sum() == weighted.sum():
            raise CmftvbError(
                f"{where}: no tract length at any of the {int(weighted.sum())} weighted"
                " connections (the lengths are missing: give a lengths matrix in mm)"
            )
    return arr


def _weighted_off_diagonal(w) -> np.ndarray:
    w = np.asarray(w)
    return (w != 0) & ~np.eye(w.shape[0], dtype=bool)


def weights_without_length(w, lengths) -> int:
    """Number of off-diagonal connections with a non-zero weight and a zero tract length.

    Accepted by :func:`tract_lengths` (zero conduction delay); readers and the command line
    report the count so that a user can see it.
    """
    return int((_weighted_off_diagonal(w) & (np.asarray(lengths) == 0)).sum())


def has_connections(w, where: str) -> np.ndarray:
    """Refuse a connectome whose weights are all zero off the diagonal (nothing to couple)."""
    arr = np.asarray(w)
    if not _weighted_off_diagonal(arr).any():
        raise CmftvbError(
            f"{where}: every weight off the diagonal is zero (no connections between regions)"
        )
    return arr


#: Cerebellar roles used by :func:`looks_prewired`.
_CORTEX_ROLES = ("crbl_hemisphere", "crbl_vermis")


def looks_prewired(w, roles, feedback: float = 0.1) -> bool:
    """Whether ``w`` (``W[target, source]``) already carries the cerebellar prewiring.

    The prewiring (docs/MODEL.md "The connectome") makes the DCN -> cerebellar cortex block
    exactly ``feedback`` (0.1) times the transpose of the non-zero cerebellar cortex -> DCN
    block; tractography does not produce that relation. True for the sample subject.
    """
    w = np.asarray(w, dtype=np.float64)
    r = np.asarray([str(x) for x in roles])
    ctx = np.isin(r, _CORTEX_ROLES)
    dcn = r == "dcn"
    if not ctx.any() or not dcn.any():
        return False
    to_dcn = w[np.ix_(dcn, ctx)]
    back = w[np.ix_(ctx, dcn)]
    if not (to_dcn > 0).any():
        return False
    return bool(np.allclose(back, feedback * to_dcn.T, rtol=1e-6, atol=1e-12))


def refuse_prewiring_twice(w, roles, where: str) -> None:
    """Refuse to prewire a connectome that :func:`looks_prewired` (call before prewiring).

    The message names the config key that declares a prewired connectome.
    """
    if looks_prewired(w, roles):
        raise CmftvbError(
            f"{where}: the connectome already carries a prewired cerebellum (DCN -> cortex"
            " feedback = 0.1 x the transposed cortex -> DCN block); set config key"
            " 'connectome.prewired: true' to keep it as it is"
        )


def labels(x: Sequence[str], where: str, n: int) -> np.ndarray:
    """Labels: n non-empty, unique strings."""
    labs = [str(s).strip() for s in x]
    if len(labs) != n:
        raise CmftvbError(f"{where}: {len(labs)} labels for {n} regions")
    if any(not s for s in labs):
        raise CmftvbError(f"{where}: empty label at position {labs.index('')}")
    seen: set[str] = set()
    for s in labs:
        if s in seen:
            raise CmftvbError(f"{where}: duplicate label {s!r}")
        seen.add(s)
    return np.array(labs, dtype=str)


def centres(x, where: str, n: int) -> np.ndarray:
    """Centres (n, 3) in mm; NaN allowed (unknown), Inf not."""
    arr = as_float_array(x, where)
    if arr.shape != (n, 3):
        raise CmftvbError(f"{where}: centres shape {arr.shape}, expected ({n}, 3)")
    if np.isinf(arr).any():
        raise CmftvbError(f"{where}: centres contain Inf")
    return arr


def volumes(x, where: str, n: int) -> np.ndarray:
    """Volumes (n,) in mm³; NaN allowed (unknown), otherwise positive and finite."""
    arr = as_float_array(x, where)
    if arr.shape != (n,):
        raise CmftvbError(f"{where}: volumes shape {arr.shape}, expected ({n},)")
    known = arr[~np.isnan(arr)]
    if np.isinf(known).any() or (known <= 0).any():
        raise CmftvbError(f"{where}: volumes must be positive and finite (mm^3) or NaN")
    return arr


def timeseries(x, where: str, n_nodes: int | None = None) -> np.ndarray:
    """Regional time series (nodes, time): 2-D, finite, at least 2 samples."""
    arr = as_float_array(x, where)
    if arr.ndim != 2:
        raise CmftvbError(f"{where}: time series must be 2-D (nodes x time), got shape {arr.shape}")
    if n_nodes is not None and arr.shape[0] != n_nodes:
        raise CmftvbError(f"{where}: {arr.shape[0]} regions in the time series, expected {n_nodes}")
    if arr.shape[0] == 0 or arr.shape[1] < 2:
        raise CmftvbError(f"{where}: time series too short (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise CmftvbError(f"{where}: time series has non-finite (NaN/Inf) values")
    return arr
