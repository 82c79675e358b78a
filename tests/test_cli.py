"""The command line as a newcomer meets it (issue 14): help texts, refusals, first run, Ctrl-C.

The simulations here run on a five-node connectome written by the test (two cerebral regions,
two cerebellar-cortex lobules, one deep nucleus), a few ms long.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.cli import build_parser, main
from cmftvb.connectome import Connectome

LABELS = ["Precentral_L", "Precentral_R", "Left_CrusI", "Vermis_VI", "Left_Dentate"]


def tiny_zip(path, weights=None, labels=LABELS):
    n = len(labels)
    rng = np.random.default_rng(3)
    w = rng.uniform(0.1, 1.0, (n, n)) if weights is None else np.asarray(weights, float)
    np.fill_diagonal(w, 0.0)
    lengths = np.full((n, n), 30.0)
    np.fill_diagonal(lengths, 0.0)
    Connectome(weights=w, tract_lengths=lengths, labels=np.array(labels)).to_tvb_zip(path)
    return path


def _simulate(tmp_path, *extra, out=None, conn=None):
    conn = conn or tiny_zip(tmp_path / "tiny.zip")
    out = out or tmp_path / "sim.npz"
    argv = ["simulate", str(conn), "--duration", "4", "--out", str(out), *extra]
    return main(argv), out


# ---------------------------------------------------------------- help
def test_top_level_help_is_plain_and_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text
    assert re.search(r"simulate\s+integrate a network", text)
    assert re.search(r"node-curve\s+steady-state rates", text)


def test_simulate_help_states_defaults_units_and_output(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in (
        "simulated time in ms (default: 1000)",
        "(default: cmf)",
        "(default: 0)",  # seed
        "(default: raw)",
        "integration step in ms (default: 0.1)",
        "per sqrt(ms)",
        "mm/ms",
        "bold_input",
        "GrC, GoC, MLI, PC cerebellar rates in kHz",
        "(S, T, N) for S seeds",
    ):
        assert needle in text, needle
    # every option of simulate and node-curve has a help line with a default or 'required'
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("simulate", "node-curve"):
        for action in sub.choices[name]._actions:
            if action.dest in ("help", "quiet", "scan"):
                continue
            assert action.help, (name, action.dest)
            if action.option_strings:
                assert (
                    "default" in action.help
                    or "required" in action.help
                    or ("repeatable" in action.help)
                ), (name, action.dest)


def test_node_curve_help_has_text(capsys):
    with pytest.raises(SystemExit):
        main(["node-curve", "--help"])
    text = capsys.readouterr().out
    assert "constant mossy-fibre rates in Hz" in text and "--scan" in text


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--G", "nan"], "--G: G must be a finite number, got nan"),
        (["--G", "inf"], "--G: G must be a finite number, got inf"),
        (["--G", "-1"], "--G: G must be between 0 and 1000, got -1"),
        (["--seed", "-1"], "--seed: a seed must be >= 0, got -1"),
        (
            ["--monitor-period", "3", "--duration", "10"],
            "--duration (10 ms) is not a whole multiple of --monitor-period (3 ms)",
        ),
        (
            ["--monitor-period", "0.25"],
            "--monitor-period (0.25 ms) is not a whole multiple of --dt (0.1 ms)",
        ),
        (["--duration", "nan"], "--duration: must be a positive number of ms, got nan"),
    ],
)
def test_simulate_refuses_what_the_config_refuses(tmp_path, capsys, extra, message):
    rc, out = _simulate(tmp_path, *extra)
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_out_into_missing_folder_refused(tmp_path, capsys):
    rc, out = _simulate(tmp_path, out=tmp_path / "nope" / "sim.npz")
    assert rc == 2
    assert "folder " + str(tmp_path / "nope") + " does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_all_zero_connectome_refused(tmp_path, capsys):
    conn = tiny_zip(tmp_path / "zero.zip", weights=np.zeros((5, 5)))
    rc, out = _simulate(tmp_path, conn=conn)
    assert rc == 2
    assert "every weight off the diagonal is zero" in capsys.readouterr().err
    assert not out.exists()


def test_output_size_refused_beyond_the_limit(tmp_path, capsys):
    # 5 nodes, cmf: S_E, S_I, GrC, GoC, MLI, PC, r_E, r_I, bold_input = 9 arrays; raw monitor
    # at 0.1 ms for 1000 s: 1e7 samples x 5 x 9 x 8 bytes = 3.6 GB
    rc, out = _simulate(tmp_path, "--duration", "1000000")
    assert rc == 2
    err = capsys.readouterr().err
    assert "the output would be about 3.6 GB (limit --max-output-gb 2)" in err
    assert "--monitor mean --monitor-period 4" in err and not out.exists()


def test_output_size_estimate_matches_the_file(tmp_path, capsys):
    from cmftvb.engine.cli import estimate_output_bytes
    from cmftvb.network import build_network

    conn = tiny_zip(tmp_path / "tiny.zip")
    rc, out = _simulate(tmp_path, "--duration", "40", "--seed", "1", "--seed", "2", conn=conn)
    assert rc == 0
    net = build_network(Connectome.from_tvb_zip(conn), "cmf", "corrected")
    est = estimate_output_bytes(net, 400, 2, "numba")
    size = out.stat().st_size
    assert est <= size < est * 1.05 + 20_000  # headers, labels, params, meta


def test_cmf_without_cerebellar_nodes_warns(tmp_path, capsys):
    conn = tiny_zip(tmp_path / "cx.zip", labels=["Precentral_L", "Precentral_R", "Frontal_Sup_L"])
    rc, out = _simulate(tmp_path, "--quiet", conn=conn)
    assert rc == 0 and out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"cmftvb simulate: warning: {conn} has no cerebellar-cortex nodes; --model cmf runs"
        " every node as Wong-Wang"
    ]


# ---------------------------------------------------------------- first run, progress
def test_first_run_announces_compilation_and_times_only_the_simulation(
    tmp_path, capsys, monkeypatch
):
    import cmftvb.engine
    import cmftvb.engine.cli as ecli

    calls = []
    real = cmftvb.engine.simulate

    def spy(conn, net, **kw):
        calls.append((kw["duration"], kw.get("progress") is not None))
        return real(conn, net, **kw)

    monkeypatch.setattr(cmftvb.engine, "simulate", spy)
    monkeypatch.setattr(ecli, "engine_needs_compiling", lambda: True)
    rc, out = _simulate(tmp_path, "--monitor", "mean", "--monitor-period", "2")
    assert rc == 0
    err = capsys.readouterr().err
    msg = f"compiling the engine (once per installation, about {ecli.COMPILE_ESTIMATE_S} s)"
    assert msg in err
    assert err.index(msg) < err.index("%")  # announced before any progress line
    # a one-period warm-up without progress, then the run whose progress is reported
    assert calls == [(2.0, False), (4.0, True)]


def test_quiet_run_has_no_warm_up(tmp_path, monkeypatch):
    import cmftvb.engine

    calls = []
    real = cmftvb.engine.simulate
    monkeypatch.setattr(
        cmftvb.engine, "simulate", lambda c, n, **kw: calls.append(1) or real(c, n, **kw)
    )
    rc, _ = _simulate(tmp_path, "--quiet")
    assert rc == 0 and calls == [1]


def test_engine_cache_probe_answers():
    from cmftvb.engine.cli import engine_needs_compiling

    assert engine_needs_compiling() in (True, False)


# ---------------------------------------------------------------- Ctrl-C
def test_ctrl_c_one_line_exit_130_nothing_written(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the output is being written: one line, status 130, no file, no temp."""
    from cmftvb import io

    def interrupted(params):  # called once the state arrays are written, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "_params_text", interrupted)
    rc, out = _simulate(tmp_path, "--quiet")
    assert rc == 130
    assert capsys.readouterr().err == "cmftvb: interrupted; nothing written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.zip"]


def test_ctrl_c_in_a_real_process(tmp_path):
    """SIGINT to a running `cmftvb simulate`: exit 130, one line on stderr, no file."""
    import signal
    import time

    conn = tiny_zip(tmp_path / "tiny.zip")
    out = tmp_path / "sim.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmftvb", "simulate", str(conn), "--duration", "2000000",
         "--monitor", "mean", "--monitor-period", "4", "--out", str(out)],
        stderr=subprocess.PIPE, text=True,
        # as in a terminal: a test run launched in the background by a non-interactive shell
        # inherits SIGINT ignored (POSIX), and Python then leaves it ignored in the child,
        # which would run to the end and exit 0 (seen in CI runs started with `cmd &`)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    lines = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "%" in line or not line:
            break
    assert any("%" in line for line in lines), lines
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert rest.strip().splitlines()[-1] == "cmftvb: interrupted; nothing written"
    assert "Traceback" not in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.zip"]


def test_output_keys_documented(tmp_path):
    """The CLI writes the tagged full layout, distinct from the workflow's packed files."""
    from cmftvb.io import SIMULATION_FULL, load_simulation_full, load_simulation_packed

    rc, out = _simulate(tmp_path, "--quiet")
    assert rc == 0
    arrays, meta = load_simulation_full(out)
    assert meta["format"] == SIMULATION_FULL == "cmftvb.simulation-full/1"
    with pytest.raises(CmftvbError, match="a cmftvb.simulation-full/1 file, expected"):
        load_simulation_packed(out)
    for key in ("time_ms", "labels", "S_E", "S_I", "GrC", "GoC", "MLI", "PC", "r_E", "r_I"):
        assert key in arrays, key
    assert "bold_input" in arrays and json.loads(str(arrays["params"]))


# ---------------------------------------------------------------- check-config
@pytest.fixture
def in_checkout(monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def test_check_config_yaml_syntax_error_names_file_and_line(tmp_path, capsys, in_checkout):
    bad = tmp_path / "study.yaml"
    bad.write_text("simulation:\n  G: [1.5, 2.0\n  seeds: [1]\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cmftvb: error: {bad}:3:") and "YAML syntax error" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("simulation:\n  G: [.nan]\n", "config key 'simulation.G[0]': G must be a finite number"),
        ("simulation:\n  duration_s: 3\n", "config key 'simulation.duration_s': unknown key"),
        ("simulation:\n  monitor_period_ms: 0.25\n", "is not a whole multiple of config key"),
    ],
)
def test_check_config_values(tmp_path, capsys, in_checkout, text, message):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(text)
    assert main(["check-config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"cmftvb: error: {cfg}: " in err and message in err


def test_check_config_shipped_configs_ok(capsys, in_checkout):
    assert main(["check-config", "configs/tiny.yaml"]) == 0
    assert capsys.readouterr().out == "cmftvb check-config: config.yaml, configs/tiny.yaml: ok\n"


# ---------------------------------------------------------------- Python versions, make help
ROOT_DIR = __import__("pathlib").Path(__file__).resolve().parents[1]


def _fake_pythons(tmp_path, working):
    """python3.13 / 3.12 / 3.11 stand-ins on PATH: those in ``working`` pass the Makefile's
    version probe (exit 0), the others fail it like a broken pyenv shim (exit 1)."""
    for v in ("3.13", "3.12", "3.11"):
        exe = tmp_path / f"python{v}"
        exe.write_text(f"#!/bin/sh\nexit {0 if v in working else 1}\n")
        exe.chmod(0o755)


@pytest.mark.parametrize(
    "working, picked", [(("3.13", "3.12", "3.11"), "3.13"), (("3.12", "3.11"), "3.12")]
)
def test_makefile_takes_the_newest_supported_python(tmp_path, working, picked):
    import os
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    _fake_pythons(tmp_path, working)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    # under `make test PYTHON=...` the command-line variable reaches a sub-make via MAKEFLAGS
    for var in ("PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(var, None)
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT_DIR), "help"], capture_output=True, text=True, env=env
    ).stdout
    assert f"Python: {tmp_path}/python{picked} " in out


def test_make_help_lists_every_target_and_pyproject_allows_311_to_313():
    import shutil
    import tomllib

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    makefile = (ROOT_DIR / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT_DIR), "help"], capture_output=True, text=True
    ).stdout
    for target in phony:
        assert re.search(rf"^make {re.escape(target)}\s+- ", out, re.M), target
    project = tomllib.loads((ROOT_DIR / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"


# ---------------------------------------------------------------- FIC on the command line
def test_fic_preset_runs_at_rest_at_a_fraction_of_g_star(tmp_path, capsys):
    """corrected (FIC on), no --G: the CLI runs at 0.9 G* of this network, with the J_i that
    FIC tuned there, from the FIC state; without noise every node of the homogeneous network
    then stays at the 3.0631 Hz target (a fixed point of the delayed network too, its history
    being constant). (The cMF variant starts its cerebellar nodes at their mean rates, so it
    relaxes to rest through a transient instead.)"""
    from cmftvb import gstar
    from cmftvb.connectome import load_any
    from cmftvb.io import load_npz
    from cmftvb.network import build_network

    conn = tiny_zip(tmp_path / "tiny.zip")
    quiet_run = ["--duration", "200", "--monitor", "mean", "--monitor-period", "10"]
    rc, out = _simulate(tmp_path, *quiet_run, "--noise-sigma", "0", "--model", "homogeneous",
                        conn=conn)  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    net = build_network(load_any(conn), "homogeneous", "corrected")
    g_star = gstar.critical_G_record(load_any(conn), {"homogeneous": net})["reference"]
    arrays, meta = load_npz(out)
    params = json.loads(str(arrays["params"]))
    assert meta["fic"] is True
    assert params["G"] == [pytest.approx(0.9 * g_star, rel=1e-12)]
    assert f"G = 0.9 x G* = {0.9 * g_star:.4g}" in err
    assert np.abs(arrays["r_E"] - 3.0631).max() < 1e-6, arrays["r_E"]


def test_fic_beyond_its_range_refused_with_the_way_out(tmp_path, capsys):
    """A deep nucleus fed only by Purkinje cells (inhibitory) would need J_i < 0 at G 5."""
    w = np.full((5, 5), 0.5)
    w[4, :2] = w[:2, 4] = 0.0
    conn = tiny_zip(tmp_path / "dcn.zip", weights=w)
    rc, out = _simulate(tmp_path, "--G", "5", "--quiet", conn=conn)
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert "node 'Left_Dentate' (index 4) needs J_i = " in err
    assert "lower --G, give --G-relative, or switch FIC off" in err and err.count("\n") == 1


def test_published_preset_has_no_fic_and_refuses_a_relative_g(tmp_path, capsys):
    from cmftvb.io import load_npz

    rc, out = _simulate(tmp_path, "--preset", "published", "--G", "1", "--quiet")
    assert rc == 0 and load_npz(out)[1]["fic"] is False
    rc, _ = _simulate(tmp_path, "--preset", "published", "--G-relative", "0.5",
                      out=tmp_path / "x.npz")  # fmt: skip
    assert rc == 2 and "has FIC off" in capsys.readouterr().err
    rc, _ = _simulate(tmp_path, "--G", "0.2", "--G-relative", "0.5", out=tmp_path / "y.npz")
    assert rc == 2 and "give one of them" in capsys.readouterr().err
