"""Config checks when the workflow loads a config (cmftvb.config; issue 14).

Each check names the config key; the limits are the schema's, shared with `cmftvb simulate`.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from cmftvb import CmftvbError
from cmftvb.config import G_MAX, G_MIN, SEED_MIN, check_config, check_multiple, load_yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


def with_change(**sections) -> dict:
    cfg = copy.deepcopy(default_config())
    for section, values in sections.items():
        cfg[section].update(values)
    return cfg


def refused(cfg) -> str:
    with pytest.raises(CmftvbError) as exc:
        check_config(cfg, "config.yaml")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("config.yaml: ")
    return msg


def test_shipped_configs_pass():
    for path in [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]:
        cfg = yaml.safe_load(path.read_text())
        validate(cfg, str(SCHEMA), set_default=True)
        if cfg["cohort"]["source"] == "participants":
            continue  # needs the user's table
        check_config(cfg, str(path))


def test_limits_agree_with_the_schema():
    schema = yaml.safe_load(SCHEMA.read_text())
    sim = schema["properties"]["simulation"]["properties"]
    assert sim["G"]["items"]["minimum"] == G_MIN
    assert sim["G"]["items"]["maximum"] == G_MAX
    assert sim["seeds"]["items"]["minimum"] == SEED_MIN


@pytest.mark.parametrize(
    "G, message",
    [
        (float("nan"), "config key 'simulation.G[1]': G must be a finite number, got nan"),
        (float("inf"), "config key 'simulation.G[1]': G must be a finite number, got inf"),
    ],
)
def test_G_not_finite(G, message):
    assert message in refused(with_change(simulation={"G": [1.5, G]}))


def test_G_nan_passes_the_schema_but_not_the_check():
    cfg = with_change(simulation={"G": [float("nan")]})
    validate(copy.deepcopy(cfg), str(SCHEMA), set_default=True)  # the schema lets NaN through
    refused(cfg)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"duration_ms": 1000.05},
            "config key 'simulation.duration_ms' (1000.05 ms) is not a whole multiple of config"
            " key 'simulation.dt_ms' (0.1 ms)",
        ),
        (
            {"monitor_period_ms": 0.25},
            "config key 'simulation.monitor_period_ms' (0.25 ms) is not a whole multiple of"
            " config key 'simulation.dt_ms' (0.1 ms)",
        ),
    ],
)
def test_dt_must_divide_duration_and_monitor_period(change, message):
    assert message in refused(with_change(simulation=change))


def test_unknown_override_key_names_the_config_key():
    msg = refused(with_change(network={"overrides": {"crbl.alpha.XX": 2.5}}))
    assert "config key 'network.overrides.crbl.alpha.XX': unknown key 'XX'" in msg
    assert "--set" not in msg
    msg = refused(with_change(network={"overrides": {"projections.nope.scale": 0.5}}))
    assert "config key 'network.overrides.projections.nope.scale'" in msg
    # a known key with a valid value passes
    check_config(with_change(network={"overrides": {"crbl.alpha.PC": 2.5}}), "config.yaml")


def test_empty_participants_table(tmp_path):
    table = tmp_path / "participants.tsv"
    table.write_text("participant_id\tage\n")
    cfg = with_change(cohort={"source": "participants", "participants": str(table)})
    msg = refused(cfg)
    assert f"config key 'cohort.participants': {table} lists no participants" in msg


def test_sample_without_prewired_refused():
    msg = refused(with_change(cohort={"source": "sample"}, connectome={"prewired": False}))
    assert "config key 'connectome.prewired'" in msg and "prewired: true" in msg
    check_config(with_change(cohort={"source": "sample"}, connectome={"prewired": True}), "c")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "study.yaml"
    bad.write_text("study: x\nsimulation:\n  G: [1.5, 2.0\n  seeds: [1]\n")
    with pytest.raises(CmftvbError) as exc:
        load_yaml(bad)
    msg = str(exc.value)
    assert msg.startswith(f"{bad}:4:")
    assert "YAML syntax error" in msg and "\n" not in msg
    good = tmp_path / "ok.yaml"
    good.write_text("simulation:\n  G: [1.5]\n")
    assert load_yaml(good) == {"simulation": {"G": [1.5]}}


def test_check_multiple_tolerates_decimal_steps():
    assert check_multiple(45000.0, 0.1, "d", "dt") == 450000
    assert check_multiple(4.0, 0.1, "p", "dt") == 40
    assert check_multiple(0.3, 0.1, "p", "dt") == 3  # 0.3 / 0.1 = 2.9999999999999996
    with pytest.raises(CmftvbError, match=r"d \(10 ms\) is not a whole multiple of p \(3 ms\)"):
        check_multiple(10.0, 3.0, "d", "p")


# ---------------------------------------------------------------- conda environments
def _make_conda_env():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_conda_env", ROOT / "scripts" / "make_conda_env.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _closure(roots):
    """Names (normalised) of ``roots`` and everything they require, from installed metadata."""
    from importlib import metadata

    from packaging.requirements import Requirement

    mod = _make_conda_env()
    seen, stack = set(), list(roots)
    while stack:
        name = mod.normalise(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(req.name)
    return seen


def test_rules_env_has_no_test_or_lint_tools_and_dev_env_has_everything():
    import tomllib

    mod = _make_conda_env()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(reqs):
        return [mod.normalise(r.split("==")[0]) for r in reqs]

    runtime = _closure(names(project["dependencies"]))
    dev = _closure(names(project["optional-dependencies"]["dev"]))
    assert set(mod.DEV_ONLY) == dev - runtime
    rules = yaml.safe_load((ROOT / "envs" / "cmftvb.yaml").read_text())
    pip = next(d["pip"] for d in rules["dependencies"] if isinstance(d, dict))
    got = set(names(pip))
    assert not got & {"pytest", "hypothesis", "ruff", "snakefmt"}
    assert {"snakemake", "tvb-library", "numba"} <= got
    assert (ROOT / "envs" / "cmftvb-dev.yaml").read_text() == mod.render_dev(
        ROOT / "requirements.lock"
    ), "run `make envs`"
    assert len(mod.pinned(ROOT / "requirements.lock")) == len(pip) + len(mod.DEV_ONLY)


def test_rules_env_post_deploy_installs_the_makefiles_suitpy():
    """The rules' conda environment gets SUITPy (the flatmap surfaces) through Snakemake's
    post-deploy script, at the version and with --no-deps as the Makefile installs it; Snakemake
    finds the script by replacing the environment file's .yaml with .post-deploy.sh."""
    import re

    script = ROOT / "envs" / "cmftvb.post-deploy.sh"
    assert script.is_file() and os.access(script, os.X_OK)
    make = re.search(r"--no-deps (suitpy==[0-9.]+)", (ROOT / "Makefile").read_text())
    post = re.search(r"pip install --no-deps (suitpy==[0-9.]+)", script.read_text())
    assert make and post and make.group(1) == post.group(1)
    res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_store_must_be_signals_or_activity(tmp_path):
    """A bad simulation.store is refused when the config is loaded, naming the key."""
    from cmftvb.config import check_config_files

    bad = tmp_path / "bad.yaml"
    bad.write_text("simulation:\n  store: everything\n")
    with pytest.raises(CmftvbError) as exc:
        check_config_files([bad], base=ROOT / "config.yaml", schema=SCHEMA)
    msg = str(exc.value)
    assert msg.startswith(f"{bad}: config key 'simulation.store': 'everything' is not one of")
    assert "\n" not in msg


def test_signals_rate_is_the_monitor_rate():
    for store in ("signals", "activity"):  # neither store resamples
        cfg = with_change(signals={"fs_hz": 500.0}, simulation={"store": store})
        msg = refused(cfg)
        assert (
            "config key 'signals.fs_hz': 500 Hz must be 1000 / simulation.monitor_period_ms" in msg
        )
