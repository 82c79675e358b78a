"""scripts/plan_study.py: the study plan read from a dry run of the real workflow."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _plan():
    spec = importlib.util.spec_from_file_location("plan_study", ROOT / "scripts" / "plan_study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_parse_reads_threads_and_resources_and_skips_all():
    text = "\n".join(
        [
            "rule simulate:",
            "    jobid: 3",
            "    threads: 4",
            "    resources: tmpdir=/tmp, runtime=9, mem_mb=3676, mem=3.68 GB, disk_mb=378",
            "localrule stats:",
            "    resources: tmpdir=/tmp, runtime=30, mem_mb=800",
            "rule all:",
            "    resources: tmpdir=/tmp",
        ]
    )
    jobs = _plan().parse_dry_run(text)
    assert jobs == [
        dict(rule="simulate", threads=4, runtime_min=9.0, mem_mb=3676.0, disk_mb=378.0),
        dict(rule="stats", threads=1, runtime_min=30.0, mem_mb=800.0, disk_mb=0),
    ]
    rows = _plan().summarise(jobs)
    assert rows["total"]["cpu_h"] == (9 * 4 + 30) / 60
    assert rows["total"]["max_mem_mb"] == 3676 and rows["total"]["disk_mb"] == 378


def test_plan_of_the_tiny_study_counts_its_simulations_and_their_disk():
    """Jobs and disk of rule simulate, against the config: subjects x models x presets x G x
    batches, each file 5 float32 values per node and sample times the seeds of the batch, plus
    the float64 time axis."""
    mod = _plan()
    cfg = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    sim, net = cfg["simulation"], cfg["network"]
    jobs = [j for j in mod.parse_dry_run(mod.dry_run(["--configfile", "configs/tiny.yaml"]))]
    simulate = [j for j in jobs if j["rule"] == "simulate"]
    n_batches = math.ceil(len(sim["seeds"]) / sim["seeds_per_job"])
    expected = (
        len(cfg["cohort"]["subjects"])
        * len(net["models"])
        * len(net["presets"])
        * len(sim["G_relative"])
        * n_batches
    )
    assert len(simulate) == expected
    samples = sim["duration_ms"] / sim["monitor_period_ms"]
    # before the network files exist the resource functions take 130 nodes (their fallback)
    per_file = math.ceil((4 * 5 * 130 * sim["seeds_per_job"] + 8) * samples / 1e6)
    assert all(j["disk_mb"] == per_file for j in simulate)
    assert {j["rule"] for j in jobs} >= {"prepare_connectome", "signals", "fitness", "stats"}
