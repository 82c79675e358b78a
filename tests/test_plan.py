"""scripts/plan_study.py: the study plan read from a dry run of the real workflow."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("store", ["activity", "signals"])
def test_plan_of_the_tiny_study_counts_its_simulations_and_their_disk(store, tmp_path):
    """Jobs and disk of rule simulate, against the config: subjects x models x presets x G x
    batches; under simulation.store activity each file is 5 float32 values per node and sample
    times the seeds of the batch, plus the float64 time axis; under signals the streamed
    layout's size (cmftvb.signals.stream_run.study_sizes), which does not grow with the
    duration."""
    from cmftvb.connectome import sources
    from cmftvb.signals.stream_run import study_sizes

    mod = _plan()
    cfg = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    sim, net = cfg["simulation"], cfg["network"]
    over = tmp_path / "store.yaml"
    over.write_text(f"simulation:\n  store: {store}\n")
    jobs = mod.parse_dry_run(mod.dry_run(["--configfile", "configs/tiny.yaml", str(over)]))
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
    # before the network files exist the resource functions take 130 nodes (their fallback:
    # all cerebellar mean-field cortex under signals)
    per_file = math.ceil((4 * 5 * 130 * sim["seeds_per_job"] + 8) * samples / 1e6)
    if store == "signals":
        sizes = [
            study_sizes(
                ["crbl"] * 130, ["crbl_cortex"] * 130, n_seeds=sim["seeds_per_job"],
                duration_ms=ms, period_ms=sim["monitor_period_ms"],
                tr_s=sources.cohort_tr_s(cfg["cohort"]), options=cfg["signals"],
                excerpt_s=cfg["figures"]["rate_traces"]["seconds"],
            )[0]
            for ms in (sim["duration_ms"], 10 * sim["duration_ms"])
        ]  # fmt: skip
        per_file = max(1, math.ceil(sizes[0] / 1e6))
        # ten times the duration: only volumes grow (BOLD and the rates through the
        # hemodynamics: 8 bytes each per node or population column, volume and seed)
        tr_ms = 1000 * sources.cohort_tr_s(cfg["cohort"])
        assert sizes[1] - sizes[0] <= 5 * 8 * 130 * sim["seeds_per_job"] * (
            9 * sim["duration_ms"] / tr_ms + 1
        )
    assert all(j["disk_mb"] == per_file for j in simulate)
    assert {j["rule"] for j in jobs} >= {"prepare_connectome", "signals", "fitness", "stats"}


def test_simulation_jobs_get_the_compilation_while_the_engine_cache_is_empty(tmp_path, monkeypatch):
    """With numba's cache empty (NUMBA_CACHE_DIR an empty folder) every simulation job of a
    dry run asks for the memory and time of compiling the engine (resources.smk:
    COMPILE_MEM_MB, cmftvb.engine.cli.COMPILE_ESTIMATE_S), since a cluster would kill a job
    that compiles within the run's own estimate (measured: 434 MiB peak, 91 s)."""
    from cmftvb.engine.cli import COMPILE_ESTIMATE_S

    smk = (ROOT / "workflow/rules/resources.smk").read_text()
    compile_mb = int(re.search(r"^COMPILE_MEM_MB = (\d+)$", smk, re.M).group(1))
    mod = _plan()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    jobs = mod.parse_dry_run(mod.dry_run(["--configfile", "configs/tiny.yaml"]))
    simulate = [j for j in jobs if j["rule"] == "simulate"]
    assert simulate
    assert all(j["mem_mb"] >= compile_mb for j in simulate)
    assert all(j["runtime_min"] * 60 >= 2 * COMPILE_ESTIMATE_S for j in simulate)
    # the other rules do not run the engine
    assert all(j["mem_mb"] < compile_mb for j in jobs if j["rule"] in ("signals", "fitness"))
