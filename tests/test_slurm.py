"""Runs through a real single-machine SLURM cluster (issue 5, items 2 and 3).

The cluster (munge, MariaDB + slurmdbd, slurmctld, slurmd on loopback) is started once per test
session by :func:`slurm` from ``tests/slurm_cluster.py``; Debian's packages are installed first
when missing and the tests run as root. Without root or packages the tests skip with the reason;
set ``CMFTVB_REQUIRE_SLURM=1`` (meant for CI) to turn such a skip into a failure.

Snakemake is run exactly as a user would, with the real profile ``profiles/slurm`` and the test
overrides of ``profiles/slurm-test`` on top. The evidence that the jobs ran through SLURM is the
cluster's accounting (``sacct``): one COMPLETED allocation per job, named by the profile's job-name
prefix, with the rule in the comment. The accounting lines are printed into the test log.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import slurm_cluster as sc
from test_determinism import completed_study, differences, study_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PROFILE = ROOT / "profiles" / "slurm"
TEST_PROFILE = ROOT / "profiles" / "slurm-test"
JOBNAME_PREFIX = "cmftvbtest"  # profiles/slurm-test: slurm-jobname-prefix


@pytest.fixture(scope="session")
def slurm():
    """One running test cluster shared by every test of the session; stopped at the end."""
    try:
        cluster = sc.start_cluster()
    except sc.ClusterUnavailable as exc:
        if os.environ.get("CMFTVB_REQUIRE_SLURM", "") not in ("", "0"):
            pytest.fail(f"CMFTVB_REQUIRE_SLURM is set but no SLURM cluster can run here: {exc}")
        pytest.skip(f"no SLURM test cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def _now() -> str:
    """Local time in sacct's -S format (whole seconds, one second back for clock rounding)."""
    return (dt.datetime.now() - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")


#: squeue reasons of a pending job that can never start on the test node (it asks for more
#: than the node or partition has): waiting for it would only end at the timeout.
NEVER_STARTS = ("PartitionConfig", "BadConstraints", "PartitionNodeLimit", "PartitionTimeLimit")


def run_snakemake(args: list[str], cwd: Path, timeout: int, cluster: sc.Cluster | None) -> str:
    """Run snakemake (through ``cluster`` with our profiles, or locally if None); return its log.

    ``timeout -k 10`` because a Snakemake waiting on lost SLURM jobs ignores a plain SIGTERM.
    While it runs, a job that SLURM can never start fails the test at once, with the job's
    record, instead of at the timeout.
    """
    cmd = ["timeout", "-k", "10", str(timeout), str(SNAKEMAKE), *args]
    if cluster is not None:
        cmd += ["--profile", str(PROFILE), "--workflow-profile", str(TEST_PROFILE)]
    else:
        cmd += ["--cores", "2", "--workflow-profile", "none"]
    env = {k: v for k, v in sc.clean_env().items() if not k.startswith("SNAKEMAKE")}
    stuck = ""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        while True:
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                pass
            if cluster is None:
                continue
            queue = cluster.run("squeue", "-h", "-o", "%i %r", check=False).stdout.split()
            for job, reason in zip(queue[::2], queue[1::2], strict=True):
                if reason in NEVER_STARTS:
                    stuck = cluster.run("scontrol", "show", "job", job, check=False).stdout
                    stuck = f"SLURM job {job} can never start ({reason}):\n{stuck}"
            if stuck:
                proc.terminate()  # timeout forwards it to snakemake, which cancels its jobs
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                break
        out.seek(0)
        log = out.read()
    if stuck or proc.returncode != 0:
        reason = "timed out" if proc.returncode in (124, 137) else f"exit {proc.returncode}"
        pytest.fail(f"snakemake {reason}: {' '.join(cmd)}\n{stuck}\n{log[-6000:]}")
    return log


def accounting(cluster: sc.Cluster, since: str) -> list[dict[str, str]]:
    """This test's jobs in the cluster's accounting (by job-name prefix and start time)."""
    return [r for r in cluster.sacct(since) if r["JobName"].startswith(JOBNAME_PREFIX)]


def show_accounting(records: list[dict[str, str]], title: str, capsys, cluster) -> None:
    """Print the accounting lines into the test log, even when the test passes."""
    with capsys.disabled():
        print(f"\n[slurm] {title}: cluster startup {cluster.startup_s:.1f} s", end="")
        print(f" (package install {cluster.install_s:.1f} s); sacct lines:")
        print("  " + "|".join(records[0]) if records else "  (none)")
        for record in records:
            print("  " + "|".join(record.values()))


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# A throwaway workflow (three jobs, two rules) that proves the cluster machinery on its own,
# independent of the project's workflow. Each job leaves the SLURM job id it ran under in its log.
TOY_SNAKEFILE = textwrap.dedent(
    """
    import os

    def record(log, output, text):
        with open(log[0], "w") as fh:
            fh.write(os.environ.get("SLURM_JOB_ID", "none"))
        with open(output[0], "w") as fh:
            fh.write(text)

    rule all:
        input: "out/total.txt"

    rule square:
        output: "out/square_{n}.txt"
        log: "logs/square_{n}.log"
        resources: mem_mb=400, runtime=2
        run:
            record(log, output, str(int(wildcards.n) ** 2))

    rule total:
        input: expand("out/square_{n}.txt", n=[3, 4])
        output: "out/total.txt"
        log: "logs/total.log"
        resources: mem_mb=400, runtime=2
        run:
            record(log, output, str(sum(int(open(f).read()) for f in input)))
    """
)


def test_toy_workflow_runs_through_slurm(slurm, tmp_path, capsys):
    """Three jobs of a throwaway Snakefile run as SLURM jobs and equal a local run."""
    results = {}
    for mode in ("slurm", "local"):
        work = tmp_path / mode
        work.mkdir()
        (work / "Snakefile").write_text(TOY_SNAKEFILE)
        since = _now()
        run_snakemake([], cwd=work, timeout=150, cluster=slurm if mode == "slurm" else None)
        results[mode] = tree_bytes(work / "out")
        job_ids = {p.name: p.read_text() for p in sorted((work / "logs").glob("*.log"))}
        if mode == "slurm":
            records = accounting(slurm, since)
            show_accounting(records, "toy workflow", capsys, slurm)
            # every job ran inside a SLURM allocation that the accounting knows as COMPLETED
            assert sorted(r["Comment"] for r in records) == [
                "rule_square_wildcards_3",
                "rule_square_wildcards_4",
                "rule_total",
            ]
            assert all(r["State"] == "COMPLETED" and r["ExitCode"] == "0:0" for r in records)
            assert all(r["Partition"] == sc.PARTITION for r in records)
            assert sorted(job_ids.values()) == sorted(r["JobID"] for r in records)
        else:
            assert set(job_ids.values()) == {"none"}
    assert results["slurm"] == results["local"]
    assert results["slurm"]["total.txt"] == b"25"


# The project's own tiny study (configs/tiny.yaml, as the end-to-end tests use it), exactly as a
# user would submit it. The local reference run is the session's shared uninterrupted run of
# that study (tests/test_determinism.py), so a full test session pays for it once.


def test_tiny_study_through_slurm_equals_local(slurm, tmp_path, tmp_path_factory, capsys):
    """The tiny study submitted with profiles/slurm: every job Snakemake submitted is in the
    cluster's accounting as COMPLETED, the simulations ran as SLURM jobs, and every result
    file equals the local run's byte for byte (only the git commit in provenance records may
    differ, see ``test_determinism.differences``)."""
    config = study_config(tmp_path)
    workdir = tmp_path / "wd"
    args = ["-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config)]
    since = _now()
    log = run_snakemake(args, cwd=ROOT, timeout=1200, cluster=slurm)
    records = accounting(slurm, since)
    show_accounting(records, "tiny study", capsys, slurm)

    # Snakemake's own record of what it submitted, against the cluster's accounting.
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert submitted, f"no job was submitted to SLURM:\n{log[-4000:]}"
    assert sorted(submitted, key=int) == sorted((r["JobID"] for r in records), key=int)
    bad = [r for r in records if r["State"] != "COMPLETED" or r["ExitCode"] != "0:0"]
    assert not bad, f"jobs that did not complete: {bad}"
    # the expensive rule ran on the cluster: one SLURM job per simulation batch file
    simulations = sorted((workdir / "results" / "simulations").rglob("*.npz"))
    sim_jobs = [r for r in records if r["Comment"].startswith("rule_simulate")]
    assert simulations and len(sim_jobs) == len(simulations)
    assert not re.search(r"^localrule simulate:", log, re.MULTILINE)

    local = completed_study(tmp_path_factory)
    diff = differences(local.results, workdir / "results")
    assert not diff, "results differ between the local and the SLURM run:\n" + "\n".join(diff)
