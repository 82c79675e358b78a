"""Reproducibility (issue 5, item 7): the tiny study run twice gives bitwise-identical results.

Also home of the helpers that the fault, security, bad-input and provenance tests share: the
test study's config (``configs/tiny.yaml`` with changes), :func:`snakemake` (the workflow run
exactly as a user runs it, in a fresh working directory through ``--directory``), and
:func:`completed_study`, one uninterrupted run of the test study per session, shared by every
test that needs finished outputs.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from cmftvb import io
from cmftvb.models.presets import merged

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs" / "tiny.yaml"

#: Changes to configs/tiny.yaml for the end-to-end tests of this family: the same two subjects,
#: both models, a batch of two seeds, but one G, 6 s simulated and 100 bootstrap draws, so that
#: the several runs these tests need fit in the test budget on two cores. Every rule and every
#: stage still runs.
TEST_STUDY: dict = {
    # one G: 0.9 x each subject's G* (the FIC path: rules critical_G and tune_fic)
    "simulation": {"G_relative": [0.9], "duration_ms": 6000},
    "fitness": {"fcd_window_s": 3.0, "fcd_step_s": 0.72},
    "stats": {"n_boot": 100},
}

#: Folders of results/ that hold no results: run logs and wall-time benchmarks.
NOT_RESULTS = ("logs", "benchmarks")

_counter = itertools.count()


def study_config(folder: Path, **changes) -> Path:
    """Write the test study's config (tiny.yaml + TEST_STUDY + ``changes``) into ``folder``."""
    cfg = merged(merged(yaml.safe_load(TINY.read_text()), TEST_STUDY), changes)
    path = Path(folder) / f"config-{next(_counter)}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def snakemake_cmd(workdir: Path, config: Path, *args: str, extra_configs=(), cores: int = 2):
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        str(cores),
        "--workflow-profile",
        "none",
        *args,
        "--configfile",
        str(config),
        *map(str, extra_configs),
    ]


def snakemake_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def snakemake(
    workdir: Path,
    config: Path,
    *args: str,
    extra_configs=(),
    cores: int = 2,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` (created if needed) with the given config; no check.

    Snakemake writes its log (and error reports) to stdout and stderr; both are collected in
    ``stdout`` in their order, as a user sees them.
    """
    return subprocess.run(
        snakemake_cmd(workdir, config, *args, extra_configs=extra_configs, cores=cores),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=snakemake_env(),
        cwd=ROOT,
    )


@dataclass
class StudyRun:
    """A finished run of the test study: its working directory and what Snakemake said."""

    workdir: Path
    config: Path
    proc: subprocess.CompletedProcess

    @property
    def results(self) -> Path:
        return self.workdir / "results"

    def check(self) -> StudyRun:
        assert self.proc.returncode == 0, (
            f"test study failed in {self.workdir}:\n{self.proc.stdout[-6000:]}"
        )
        return self

    def outputs(self) -> dict[str, Path]:
        """Result files (relative path -> path), without logs and benchmarks."""
        return result_files(self.results)


def result_files(results: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(results.rglob("*")):
        rel = p.relative_to(results)
        if p.is_file() and rel.parts[0] not in NOT_RESULTS:
            out[str(rel)] = p
    return out


_RUNS: dict[str, StudyRun] = {}


def completed_study(factory: pytest.TempPathFactory, name: str = "study-a") -> StudyRun:
    """One uninterrupted run of the test study per session and name (cached in-process)."""
    if name not in _RUNS:
        folder = factory.mktemp(name)
        config = study_config(folder)
        proc = snakemake(folder / "wd", config)
        _RUNS[name] = StudyRun(folder / "wd", config, proc)
    return _RUNS[name].check()


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> StudyRun:
    """The shared uninterrupted run of the test study (see :func:`completed_study`)."""
    return completed_study(tmp_path_factory)


def without_commit(obj):
    """``obj`` with every ``git_commit`` entry removed (see :func:`differences`)."""
    if isinstance(obj, dict):
        return {k: without_commit(v) for k, v in obj.items() if k != "git_commit"}
    if isinstance(obj, list):
        return [without_commit(v) for v in obj]
    return obj


def npz_differences(a: Path, b: Path) -> list[str]:
    """Arrays that differ (dtype, shape or any bit) between two .npz files; the JSON ``meta``
    is compared without its git commit."""
    out = []
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        if sorted(za.files) != sorted(zb.files):
            return [f"keys {sorted(za.files)} != {sorted(zb.files)}"]
        for k in za.files:
            x, y = za[k], zb[k]
            if k == "meta":
                ma, mb = (without_commit(json.loads(str(m))) for m in (x, y))
                if ma != mb:
                    keys = sorted(j for j in set(ma) | set(mb) if ma.get(j) != mb.get(j))
                    out.append(f"meta: keys {keys}")
            elif x.dtype != y.dtype or x.shape != y.shape:
                out.append(f"{k}: {x.dtype}{x.shape} != {y.dtype}{y.shape}")
            elif x.tobytes() != y.tobytes():
                if x.dtype.kind == "f":
                    d = np.nanmax(np.abs(x - y)) if x.size else 0.0
                    out.append(f"{k}: bits differ (max |diff| {d:.3g})")
                else:
                    out.append(f"{k}: differs")
    return out


def file_difference(pa: Path, pb: Path) -> str | None:
    """How two result files differ (None: identical).

    Files are compared byte for byte. Where bytes differ, an ``.npz`` or ``.json`` still counts
    as identical when the only difference is the git commit in its provenance record: in a
    shared working tree commits may land between (or during) two runs, which changes the
    record but not the computation. In a fresh clone (CI) the files are byte-identical.
    """
    if pa.read_bytes() == pb.read_bytes():
        return None
    if pa.suffix == ".npz":
        try:
            return "; ".join(npz_differences(pa, pb)) or None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            return f"unreadable .npz ({exc})"
    if pa.suffix == ".json":
        try:
            ja, jb = (without_commit(json.loads(p.read_text())) for p in (pa, pb))
        except ValueError as exc:
            return f"unreadable JSON ({exc})"
        if ja == jb:
            return None
        if isinstance(ja, dict) and isinstance(jb, dict):
            return f"keys {sorted(k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k))}"
        return "content"
    return "bytes differ"


def differences(a: Path, b: Path) -> list[str]:
    """Result files of two results/ folders that are not identical (:func:`file_difference`)."""
    fa, fb = result_files(a), result_files(b)
    out = [f"only in one run: {sorted(set(fa) ^ set(fb))}"] if set(fa) != set(fb) else []
    for rel in sorted(set(fa) & set(fb)):
        diff = file_difference(fa[rel], fb[rel])
        if diff:
            out.append(f"{rel}: {diff}")
    return out


# ------------------------------------------------------------------ tests
@pytest.mark.slow
def test_study_twice_is_bitwise_identical(tiny_study, tmp_path):
    """Two runs of the tiny study in fresh folders: every result file (tables, arrays, JSON,
    figures) is byte for byte the same; logs and wall-time benchmarks are excluded."""
    second = StudyRun(
        tmp_path / "wd", tiny_study.config, snakemake(tmp_path / "wd", tiny_study.config)
    )
    second.check()
    outputs = tiny_study.outputs()
    assert any(p.endswith(".tsv") for p in outputs), f"no result table in {sorted(outputs)}"
    assert any(p.endswith(".npz") for p in outputs)
    diff = differences(tiny_study.results, second.results)
    assert not diff, "results differ between two runs:\n" + "\n".join(diff)


def test_differences_detects_one_bit(tmp_path):
    """The comparison used above sees a change in the last bit of one float."""
    for name in ("a", "b"):
        (tmp_path / name / "results" / "t").mkdir(parents=True)
        np.savez(tmp_path / name / "results" / "t" / "x.npz", x=np.array([0.1, 0.2]))
        (tmp_path / name / "results" / "t" / "x.tsv").write_text("a\tb\n1\t2\n")
        (tmp_path / name / "results" / "logs").mkdir()
        (tmp_path / name / "results" / "logs" / "l.log").write_text(name)  # ignored
    a, b = tmp_path / "a" / "results", tmp_path / "b" / "results"
    assert differences(a, b) == []
    np.savez(b / "t" / "x.npz", x=np.array([0.1, np.nextafter(0.2, 1.0)]))
    (b / "t" / "x.tsv").write_text("a\tb\n1\t2.0\n")
    diff = differences(a, b)
    assert len(diff) == 2 and "bits differ" in diff[0] and "x.tsv" in diff[1]
    # a provenance record that differs only in its git commit is not a difference
    for name, commit in (("a", "1" * 40), ("b", "2" * 40)):
        root = tmp_path / name / "results" / "t"
        io.save_npz(root / "y.npz", {"x": np.ones(2)}, {"provenance": {"git_commit": commit}})
        io.write_json(root / "y.json", {"v": 1, "provenance": {"git_commit": commit}})
    assert len(differences(a, b)) == 2
    io.write_json(b / "t" / "y.json", {"v": 2, "provenance": {"git_commit": "2" * 40}})
    assert differences(a, b)[-1] == "t/y.json: keys ['v']"
