"""The Snakemake workflow: dry runs of every shipped config, config errors that name the key,
lint and format checks, the sample download against a loopback server, and an end-to-end run
of configs/tiny.yaml.

Every run uses its own working directory (``--directory``) so that tests never touch the
project's results/.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from cmftvb.gstar import fic_on

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
SAMPLE_DIR = ROOT / ".." / "shared" / "data" / "cmftvb-sample-103818"
SAMPLE_SHA256 = "5d57b735280ea95fe6d70928e1a61c40b3ddc4b0766d745566b2b32ae27c3cbc"


def snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    block = output.split("Job stats:", 1)[1]
    counts = {}
    for line in block.splitlines():
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s+(\d+)\s*", line)
        if m and m.group(1) != "job":
            counts[m.group(1)] = int(m.group(2))
        if line.strip().startswith("total"):
            break
    return counts


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def expected_jobs(cfg: dict, n_subjects: int) -> dict[str, int]:
    sim = cfg["simulation"]
    variants = len(cfg["network"]["models"]) * len(cfg["network"]["presets"])
    presets = cfg["network"]["presets"]
    specified = set(presets) | set(cfg["network"].get("spec_presets", ["corrected", "published"]))
    batches = -(-len(sim["seeds"]) // sim["seeds_per_job"])
    n_G = len(sim.get("G_relative") or sim["G"])
    jobs = n_subjects * variants * n_G * batches
    fic_presets = [p for p in presets if fic_on(p, cfg["network"]["overrides"])]
    return {
        # FIC presets: G* per subject x preset, J_i per subject x variant x G
        "critical_G": n_subjects * len(fic_presets) * bool(sim.get("G_relative")),
        "tune_fic": n_subjects * len(cfg["network"]["models"]) * len(fic_presets) * n_G,
        "prepare_connectome": n_subjects,
        "prepare_empirical": n_subjects,
        "build_network": n_subjects * len(cfg["network"]["models"]) * len(specified),
        "simulate": jobs,
        "signals": jobs,  # signals and fitness run per simulation batch, seed by seed
        "fitness": jobs,
        "study_table": 1,
        "stats": 1,
    }


@pytest.mark.parametrize(
    "name,n_subjects",
    [
        ("config.yaml", 7),
        ("configs/tiny.yaml", 2),
        ("configs/article.yaml", 1),
        ("configs/published.yaml", 1),
    ],
)
def test_dry_run(tmp_path, name, n_subjects):
    res = snakemake(tmp_path, "-n", "--configfile", str(ROOT / name))
    assert res.returncode == 0, res.stderr + res.stdout
    counts = job_counts(res.stdout)
    cfg = load(name)
    for rule, n in expected_jobs(cfg, n_subjects).items():
        assert counts.get(rule, 0) == n, (rule, counts)
    assert counts.get("download_sample", 0) == (cfg["cohort"]["source"] == "sample")
    if cfg["simulation"]["G_relative"]:  # fractions of G*: the run names say so
        assert "Gr" + str(cfg["simulation"]["G_relative"][0]) in res.stdout
    assert counts.get("fig_node_curves") == 1
    assert counts.get("fig_connectome") == n_subjects
    assert counts.get("all") == 1
    # the article's analyses (issue 12): with the cMF model, per preset; the open loop on demand
    cmf, n_presets = "cmf" in cfg["network"]["models"], len(cfg["network"]["presets"])
    assert counts.get("input_shares", 0) == cmf
    for rule, per_preset in (("fig_input_shares", 1), ("fig_cmf_run", 1), ("fig_crbl_flatmap", 2)):
        assert counts.get(rule, 0) == cmf * per_preset * n_presets, (rule, counts)
    for rule in ("download_openloop", "openloop"):
        assert counts.get(rule, 0) == cfg["openloop"]["enabled"], (rule, counts)
    assert cfg["openloop"]["enabled"] == (name == "configs/article.yaml")


BAD_CONFIGS = [
    ("simulation:\n  duration_s: 5\n", "config key 'simulation.duration_s': unknown key"),
    ("bogus: 1\n", "config key 'bogus': unknown key"),
    ("cohort:\n  sample:\n    URL: x\n", "config key 'cohort.sample.URL': unknown key"),
    ("simulation:\n  duration_ms: long\n", "config key 'simulation.duration_ms': 'long' is not"),
    ("simulation:\n  seeds_per_job: 1.5\n", "config key 'simulation.seeds_per_job'"),
    ("network:\n  presets: [fixed]\n", "config key 'network.presets.0': 'fixed' is not one of"),
    ("cohort:\n  source: openneuro\n", "config key 'cohort.source': 'openneuro' is not one of"),
    ("cohort:\n  subjects: ['../x']\n", "config key 'cohort.subjects.0'"),
    ("signals:\n  bold_model: kernel\n", "config key 'signals.bold_model'"),
    (
        "network:\n  presets: [corrected, published]\n",
        "config key 'simulation.G_relative': fractions of G* need feedback inhibition control, "
        "but preset 'published' has wongwang.fic false",
    ),
    ("simulation:\n  G_relative: [0.5, -1]\n", "config key 'simulation.G_relative.1'"),
    ("signals:\n  regime_band_hz: [1]\n", "config key 'signals.regime_band_hz'"),
]


@pytest.mark.parametrize("text,message", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_stops_with_key_in_message(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    res = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert res.returncode != 0
    assert message in res.stdout + res.stderr, res.stdout + res.stderr


def test_absolute_G_under_fic_tunes_and_relative_G_runs_at_fractions(tmp_path):
    """An FIC preset at absolute G gets a J_i per run but no G* search (tune_fic checks the
    stability at its G); with simulation.G_relative the runs are named by fraction and read the
    subject's G*."""
    cfg = tmp_path / "abs.yaml"
    cfg.write_text(
        "cohort:\n  subjects: ['101309']\nsimulation:\n  G: [0.3, 0.45]\n  G_relative: []\n"
    )
    res = snakemake(tmp_path, "results/study/fitness.tsv", "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr + res.stdout
    counts = job_counts(res.stdout)
    assert "critical_G" not in counts and counts["tune_fic"] == 4 and counts["simulate"] == 4
    assert "results/fic/101309/cmf-corrected/G0.45.npz" in res.stdout
    rel = tmp_path / "rel.yaml"
    rel.write_text("cohort:\n  subjects: ['101309']\nsimulation:\n  G_relative: [0.7]\n")
    target = "results/simulations/101309/cmf-corrected/Gr0.7/seeds1.npz"
    res = snakemake(tmp_path, target, "-n", "--configfile", str(rel))
    assert res.returncode == 0, res.stderr + res.stdout
    counts = job_counts(res.stdout)
    assert counts == {
        "prepare_connectome": 1,
        "build_network": 2,  # the G* record needs both variants
        "critical_G": 1,
        "tune_fic": 1,
        "simulate": 1,
        "total": 6,
    }, counts
    for path in (
        "results/fic/101309/corrected/critical_G.json",
        "results/fic/101309/cmf-corrected/Gr0.7.npz",
    ):
        assert path in res.stdout


def test_duplicate_config_key_is_refused(tmp_path):
    """YAML keeps the last of two equal keys without a word; the workflow refuses the file."""
    bad = tmp_path / "dup.yaml"
    bad.write_text("study: a\nsimulation:\n  G: [1.0]\n  G: [2.0]\n")
    res = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert res.returncode != 0
    assert f"{bad}: line 4: duplicate key 'G' (first given on line 3)" in res.stdout + res.stderr


def test_band_pass_does_not_touch_connectomes_or_simulations(tmp_path):
    """fitness.bandpass_hz is a parameter of the empirical BOLD only: in a complete study
    (every output present, recorded with ``--touch``), changing it reruns prepare_empirical and
    what reads it, never prepare_connectome, build_network, simulate nor signals."""
    cfg = load("configs/tiny.yaml")
    first = tmp_path / "a.yaml"
    first.write_text(yaml.safe_dump(cfg))
    res = snakemake(tmp_path, "-n", "--configfile", str(first))
    assert res.returncode == 0, res.stdout + res.stderr
    for line in res.stdout.splitlines():
        if line.strip().startswith("output:"):
            for name in line.split(":", 1)[1].split(","):
                path = tmp_path / name.strip()
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
                os.utime(path, (1e9, 1e9))  # all equally old: --touch records every job
    res = snakemake(tmp_path, "--touch", "--cores", "1", "--configfile", str(first), "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    res = snakemake(tmp_path, "-n", "--configfile", str(first))
    assert "Nothing to be done" in res.stdout + res.stderr, res.stdout
    cfg["fitness"]["bandpass_hz"] = [0.02, 0.09]
    second = tmp_path / "b.yaml"
    second.write_text(yaml.safe_dump(cfg))
    res = snakemake(tmp_path, "-n", "--configfile", str(second))
    assert res.returncode == 0, res.stdout + res.stderr
    counts = job_counts(res.stdout)
    assert counts.get("prepare_empirical") == 2 and counts.get("fitness") == 8, counts
    for rule in ("prepare_connectome", "build_network", "simulate", "signals"):
        assert rule not in counts, (rule, counts)


def test_unknown_subject_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cohort:\n  subjects: ['999999']\n")
    res = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert res.returncode != 0
    assert "config key 'cohort.subjects': '999999' is not a subject" in res.stdout + res.stderr


def test_participant_ids_cannot_escape_results(tmp_path):
    """Ids from a participants table become file names: '../x' is refused at parse time."""
    (tmp_path / "participants.tsv").write_text("participant_id\nsub-01\n../evil\n")
    cfg = tmp_path / "cohort.yaml"
    cfg.write_text(
        f"cohort:\n  source: participants\n  participants: {tmp_path / 'participants.tsv'}\n"
    )
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "subject id '../evil' may only contain letters, digits" in res.stdout + res.stderr


def test_participants_cohort_dry_run(tmp_path):
    """A user cohort in TVB-zip format: inputs resolved from the file patterns."""
    if not (SAMPLE_DIR / "SC_dirCB.zip").is_file():
        pytest.skip(f"sample data not found at {SAMPLE_DIR}")
    for sid in ("sub-01", "sub-02"):
        (tmp_path / sid).mkdir()
        shutil.copy(SAMPLE_DIR / "SC_dirCB.zip", tmp_path / sid / "connectome.zip")
    (tmp_path / "participants.tsv").write_text("participant_id\nsub-01\nsub-02\n")
    cfg = tmp_path / "cohort.yaml"
    cfg.write_text(
        "cohort:\n  source: participants\n"
        f"  participants: {tmp_path / 'participants.tsv'}\n"
        "  files:\n    bold: ''\n"
        "connectome:\n  prewired: true\n"
    )
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr
    assert job_counts(res.stdout)["prepare_connectome"] == 2
    # a missing file is named
    (tmp_path / "sub-02" / "connectome.zip").unlink()
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "sub-02/connectome.zip: connectome file for participant" in res.stdout + res.stderr


def test_snakemake_lint_is_clean(tmp_path):
    res = subprocess.run(
        [SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Congratulations, your workflow is in a good condition!" in res.stdout + res.stderr
    assert "Lints for" not in res.stdout + res.stderr


def test_snakefmt_check():
    res = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_workflow_python():
    for args in (["check"], ["format", "--check"]):
        res = subprocess.run(
            [str(BIN / "ruff"), *args, "scripts", "tests"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert res.returncode == 0, res.stdout + res.stderr


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def sample_server():
    """The sample subject's folder served on a loopback HTTP server; yields the base URL."""
    if not (SAMPLE_DIR / "SC_dirCB.zip").is_file():
        pytest.skip(f"sample data not found at {SAMPLE_DIR}")
    handler = functools.partial(_QuietHandler, directory=str(SAMPLE_DIR.resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sample_config(tmp_path: Path, url: str, sha256: str) -> Path:
    cfg = load("configs/article.yaml")
    cfg["cohort"]["sample"] = {"url": url, "sha256": sha256}
    path = tmp_path / "sample.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_download_rule_against_loopback_server(tmp_path, sample_server):
    cfg = sample_config(tmp_path, f"{sample_server}/SC_dirCB.zip", SAMPLE_SHA256)
    res = snakemake(
        tmp_path, "results/connectomes/103818.npz", "--cores", "1", "--configfile", str(cfg)
    )
    assert res.returncode == 0, res.stderr
    zip_path = tmp_path / "resources" / "sample-103818" / "SC_dirCB.zip"
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == SAMPLE_SHA256
    from cmftvb.connectome import Connectome

    con = Connectome.load(tmp_path / "results" / "connectomes" / "103818.npz")
    assert con.n == 126
    assert int(np.isin(con.roles, ["crbl_hemisphere", "crbl_vermis"]).sum()) == 27
    assert int((con.roles == "dcn").sum()) == 6
    assert not con.has_empirical.any()


def test_download_rule_refuses_wrong_checksum(tmp_path, sample_server):
    cfg = sample_config(tmp_path, f"{sample_server}/SC_dirCB.zip", "0" * 64)
    res = snakemake(
        tmp_path, "resources/sample-103818/SC_dirCB.zip", "--cores", "1", "--configfile", str(cfg)
    )
    assert res.returncode != 0
    assert "sha256 mismatch" in res.stdout + res.stderr
    folder = tmp_path / "resources" / "sample-103818"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_openloop_download_against_loopback_server(tmp_path, sample_server):
    """The open-loop connectome: downloaded by its own rule, checked against its sha256."""
    if not (SAMPLE_DIR / "SC_dirCB_ONLYCRBL.zip").is_file():
        pytest.skip("SC_dirCB_ONLYCRBL.zip not in the sample folder")
    cfg = load("configs/article.yaml")
    sha = cfg["openloop"]["sha256"]
    cfg["openloop"]["url"] = f"{sample_server}/SC_dirCB_ONLYCRBL.zip"
    path = tmp_path / "openloop.yaml"
    path.write_text(yaml.safe_dump(cfg))
    target = "resources/openloop/SC_dirCB_ONLYCRBL.zip"
    res = snakemake(tmp_path, target, "--cores", "1", "--configfile", str(path))
    assert res.returncode == 0, res.stderr
    assert hashlib.sha256((tmp_path / target).read_bytes()).hexdigest() == sha
    (tmp_path / target).unlink()
    cfg["openloop"]["sha256"] = "0" * 64
    path.write_text(yaml.safe_dump(cfg))
    res = snakemake(tmp_path, target, "--cores", "1", "--configfile", str(path))
    assert res.returncode != 0 and "sha256 mismatch" in res.stdout + res.stderr


@pytest.mark.slow
def test_tiny_study_end_to_end(tmp_path):
    """configs/tiny.yaml through every stage, then the HTML report."""
    cfg = str(ROOT / "configs" / "tiny.yaml")
    res = snakemake(tmp_path, "--cores", "2", "--configfile", cfg, timeout=1200)
    assert res.returncode == 0, res.stderr[-5000:]
    results = tmp_path / "results"
    tiny = load("configs/tiny.yaml")
    subjects = tiny["cohort"]["subjects"]
    for s in subjects:
        assert (results / "connectomes" / f"{s}.npz").is_file()
        for m in tiny["network"]["models"]:
            assert (results / "networks" / s / f"{m}-corrected.json").is_file()
    import pandas as pd

    table = pd.read_csv(results / "study" / "fitness.tsv", sep="\t", dtype={"subject": str})
    assert set(table["subject"]) == set(subjects)
    assert set(table["model"]) == {"homogeneous", "cmf"}
    n_runs = table.groupby(["subject", "model", "preset", "G", "seed"]).ngroups
    fractions = tiny["simulation"]["G_relative"]
    assert n_runs == len(subjects) * 2 * len(fractions) * 2
    fit = table[(table.metric == "fc_fit") & (table.region == "global")]
    assert len(fit) == n_runs and fit["value"].between(-1, 1).all()
    # G as fractions of each subject's G*, both models of a subject at the same absolute G
    assert sorted(set(table["G"])) == sorted(fractions)
    g_abs = table.groupby(["subject", "G"])["G_abs"].nunique()
    assert (g_abs == 1).all() and (table["G_abs"] < table["G"]).all()  # G* < 1 here
    for s in subjects:
        assert (results / "fic" / s / "corrected" / "critical_G.json").is_file()
    # a regime check and a noise ceiling in every run
    for metric in ("regime_ww_out_of_band_share", "noise_ceiling_fc_fit"):
        rows = table[(table.metric == metric) & (table.region == "global")]
        assert len(rows) == n_runs, metric
    shares = pd.read_csv(results / "study" / "input_shares.tsv", sep="\t", dtype={"subject": str})
    assert set(shares["subject"]) == set(subjects)
    assert np.allclose(shares.groupby(["subject", "G", "input"])["share"].sum(), 1.0)
    coh = table[table.metric.str.startswith("coh_nodes_crbl_crbl_") & (table.model == "cmf")]
    assert len(coh) and coh["value"].between(0, 1).all()
    summary = (results / "study" / "summary.md").read_text()
    assert "n = 2" in summary or "n=2" in summary or "2 subjects" in summary
    assert "## Input shares (article Table 5)" in summary  # read from input_shares.tsv
    assert "| corrected | mossy | GrC |" in summary
    for png in (
        "figures/node_curves.png",
        "figures/corrected/paired_fc_fit.png",
        "figures/corrected/g_sweep.png",
        "figures/corrected/regional_error.png",
        "figures/corrected/firing_rates.png",
        "figures/corrected/spectra.png",
        "figures/corrected/coherence.png",
        "figures/corrected/input_shares.png",
        "figures/corrected/rate_traces.png",
        "figures/corrected/node_coherence.png",
        "figures/corrected/ephys_bold.png",
        "figures/corrected/rhythm_spectra.png",
        "figures/corrected/crbl_flatmap_PC_rate_hz.png",
        "figures/corrected/crbl_flatmap_PC_dominant_hz.png",
        *(f"figures/fc_matrices/{s}_corrected.png" for s in subjects),
        *(f"figures/connectomes/{s}.png" for s in subjects),
    ):
        assert (results / png).is_file(), png
        assert (results / png).with_suffix(".svg").is_file(), png
    # no temporary files left behind by the atomic writers
    assert not [p for p in results.rglob("*.tmp*")]
    # benchmark records of the simulation jobs
    assert list((results / "benchmarks" / "simulate").rglob("*.tsv"))
    # the HTML report
    rep = snakemake(tmp_path, "--configfile", cfg, "--report", "report.html", timeout=600)
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_make_setup_is_idempotent(tmp_path):
    """`make setup` reruns only when requirements.lock or pyproject.toml is newer than its stamp."""
    import os

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    venv = tmp_path / "venv"
    stamp = venv / ".cmftvb-installed"
    plan = subprocess.run(
        ["make", "-n", f"VENV={venv}", "setup"], capture_output=True, text=True, cwd=ROOT
    )
    assert plan.returncode == 0, plan.stderr
    assert "install -r requirements.lock" in plan.stdout
    assert "install --no-deps -e ." in plan.stdout
    assert "install --no-deps suitpy==2.1.2" in plan.stdout
    stamp.parent.mkdir()
    stamp.touch()
    newest = max((ROOT / f).stat().st_mtime for f in ("requirements.lock", "pyproject.toml"))
    os.utime(stamp, (newest + 10, newest + 10))
    up_to_date = subprocess.run(["make", "-q", f"VENV={venv}", "setup"], cwd=ROOT)
    assert up_to_date.returncode == 0
    os.utime(stamp, (newest - 10, newest - 10))
    stale = subprocess.run(["make", "-q", f"VENV={venv}", "setup"], cwd=ROOT)
    assert stale.returncode == 1


@pytest.mark.parametrize("pytest_rc,expected", [(0, 0), (5, 0), (1, 1), (2, 2)])
def test_ci_script_exit_status(tmp_path, pytest_rc, expected):
    """.ci/run passes pytest's status through, except 5 (no tests collected) which passes."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "Makefile").write_text("setup:\n\t@echo setup done\n")
    fake = tmp_path / ".venv" / "bin" / "pytest"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho fake pytest "$@"\nexit {pytest_rc}\n')
    fake.chmod(0o755)
    # the other-Python smoke checks after pytest are not part of this test
    env = {**os.environ, "CMFTVB_CI_SMOKE": "0"}
    res = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run"), "-x"], capture_output=True, text=True, env=env
    )
    assert res.returncode == expected, res.stdout + res.stderr
    assert "setup done" in res.stdout and "fake pytest -x" in res.stdout


def test_user_error_in_a_rule_is_one_line(tmp_path):
    """A CmftvbError inside a rule (here a corrupt connectome zip) ends the job with one line
    naming the file, no Python traceback from the adapter, and no output file."""
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "sub-01" / "connectome.zip").write_bytes(b"PK\x03\x04 this is not a zip file")
    (tmp_path / "participants.tsv").write_text("participant_id\nsub-01\n")
    cfg = tmp_path / "cohort.yaml"
    cfg.write_text(
        "cohort:\n  source: participants\n"
        f"  participants: {tmp_path / 'participants.tsv'}\n"
        "  files:\n    bold: ''\n"
    )
    res = snakemake(
        tmp_path, "results/connectomes/sub-01.npz", "--cores", "1", "--configfile", str(cfg)
    )
    assert res.returncode != 0
    out = res.stdout + res.stderr
    lines = [ln for ln in out.splitlines() if ln.startswith("prepare_connectome: error:")]
    assert len(lines) == 1, out
    assert "sub-01/connectome.zip" in lines[0]
    assert "Traceback (most recent call last)" not in out
    log = (tmp_path / "results" / "logs" / "prepare_connectome" / "sub-01.log").read_text()
    assert lines[0] in log
    assert not (tmp_path / "results" / "connectomes" / "sub-01.npz").exists()


def rule_blocks():
    """(file, rule name, body) of every rule in workflow/rules/*.smk."""
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        parts = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.M)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            yield smk.name, name, body


def test_every_rule_declares_log_conda_threads_resources():
    blocks = list(rule_blocks())
    assert len(blocks) >= 12
    for smk, name, body in blocks:
        for directive in ("log:", "conda:", "threads:", "resources:", "script:"):
            assert f"\n    {directive}" in body, f"{smk}: rule {name} lacks {directive}"
        resources = body.split("\n    resources:\n", 1)[1]
        for key in ("mem_mb=", "runtime="):
            assert key in resources.split("\n    script:", 1)[0], f"{smk}: {name} lacks {key}"
        assert "ENV" in body.split("\n    conda:\n", 1)[1].splitlines()[0]
    names = {name for _, name, _ in blocks}
    assert {"signals", "fitness"} <= names
    for _smk, name, body in blocks:
        if name in ("signals", "fitness"):
            assert '"subject_{subject}"' in body, f"{name} is not grouped per subject"
        if name == "simulate":
            assert "\n    benchmark:" in body
