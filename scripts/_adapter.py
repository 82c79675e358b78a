"""Plumbing shared by the workflow's script adapters (one per rule, no science in them).

Snakemake runs each adapter with a ``snakemake`` object in its globals and puts this folder on
``sys.path``. :func:`run` sends logging (the adapter's and the package's, logger ``cmftvb``) and
warnings to the rule's log file, calls the adapter's ``main(snakemake, log)`` and turns a
:class:`cmftvb.CmftvbError` (a problem the user can fix: bad input file, diverging simulation)
into one line on stderr and in the log, with exit status 1 and no traceback. Any other exception
is a bug: its traceback goes to the log and the job fails. After a successful job it writes the
job's provenance manifest (:func:`cmftvb.io.job_manifest`) to
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

#: Tidy TSV tables (cmftvb.io): re-exported for the adapters.
read_table, write_table = io.read_table, io.write_table


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
    logging.getLogger("py.warnings").addHandler(handler)
    pkg = logging.getLogger("cmftvb")  # the package logs into the same file
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
    path = io.manifest_path(log_path) if log_path else None
    if path is not None:
        io.write_json(path, io.job_manifest(rule, wildcards, snakemake.output, snakemake.config))
        log.info("provenance: %s", path)
    log.info("done in %.1f s", time.perf_counter() - start)


def overrides(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    """Config overrides (dotted key -> value) as the (key, value) pairs cmftvb takes."""
    return [(str(k), v) for k, v in sorted(mapping.items())]


def chosen_g(path: str, preset: str) -> dict[str, float] | None:
    """Model -> chosen G for ``preset`` from best_G.tsv; None when no G was chosen."""
    table = read_table(path)
    if table.empty:
        return None
    rows = table[table["preset"] == preset]
    return {str(m): float(g) for m, g in zip(rows["model"], rows["G"], strict=True)} or None
