"""Faults (issue 5, item 4): a killed run resumes to the same results; a diverging simulation
fails its job with a clear message and never reaches the study table.

Kill and resume: the test study is started in a fresh folder with one core, and when one
simulation has finished and the next one is well under way (its log shows progress), Snakemake
and every job it started are SIGKILLed at once (what a lost node or an out-of-time allocation
does). What is left must hold no file a later stage could take for complete: every visible result
file equals the one of an uninterrupted run, bit for bit, and only hidden temporary files may
remain. The run is then resumed as the README says (the same command; ``--unlock`` first when
Snakemake reports the directory locked by the killed run): it must finish, rerun only the missing
jobs (the job summary, and untouched modification times of what was there), clean the stale
temporary file, and end bitwise equal to the uninterrupted run.
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from test_determinism import (
    ROOT,
    completed_study,
    differences,
    file_difference,
    result_files,
    snakemake,
    snakemake_cmd,
    snakemake_env,
    study_config,
)

from cmftvb import CmftvbError
from cmftvb.engine import simulate
from cmftvb.network import build_network

HIDDEN_TEMP = re.compile(r"^\..+\.tmp(\.\w+)?$")


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The session's shared uninterrupted run of the test study (test_determinism)."""
    return completed_study(tmp_path_factory)


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table (rule -> number of jobs) from a run's output."""
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n((?:\S+\s+\d+\n)+)", output)
    if not m:
        return {}
    counts = {}
    for line in m.group(1).splitlines():
        rule, n = line.split()
        if rule != "total":
            counts[rule] = int(n)
    return counts


def kill_tree(proc: subprocess.Popen) -> list[str]:
    """SIGKILL a process and all its descendants at once (parent first, so that nothing can
    react); return their command lines, read before the kill."""
    parent = psutil.Process(proc.pid)
    procs = [parent, *parent.children(recursive=True)]
    cmdlines = [" ".join(_cmdline(p)) for p in procs]
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(procs, timeout=30)
    assert not alive, f"processes survived SIGKILL: {alive}"
    return cmdlines


def progress_of(log: Path) -> float:
    """Last percent-done value in a simulation log (0 if none yet)."""
    if not log.exists():
        return 0.0
    found = re.findall(r"INFO\s+([0-9.]+)% \|", log.read_text(errors="replace"))
    return float(found[-1]) if found else 0.0


def simulation_outputs(results: Path) -> list[Path]:
    return sorted(p for p in (results / "simulations").rglob("*.npz") if not p.name.startswith("."))


@pytest.mark.slow
def test_kill_mid_simulation_and_resume(tiny_study, tmp_path):
    ref = tiny_study.outputs()
    ref_sims = [k for k in ref if k.startswith("simulations/")]
    assert len(ref_sims) >= 2, "the test study needs at least two simulation jobs"
    wd = tmp_path / "wd"
    res = wd / "results"
    config = tiny_study.config

    # ---- start, wait for one finished simulation and one in flight, kill everything
    out1 = tmp_path / "first.out"
    with open(out1, "w") as f:
        proc = subprocess.Popen(
            snakemake_cmd(wd, config, cores=1),
            stdout=f,
            stderr=subprocess.STDOUT,
            env=snakemake_env(),
            cwd=ROOT,
            start_new_session=True,
        )
    in_flight = None
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "run ended before it could be killed:\n" + out1.read_text()
            done = simulation_outputs(res) if res.exists() else []
            if done:
                for log in (res / "logs" / "simulate").rglob("*.log"):
                    rel = log.relative_to(res / "logs" / "simulate").with_suffix(".npz")
                    out = res / "simulations" / rel
                    if not out.exists() and 10.0 <= progress_of(log) <= 90.0:
                        in_flight = out
                if in_flight is not None:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("no simulation in flight within 600 s")
    finally:
        killed = kill_tree(proc) if proc.poll() is None else []
    assert any("simulate.py" in c for c in killed), f"no simulation job among {killed}"

    # ---- what the kill left: complete files only (equal to the reference), or hidden temps
    assert not in_flight.exists()
    left = result_files(res)
    assert left, "nothing was finished before the kill"
    for rel, path in left.items():
        if path.name.startswith("."):
            assert HIDDEN_TEMP.match(path.name), f"unexpected hidden file {rel}"
            continue
        assert rel in ref, f"{rel}: not an output of the uninterrupted run"
        diff = file_difference(path, ref[rel])
        assert diff is None, f"{rel}: incomplete or different ({diff})"
    missing = sorted(set(ref) - set(left))
    assert f"simulations/{in_flight.relative_to(res / 'simulations')}" in missing
    # a job killed while writing leaves its hidden temporary file: make one
    stale = in_flight.parent / f".{in_flight.name}.killed_0.tmp.npz"  # mkstemp-like
    stale.write_bytes(b"PK\x03\x04 half of an archive")
    before = {rel: p.stat().st_mtime_ns for rel, p in result_files(res).items()}

    # ---- resume as the README says
    r = snakemake(wd, config)
    if r.returncode != 0 and "cannot be locked" in r.stdout:
        readme = (ROOT / "README.md").read_text()
        assert "--unlock" in readme, "README: resume after a kill needs --unlock; say so"
        assert snakemake(wd, config, "--unlock").returncode == 0
        r = snakemake(wd, config)
    assert r.returncode == 0, r.stdout[-6000:]

    # only the missing jobs ran
    counts = job_counts(r.stdout)
    assert counts, f"no job summary in:\n{r.stdout[-3000:]}"
    # rules with one output file per job in their own folder: jobs run = outputs missing
    for rule, folder in (
        ("prepare_connectome", "connectomes/"),
        ("build_network", "networks/"),
        ("simulate", "simulations/"),
    ):
        n_missing = len([m for m in missing if m.startswith(folder)])
        assert counts.get(rule, 0) == n_missing, f"{rule}: {counts}, missing {missing}"
    assert counts.get("simulate", 0) >= 1
    after = result_files(res)
    for rel, mtime in before.items():
        if rel in after and not after[rel].name.startswith("."):
            assert after[rel].stat().st_mtime_ns == mtime, f"{rel} was recomputed"
    # the stale temporary file is gone, no other is left, and the results are the reference's
    temps = [rel for rel, p in after.items() if p.name.startswith(".")]
    assert not temps, f"temporary files left after the resume: {temps}"
    diff = differences(tiny_study.results, res)
    assert not diff, "resumed run differs from an uninterrupted one:\n" + "\n".join(diff)


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def test_job_counts_parser():
    text = (
        "Job stats:\njob              count\n---------------  -------\nsimulate               3\n"
        "fitness                6\ntotal                  9\n\nSelect jobs to execute...\n"
    )
    assert job_counts(text) == {"simulate": 3, "fitness": 6}
    assert job_counts("Nothing to be done.") == {}


# ------------------------------------------------------------------ divergence
@pytest.fixture(scope="module")
def demo_connectome(tmp_path_factory):
    """A prepared demo connectome (127 nodes, appended cerebellum), as the workflow makes it."""
    from cmftvb import datasets
    from cmftvb.connectome.prepare import prepare

    demo = datasets.load_demo_subject("101309")
    return prepare(demo.connectome, waytotal=demo.waytotal)


DIVERGING = [
    ("homogeneous", ("wongwang.J_N", "1.0e+308")),  # Wong-Wang: overflow to inf, then NaN
    ("cmf", ("crbl.T", "1.0e-300")),  # cerebellar time constant ~ 0: infinite derivatives
]


@pytest.mark.parametrize("model, override", DIVERGING, ids=[o[0] for _, o in DIVERGING])
def test_divergence_message_names_node_variable_time(demo_connectome, model, override):
    """Whatever blows up, the message names the node (index and label), the variable and the
    time, so that a user can see which part of the network failed."""
    net = build_network(demo_connectome, model, "corrected", [override])
    with pytest.raises(CmftvbError) as exc:
        simulate(
            demo_connectome,
            net,
            duration=20.0,
            dt=0.1,
            seeds=[1, 2],
            noise_sigma=0.001,
            G=2.0,
            speed=3.0,
            monitor="mean",
            monitor_period=4.0,
        )
    msg = str(exc.value)
    assert "\n" not in msg
    m = re.search(r"non-finite (\w+) in node (\d+) '([^']+)' at t = ([0-9.e+-]+) ms", msg)
    assert m, f"message does not name variable, node and time: {msg}"
    var, k, label, t = m.group(1), int(m.group(2)), m.group(3), float(m.group(4))
    assert label == demo_connectome.labels[k]
    node_model = net.node_model[k]
    assert (
        var
        in {"wongwang": ("S_E", "S_I"), "crbl": ("GrC", "GoC", "MLI", "PC", "mossy_ou")}[node_model]
    ), (var, node_model)
    assert 0 < t <= 20.0 and math.isclose(t / 0.1, round(t / 0.1))


@pytest.mark.slow
def test_diverging_run_fails_its_job_and_spares_the_study_table(tmp_path):
    """One subject, both models: the cMF runs diverge (a cerebellar time constant of 1e-300 ms), the
    homogeneous ones do not. The simulate jobs of cMF fail with the one-line message; with
    --keep-going everything that does not depend on them is finished; the study table and the
    statistics, which need every run, are not written, and no output of the diverged runs
    exists (so nothing NaN can reach a table)."""
    config = study_config(
        tmp_path,
        cohort={"subjects": ["101309"]},
        # FIC off and an absolute G (as before issue 10): the divergence is the simulation's
        network={"overrides": {"crbl.T": 1.0e-300, "wongwang.fic": False}},
        simulation={"G": [2.0], "G_relative": []},
    )
    wd = tmp_path / "wd"
    r = snakemake(wd, config, "--keep-going", "results/study/fitness.tsv")
    assert r.returncode != 0
    errors = [ln for ln in r.stdout.splitlines() if "simulate: error: simulation diverged" in ln]
    assert errors, r.stdout[-5000:]
    assert all(re.search(r"non-finite \w+ in node \d+ '.+' at t = ", e) for e in errors), errors
    assert "Traceback (most recent call last)" not in r.stdout
    res = wd / "results"
    sims = {p.relative_to(res).as_posix() for p in simulation_outputs(res)}
    assert sims and all("/homogeneous-" in s for s in sims), sims
    assert not (res / "study" / "fitness.tsv").exists()
    assert not list(res.glob("study/*.tsv"))
    assert not [t for t in res.rglob("*.tsv") if "/cmf-" in t.as_posix()]
    assert list(res.glob("fitness/101309/homogeneous-corrected/G2/seed*.tsv"))  # kept going
    # the failed jobs' logs say what happened
    logs = list((res / "logs" / "simulate").rglob("*.log"))
    cmf_logs = [lg for lg in logs if "/cmf-" in lg.as_posix()]
    assert cmf_logs and all("simulation diverged" in lg.read_text() for lg in cmf_logs)
    assert not [p for p in res.rglob(".*") if p.is_file()], "temporary files left"


def test_divergence_in_one_lane_fails_the_batch(demo_connectome):
    """Lanes of one batch share the compiled loop: a NaN in any seed fails the whole job, so a
    batch never stores a partly valid result."""
    net = build_network(demo_connectome, "homogeneous", "corrected")
    conn = demo_connectome
    ok = simulate(conn, net, duration=8.0, dt=0.1, seeds=[1], noise_sigma=0.001, G=2.0, speed=3.0)
    assert np.isfinite(ok.bold_input).all()
    with pytest.raises(CmftvbError, match=r"\(seed 2, G 1e\+308"):
        simulate(
            conn, net, duration=8.0, dt=0.1, seeds=[1, 2], noise_sigma=0.001, G=[2.0, 1e308],
            speed=3.0,
        )  # fmt: skip
