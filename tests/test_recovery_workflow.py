"""The model-recovery workflow (issue 11): dry runs of configs/recovery*.yaml (the DAG), the
normal study's targets untouched, the config checks of a synthetic cohort (one line naming the
key), the per-run scoring step on a small synthetic case, and configs/recovery-tiny.yaml end to
end (slow).

Every run uses its own working directory (``--directory``), never the project's results/.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cmftvb import CmftvbError
from cmftvb.config import check_config
from cmftvb.recovery.workflow import length_volumes, recovery_tables, score_synthetic

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)


def job_counts(output: str) -> dict[str, int]:
    counts = {}
    for line in output.split("Job stats:", 1)[1].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
        if line.strip().startswith("total"):
            break
    return counts


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize(
    "name,n_subjects", [("configs/recovery.yaml", 7), ("configs/recovery-tiny.yaml", 3)]
)
def test_recovery_dry_run(tmp_path, name, n_subjects):
    """Generators x subjects synthetic runs; the fits are the study's simulate/signals jobs,
    each scored against each generator; the FIC state at the generators' G is shared."""
    res = snakemake(tmp_path, "-n", "--configfile", str(ROOT / name))
    assert res.returncode == 0, res.stderr + res.stdout
    counts = job_counts(res.stdout)
    cfg = load(name)
    n_gen, n_models = len(cfg["synthetic"]["generators"]), len(cfg["network"]["models"])
    assert counts["synthetic_bold"] == n_gen * n_subjects
    assert counts["simulate"] == counts["signals"] == n_subjects * n_models
    assert counts["tune_fic"] == n_subjects * n_models  # generators reuse the fits' FIC
    assert counts["recovery_fitness"] == n_gen * n_subjects * n_models
    assert counts["recovery"] == counts["fig_recovery"] == counts["all"] == 1
    for rule in ("fitness", "stats", "prepare_empirical", "study_table", "input_shares"):
        assert rule not in counts, rule  # the real-BOLD study is not run


def test_normal_study_has_no_recovery_jobs(tmp_path):
    res = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "configs" / "tiny.yaml"))
    assert res.returncode == 0, res.stderr + res.stdout
    counts = job_counts(res.stdout)
    for rule in ("synthetic_bold", "recovery_fitness", "recovery", "fig_recovery"):
        assert rule not in counts, rule
    assert counts["fitness"] > 0


def tiny() -> dict:
    from snakemake.utils import validate

    cfg = load("configs/recovery-tiny.yaml")
    validate(cfg, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return cfg


BAD = [
    ({"synthetic": {"generators": ["cmf"]}, "network": {"models": ["cmf"]}}, "network.models"),
    ({"synthetic": {"G_relative": 0.5}}, "config key 'synthetic.G_relative'"),
    ({"synthetic": {"seed": 1}}, "config key 'synthetic.seed': 1 is a fitting seed"),
    ({"synthetic": {"preset": "published"}}, "config key 'synthetic.preset'"),
    ({"synthetic": {"lengths_s": [100, "full"]}}, "config key 'synthetic.lengths_s[0]'"),
    ({"synthetic": {"lengths_s": [6, "full"]}}, "fewer than 3 FCD windows"),
    ({"synthetic": {"n_subjects": [1]}}, "config key 'synthetic.n_subjects[0]'"),
]


@pytest.mark.parametrize("change,needle", BAD, ids=[n for _, n in BAD])
def test_synthetic_config_checks(change, needle):
    cfg = copy.deepcopy(tiny())
    for section, values in change.items():
        cfg[section].update(values)
    with pytest.raises(CmftvbError) as err:
        check_config(cfg, "recovery-tiny.yaml")
    msg = str(err.value)
    assert needle in msg and "\n" not in msg, msg


def test_shipped_recovery_configs_pass():
    check_config(tiny(), "recovery-tiny.yaml")


def test_bad_synthetic_key_stops_the_workflow(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cohort:\n  source: synthetic\nsynthetic:\n  seed: 1\n")
    res = snakemake(
        tmp_path, "-n", "--configfile", str(ROOT / "configs/recovery-tiny.yaml"), str(bad)
    )
    assert res.returncode != 0
    assert "config key 'synthetic.seed'" in res.stdout + res.stderr


def test_length_volumes():
    out = length_volumes([20, "full"], 55, 0.72)
    assert out[0] == (20.0, round(20 / 0.72)) and out[1] == (round(55 * 0.72, 3), 55)
    with pytest.raises(CmftvbError, match="lengthen"):
        length_volumes([60], 55, 0.72)


def _slow_noise(rng, T, N):
    """Band-limited random BOLD-like signals (T, N): white noise smoothed over ~15 volumes."""
    x = rng.standard_normal((T + 60, N))
    k = np.hanning(31)
    return np.stack([np.convolve(x[:, i], k, mode="same") for i in range(N)], axis=1)[30:-30]


def test_scoring_recovers_the_model_whose_bold_matches():
    """Six subjects: the fit of the generating model is its BOLD plus a little noise, the other
    model's is unrelated; every endpoint, in both scopes, must favour the generator in every
    subject and be significant (exact Wilcoxon, n = 6, all positive: p = 2 / 64)."""
    rng = np.random.default_rng(7)
    T, N, tr = 300, 8, 0.72
    roles = np.array(["cortex"] * 5 + ["crbl_hemisphere"] * 3)
    con = type("C", (), {"labels": np.array([f"n{i}" for i in range(N)]), "roles": roles})()
    opts = dict(
        bandpass_hz=(0.01, 0.1),
        filter_order=4,
        filter_simulated=True,
        fcd_window_s=20.0,
        fcd_step_s=1.44,
    )
    frames = []
    for s in range(6):
        syn = _slow_noise(rng, T, N)
        for model, bold in (
            ("cmf", syn + 0.3 * _slow_noise(rng, T, N)),
            ("homogeneous", _slow_noise(rng, T, N)),
        ):
            sig = {"bold": bold[None], "seeds": np.array([1]), "tr_s": tr}
            keys = {"subject": f"s{s}", "model": model, "preset": "corrected", "G": 0.7}
            frames.append(
                score_synthetic(
                    sig,
                    syn,
                    con,
                    keys=keys,
                    generator="cmf",
                    lengths_s=[100, "full"],
                    keep_group="cerebral",
                    **opts,
                )
            )
    table = pd.concat(frames, ignore_index=True)
    assert set(table["metric"]) >= {"fc_fit", "fc_fit_cerebral", "bold_mae", "fcd_ks_cerebral"}
    cer = table[table["metric"] == "bold_mae_cerebral"]
    assert set(cer["region"]) == {f"n{i}" for i in range(5)}  # the cerebellum masked
    region_roles = dict(zip(con.labels, roles, strict=True))
    # FCD of smoothed white noise does not tell the toy's models apart: FC-based endpoints
    eps = ["fc_fit", "bold_mae@crbl_cortex", "fc_profile_error@crbl_cortex"]
    conf, pw = recovery_tables(table, region_roles=region_roles, endpoints=eps, n_resamples=50)
    win = conf[conf["model"] == "cmf"]
    assert (win["fraction"] == 1.0).all() and win["correct"].all()
    # every subject positive: exact Wilcoxon p = 2 / 64, BH q = p when every endpoint has it
    assert win[win["scope"] == "all"]["significant"].all()
    assert np.allclose(win["p_w"], 2 / 64)
    assert set(conf[conf["scope"] == "cerebral"]["endpoint"]) == {"fc_fit"}
    assert set(conf[conf["scope"] == "all"]["endpoint"]) == set(eps)
    assert set(pw["n_subjects"]) == {3, 4, 5, 6}
    assert (pw["false_positive"] == 0).all()  # the wrong model never wins
    fam = pw[(pw["endpoint"] == "family") & (pw["n_subjects"] == 6)]
    assert (fam["power"] > 0.3).all()
    assert (pw[pw["n_subjects"] < 6]["power"] == 0).all()  # Wilcoxon: p >= 1/16 below n = 6


@pytest.mark.slow
def test_recovery_tiny_end_to_end(tmp_path):
    """configs/recovery-tiny.yaml through every recovery rule (a few minutes on 2 cores)."""
    cfg = str(ROOT / "configs" / "recovery-tiny.yaml")
    res = snakemake(tmp_path, "--cores", "2", "--configfile", cfg, timeout=1200)
    assert res.returncode == 0, res.stderr[-5000:]
    results = tmp_path / "results"
    tiny_cfg = load("configs/recovery-tiny.yaml")
    subjects = tiny_cfg["cohort"]["subjects"]
    for gen in tiny_cfg["synthetic"]["generators"]:
        for s in subjects:
            assert (results / "synthetic" / gen / f"{s}.npz").is_file()
    conf = pd.read_csv(results / "recovery" / "confusion.tsv", sep="\t")
    power = pd.read_csv(results / "recovery" / "power.tsv", sep="\t")
    assert set(conf["generator"]) == set(tiny_cfg["synthetic"]["generators"])
    assert set(conf["scope"]) == {"all", "cerebral"}
    assert set(power["n_subjects"]) == set(tiny_cfg["synthetic"]["n_subjects"])
    assert power["power"].between(0, 1).all() and power["false_positive"].between(0, 1).all()
    for ext in ("png", "svg"):
        assert (results / "figures" / f"recovery.{ext}").is_file()
