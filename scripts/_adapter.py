"""Plumbing shared by the workflow's script adapters (one per rule, no science in them).

Snakemake runs each adapter with a ``snakemake`` object in its globals and puts this folder on
``sys.path``. :func:`run` sends the job's, the package's and warnings' logging to the rule's log
(:func:`cmftvb.io.job_log`), calls the adapter's ``main(snakemake, log)`` and turns a
:class:`cmftvb.CmftvbError` (a problem the user can fix) into one line on stderr and in the log,
exit status 1, no traceback; any other exception is a bug (traceback in the log). A finished
job gets its provenance manifest (:func:`cmftvb.io.job_manifest`) under results/provenance/.
Without an importable ``cmftvb`` (a conda env of dependencies only) the checkout's src/ is used.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from pathlib import Path

try:
    import cmftvb  # noqa: F401
except ImportError:  # pragma: no cover - only in a conda env without the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cmftvb import CmftvbError, io  # noqa: E402

# Tidy tables (cmftvb.io), for the adapters.
read_table, write_table = io.read_table, io.write_table


def run(main, snakemake) -> None:
    """Run an adapter's ``main`` with logging and the one-line error convention."""
    rule = getattr(snakemake, "rule", "rule")
    log_path = snakemake.log[0] if len(snakemake.log) else None
    log = io.job_log(log_path, rule)
    warnings.simplefilter("default")
    wildcards = dict(snakemake.wildcards.items()) if snakemake.wildcards else {}
    log.info("rule %s %s", rule, " ".join(f"{k}={v}" for k, v in wildcards.items()))
    start = time.perf_counter()
    try:
        main(snakemake, log)
    except CmftvbError as exc:
        log.error(message := f"{rule}: error: {exc}")
        print(message, file=sys.stderr)
        sys.exit(1)
    except Exception:
        log.error("internal error (a bug, please report it):\n%s", traceback.format_exc())
        where = log_path or "the output above"
        print(f"{rule}: internal error, traceback in {where}", file=sys.stderr)
        raise
    if path := (io.manifest_path(log_path) if log_path else None):
        io.write_json(path, io.job_manifest(rule, wildcards, snakemake.output, snakemake.config))
        log.info("provenance: %s", path)
    log.info("done in %.1f s", time.perf_counter() - start)


def overrides(mapping):
    """Config overrides (dotted key -> value) as the sorted (key, value) pairs cmftvb takes."""
    return [(str(k), v) for k, v in sorted(mapping.items())]
