"""Plan a study before running it: jobs, CPU-hours, memory and disk from the rules' resources.

Usage: python scripts/plan_study.py [--configfile configs/article.yaml] [--cores N]
       (or: make plan SNAKEMAKE_ARGS="--configfile configs/article.yaml")

Runs ``snakemake -n`` on the config in an empty scratch folder (so every job of the study is
planned, whatever results/ already holds) and reads each planned job's ``threads`` and
``resources`` (workflow/rules/resources.smk: ``runtime`` in min, ``mem_mb``, and for
simulations ``disk_mb``, the size of the file it writes). Prints one row per rule: jobs,
CPU-hours (sum of runtime x threads), the largest job memory and the disk written, and the
totals, with the wall time on ``--cores`` cores if jobs packed perfectly. Runtimes are the
limits the rules ask a scheduler for, about twice the measured times (README "Run times"), so
the CPU-hours are an upper bound; README gives a measured slice beside them. Before a
subject's network file exists the resource functions assume 130 nodes (the sample subject has
126, the demo subjects 127), and jobs that read simulation files size their memory from those
files once they exist, so the dry run shows their floor.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RULE = re.compile(r"^\s*(?:local)?rule (\w+):\s*$")
_THREADS = re.compile(r"^\s*threads: (\d+)\s*$")
_RESOURCES = re.compile(r"^\s*resources: (.*)$")


def parse_dry_run(text: str) -> list[dict]:
    """Planned jobs of a ``snakemake -n`` output: dicts with rule, threads (1 when not
    printed), runtime_min, mem_mb, disk_mb (0 when the rule declares none)."""
    jobs: list[dict] = []
    for line in text.splitlines():
        m = _RULE.match(line)
        if m:
            jobs.append(dict(rule=m.group(1), threads=1, runtime_min=0, mem_mb=0, disk_mb=0))
            continue
        if not jobs:
            continue
        if t := _THREADS.match(line):
            jobs[-1]["threads"] = int(t.group(1))
        elif r := _RESOURCES.match(line):
            for item in r.group(1).split(", "):
                key, _, value = item.partition("=")
                if key in ("runtime", "mem_mb", "disk_mb"):
                    jobs[-1]["runtime_min" if key == "runtime" else key] = float(value)
    return [j for j in jobs if j["rule"] != "all"]


def summarise(jobs: list[dict]) -> dict[str, dict]:
    """Per rule: jobs, cpu_h, max_mem_mb, disk_mb; plus the key ``total``."""
    out: dict[str, dict] = defaultdict(lambda: dict(jobs=0, cpu_h=0.0, max_mem_mb=0, disk_mb=0))
    for j in jobs:
        for key in (j["rule"], "total"):
            row = out[key]
            row["jobs"] += 1
            row["cpu_h"] += j["runtime_min"] * j["threads"] / 60
            row["max_mem_mb"] = max(row["max_mem_mb"], j["mem_mb"])
            row["disk_mb"] += j["disk_mb"]
    return dict(out)


def dry_run(args: list[str]) -> str:
    """``snakemake -n`` of this workflow in an empty scratch folder; its output."""
    with tempfile.TemporaryDirectory(prefix="cmftvb-plan-") as scratch:
        cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile")]
        cmd += ["--directory", scratch, *args]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"plan_study: snakemake -n failed:\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def _cores(text: str) -> int:
    """``--cores``: a positive count, or ``all`` (this machine's CPUs, as snakemake reads it;
    ``make plan`` passes the Makefile's ``CORES``, ``all`` by default)."""
    if text == "all":
        return os.cpu_count() or 1
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--cores must be >= 1 or 'all', got {text}")
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", help="study config (default: config.yaml)")
    ap.add_argument(
        "--cores", type=_cores, default=2, help="cores for the wall-time line (N or all)"
    )
    a, extra = ap.parse_known_args(argv)  # other arguments go to snakemake (e.g. --config)
    args = ["--configfile", str(Path(a.configfile).resolve())] if a.configfile else []
    args += extra
    rows = summarise(parse_dry_run(dry_run(args)))
    total = rows.pop("total", dict(jobs=0, cpu_h=0.0, max_mem_mb=0, disk_mb=0))
    print("| rule | jobs | CPU-hours (limit) | largest job memory (MB) | disk written (MB) |")
    print("|---|---|---|---|---|")
    for rule, r in sorted(rows.items(), key=lambda kv: -kv[1]["cpu_h"]):
        print(
            f"| {rule} | {r['jobs']} | {r['cpu_h']:.2f} | {r['max_mem_mb']:.0f} "
            f"| {r['disk_mb']:.0f} |"
        )
    print(
        f"| total | {total['jobs']} | {total['cpu_h']:.2f} | {total['max_mem_mb']:.0f} "
        f"| {total['disk_mb']:.0f} |"
    )
    print(
        f"\nOn {a.cores} cores, if jobs packed perfectly: at most "
        f"{total['cpu_h'] / a.cores:.1f} h wall. Simulation files take "
        f"{total['disk_mb'] / 1000:.1f} GB (disk_mb of rule simulate); everything else is small "
        "beside them. Runtimes are the rules' limits (about twice the measured times)."
    )


if __name__ == "__main__":
    main()
