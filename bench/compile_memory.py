"""Time and peak memory of compiling the engine from an empty numba cache; not a test.

Usage: .venv/bin/python bench/compile_memory.py      (writes bench/COMPILE.md; about 2 min)

Why: inlining the cerebellar stage into the run loop once made this compilation take more than
12 GB (a cold ``cmftvb simulate`` was killed at 18.5 GB), where it took about 1.5 GB without
(434 MiB since ccfecdb); nothing else measures it, since every other benchmark and test
starts from a warm cache.

One child process runs ``cmftvb simulate`` on the 126-node sample subject (``--model cmf``,
preset ``corrected``, FIC, 8 ms, ``--monitor mean --monitor-period 4``: the specialisation the
workflow and ``--monitor signals`` use) with ``NUMBA_CACHE_DIR`` an empty temporary folder, so
that everything the run needs compiles in that process. Peak resident memory: the child's
``ru_maxrss`` (``getrusage(RUSAGE_CHILDREN)``, KiB on Linux); wall time of the child. A second
child then runs the same command on the now filled cache (the cost of a warm start).
The workflow's allowance for a compiling job (``COMPILE_MEM_MB`` in
``workflow/rules/resources.smk``) must stay above the measured peak.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"
OUT = ROOT / "bench" / "COMPILE.md"


def _child(cache: Path, out: Path) -> tuple[float, float]:
    """(wall s, peak RSS MiB) of one ``cmftvb simulate`` child on the numba cache ``cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "cmftvb", "simulate", str(SAMPLE), "--model", "cmf"]
    cmd += ["--duration", "8", "--monitor", "mean", "--monitor-period", "4", "--quiet"]
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--out", str(out)], check=True, env=env)
    wall = time.perf_counter() - t0
    # the largest child so far: the first child's own peak, since it runs first
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak / 1024.0


def _allowance_mb() -> int:
    text = (ROOT / "workflow" / "rules" / "resources.smk").read_text()
    return int(re.search(r"^COMPILE_MEM_MB = (\d+)", text, flags=re.M).group(1))


def main() -> None:
    if not SAMPLE.exists():
        sys.exit(f"compile_memory: the sample subject is absent ({SAMPLE})")
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cmftvb-compile-") as tmp:
        cold = _child(Path(tmp) / "cache", Path(tmp) / "cold.npz")
        warm_wall, _ = _child(Path(tmp) / "cache", Path(tmp) / "warm.npz")
    load1 = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    allowance = _allowance_mb()
    lines = [
        "# Compiling the engine from an empty numba cache",
        "",
        "Written by `bench/compile_memory.py` (see its docstring).",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load0)} before, "
        f"{'/'.join(f'{x:.2f}' for x in load1)} after",
        "- Case: `cmftvb simulate` sample subject (126 nodes), `--model cmf`, FIC, 8 ms, "
        "`--monitor mean --monitor-period 4`",
        "",
        "| cache | wall s | peak RSS MiB |",
        "|---|---|---|",
        f"| empty (compiles everything) | {cold[0]:.0f} | {cold[1]:.0f} |",
        f"| filled by the run above | {warm_wall:.1f} | (not separated from the first child) |",
        "",
        f"- The workflow's allowance for a compiling job: {allowance} MB "
        f"({'above' if allowance * 1e6 / 2**20 > cold[1] else 'BELOW'} the measured peak).",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
