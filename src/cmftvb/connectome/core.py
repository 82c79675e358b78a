"""The prepared connectome (ARCHITECTURE.md "Prepared connectome") and TVB zip input/output.

A :class:`Connectome` holds ``W[target, source]`` (TVB convention: row = target, MODEL.md §1),
tract lengths in mm, labels, roles, centres (MNI mm), volumes (mm³), which nodes have empirical
BOLD, and a JSON ``meta`` record. It is saved as ``.npz`` through :func:`cmftvb.io.save_npz`.

TVB zip files (as read by tvb-library's ``Connectivity.from_file``) hold ``weights.txt``,
``tract_lengths.txt`` and ``centres.txt`` (``label x y z`` per line). Archives are read member by
member into memory, never extracted to disk; absolute paths, ``..`` components, links and
oversized members are refused (:func:`read_zip_members`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cmftvb import CmftvbError
from cmftvb import io as cio
from cmftvb.connectome import roles as _roles
from cmftvb.connectome import validate as _v

#: Largest member accepted from a connectome zip (bytes, uncompressed). A 1000-node matrix in
#: TVB's text format is about 25 MB.
MAX_MEMBER_BYTES = 256 * 1024**2
#: Largest total uncompressed size accepted from one zip (bytes).
MAX_TOTAL_BYTES = 1024**3
#: Most members accepted in one zip.
MAX_MEMBERS = 1000


@dataclasses.dataclass
class Connectome:
    """A structural connectome with node annotations.

    Attributes (N nodes): ``weights`` (N, N) ``W[target, source]``, dimensionless;
    ``tract_lengths`` (N, N) mm; ``labels`` (N,) str; ``roles`` (N,) str (see
    :data:`cmftvb.connectome.roles.ROLES`); ``centres`` (N, 3) MNI mm, NaN if unknown;
    ``volumes`` (N,) mm³, NaN if unknown; ``has_empirical`` (N,) bool; ``meta`` dict (JSON).
    Arrays are validated on construction (:mod:`cmftvb.connectome.validate`), with the one
    rule every reader follows for "a weight but no tract length"
    (:func:`~cmftvb.connectome.validate.tract_lengths`): a weighted connection with a zero length
    is accepted (zero conduction delay; :func:`~cmftvb.connectome.validate.weights_without_length`
    counts them), a lengths matrix zero at every weighted connection is refused.
    """

    weights: np.ndarray
    tract_lengths: np.ndarray
    labels: np.ndarray
    roles: np.ndarray | None = None
    centres: np.ndarray | None = None
    volumes: np.ndarray | None = None
    has_empirical: np.ndarray | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = str(self.meta.get("source", "connectome"))
        self.weights = _v.weights(self.weights, where)
        n = self.weights.shape[0]
        self.tract_lengths = _v.tract_lengths(self.tract_lengths, where, n, self.weights)
        self.labels = _v.labels(list(self.labels), where, n)
        if self.roles is None:
            self.roles = _roles.annotate(self.labels)
        else:
            roles = np.array([str(r) for r in self.roles], dtype=str)
            if roles.shape != (n,) or not np.isin(roles, _roles.ROLES).all():
                raise CmftvbError(f"{where}: roles must be {n} values from {_roles.ROLES}")
            self.roles = roles
        self.centres = _v.centres(
            np.full((n, 3), np.nan) if self.centres is None else self.centres, where, n
        )
        self.volumes = _v.volumes(
            np.full(n, np.nan) if self.volumes is None else self.volumes, where, n
        )
        he = np.zeros(n, bool) if self.has_empirical is None else np.asarray(self.has_empirical)
        if he.shape != (n,):
            raise CmftvbError(f"{where}: has_empirical shape {he.shape}, expected ({n},)")
        self.has_empirical = he.astype(bool)
        self.meta = dict(self.meta)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.weights.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the prepared-connectome file, by key."""
        return {
            "weights": self.weights,
            "tract_lengths": self.tract_lengths,
            "labels": self.labels,
            "roles": self.roles,
            "centres": self.centres,
            "volumes": self.volumes,
            "has_empirical": self.has_empirical,
        }

    def digest(self) -> str:
        """sha256 (hex) of the arrays (fixed key order, dtype, shape, bytes); meta excluded."""
        h = hashlib.sha256()
        for key, arr in self.arrays().items():
            a = np.ascontiguousarray(arr)
            if a.dtype.kind == "U":
                data = "\n".join(a.tolist()).encode()
            else:
                data = a.tobytes()
            h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
            h.update(data)
        return h.hexdigest()

    def index(self, group) -> np.ndarray:
        """Indices of the nodes in a role group or role (see :func:`roles.indices`)."""
        return _roles.indices(self.roles, group)

    def replace(self, **changes) -> Connectome:
        """A validated copy with some fields replaced (meta is copied, not shared)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["meta"] = dict(self.meta)
        fields.update(changes)
        return Connectome(
            **{k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
        )

    @classmethod
    def from_labelled(
        cls, weights, tract_lengths, labels, *, where, overrides=None, **fields
    ) -> Connectome:
        """A connectome read from files: node roles inferred from ``labels`` (with
        ``overrides``, see :func:`roles.annotate`), a role error naming ``where`` (the file);
        ``fields`` are the other :class:`Connectome` fields (centres, volumes, meta)."""
        try:
            roles = _roles.annotate(labels, overrides)
        except CmftvbError as exc:
            raise CmftvbError(f"{where}: {exc}") from None
        return cls(
            weights=weights, tract_lengths=tract_lengths, labels=labels, roles=roles, **fields
        )

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        """Write the prepared connectome (.npz, atomically, via :func:`cmftvb.io.save_npz`)."""
        cio.save_npz(path, self.arrays(), self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Connectome:
        """Read a file written by :meth:`save`."""
        _check_npz(path)
        try:
            arrays, meta = cio.load_npz(path)
        except (zipfile.BadZipFile, EOFError, zlib.error, struct.error, NotImplementedError) as exc:
            # io.load_npz lets these through on a corrupt archive
            raise CmftvbError(f"{path}: not a readable .npz file ({exc})") from None
        missing = [k for k in ("weights", "tract_lengths", "labels") if k not in arrays]
        if missing:
            raise CmftvbError(f"{path}: not a prepared connectome (missing {', '.join(missing)})")
        meta = dict(meta)
        meta.setdefault("source", str(path))
        try:
            return cls(
                weights=arrays["weights"],
                tract_lengths=arrays["tract_lengths"],
                labels=[str(s) for s in arrays["labels"]],
                roles=arrays.get("roles"),
                centres=arrays.get("centres"),
                volumes=arrays.get("volumes"),
                has_empirical=arrays.get("has_empirical"),
                meta=meta,
            )
        except CmftvbError as exc:
            msg = str(exc)  # names the file already unless meta names another source
            raise CmftvbError(msg if msg.startswith(f"{path}:") else f"{path}: {msg}") from None

    def to_tvb_zip(self, path: str | os.PathLike) -> None:
        """Write a TVB connectivity zip (weights.txt, tract_lengths.txt, centres.txt), atomically.

        Numbers are written with 17 significant digits, so a round trip is exact. Roles,
        volumes and meta are not part of TVB's format (use :meth:`save` for those).
        """
        members = {
            "weights.txt": _matrix_text(self.weights),
            "tract_lengths.txt": _matrix_text(self.tract_lengths),
            "centres.txt": "".join(
                f"{lab}\t{x!r}\t{y!r}\t{z!r}\n"
                for lab, (x, y, z) in zip(
                    self.labels, self.centres.astype(float).tolist(), strict=True
                )
            ),
        }
        with cio.atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, text in members.items():
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                    zf.writestr(info, text)

    @classmethod
    def from_tvb_zip(cls, path: str | os.PathLike, *, overrides=None, **zip_limits) -> Connectome:
        """Read a TVB connectivity zip; roles annotated from labels (with ``overrides``)."""
        path = Path(path)
        members = read_zip_members(path, **zip_limits)

        def pick(*prefixes: str, required: bool = True) -> tuple[str, bytes] | None:
            for name, data in members.items():
                base = name.rsplit("/", 1)[-1].lower()
                if base.startswith(prefixes) and base.endswith((".txt", ".csv")):
                    return name, data
            if required:
                raise CmftvbError(
                    f"{path}: no {prefixes[0]}*.txt in the zip"
                    f" (members: {', '.join(members) or 'none'})"
                )
            return None

        wname, wdata = pick("weights")
        lname, ldata = pick("tract_lengths", "tract_length", "tract")
        cname, cdata = pick("centres", "centers")
        w = _v.weights(_parse_matrix(wdata, f"{path}:{wname}"), f"{path}:{wname}")
        n = w.shape[0]
        lengths = _v.tract_lengths(_parse_matrix(ldata, f"{path}:{lname}"), f"{path}:{lname}", n, w)
        labels, centres = _parse_centres(cdata, f"{path}:{cname}", n)
        meta = {"source": str(path), "format": "tvb_zip"}
        return cls.from_labelled(
            w, lengths, labels, where=path, overrides=overrides, centres=centres, meta=meta
        )


def _check_npz(path: str | os.PathLike) -> None:
    """Refuse an .npz whose members declare more data than they hold (corrupt or hostile
    headers would otherwise make numpy allocate the declared size before reading)."""
    path = Path(path)
    if not path.is_file():
        raise CmftvbError(f"{path}: file not found")
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                need = float(np.prod([float(d) for d in shape])) * dtype.itemsize
                if need > info.file_size:
                    raise CmftvbError(
                        f"{path}: member {info.filename!r} declares {need:.0f} bytes but holds"
                        f" {info.file_size} (truncated or corrupt)"
                    )
    except CmftvbError:
        raise
    except Exception as exc:  # zipfile / numpy header parsing of a corrupt archive
        raise CmftvbError(
            f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})"
        ) from None


def _matrix_text(a: np.ndarray) -> str:
    return "".join(" ".join(repr(float(x)) for x in row) + "\n" for row in a)


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("latin-1")
        except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes everything
            raise CmftvbError(f"{where}: not a text file ({exc})") from None


def _parse_matrix(data: bytes, where: str) -> np.ndarray:
    """A whitespace/comma separated numeric matrix from text bytes."""
    text = _decode(data, where)
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace(";", " ").split()
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            raise CmftvbError(f"{where}: non-numeric entry in line {line[:60]!r}") from None
    if not rows:
        raise CmftvbError(f"{where}: empty matrix")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise CmftvbError(
            f"{where}: ragged matrix (rows of {min(widths)} to {max(widths)} values;"
            " truncated file?)"
        )
    return np.array(rows, dtype=np.float64)


def _parse_centres(data: bytes, where: str, n: int) -> tuple[list[str], np.ndarray]:
    text = _decode(data, where)
    labels, xyz = [], []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 4:
            raise CmftvbError(f"{where}: expected 'label x y z', got {line[:60]!r}")
        try:
            coords = [float(p) for p in parts[1:4]]
        except ValueError:
            raise CmftvbError(f"{where}: non-numeric coordinate in {line[:60]!r}") from None
        labels.append(parts[0])
        xyz.append(coords)
    if len(labels) != n:
        raise CmftvbError(f"{where}: {len(labels)} labels for {n} regions in the weights")
    return labels, _v.centres(np.array(xyz, dtype=np.float64).reshape(n, 3), where, n)


def read_zip_members(
    path: str | os.PathLike,
    *,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_members: int = MAX_MEMBERS,
) -> dict[str, bytes]:
    """Read the regular-file members of a zip into memory, safely.

    Refuses (with :class:`CmftvbError` naming the archive and member) absolute paths, ``..``
    components, drive letters, symbolic links, duplicate member names, more than
    ``max_members`` entries, and members
    whose declared or actual uncompressed size exceeds ``max_member_bytes`` (or whose total
    exceeds ``max_total_bytes``) — the latter guards against zip bombs. Directories are skipped.
    Nothing is written to disk.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CmftvbError(f"{path}: file not found") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CmftvbError(f"{path}: not a readable zip archive ({exc})") from None
    out: dict[str, bytes] = {}
    seen: set[str] = set()
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise CmftvbError(f"{path}: too many members ({len(infos)} > {max_members})")
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
                raise CmftvbError(f"{path}: unsafe member path {name!r}")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise CmftvbError(f"{path}: member {name!r} is a symbolic link")
            if name in seen:  # tools disagree on which copy counts: use neither
                raise CmftvbError(f"{path}: duplicate member {name!r} (ambiguous archive)")
            seen.add(name)
            if info.is_dir():
                continue
            if info.file_size > max_member_bytes:
                raise CmftvbError(f"{path}: member {name!r} too large ({info.file_size} bytes)")
            try:
                with zf.open(info) as f:
                    data = f.read(max_member_bytes + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                ValueError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise CmftvbError(f"{path}: member {name!r} is corrupt ({exc})") from None
            if len(data) > max_member_bytes:
                raise CmftvbError(f"{path}: member {name!r} too large (> {max_member_bytes} bytes)")
            total += len(data)
            if total > max_total_bytes:
                raise CmftvbError(f"{path}: archive too large (> {max_total_bytes} bytes)")
            out[name] = data
    return out


def load_any(path: str | os.PathLike, *, overrides=None) -> Connectome:
    """Load a TVB zip (``.zip``) or a prepared connectome (``.npz``)."""
    path = Path(path)
    if not path.exists():
        raise CmftvbError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return Connectome.from_tvb_zip(path, overrides=overrides)
    if suffix == ".npz":
        con = Connectome.load(path)
        if overrides:
            con = con.replace(roles=_roles.annotate(con.labels, overrides))
        return con
    raise CmftvbError(f"{path}: unknown connectome format (expected .zip or .npz)")


__all__ = ["Connectome", "load_any", "read_zip_members"]
