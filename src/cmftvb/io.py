"""File formats shared by the workflow's stages: atomic writes and provenance.

Every file under ``results/`` is written through :func:`atomic_path` (a temporary file in the
same folder, renamed into place only when complete), so that an interrupted job never leaves a
file that a later stage could mistake for a finished one. Every output carries a provenance
record (:func:`provenance`): config digest, seed(s), package versions and git commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from cmftvb import CmftvbError

#: Packages whose versions go into every provenance record.
PROVENANCE_PACKAGES = (
    "cmftvb",
    "numpy",
    "scipy",
    "numba",
    "tvb-library",
    "snakemake",
    "pandas",
    "nibabel",
)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched (absent if it
    was absent). The suffix of ``path`` is kept so that writers that append one (``np.savez``)
    or guess a format from it (matplotlib) behave. Temporary files of the same ``path`` left by
    a writer that was killed (SIGKILL, lost node: no clean-up ran) are removed first: one
    output has one writer at a time (Snakemake locks its outputs).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{path.name}.", ".tmp" + path.suffix
    stale = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(suffix))
    with os.scandir(path.parent) as entries:
        for entry in entries:
            if stale.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file 0600; give the result the permissions a normal open()
        # would (0666 less the umask) so colleagues on a shared cluster can read it.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant white space (stable digests)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def digest(obj: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions(names: tuple[str, ...] = PROVENANCE_PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def git_commit(start: str | os.PathLike | None = None) -> str:
    """Commit of the checkout that holds this package (or ``start``), or 'unknown'."""
    here = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def provenance(config: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Provenance record: config digest, package versions, git commit, python, extras.

    Deliberately free of timestamps and host names so that two runs of the same study give
    bitwise-identical outputs.
    """
    rec: dict[str, Any] = {
        "config_digest": digest(config) if config is not None else None,
        "packages": package_versions(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
    }
    rec.update(extra)
    return rec


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CmftvbError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CmftvbError(f"{path}: not valid JSON ({exc})") from None


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping) -> None:
    """Save arrays plus a JSON ``meta`` record (key ``meta``) as one .npz, atomically.

    See :func:`save_npz_stream`; this is the in-memory convenience form.
    """
    save_npz_stream(path, arrays.items(), meta)


#: Fixed member timestamp (the zip epoch), so identical inputs give identical bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz_stream(
    path: str | os.PathLike, items: Iterable[tuple[str, Any]], meta: Mapping
) -> None:
    """Write ``(name, array)`` pairs one at a time as a .npz, plus the JSON ``meta`` member.

    The layout is numpy's (an uncompressed zip of ``.npy`` members, readable by ``np.load``
    and :func:`load_npz`), but members get a fixed timestamp instead of the wall clock, so two
    runs with the same inputs write bitwise-identical files, and arrays are written as they
    come so a long simulation's output need not be held in memory twice. Written atomically.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in items:
            if name == "meta":
                raise ValueError("'meta' is reserved for the JSON record")
            _write_member(zf, name, np.asanyarray(arr))
        text = np.array(json.dumps(meta, sort_keys=True, default=_json_default))
        _write_member(zf, "meta", text)


def _write_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    with zf.open(info, "w", force_zip64=True) as f:
        np.lib.format.write_array(f, arr, allow_pickle=False)


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Load a file written by :func:`save_npz`: (arrays, meta)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    except FileNotFoundError:
        raise CmftvbError(f"{path}: file not found") from None
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        MemoryError,
        zipfile.BadZipFile,
        zlib.error,
        json.JSONDecodeError,
    ) as exc:
        raise CmftvbError(f"{path}: not a readable cmftvb .npz file ({exc})") from None
    return arrays, meta
