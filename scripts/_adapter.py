"""Plumbing shared by the workflow's script adapters (one per rule, no science in them).

Snakemake runs each adapter with a ``snakemake`` object in its globals and puts this folder on
``sys.path``. :func:`run` sends logging and warnings to the rule's log file, calls the adapter's
``main(snakemake, log)`` and turns a :class:`cmftvb.CmftvbError` (a problem the user can fix:
bad input file, diverging simulation) into one line on stderr and in the log, with exit status 1
and no traceback. Any other exception is a bug: its traceback goes to the log and the job fails.
After a successful job it writes the job's provenance manifest (:func:`write_manifest`):
``results/provenance/<rule>/<wildcards>.json``, beside ``results/logs/<rule>/<wildcards>.log``.

When ``cmftvb`` is not importable (a conda environment made from envs/cmftvb.yaml, which holds
only the dependencies) the checkout's ``src/`` is put first on ``sys.path``.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import cmftvb  # noqa: F401
except ImportError:  # pragma: no cover - only in a conda env without the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cmftvb import CmftvbError, io  # noqa: E402


def _logger(log_path: str | None, rule: str) -> logging.Logger:
    log = logging.getLogger(f"cmftvb.workflow.{rule}")
    log.setLevel(logging.INFO)
    log.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handler: logging.Handler
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    log.addHandler(handler)
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.addHandler(handler)
    # The compute module logs under "cmftvb": into the same file.
    pkg = logging.getLogger("cmftvb")
    pkg.setLevel(logging.INFO)
    pkg.addHandler(handler)
    return log


def run(main: Callable[[Any, logging.Logger], None], snakemake: Any) -> None:
    """Run an adapter's ``main`` with logging and the one-line error convention."""
    rule = getattr(snakemake, "rule", "rule")
    log_path = snakemake.log[0] if len(snakemake.log) else None
    log = _logger(log_path, rule)
    warnings.simplefilter("default")
    wildcards = dict(snakemake.wildcards.items()) if snakemake.wildcards else {}
    log.info("rule %s %s", rule, " ".join(f"{k}={v}" for k, v in wildcards.items()))
    start = time.perf_counter()
    try:
        main(snakemake, log)
    except CmftvbError as exc:
        message = f"{rule}: error: {exc}"
        log.error(message)
        print(message, file=sys.stderr)
        sys.exit(1)
    except Exception:
        log.error("internal error (a bug, please report it):\n%s", traceback.format_exc())
        print(
            f"{rule}: internal error, traceback in {log_path or 'the output above'}",
            file=sys.stderr,
        )
        raise
    manifest = write_manifest(snakemake, log_path)
    if manifest:
        log.info("provenance: %s", manifest)
    log.info("done in %.1f s", time.perf_counter() - start)


def manifest_path(log_path: str) -> Path | None:
    """``results/logs/<rule>/<wildcards>.log`` -> ``results/provenance/<rule>/<wildcards>.json``."""
    parts = Path(log_path).parts
    if "logs" not in parts:
        return None
    i = parts.index("logs")
    return Path(*parts[:i], "provenance", *parts[i + 1 :]).with_suffix(".json")


def write_manifest(snakemake: Any, log_path: str | None) -> Path | None:
    """Record the provenance of every output of a finished job, tied to the output's bytes.

    Written after the outputs (atomically), so a killed job leaves none; rewritten when the job
    reruns. Holds the rule, its wildcards, each output's path and sha256, and
    ``io.provenance(config, subject/seed(s)/...)``: the provenance of files that cannot carry
    it inside (tables, figures, Markdown) and a checksum of those that do.
    """
    if not log_path:
        return None
    path = manifest_path(log_path)
    if path is None:
        return None
    wildcards = dict(snakemake.wildcards.items()) if snakemake.wildcards else {}
    extra: dict[str, Any] = {}
    for key, value in wildcards.items():
        if key == "seeds":
            extra["seed"] = [int(s) for s in str(value).split("_")]
        elif key == "seed":
            extra["seed"] = int(value)
        elif key == "G":
            extra["G"] = float(value)
        else:
            extra[key] = str(value)
    outputs = [
        {"path": str(p), "sha256": io.sha256_file(p)}
        for p in sorted(map(str, snakemake.output))
        if Path(p).is_file()
    ]
    record = {
        "rule": getattr(snakemake, "rule", "rule"),
        "wildcards": wildcards,
        "outputs": outputs,
        "provenance": io.provenance(snakemake.config, **extra),
    }
    io.write_json(path, record)
    return path


def overrides(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    """Config overrides (dotted key -> value) as the (key, value) pairs cmftvb takes."""
    return [(str(k), v) for k, v in sorted(mapping.items())]


def read_table(path: str) -> Any:
    """A tidy TSV written by the workflow (study or run table), ids and labels kept as text."""
    import pandas as pd

    table = pd.read_csv(
        path, sep="\t", keep_default_na=False, dtype={"subject": str, "region": str}
    )
    if "value" in table:
        table["value"] = pd.to_numeric(table["value"])
    return table


def chosen_g(path: str, preset: str) -> dict[str, float] | None:
    """Model -> chosen G for ``preset`` from best_G.tsv; None when no G was chosen."""
    table = read_table(path)
    if table.empty:
        return None
    rows = table[table["preset"] == preset]
    return {str(m): float(g) for m, g in zip(rows["model"], rows["G"], strict=True)} or None
