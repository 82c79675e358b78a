"""Single-node checks of MODEL.md §2.6 through ``cmftvb node-curve``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.cli import main
from cmftvb.models import crbl
from cmftvb.models.nodecurve import steady_state
from cmftvb.models.presets import load_preset

# MODEL.md §2.6: first order, full-precision P, alpha (2, 1.3, 1.8, 5), Hz
MOSSY = [4, 10, 20, 40, 60]
TABLE_26 = np.array(
    [
        [0.09, 4.45, 11.18, 55.80],
        [0.66, 9.65, 11.90, 57.06],
        [2.06, 20.56, 13.95, 63.17],
        [4.91, 41.65, 19.02, 78.48],
        [7.19, 58.59, 23.78, 90.93],
    ]
)
PC_ALPHA_25 = np.array([27.90, 28.53, 31.59, 39.24, 45.46])
HEADER = ["mossy_hz", "grc_hz", "goc_hz", "mli_hz", "pc_hz"]


def _run(capsys, argv):
    assert main(["node-curve", *argv]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == HEADER
    return np.array([[float(v) for v in line.split("\t")] for line in lines[1:]])


def test_table_2_6(capsys):
    out = _run(capsys, ["--preset", "corrected", "--order", "1", "--mossy", *map(str, MOSSY)])
    np.testing.assert_array_equal(out[:, 0], MOSSY)
    # the table is rounded to 0.01 Hz: agreement within half a unit of its last digit + 0.005
    np.testing.assert_allclose(out[:, 1:], TABLE_26, atol=0.01, rtol=0)


def test_table_2_6_alpha_pc_25(capsys):
    out = _run(capsys, ["--order", "1", "--set", "crbl.alpha.PC=2.5", "--mossy", *map(str, MOSSY)])
    np.testing.assert_allclose(out[:, 4], PC_ALPHA_25, atol=0.01, rtol=0)
    # alpha_PC only scales PC: the other columns are unchanged
    np.testing.assert_allclose(out[:, 1:4], TABLE_26[:, :3], atol=0.01, rtol=0)


def test_steady_state_is_a_fixed_point():
    pr = load_preset("corrected")
    p = crbl.pack(pr)
    for m in (0.0, 7.5, 33.0, 70.0):
        nu = steady_state(m, pr, 1) * 1e-3
        f = crbl.transfer_nodes(*nu, m * 1e-3, 0.0, p)
        np.testing.assert_allclose(f, nu, rtol=1e-10, atol=1e-13)  # kHz


def test_published_goc_silenced(capsys):
    out = _run(capsys, ["--preset", "published", "--mossy", *map(str, MOSSY)])
    goc = out[:, 2]
    assert np.all(goc >= 0) and np.all(goc < 1.0), goc


def test_order2_with_zero_covariances_is_order1():
    for name in ("corrected", "published"):
        pr = load_preset(name)
        for m in (4.0, 20.0, 60.0):
            np.testing.assert_allclose(
                steady_state(m, pr, 2, hold_cov_zero=True),
                steady_state(m, pr, 1),
                rtol=0,
                atol=1e-9,
            )


def test_order2_steady_state(capsys):
    pr = load_preset("corrected")
    p = crbl.pack(pr)
    full = steady_state(20.0, pr, 2, full_state=True)
    x = full.copy()
    x[:4] *= 1e-3
    x[4:] *= 1e-6
    resid = crbl.dfun2_nodes(x[None, :], 0.02, 0.0, p)[0]
    assert np.abs(resid).max() < 1e-9
    # variances are non-negative, and the finite-size noise makes them positive
    for i in range(4):
        assert x[4 + crbl.COV_PAIRS.index((i, i))] > 0
    # the CLI prints the same rates
    out = _run(capsys, ["--order", "2", "--mossy", "20"])
    np.testing.assert_allclose(out[0, 1:], full[:4], atol=1e-6)


def test_bad_input():
    pr = load_preset("corrected")
    with pytest.raises(CmftvbError, match="--mossy"):
        steady_state(-1.0, pr, 1)
    with pytest.raises(CmftvbError, match="--mossy"):
        steady_state(float("nan"), pr, 1)


def test_cli_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "cmftvb", "node-curve", "--mossy", "20"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split("\t") == HEADER
    vals = [float(v) for v in lines[1].split("\t")]
    np.testing.assert_allclose(vals[1:], TABLE_26[2], atol=0.01)
    bad = subprocess.run(
        [sys.executable, "-m", "cmftvb", "node-curve", "--set", "crbl.alpha.XX=1", "--mossy", "4"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert "crbl.alpha.XX" in bad.stderr and "Traceback" not in bad.stderr


# ---- multistability (issue 12 item 8) ---------------------------------------------------
# The published node at 4 Hz mossy input: from the authors' initial rates (10, 10, 15, 30 Hz,
# their 0.01/0.01/0.015/0.03 kHz) and from silence it settles in two different states.
AUTHORS_START = ["GrC=10", "GoC=10", "MLI=15", "PC=30"]
FROM_AUTHORS_START = np.array([8.689, 0.070, 30.71, 120.72])
FROM_SILENCE = np.array([44.4, 0.020, 172.2, 132.6])


def _initial_args(pairs):
    return [a for p in pairs for a in ("--initial", p)]


def test_initial_rates_pick_the_other_stable_state(capsys):
    argv = ["--preset", "published", "--order", "1", *_initial_args(AUTHORS_START)]
    out = _run(capsys, [*argv, "--mossy", "4"])
    np.testing.assert_allclose(out[0, 1:], FROM_AUTHORS_START, atol=0.01, rtol=0)
    silent = _run(capsys, ["--preset", "published", "--order", "1", "--mossy", "4"])
    np.testing.assert_allclose(silent[0, 1:], FROM_SILENCE, atol=0.05, rtol=0)
    # both are zeros of the engine's own vector field (the printed table is rounded to 1e-6 Hz)
    pr = load_preset("published")
    p = crbl.pack(pr)
    start = dict(GrC=10.0, GoC=10.0, MLI=15.0, PC=30.0)
    for rates, printed in (
        (steady_state(4.0, pr, 1, initial_hz=start), out[0, 1:]),
        (steady_state(4.0, pr, 1), silent[0, 1:]),
    ):
        np.testing.assert_allclose(rates, printed, atol=1e-6, rtol=0)
        d = crbl.dfun_nodes(*(rates[:, None] * 1e-3), 0.004, 0.0, p)
        assert np.abs(d).max() < 1e-12  # kHz/ms


def _scan(capsys, argv):
    assert main(["node-curve", "--preset", "published", "--scan", *argv]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == [*HEADER, "stable", "max_re_eig_per_ms"]
    return [line.split("\t") for line in lines[1:]]


def test_scan_lists_both_stable_states(capsys):
    rows = _scan(capsys, ["--mossy", "4"])
    stable = np.array([[float(v) for v in r[1:5]] for r in rows if r[5] == "yes"])
    assert len(stable) == 2, rows
    np.testing.assert_allclose(stable[0], FROM_AUTHORS_START, atol=0.01, rtol=0)
    np.testing.assert_allclose(stable[1], FROM_SILENCE, atol=0.05, rtol=0)
    for r in rows:
        assert (float(r[6]) < 0) == (r[5] == "yes")
    # between two stable states of a continuous flow lies an unstable one (a saddle here)
    assert any(r[5] == "no" for r in rows)


def test_scan_stability_against_simulation():
    """Stability from the Jacobian agrees with what a small push does: from each stable
    state perturbed by 1 % the node returns to it; from the unstable one it leaves."""
    from cmftvb.models.nodecurve import scan_fixed_points

    pr = load_preset("published")
    points = scan_fixed_points(4.0, pr)
    for q in points:
        kick = dict(zip(("GrC", "GoC", "MLI", "PC"), q["rates_hz"] * 1.01, strict=True))
        end = steady_state(4.0, pr, 1, initial_hz=kick)
        back = np.max(np.abs(end - q["rates_hz"])) < 1e-3
        assert back == q["stable"], (q, end)


def test_jacobian_against_scipy_derivative():
    """The Jacobian's columns against scipy's finite-difference approximation of the flow."""
    from scipy.optimize import approx_fprime

    from cmftvb.models.nodecurve import jacobian

    pr = load_preset("corrected")
    p = crbl.pack(pr)
    x = np.array([5.0, 20.0, 15.0, 60.0])  # Hz
    jac = jacobian(x, 20.0, pr)
    for row in range(4):
        ref = approx_fprime(
            x * 1e-3,
            lambda y, r=row: crbl.dfun(y[0], y[1], y[2], y[3], 0.02, 0.0, p)[r],
            1e-8,
        )
        np.testing.assert_allclose(jac[row], ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--initial", "XX=3"], "--initial XX: unknown population"),
        (["--initial", "GrC=-1"], "--initial GrC=-1.0: rates must be finite and >= 0 Hz"),
        (["--initial", "GrC=1", "--initial", "GrC=2"], "--initial GrC: given twice"),
        (["--scan", "--order", "2"], "--scan: first order only"),
    ],
)
def test_initial_and_scan_bad_input(capsys, argv, message):
    assert main(["node-curve", *argv, "--mossy", "4"]) == 2
    assert message in capsys.readouterr().err
