"""File formats shared by the CLI and the workflow: atomic writes, provenance, and one
documented, tagged layout per kind of file (section "file kinds" below).

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
import yaml

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


# ------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (YAML keeps the last)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, line, seen[key])
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(key, line, first)
        self.key, self.line, self.first = key, line, first


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: str | os.PathLike) -> Any:
    """Load a YAML file (safe subset), refusing duplicate mapping keys.

    Plain YAML loaders keep the last of two equal keys without a word; a config with a pasted
    duplicate then silently loses the first value. Raises :class:`CmftvbError` naming the file,
    the key and both lines.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CmftvbError(f"{path}: file not found") from None
    try:
        loader = _UniqueKeyLoader(text)  # a SafeLoader subclass: plain data only
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _DuplicateKey as dup:
        raise CmftvbError(
            f"{path}: line {dup.line}: duplicate key {dup.key!r} (first given on line {dup.first})"
        ) from None
    except yaml.YAMLError as exc:
        raise CmftvbError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None


# ------------------------------------------------------------------- file kinds
#
# One layout per kind of file, each tagged in ``meta["format"]`` and read by one function
# that checks the tag and the arrays the layout promises. Arrays with a leading seed axis
# have ``S`` = number of seeds of the batch (lanes of one engine run), ``T`` samples, ``N``
# nodes, ``k`` the nodes that have a given variable.

#: ``cmftvb simulate`` (the CLI): every node of every variable, NaN where a node's model lacks
#: it, float64. ``time_ms`` (T,), ``labels`` (N,), ``<var>`` and ``bold_input`` (S, T, N), or
#: (T, N) when one seed was run; ``params`` (JSON text).
SIMULATION_FULL = "cmftvb.simulation-full/1"
#: Rule simulate (the workflow): per variable only the nodes that have it, float32 (integrated
#: in float64). ``time_ms`` (T,), ``labels`` (N,), ``seeds`` (S,), ``<var>`` (S, T, k) with
#: ``nodes_<var>`` (k,) node indices, ``bold_input`` (S, T, N), ``params`` (JSON text).
SIMULATION_PACKED = "cmftvb.simulation-packed/1"
#: Rule simulate under ``simulation.store: signals``
#: (:class:`cmftvb.signals.stream_run.StudySignals`): what the signals rule and the article's
#: rules use, independent of the simulated time. ``labels`` (N,), ``seeds`` (S,), ``bold``
#: (S, V, N) at the TR after ``signals.bold_transient_s``; after ``signals.ephys_transient_s``:
#: ``freqs_hz`` (F,), ``psdabs_<pop>`` (S, F, k) un-normalised Welch spectra of each population
#: (Hz^2/Hz) with ``nodes_<pop>`` (k,), ``modes_<pop>`` (S, k, B) spectral-mode shares,
#: ``welch_samples``; ``coh_<a>__<b>`` (S, k, F) coherence of two populations of a node with
#: ``coh_nodes_<a>__<b>``; ``mean_<var>`` (S, k) time means (engine units) of the rates and
#: S_E, S_I; ``nodecoh`` (S, B, N, N) with ``nodecoh_bands`` and ``nodecoh_segments``
#: (coherence between nodes); ``ephysbold_<pop>`` (S, V, k) a rate through the hemodynamic
#: model at the cerebellar-cortex nodes ``ephysbold_nodes_<pop>``; ``excerpt_<pop>`` (S, t, k)
#: the cerebellar rates (kHz) of the first seconds, float32, at ``excerpt_time_ms`` (t,);
#: ``params`` (JSON text). Keys: :mod:`cmftvb.signals.names`. ``meta["options"]``: the
#: settings the file was made with (checked by the signals rule).
#: ``cmftvb simulate --monitor signals`` writes this layout too (the same sink, settings from
#: its options: ``--tr``, ``--bold-model``, ``--transient`` as both transients, Welch segment
#: 500 samples, ``--excerpt``), with three additions recorded in ``meta["options"]``
#: (``spectra_variables``, ``excerpt_variables``, ``dtype``): ``psdabs_<var>`` and
#: ``modes_<var>`` of S_E and S_I too, ``excerpt_<var>`` of every monitored variable, and the
#: samples and the excerpt in float64. Its per-variable arrays: the Welch spectrum
#: ``psdabs_<var>`` (S, F, k) (Hz^-1 x unit^2, rates in Hz), the time mean ``mean_<var>`` (S, k)
#: in engine units (cerebellar rates in kHz), ``excerpt_<var>`` (S, t, k) the first
#: ``--transient`` + ``--excerpt`` seconds as monitored (``[:, round(transient_s * fs_hz):]``
#: is the stretch after the transient), all with ``nodes_<var>`` (k,).
SIMULATION_SIGNALS = "cmftvb.simulation-signals/1"
#: The two layouts of the rule simulate's output (``simulation.store``: activity, signals).
SIMULATION_STORES = {"activity": SIMULATION_PACKED, "signals": SIMULATION_SIGNALS}
#: Rule prepare_empirical: ``bold`` (T, n_emp) preprocessed BOLD of the nodes with
#: ``has_empirical`` (node order; T = 0 when the subject has none), ``labels`` (n_emp,) of
#: those nodes, ``tr_s`` (s).
EMPIRICAL = "cmftvb.empirical/1"
#: Rule signals (:func:`cmftvb.signals.run_signals`): ``seeds`` (S,), ``bold`` (S, T_bold, N),
#: ``tr_s``, ``labels`` (N,), ``freqs_hz`` (F,), ``psd_<pop>`` (S, k, F) with ``nodes_<pop>``,
#: ``coh_freqs_hz``, ``coh_<a>__<b>`` (S, k, F) with ``coh_nodes_<a>__<b>``.
SIGNALS = "cmftvb.signals/1"
#: Rule fitness: ``fc`` (S, N, N) simulated FC used for scoring, ``seeds`` (S,), ``labels``.
FC = "cmftvb.fc/1"

_REQUIRED = {
    SIMULATION_FULL: ("time_ms", "labels", "bold_input", "params"),
    SIMULATION_PACKED: ("time_ms", "labels", "seeds", "bold_input", "params"),
    SIMULATION_SIGNALS: ("labels", "seeds", "bold", "freqs_hz", "welch_samples", "params"),
    EMPIRICAL: ("bold", "labels", "tr_s"),
    SIGNALS: ("seeds", "bold", "tr_s", "labels"),
    FC: ("fc", "seeds", "labels"),
}


def _params_text(params: Mapping[str, Any]) -> np.ndarray:
    return np.array(json.dumps(params, sort_keys=True, default=_json_text))


def _json_text(obj: Any) -> Any:
    try:
        return _json_default(obj)
    except TypeError:
        return str(obj)


def save_tagged(
    path: str | os.PathLike, fmt: str, arrays: Mapping[str, np.ndarray], meta: Mapping
) -> None:
    """Write a file of kind ``fmt`` (one of the tags above): ``meta["format"] = fmt``."""
    if fmt not in _REQUIRED:
        raise ValueError(f"unknown file kind {fmt!r}")
    save_npz(path, arrays, {"format": fmt, **meta})


def load_tagged(path: str | os.PathLike, fmt: str) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file of kind ``fmt``: (arrays, meta); a wrong tag or a missing array is a
    :class:`CmftvbError` naming the file."""
    return _checked(path, *load_npz(path), (fmt,))


def _checked(path, arrays: dict, meta: dict, formats: tuple[str, ...]):
    got = meta.get("format")
    if got not in formats:
        raise CmftvbError(f"{path}: a {got or 'untagged'} file, expected {' or '.join(formats)}")
    missing = [k for k in _REQUIRED[got] if k not in arrays]
    if missing:
        raise CmftvbError(f"{path}: {got} file lacks {', '.join(missing)}")
    return arrays, meta


def save_simulation_full(
    path: str | os.PathLike,
    items: Iterable[tuple[str, Any]],
    params: Mapping[str, Any],
    meta: Mapping,
) -> None:
    """Write a :data:`SIMULATION_FULL` file from ``(name, array)`` pairs streamed one at a time
    (e.g. ``SimulationResult.iter_arrays(squeeze=...)``) plus the run's ``params``."""

    def chain():
        yield from items
        yield "params", _params_text(params)

    save_npz_stream(path, chain(), {"format": SIMULATION_FULL, **meta})


def load_simulation_full(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a :data:`SIMULATION_FULL` file (``cmftvb simulate``): (arrays, meta)."""
    return load_tagged(path, SIMULATION_FULL)


def save_simulation_packed(
    path: str | os.PathLike,
    *,
    time_ms: np.ndarray,
    labels: np.ndarray,
    seeds: Iterable[int],
    variables: Mapping[str, np.ndarray],
    bold_input: np.ndarray,
    params: Mapping[str, Any],
    meta: Mapping,
) -> None:
    """Write a :data:`SIMULATION_PACKED` file from an engine run's (S, T, N) arrays.

    ``variables``: name -> (S, T, N) float64, NaN in the nodes whose model lacks the variable;
    each is stored over the nodes that have it (``nodes_<name>``), as float32: 7 significant
    digits are plenty for BOLD and spectra and halve the files, which dominate the study's disk
    use. ``meta`` gets the tag and ``dtype``.
    """
    arrays: dict[str, np.ndarray] = {"time_ms": time_ms, "labels": labels}
    for name in variables:
        values = variables[name]
        nodes = np.flatnonzero(~np.isnan(values).all(axis=(0, 1)))
        arrays[name] = values[:, :, nodes].astype(np.float32)
        arrays[f"nodes_{name}"] = nodes
    arrays["bold_input"] = np.asarray(bold_input).astype(np.float32)
    arrays["seeds"] = np.asarray(list(seeds), dtype=np.int64)
    arrays["params"] = _params_text(params)
    full_meta = {"format": SIMULATION_PACKED, **meta, "dtype": "float32 (integrated in float64)"}
    save_npz(path, arrays, full_meta)


def load_simulation_packed(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a :data:`SIMULATION_PACKED` file (rule simulate): (arrays, meta)."""
    return load_tagged(path, SIMULATION_PACKED)


def load_simulation(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read the rule simulate's output in either layout (:data:`SIMULATION_STORES`): (arrays,
    meta); ``meta["format"]`` says which. Any other file is a :class:`CmftvbError`."""
    return _checked(path, *load_npz(path), tuple(SIMULATION_STORES.values()))


# ---------------------------------------------------------------- tidy tables


def write_table(table: Any, path: str | os.PathLike) -> None:
    """Write a tidy pandas table as TSV, atomically (10 significant digits, NaN as 'nan')."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="nan")


def read_table(path: str | os.PathLike) -> Any:
    """A tidy TSV written by :func:`write_table`, subject ids and region labels kept as text
    and ``value`` numeric."""
    import pandas as pd

    table = pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values={"value": ["nan"]},
        dtype={"subject": str, "region": str},
    )
    if "value" in table:
        table["value"] = pd.to_numeric(table["value"])
    return table


# ------------------------------------------------------------ job manifests


def manifest_path(log_path: str | os.PathLike) -> Path | None:
    """``results/logs/<rule>/<wildcards>.log`` -> ``results/provenance/<rule>/<wildcards>.json``
    (None for a log outside a ``logs`` folder)."""
    parts = Path(log_path).parts
    if "logs" not in parts:
        return None
    i = parts.index("logs")
    return Path(*parts[:i], "provenance", *parts[i + 1 :]).with_suffix(".json")


def job_manifest(
    rule: str,
    wildcards: Mapping[str, Any],
    outputs: Iterable[str | os.PathLike],
    config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Provenance manifest of a finished workflow job, tied to its outputs' bytes.

    Holds the rule, its wildcards, each existing output's path and sha256, and
    :func:`provenance` with the wildcards as extras (``seeds`` "1_2" -> ``seed`` [1, 2],
    ``seed`` -> int, ``G`` -> float, or ``G`` 'r0.9' -> ``G_relative`` 0.9, a fraction of G*):
    the provenance of files that cannot carry it inside (tables, figures, Markdown) and a
    checksum of those that do.
    """
    extra: dict[str, Any] = {}
    for key, value in wildcards.items():
        if key == "seeds":
            extra["seed"] = [int(s) for s in str(value).split("_")]
        elif key == "seed":
            extra["seed"] = int(value)
        elif key == "G":  # absolute ('2') or a fraction of the subject's G* ('r0.9')
            text = str(value)
            if text.startswith("r"):
                extra["G_relative"] = float(text[1:])
            else:
                extra["G"] = float(text)
        else:
            extra[key] = str(value)
    files = [
        {"path": str(p), "sha256": sha256_file(p)}
        for p in sorted(map(str, outputs))
        if Path(p).is_file()
    ]
    return {
        "rule": rule,
        "wildcards": dict(wildcards),
        "outputs": files,
        "provenance": provenance(config, **extra),
    }


def read_best_g(path: str | os.PathLike, preset: str) -> dict[str, float] | None:
    """Model -> chosen G for ``preset`` from the study's ``best_G.tsv`` (rule stats); None when
    no G was chosen (a study without empirical BOLD writes an empty table)."""
    table = read_table(path)
    if table.empty:
        return None
    rows = table[table["preset"] == preset]
    return {str(m): float(g) for m, g in zip(rows["model"], rows["G"], strict=True)} or None


def job_log(log_path: str | os.PathLike | None, rule: str) -> Any:
    """Logger of a workflow job: INFO and up of the job, of the package (logger ``cmftvb``) and
    of warnings go to ``log_path`` (rewritten), or to stderr without one."""
    import logging
    import sys

    log = logging.getLogger(f"cmftvb.workflow.{rule}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logging.captureWarnings(True)
    for logger in (log, logging.getLogger("py.warnings"), logging.getLogger("cmftvb")):
        logger.addHandler(handler)
    logging.getLogger("cmftvb").setLevel(logging.INFO)
    return log
